"""REST backend part: the customer portal's records (issue 16), as the service role (these tables
have no staff or customer policy: database/supabase_scopes.py)."""
from __future__ import annotations

from services.clock import utcnow
from services.customers.codes import CustomerCode
from services.errors import ConflictError, DuplicateError


class RestCustomersPart:
    def link_customer_account(self, user_id, account_id, actor) -> bool:
        rows, _ = self.rest.select("customer_accounts", filters=[("eq", "user_id", user_id),
                                                                 ("eq", "account_id", account_id)], limit=1)
        if rows:
            return False
        try:
            self.rest.insert("customer_accounts", [{"user_id": user_id, "account_id": account_id, "created_at": utcnow()}],
                             what=f"linking account {account_id} to customer {user_id}")
        except DuplicateError:  # a parallel link won: the link is there, once
            return False
        self.write_audit(actor, "customer.link", "user", user_id, {"account_id": account_id})
        return True

    def customer_account_ids(self, user_id) -> list[int]:
        rows = self.rest.select_all("customer_accounts", filters=[("eq", "user_id", user_id)],
                                    order=(("account_id", False),), cols="account_id")
        return [r["account_id"] for r in rows]

    def insert_customer_code(self, row: dict) -> CustomerCode:
        out = self.rest.insert("customer_codes", [{**row, "created_at": utcnow()}], what="storing a one-time code",
                               returning="*")
        return CustomerCode.from_row(out[0])

    def latest_customer_code(self, subject, purpose) -> CustomerCode | None:
        rows, _ = self.rest.select("customer_codes", filters=[("eq", "subject", subject), ("eq", "purpose", purpose)],
                                   order=(("id", True),), limit=1)
        return CustomerCode.from_row(rows[0]) if rows else None

    def count_customer_codes(self, subject, since) -> int:
        return self.rest.count("customer_codes", [("eq", "subject", subject), ("gte", "created_at", since)])

    def spend_customer_code(self, code_id, now) -> bool:
        # One conditional UPDATE: of two tries at once, only one finds used_at still empty.
        out = self.rest.update("customer_codes", {"used_at": now},
                               [("eq", "id", code_id), ("is", "used_at", None), ("gt", "expires_at", now)],
                               what="using a one-time code", returning="id")
        return len(out) == 1

    def add_customer_code_attempt(self, code_id) -> None:
        rows, _ = self.rest.select("customer_codes", filters=[("eq", "id", code_id)], limit=1)
        if rows:
            # Not atomic over REST; the limit is approximate by one try under a race, never unlimited.
            self.rest.update("customer_codes", {"attempts": int(rows[0]["attempts"]) + 1}, [("eq", "id", code_id)],
                             what="counting a wrong code")

    def set_customer_preference(self, user_id, kind, enabled, actor) -> None:
        done = self.rest.update("customer_preferences", {"enabled": bool(enabled), "updated_at": utcnow()},
                                [("eq", "user_id", user_id), ("eq", "kind", kind)], what="saving a preference",
                                returning="kind")
        if not done:
            self.rest.insert("customer_preferences", [{"user_id": user_id, "kind": kind, "enabled": bool(enabled),
                                                       "updated_at": utcnow()}], what="saving a preference")
        self.write_audit(actor, "customer.preference", "user", user_id, {"kind": kind, "enabled": bool(enabled)})

    def customer_preferences(self, user_id) -> dict[str, bool]:
        rows = self.rest.select_all("customer_preferences", filters=[("eq", "user_id", user_id)],
                                    order=(("kind", False),), cols="kind,enabled")
        return {r["kind"]: bool(r["enabled"]) for r in rows}

    def unlink_customer_account(self, user_id, account_id, actor, *, keep_last=False) -> bool:
        if keep_last:
            # Checked before the DELETE (two requests, not one transaction over REST): two removals at the
            # same moment could both pass; the portal removes one account per click.
            linked = self.customer_account_ids(user_id)
            if account_id in linked and len(linked) <= 1:
                raise ConflictError("That is the only account linked to this sign-in; it cannot be removed. "
                                    "Support can deactivate the sign-in instead.")
        gone = self.rest.execute(
            f"unlinking account {account_id} from customer {user_id}",
            lambda: self.rest.client.table("customer_accounts").delete(returning="representation")
            .eq("user_id", user_id).eq("account_id", account_id), idempotent=True).data or []
        if gone:
            self.write_audit(actor, "customer.unlink", "user", user_id, {"account_id": account_id})
        return bool(gone)

    def account_customer_ids(self, account_id) -> list[int]:
        rows = self.rest.select_all("customer_accounts", filters=[("eq", "account_id", account_id)],
                                    order=(("user_id", False),), cols="user_id")
        return [r["user_id"] for r in rows]

    def customers_opted_in(self, kind, account_ids) -> list[tuple[int, int]]:
        from services.storage.rest_client import chunks

        ids = sorted({int(i) for i in account_ids})
        links = []
        for chunk in chunks(ids):
            links += self.rest.select_all("customer_accounts", filters=[("in", "account_id", chunk)],
                                          cols="user_id,account_id")
        users = sorted({r["user_id"] for r in links})
        keep: set[int] = set()
        for chunk in chunks(users):
            on = {r["user_id"] for r in self.rest.select_all(
                "customer_preferences", filters=[("in", "user_id", chunk), ("eq", "kind", kind), ("eq", "enabled", True)],
                cols="user_id")}
            if on:
                keep |= {r["id"] for r in self.rest.select_all(
                    "users", filters=[("in", "id", sorted(on)), ("eq", "is_active", True), ("eq", "role", "customer")],
                    cols="id")}
        return sorted((r["user_id"], r["account_id"]) for r in links if r["user_id"] in keep)

    def claim_customer_alert(self, user_id, kind, ref, account_id) -> bool:
        try:
            self.rest.insert("customer_alerts_sent", [{"user_id": user_id, "kind": kind, "ref": ref,
                                                       "account_id": account_id, "created_at": utcnow()}],
                             what=f"recording the {kind} alert of {ref}")
        except DuplicateError:  # claimed before (or by a parallel run): never sent twice
            return False
        return True
