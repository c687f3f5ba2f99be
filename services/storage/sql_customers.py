"""SQL backend part: the customer portal's records (issue 16; database/schema_customers.py):
customers' linked accounts, one-time codes and opt-ins."""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s
from services.clock import utcnow
from services.customers.codes import CustomerCode
from services.errors import ConflictError
from services.storage.sql_common import is_unique_violation, read_tx, write_tx

ca, cc, cp, sent = s.customer_accounts, s.customer_codes, s.customer_preferences, s.customer_alerts_sent
IN_CHUNK = 500


class CustomersPart:
    def link_customer_account(self, user_id, account_id, actor) -> bool:
        with write_tx(self.engine) as conn:
            if conn.execute(sa.select(ca.c.id).where(ca.c.user_id == user_id, ca.c.account_id == account_id)).first():
                return False
            conn.execute(ca.insert().values(user_id=user_id, account_id=account_id, created_at=utcnow()))
            self._audit(conn, actor, "customer.link", "user", user_id, {"account_id": account_id})
        return True

    def customer_account_ids(self, user_id) -> list[int]:
        with read_tx(self.engine) as conn:
            return [x for (x,) in conn.execute(sa.select(ca.c.account_id).where(ca.c.user_id == user_id)
                                               .order_by(ca.c.account_id))]

    def insert_customer_code(self, row: dict) -> CustomerCode:
        with write_tx(self.engine) as conn:
            code_id = conn.execute(cc.insert().values(**row, created_at=utcnow()).returning(cc.c.id)).scalar_one()
            out = conn.execute(sa.select(cc).where(cc.c.id == code_id)).mappings().one()
        return CustomerCode.from_row(out)

    def latest_customer_code(self, subject, purpose) -> CustomerCode | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(cc).where(cc.c.subject == subject, cc.c.purpose == purpose)
                               .order_by(cc.c.id.desc()).limit(1)).mappings().first()
        return CustomerCode.from_row(row) if row else None

    def count_customer_codes(self, subject, since) -> int:
        with read_tx(self.engine) as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(cc)
                                .where(cc.c.subject == subject, cc.c.created_at >= since)).scalar_one()

    def spend_customer_code(self, code_id, now) -> bool:
        with write_tx(self.engine) as conn:
            done = conn.execute(cc.update().where(cc.c.id == code_id, cc.c.used_at.is_(None), cc.c.expires_at > now)
                                .values(used_at=now)).rowcount
        return done == 1

    def add_customer_code_attempt(self, code_id) -> None:
        with write_tx(self.engine) as conn:
            conn.execute(cc.update().where(cc.c.id == code_id).values(attempts=cc.c.attempts + 1))

    def set_customer_preference(self, user_id, kind, enabled, actor) -> None:
        with write_tx(self.engine) as conn:
            done = conn.execute(cp.update().where(cp.c.user_id == user_id, cp.c.kind == kind)
                                .values(enabled=bool(enabled), updated_at=utcnow())).rowcount
            if not done:
                conn.execute(cp.insert().values(user_id=user_id, kind=kind, enabled=bool(enabled), updated_at=utcnow()))
            self._audit(conn, actor, "customer.preference", "user", user_id, {"kind": kind, "enabled": bool(enabled)})

    def customer_preferences(self, user_id) -> dict[str, bool]:
        with read_tx(self.engine) as conn:
            return {k: bool(v) for k, v in conn.execute(sa.select(cp.c.kind, cp.c.enabled).where(cp.c.user_id == user_id))}

    def unlink_customer_account(self, user_id, account_id, actor, *, keep_last=False) -> bool:
        with write_tx(self.engine) as conn:
            if keep_last:
                # The user's row locked (PostgreSQL; SQLite's write transaction is exclusive already), so two
                # removals at once cannot both see "two links" and leave none.
                conn.execute(sa.select(s.users.c.id).where(s.users.c.id == user_id).with_for_update())
                linked = conn.execute(sa.select(ca.c.account_id).where(ca.c.user_id == user_id)).scalars().all()
                if account_id in linked and len(linked) <= 1:
                    raise ConflictError("That is the only account linked to this sign-in; it cannot be removed. "
                                        "Support can deactivate the sign-in instead.")
            done = conn.execute(ca.delete().where(ca.c.user_id == user_id, ca.c.account_id == account_id)).rowcount
            if done:
                self._audit(conn, actor, "customer.unlink", "user", user_id, {"account_id": account_id})
        return bool(done)

    def account_customer_ids(self, account_id) -> list[int]:
        with read_tx(self.engine) as conn:
            return [x for (x,) in conn.execute(sa.select(ca.c.user_id).where(ca.c.account_id == account_id)
                                               .order_by(ca.c.user_id))]

    def customers_opted_in(self, kind, account_ids) -> list[tuple[int, int]]:
        ids = sorted({int(i) for i in account_ids})
        out: list[tuple[int, int]] = []
        with read_tx(self.engine) as conn:
            for i in range(0, len(ids), IN_CHUNK):
                q = (sa.select(ca.c.user_id, ca.c.account_id)
                     .join(cp, sa.and_(cp.c.user_id == ca.c.user_id, cp.c.kind == kind, cp.c.enabled.is_(True)))
                     .join(s.users, s.users.c.id == ca.c.user_id)
                     .where(ca.c.account_id.in_(ids[i:i + IN_CHUNK]), s.users.c.is_active.is_(True),
                            s.users.c.role == "customer"))
                out.extend((u, a) for u, a in conn.execute(q))
        return sorted(out)

    def claim_customer_alert(self, user_id, kind, ref, account_id) -> bool:
        try:
            with write_tx(self.engine) as conn:
                conn.execute(sent.insert().values(user_id=user_id, kind=kind, ref=ref, account_id=account_id,
                                                  created_at=utcnow()))
        except sa.exc.IntegrityError as exc:
            if is_unique_violation(exc):
                return False
            raise
        return True
