"""SQL backend part: consumer analytics and staff performance (services/reports/analytics.py), one
aggregate query each (plus one small one for the names of staff areas), filtered by the actor's scope."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from database import schema as s
from services.billing.periods import month_bounds
from services.reports.analytics import STAFF_ROLES, ConsumerRow, StaffRow, window_start
from services.clock import utcnow
from services.storage.sql_common import money_sum, money_value, read_tx, write_tx
from services.storage.sql_reports import NOT_CHARGED

b, a, ar, ua, us, cp, p = s.bills, s.accounts, s.areas, s.user_areas, s.users, s.consumer_pattern_totals, s.payments


def _area_of(top: bool, area_id_col):
    """(grouping area, join) for an area id column: its own area, or the area above it."""
    uc = ar.alias("an_uc")
    if not top:
        return uc, (uc, uc.c.id == area_id_col), None
    city = ar.alias("an_city")
    return city, (uc, uc.c.id == area_id_col), (city, city.c.id == sa.func.coalesce(uc.c.parent_id, uc.c.id))


def _one(cond):
    return sa.func.sum(sa.case((cond, 1), else_=0))


def _patterns(pa) -> list:
    """A unit's payment pattern (services/reports/analytics.py), counted."""
    return [_one(sa.and_(pa.settled == pa.n, pa.late == 0)).label("on_time"),
            _one(sa.and_(pa.settled == pa.n, pa.late > 0)).label("late"),
            _one(sa.and_(pa.settled < pa.n, pa.any_paid > 0)).label("partial"),
            _one(sa.and_(pa.settled < pa.n, pa.any_paid == 0)).label("never_paid")]


class AnalyticsPart:
    def _per_account(self, as_of: dt.date, months: int, scoped: bool = True):
        """Each unit billed in the window (bills due by `as_of`): its bills, how many are settled, settled
        late, and with anything paid. Late by the payments' own dates (paid_on), not when they were
        recorded: a bank file imported a week later says when the customer paid. A re-issue's credit
        (method credit, dated the re-issue) is not a payment of the customer's."""
        late = sa.exists().where(p.c.bill_id == b.c.id, p.c.paid_on > b.c.due_date, p.c.method != "credit")
        return (sa.select(b.c.account_id, sa.func.min(b.c.area_id).label("area_id"), sa.func.count().label("n"),
                          _one(b.c.status.in_(("paid", "carried_forward"))).label("settled"),
                          _one(sa.or_(b.c.status == "carried_forward", sa.and_(b.c.status == "paid", late))).label("late"),
                          _one(b.c.amount_paid > 0).label("any_paid"))
                .where(b.c.billing_period_start >= window_start(as_of, months), b.c.due_date <= as_of,
                       b.c.status.not_in(NOT_CHARGED), *(self._scope_conds(self._in_scope(b.c.area_id)) if scoped else ()))
                .group_by(b.c.account_id).subquery("per_account"))

    def refresh_consumer_patterns(self, as_of: dt.date, months: int) -> int:
        pa = self._per_account(as_of, months, scoped=False).c
        counts = sa.select(pa.area_id, sa.func.count().label("billed"), *_patterns(pa)).group_by(pa.area_id)
        now = utcnow()
        with write_tx(self.engine) as conn:
            rows = [dict(r._mapping, as_of=as_of, months=months, computed_at=now) for r in conn.execute(counts)]
            conn.execute(cp.delete().where(cp.c.as_of == as_of, cp.c.months == months))
            if rows:
                conn.execute(cp.insert(), rows)
        return len(rows)

    def consumer_patterns_computed_at(self, as_of: dt.date, months: int) -> dt.datetime | None:
        with read_tx(self.engine) as conn:
            return conn.execute(sa.select(sa.func.max(cp.c.computed_at))
                                .where(cp.c.as_of == as_of, cp.c.months == months)).scalar()

    def consumer_analytics(self, as_of: dt.date, months: int = 12, top: bool = True) -> list[ConsumerRow]:
        if self.consumer_patterns_computed_at(as_of, months) is not None:
            # The consumer_patterns job's counts per leaf area, summed up (the same rows the live query gives)
            area, (uc, on_uc), city = _area_of(top, cp.c.area_id)
            joined = cp.join(uc, on_uc)
            sums = [sa.func.sum(cp.c[k]).label(k) for k in ("billed", "on_time", "late", "partial", "never_paid")]
            conds = (cp.c.as_of == as_of, cp.c.months == months, *self._scope_conds(self._in_scope(cp.c.area_id)))
        else:
            per_account = self._per_account(as_of, months)
            pa = per_account.c
            area, (uc, on_uc), city = _area_of(top, pa.area_id)
            joined = per_account.join(uc, on_uc)
            sums, conds = [sa.func.count().label("billed"), *_patterns(pa)], ()
        if city is not None:
            joined = joined.join(*city)
        patterns = sa.select(area.c.id, *sums).select_from(joined).where(*conds).group_by(area.c.id)
        area2, (uc2, on_uc2), city2 = _area_of(top, a.c.area_id)
        joined2 = a.join(uc2, on_uc2)
        if city2 is not None:
            joined2 = joined2.join(*city2)
        units = (sa.select(area2.c.id, area2.c.path, area2.c.name, _one(a.c.is_active.is_(True)).label("active"),
                           _one(a.c.is_active.is_(False)).label("inactive"))
                 .select_from(joined2).where(*self._scope_conds(self._in_scope(a.c.area_id)))
                 .group_by(area2.c.id, area2.c.path, area2.c.name).order_by(area2.c.path))
        with read_tx(self.engine) as conn:
            by_area = {r.id: r for r in conn.execute(patterns)}
            out = []
            for r in conn.execute(units):
                p = by_area.get(r.id)
                out.append(ConsumerRow(r.id, r.path, r.name, int(r.active or 0), int(r.inactive or 0),
                                       *(int(getattr(p, k) or 0) if p else 0
                                         for k in ("billed", "on_time", "late", "partial", "never_paid"))))
        return out

    def staff_performance(self, month: str) -> list[StaffRow]:
        first, last = month_bounds(month)
        d = self.dialect
        top, leaf = ar.alias("staff_top"), ar.alias("staff_leaf")
        user_leaf = (sa.select(ua.c.user_id, leaf.c.id.label("area_id"))
                     .select_from(ua.join(top, top.c.id == ua.c.area_id)
                                  .join(leaf, sa.or_(leaf.c.id == top.c.id, leaf.c.path.startswith(top.c.path + "/"))))
                     .distinct().subquery("user_leaf"))
        # The month's bills summed per area first (one pass, index-only with ix_bills_month_area_amounts),
        # then per staff member over their areas: a bill is read once, however many staff cover it.
        per_area = (sa.select(b.c.area_id, sa.func.count().label("n"), money_sum(b.c.total_amount, d).label("due"),
                              money_sum(b.c.amount_paid, d).label("collected"),
                              sa.func.sum(sa.case((b.c.status == "paid", 1), else_=0)).label("paid"))
                    .where(b.c.billing_period_start.between(first, last), b.c.status.not_in(NOT_CHARGED),
                           *self._scope_conds(self._in_scope(b.c.area_id)))
                    .group_by(b.c.area_id).subquery("per_area"))
        q = (sa.select(us.c.id, us.c.username, us.c.display_name, us.c.role, sa.func.sum(per_area.c.n).label("n"),
                       sa.func.sum(per_area.c.due).label("due"), sa.func.sum(per_area.c.collected).label("collected"),
                       sa.func.sum(per_area.c.paid).label("paid"))
             .select_from(us.join(user_leaf, user_leaf.c.user_id == us.c.id)
                          .join(per_area, per_area.c.area_id == user_leaf.c.area_id))
             .where(us.c.role.in_(STAFF_ROLES))
             .group_by(us.c.id, us.c.username, us.c.display_name, us.c.role).order_by(us.c.username))
        with read_tx(self.engine) as conn:
            rows = conn.execute(q).all()
            names: dict[int, list[str]] = {}
            ids = [r.id for r in rows]
            if ids:
                for uid, path in conn.execute(sa.select(ua.c.user_id, ar.c.path).join(ar, ar.c.id == ua.c.area_id)
                                              .where(ua.c.user_id.in_(ids)).order_by(ar.c.path)):
                    names.setdefault(uid, []).append(path)
        shown = lambda uid: ", ".join(p for p in names.get(uid, []) if self.scope.allows(p))  # noqa: E731
        return [StaffRow(r.id, r.username, r.display_name or "", r.role, shown(r.id), int(r.n),
                         money_value(r.due, d), money_value(r.collected, d), int(r.paid or 0)) for r in rows]
