"""SQL backend part: bulk activation/deactivation of accounts (services/municipal/bulk.py)."""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s
from services.clock import utcnow
from services.storage.sql_common import write_tx

a = s.accounts


class BulkPart:
    def set_accounts_active(self, account_ids, active: bool, reason: str, actor) -> int:
        now, changed = utcnow(), 0
        ids = list(dict.fromkeys(account_ids))
        with write_tx(self.engine) as conn:
            for i in range(0, len(ids), 900):
                changed += conn.execute(a.update().where(a.c.id.in_(ids[i:i + 900]), a.c.is_active.is_not(active))
                                        .values(is_active=active, updated_at=now)).rowcount
            self._audit(conn, actor, "bulk.accounts_active", "account", None, {
                "active": active, "requested": len(ids), "changed": changed, "reason": reason, "ids": ids[:100]})
        return changed
