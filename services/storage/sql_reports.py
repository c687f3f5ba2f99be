"""SQL backend part: the collection and arrears-aging reports (services/reports/models.py), each one
aggregate query per report filtered by the actor's scope; grouped by the bill's area (a union
council) or by the area above it (a city/tehsil)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from database import schema as s
from services.billing.periods import month_bounds
from services.reports.models import AgingRow, CollectionRow
from services.storage.sql_common import money_sum, money_value, read_tx

b, ar = s.bills, s.areas
OPEN = ("pending", "partially_paid", "overdue")
NOT_CHARGED = ("cancelled", "superseded")


def _group(top: bool):
    """(area id column, joins) for grouping bills by their area, or by the area above it."""
    uc = ar.alias("report_uc")
    if not top:
        return uc, b.join(uc, uc.c.id == b.c.area_id), uc
    city = ar.alias("report_city")
    return city, b.join(uc, uc.c.id == b.c.area_id).join(city, city.c.id == sa.func.coalesce(uc.c.parent_id, uc.c.id)), city


class ReportsPart:
    def collection_report(self, month: str, top: bool = True) -> list[CollectionRow]:
        first, last = month_bounds(month)
        d = self.dialect
        _, joined, area = _group(top)
        nothing_paid = b.c.amount_paid == 0
        counted = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
        q = (sa.select(area.c.id, area.c.path, area.c.name, sa.func.count().label("n"),
                       money_sum(b.c.total_amount - b.c.previous_outstanding, d).label("billed"),
                       money_sum(b.c.total_amount, d).label("due"), money_sum(b.c.amount_paid, d).label("collected"),
                       counted(b.c.status == "paid").label("paid"),
                       counted(sa.and_(b.c.status != "paid", b.c.amount_paid > 0)).label("partial"),
                       counted(sa.and_(b.c.status != "paid", nothing_paid, sa.or_(
                           b.c.previous_outstanding > 0, b.c.status == "carried_forward"))).label("arrears"),
                       counted(sa.and_(b.c.status != "paid", nothing_paid, b.c.previous_outstanding <= 0,
                                       b.c.status != "carried_forward")).label("unpaid"))
             .select_from(joined)
             .where(b.c.billing_period_start.between(first, last), b.c.status.not_in(NOT_CHARGED),
                    *self._scope_conds(self._in_scope(b.c.area_id)))
             .group_by(area.c.id, area.c.path, area.c.name).order_by(area.c.path))
        with read_tx(self.engine) as conn:
            return [CollectionRow(r.id, r.path, r.name, int(r.n), money_value(r.billed, d), money_value(r.due, d),
                                  money_value(r.collected, d), int(r.paid or 0), int(r.partial or 0),
                                  int(r.arrears or 0), int(r.unpaid or 0)) for r in conn.execute(q)]

    def aging_report(self, as_of: dt.date, top: bool = True) -> list[AgingRow]:
        d = self.dialect
        _, joined, area = _group(top)
        balance = b.c.total_amount - b.c.amount_paid
        due = b.c.due_date

        def bucket(lo: int | None, hi: int | None):
            conds = []
            if lo is not None:  # at least `lo` days past due: due on or before as_of - lo
                conds.append(due <= as_of - dt.timedelta(days=lo))
            if hi is not None:  # at most `hi` days past due
                conds.append(due >= as_of - dt.timedelta(days=hi))
            return money_sum(sa.case((sa.and_(*conds), balance), else_=0), d)

        q = (sa.select(area.c.id, area.c.path, area.c.name, sa.func.count().label("n"),
                       money_sum(sa.case((due > as_of, balance), else_=0), d).label("not_due"),
                       bucket(0, 30).label("d0_30"), bucket(31, 90).label("d31_90"), bucket(91, 180).label("d91_180"),
                       bucket(181, None).label("d180_plus"))
             .select_from(joined)
             .where(b.c.status.in_(OPEN), *self._scope_conds(self._in_scope(b.c.area_id)))
             .group_by(area.c.id, area.c.path, area.c.name).order_by(area.c.path))
        with read_tx(self.engine) as conn:
            return [AgingRow(r.id, r.path, r.name, int(r.n), *(money_value(getattr(r, k), d) for k in
                                                              ("not_due", "d0_30", "d31_90", "d91_180", "d180_plus")))
                    for r in conn.execute(q)]
