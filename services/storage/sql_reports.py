"""SQL backend part: the collection and arrears-aging reports (services/reports/models.py), each one
aggregate query per report filtered by the actor's scope; grouped by the bill's area (a union
council) or by the area above it (a city/tehsil). Both read the per-month, per-area summary rows
(database/bill_totals.py), which the dashboard reads too, not the bills."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from database import bill_totals
from database import schema as s
from services.billing.periods import month_bounds
from services.money import from_minor_units
from services.reports.models import AgingRow, CollectionRow
from services.storage.sql_common import read_tx

b, ar = s.bills, s.areas
OPEN = ("pending", "partially_paid", "overdue")
NOT_CHARGED = ("cancelled", "superseded")


def _group(top: bool, rows):
    """(area id column, joins) for grouping summary rows by their area, or by the area above it."""
    uc = ar.alias("report_uc")
    if not top:
        return uc, rows.join(uc, uc.c.id == rows.c.area_id), uc
    city = ar.alias("report_city")
    return city, rows.join(uc, uc.c.id == rows.c.area_id).join(
        city, city.c.id == sa.func.coalesce(uc.c.parent_id, uc.c.id)), city


def money(raw) -> Decimal:
    """A sum of the summary rows (hundredths, exact on every backend) as money."""
    return from_minor_units(int(raw or 0))


class ReportsPart:
    def bill_totals_in_scope(self):
        """(summary rows, conditions) as the actor may see them: the stored rows of the scope's areas, or,
        for a customer's scope (the rows know no accounts), the same rows recomputed from their bills."""
        if self.scope.account_ids is not None:
            return bill_totals.from_bills(self.dialect, lambda rel: self._scope_conds(self._in_scope(rel.c.area_id))), ()
        t = s.bill_month_totals
        return t, (t.c.bills != 0, *self._scope_conds(self._in_scope(t.c.area_id)))

    def collection_report(self, month: str, top: bool = True) -> list[CollectionRow]:
        t, conds = self.bill_totals_in_scope()
        _, joined, area = _group(top, t)
        open_, paid_any = t.c.status != "paid", t.c.paid_any
        counted = lambda cond: sa.func.sum(sa.case((cond, t.c.bills), else_=0))  # noqa: E731
        in_arrears = sa.or_(t.c.arrears, t.c.status == "carried_forward")
        q = (sa.select(area.c.id, area.c.path, area.c.name, sa.func.sum(t.c.bills).label("n"),
                       sa.func.sum(t.c.billed).label("billed"), sa.func.sum(t.c.due).label("due"),
                       sa.func.sum(t.c.paid).label("collected"),
                       counted(t.c.status == "paid").label("paid"),
                       counted(sa.and_(open_, paid_any)).label("partial"),
                       counted(sa.and_(open_, sa.not_(paid_any), in_arrears)).label("arrears"),
                       counted(sa.and_(open_, sa.not_(paid_any), sa.not_(in_arrears))).label("unpaid"))
             .select_from(joined)
             .where(t.c.bill_month == month_bounds(month)[0].strftime("%Y-%m"), t.c.status.not_in(NOT_CHARGED), *conds)
             .group_by(area.c.id, area.c.path, area.c.name).order_by(area.c.path))
        with read_tx(self.engine) as conn:
            return [CollectionRow(r.id, r.path, r.name, int(r.n), money(r.billed), money(r.due), money(r.collected),
                                  int(r.paid or 0), int(r.partial or 0), int(r.arrears or 0), int(r.unpaid or 0))
                    for r in conn.execute(q)]

    def aging_report(self, as_of: dt.date, top: bool = True) -> list[AgingRow]:
        t, conds = self.bill_totals_in_scope()
        _, joined, area = _group(top, t)
        balance, due = t.c.due - t.c.paid, t.c.due_date

        def bucket(lo: int | None, hi: int | None):
            conds = []
            if lo is not None:  # at least `lo` days past due: due on or before as_of - lo
                conds.append(due <= as_of - dt.timedelta(days=lo))
            if hi is not None:  # at most `hi` days past due
                conds.append(due >= as_of - dt.timedelta(days=hi))
            return sa.func.sum(sa.case((sa.and_(*conds), balance), else_=0))

        q = (sa.select(area.c.id, area.c.path, area.c.name, sa.func.sum(t.c.bills).label("n"),
                       sa.func.sum(sa.case((due > as_of, balance), else_=0)).label("not_due"),
                       bucket(0, 30).label("d0_30"), bucket(31, 90).label("d31_90"), bucket(91, 180).label("d91_180"),
                       bucket(181, None).label("d180_plus"))
             .select_from(joined)
             .where(t.c.status.in_(OPEN), *conds)
             .group_by(area.c.id, area.c.path, area.c.name).order_by(area.c.path))
        with read_tx(self.engine) as conn:
            return [AgingRow(r.id, r.path, r.name, int(r.n), *(money(getattr(r, k)) for k in
                                                              ("not_due", "d0_30", "d31_90", "d91_180", "d180_plus")))
                    for r in conn.execute(q)]
