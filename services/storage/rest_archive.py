"""REST backend part: the bill archive (issue 14) on Supabase.

Archived bills are read through PostgREST like live ones (row level security keeps a staff member to
their areas: database/supabase_scopes.py). Moving a month is one transaction of set-based statements
over seven tables, which PostgREST cannot run as one request: the script runs it on the project's
PostgreSQL database directly (`python -m scripts.archive_bills --database-url <its connection string>`),
with the same triggers guarding it as on any PostgreSQL.
"""
from __future__ import annotations

from services.billing.archive import ArchiveCounts, ArchivedBill, ArchivedMonth
from services.errors import ConfigurationError, ValidationError
from services.models import Page

_MOVE_ON_POSTGRES = ("The bill archive moves a month in one database transaction, which the Supabase REST API cannot "
                     "run. Run `python -m scripts.archive_bills --database-url <the project's PostgreSQL connection "
                     "string>` instead (Supabase: Project settings, Database).")


class RestArchivePart:
    def archive_bill_month(self, month, today, actor, *, after_months, dry_run=False):
        raise ConfigurationError(_MOVE_ON_POSTGRES)

    def restore_bill_month(self, month, actor):
        raise ConfigurationError(_MOVE_ON_POSTGRES)

    def bill_months_before(self, first_kept):
        raise ConfigurationError(_MOVE_ON_POSTGRES)

    def list_archived_months(self) -> list[ArchivedMonth]:
        rows = self.rest.select_all("bill_archive_months", order=(("bill_month", True),))
        return [ArchivedMonth(r["bill_month"], ArchiveCounts(
            r["bills"], r["total_amount"], r["amount_paid"], r["lines"], r["line_amount"], r["payments"],
            r["payment_amount"], r["other_rows"]), r["kept_live"], r["archived_at"], r["archived_by"]) for r in rows]

    def find_archived_bills(self, *, psid=None, account_code=None, offset=0, limit=50) -> Page[ArchivedBill]:
        if not (psid or account_code):
            raise ValidationError("psid", "or an account is needed to search the archive.",
                                  "Enter a PSID or an account code.")
        flt = []
        if psid:
            flt.append(("eq", "psid", psid.strip()))
        if account_code:
            acc = self.rest.select("accounts", filters=[("eq", "code", account_code.strip())], limit=1,
                                   cols="id", what="finding the account")[0]
            if not acc:
                return Page([], offset, limit, 0)
            flt.append(("eq", "account_id", acc[0]["id"]))
        rows, total = self.rest.select("archived_bills", filters=flt, order=(("billing_period_start", True), ("id", True)),
                                       offset=offset, limit=limit, count="exact", what="searching the bill archive")
        ids = sorted({r["account_id"] for r in rows})
        codes = {a["id"]: a["code"] for a in self.rest.select_all("accounts", filters=[("in", "id", ids)], cols="id,code")} \
            if ids else {}
        return Page([ArchivedBill(r["id"], r["bill_number"], r["psid"], r["account_id"], codes.get(r["account_id"]),
                                  r["service"], r["billing_period_start"], r["billing_period_end"], r["due_date"],
                                  r["total_amount"], r["amount_paid"], r["status"]) for r in rows],
                    offset, limit, total)
