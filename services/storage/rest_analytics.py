"""REST backend part: consumer analytics and staff performance (database/supabase/87_functions_analytics.sql)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.billing.periods import month_bounds
from services.reports.analytics import ConsumerRow, StaffRow, window_start


def _money(v) -> Decimal:
    return Decimal(str(v or "0")).quantize(Decimal("0.01"))


class RestAnalyticsPart:
    def consumer_analytics(self, as_of: dt.date, months: int = 12, top: bool = True) -> list[ConsumerRow]:
        rows = self.rest.rpc("meterline_consumer_analytics", {"p_first": window_start(as_of, months), "p_as_of": as_of,
                                                              "p_top": top},
                             what=f"the consumer analytics as of {as_of}", idempotent=True) or []
        return [ConsumerRow(r["area_id"], r["area_path"], r["area_name"], *(int(r[k] or 0) for k in (
            "active", "inactive", "billed", "on_time", "late", "partial", "never_paid"))) for r in rows]

    def staff_performance(self, month: str) -> list[StaffRow]:
        first, last = month_bounds(month)
        rows = self.rest.rpc("meterline_staff_performance", {"p_first": first, "p_last": last},
                             what=f"the staff performance of {month}", idempotent=True) or []
        return [StaffRow(r["user_id"], r["username"], r["display_name"] or "", r["role"],
                         ", ".join(p for p in (r["areas"] or []) if self.scope.allows(p)), int(r["bills"]),
                         _money(r["due"]), _money(r["collected"]), int(r["paid"] or 0)) for r in rows]
