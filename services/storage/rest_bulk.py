"""REST backend part: bulk activation/deactivation of accounts (database/supabase/88_functions_bulk.sql)."""
from __future__ import annotations

from services.storage.rest_client import actor_json


class RestBulkPart:
    def set_accounts_active(self, account_ids, active: bool, reason: str, actor) -> int:
        ids = list(dict.fromkeys(account_ids))
        return int(self.rest.rpc("meterline_set_accounts_active", {
            "p_ids": ids, "p_active": active, "p_reason": reason, "p_actor": actor_json(actor)},
            what=f"{'activating' if active else 'deactivating'} {len(ids)} account(s)") or 0)
