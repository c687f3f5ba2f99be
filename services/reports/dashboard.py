"""The dashboard's figures, read through one function so the page, its chart and the reports agree on
one definition (issue 18). The bills' figures come from the per-month, per-area summary rows the
database keeps with every change of a bill (database/bill_totals.py, issue 19), not from the bills.

Definitions (shown on the page):
- period: a bill month ("2026-10"): the bills whose period starts in it, replaced and cancelled
  bills left out (the collection report's definition, services/reports/models.py);
- billed: what those bills charge for the month (arrears carried into them left out);
- due: their totals (the month's charges plus the arrears carried into them);
- collected: what has been paid ON THOSE BILLS so far, whenever it was paid;
- collection rate = collected / due, so it is never above 100% (a payment of last month's bill
  received this month counts for last month, not this one: no "370%");
- outstanding, overdue bills and aging: every open bill as of today, by days past its due date;
- the default period is the newest month that has bills (not an empty current month).
Nothing here is cached: the figures are read when the page is drawn, so a bill run or a payment
shows on the next view (the summary rows change in the transaction that changes the bill).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.accounts.roles import Actor, Permission, require
from services.billing.periods import month_key
from services.models import BillFilter
from services.reports.models import AGING_BUCKETS

ZERO = Decimal("0")


@dataclass(frozen=True)
class PeriodFigures:
    period: str
    bills: int
    billed: Decimal
    due: Decimal
    collected: Decimal

    @property
    def collection_rate(self) -> Decimal | None:
        """collected / due as a percentage with 1 decimal; None when nothing is due."""
        if not self.due:
            return None
        return (self.collected * 100 / self.due).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Dashboard:
    period: PeriodFigures
    outstanding: Decimal
    overdue_count: int
    pending_readings: int
    aging: dict[str, Decimal]  # AGING_BUCKETS -> open balance
    months: list[PeriodFigures]  # the chart: oldest first, the same definitions as `period`
    consumption: dict[str, Decimal]  # month -> units billed (for a metered utility's chart)


def last_billed_month(db, actor: Actor | None = None) -> str | None:
    """The newest month that has a bill (by period start), or None before the first bill."""
    require(actor, Permission.VIEW_REPORTS)
    newest = db.storage.list_bills(BillFilter(sort="period"), 0, 1, with_total=False).items
    return month_key(newest[0].billing_period_start) if newest else None


def period_figures(db, period: str) -> PeriodFigures:
    rows = db.storage.collection_report(period, True)
    return PeriodFigures(period, sum(r.bills for r in rows), sum((r.billed for r in rows), ZERO),
                         sum((r.due for r in rows), ZERO), sum((r.collected for r in rows), ZERO))


def months_before(period: str, n: int) -> list[str]:
    """`n` bill months ending with `period`, oldest first."""
    cur = dt.date.fromisoformat(f"{period}-01")
    out = []
    for _ in range(n):
        out.append(month_key(cur))
        cur = (cur - dt.timedelta(days=1)).replace(day=1)
    return sorted(out)


def dashboard_figures(db, period: str, *, actor: Actor | None = None, chart_months: int = 12) -> Dashboard:
    """Every figure of the dashboard for one bill month, as the actor may see them (db is the
    actor's DatabaseService: an area-limited user's reads are filtered by the storage layer)."""
    require(actor, Permission.VIEW_REPORTS)
    today = db.today()
    now = db.storage.dashboard_figures(period, today)
    aging = {k: ZERO for k in AGING_BUCKETS}
    for row in db.storage.aging_report(today, True):
        for k in AGING_BUCKETS:
            aging[k] += getattr(row, k)
    keys = months_before(period, chart_months)
    months = [period_figures(db, k) for k in keys]
    consumption = db.storage.monthly_consumption(keys)
    outstanding = sum(aging.values(), ZERO)  # the aging's total: each unpaid amount once, as the buckets say
    return Dashboard(months[-1], outstanding, now.overdue_count, now.pending_readings, aging, months, consumption)
