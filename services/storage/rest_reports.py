"""REST backend part: the collection and arrears-aging reports (database/supabase/86_functions_reports.sql)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.billing.periods import month_bounds
from services.reports.models import AgingRow, CollectionRow


def _money(v) -> Decimal:
    return Decimal(str(v or "0")).quantize(Decimal("0.01"))


class RestReportsPart:
    def collection_report(self, month: str, top: bool = True) -> list[CollectionRow]:
        first, last = month_bounds(month)
        rows = self.rest.rpc("meterline_collection_report", {"p_first": first, "p_last": last, "p_top": top},
                             what=f"the collection report of {month}", idempotent=True) or []
        return [CollectionRow(r["area_id"], r["area_path"], r["area_name"], int(r["bills"]), _money(r["billed"]),
                              _money(r["due"]), _money(r["collected"]), int(r["paid"]), int(r["partial"]),
                              int(r["arrears"]), int(r["unpaid"])) for r in rows]

    def aging_report(self, as_of: dt.date, top: bool = True) -> list[AgingRow]:
        rows = self.rest.rpc("meterline_aging_report", {"p_as_of": as_of, "p_top": top},
                             what=f"the arrears aging report as of {as_of}", idempotent=True) or []
        return [AgingRow(r["area_id"], r["area_path"], r["area_name"], int(r["bills"]),
                         *(_money(r[k]) for k in ("not_due", "d0_30", "d31_90", "d91_180", "d180_plus"))) for r in rows]
