"""Consumer analytics and staff performance on every backend (issue 14): each figure equals the same
figure computed from the bills and units one by one (services/reports/analytics.py defines them); an
agent's reports hold only their areas."""
import datetime as dt
from collections import Counter, defaultdict

import pytest

from services.accounts.scopes import Scope
from services.models import AccountFilter, BillFilter
from services.reports.analytics import window_start
from tests.contract.test_reports import town  # noqa: F401  (three billed months with payments)
from tests.factories import ADMIN

d = dt.date
AS_OF = d(2026, 11, 22)


def _pattern(storage, bills) -> str:
    """By the payments' own dates: a payment recorded after the due date but dated before it is on time."""
    settled = [b for b in bills if b.status in ("paid", "carried_forward")]
    late = [b for b in settled if b.status == "carried_forward"
            or any(p.paid_on > b.due_date and p.method != "credit" for p in storage.list_payments(b.id))]
    if len(settled) == len(bills):
        return "late" if late else "on_time"
    return "partial" if any(b.amount_paid > 0 for b in bills) else "never_paid"


def _expected(storage, key):
    first = window_start(AS_OF, 12)
    by_account = defaultdict(list)
    for b in storage.list_bills(BillFilter(), 0, 500).items:
        if b.status not in ("cancelled", "superseded") and b.billing_period_start >= first and b.due_date <= AS_OF:
            by_account[b.account_id].append(b)
    want = defaultdict(Counter)
    for bills in by_account.values():
        want[key(bills[0].area_path)][_pattern(storage, bills)] += 1
    for a in storage.list_accounts(AccountFilter(), 0, 500).items:
        want[key(a.area_path)]["active" if a.is_active else "inactive"] += 1
    return want


def test_consumer_analytics_equal_the_bills_one_by_one(storage, town):  # noqa: F811
    for top, key in ((True, lambda p: p.split("/")[0]), (False, lambda p: p)):
        want = _expected(storage, key)
        got = {r.area_path: r for r in storage.consumer_analytics(AS_OF, 12, top)}
        assert set(got) == set(want)
        for path, r in got.items():
            w = want[path]
            assert (r.active, r.inactive, r.on_time, r.late, r.partial, r.never_paid) == (
                w["active"], w["inactive"], w["on_time"], w["late"], w["partial"], w["never_paid"]), path
            assert r.billed == r.on_time + r.late + r.partial + r.never_paid
    rows = {r.area_path: r for r in storage.consumer_analytics(AS_OF, 12, False)}
    assert rows["KSR/KSR-UC01"].partial == 2  # unit 1 paid August only; unit 2 part of October
    assert rows["OKR/OKR-UC01"].inactive == 1


def test_staff_performance_counts_the_bills_of_their_areas_once(storage, town):  # noqa: F811
    areas = {a.path: a.id for a in storage.list_areas()}
    agent = storage.create_user(username="agent1", role="agent", password_hash=None, actor=ADMIN)
    manager = storage.create_user(username="manager1", role="manager", password_hash=None, actor=ADMIN)
    storage.set_user_areas(agent.id, [areas["KSR/KSR-UC01"]], ADMIN)
    storage.set_user_areas(manager.id, [areas["KSR"], areas["KSR/KSR-UC02"]], ADMIN)  # UC02 is inside KSR: once
    bills = [b for b in storage.list_bills(BillFilter(period_month="2026-10"), 0, 100).items
             if b.status not in ("cancelled", "superseded")]
    rows = {r.username: r for r in storage.staff_performance("2026-10")}
    assert set(rows) == {"agent1", "manager1"}
    for name, prefix in (("agent1", "KSR/KSR-UC01"), ("manager1", "KSR")):
        mine = [b for b in bills if b.area_path == prefix or b.area_path.startswith(prefix + "/")]
        r = rows[name]
        assert (r.bills, r.due, r.collected, r.paid) == (len(mine), sum(b.total_amount for b in mine),
                                                         sum(b.amount_paid for b in mine),
                                                         sum(b.status == "paid" for b in mine))
        assert r.visits is None  # issue 15
    assert rows["manager1"].areas == "KSR, KSR/KSR-UC02"
    # an agent of UC01 sees only UC01's bills, and only the area names of their scope
    view = storage.scoped(Scope.of(["KSR/KSR-UC01"]))
    scoped = {r.username: r for r in view.staff_performance("2026-10")}
    uc01 = [b for b in bills if b.area_path == "KSR/KSR-UC01"]
    assert scoped["manager1"].bills == len(uc01) and scoped["manager1"].areas == ""
    assert {r.area_path for r in view.consumer_analytics(AS_OF, 12, False)} == {"KSR/KSR-UC01"}


@pytest.mark.parametrize("months", [1, 12])
def test_the_window_starts_on_a_first(months):
    assert window_start(AS_OF, months) == (d(2026, 11, 1) if months == 1 else d(2025, 12, 1))


def test_a_payment_recorded_after_the_due_date_but_dated_before_it_is_on_time(storage, today):
    """A bank file imported weeks later: the bill was paid on September 5, due September 20, recorded
    now. On time by the payment's date; a payment dated after the due date makes its bill late."""
    from tests.contract.test_reports import make_municipal, make_service

    make_municipal(storage)
    db = make_service(storage, today)
    db.generate_bills_for_month(d(2026, 8, 1), d(2026, 8, 31), d(2026, 9, 20), actor=ADMIN)
    bills = db.list_bills(BillFilter(period_month="2026-08"), 0, 50).items
    early, late = bills[0], bills[1]
    db.mark_bill_paid(early.id, paid_on=d(2026, 9, 5), actor=ADMIN)
    db.mark_bill_paid(late.id, paid_on=d(2026, 9, 25), actor=ADMIN)
    assert db.get_bill(early.id).paid_at.date() > early.due_date  # recorded after the due date
    rows = storage.consumer_analytics(AS_OF, 12, False)
    assert sum(r.on_time for r in rows) == 1 and sum(r.late for r in rows) == 1
    mine = {r.area_path: r for r in rows}
    assert mine[early.area_path].on_time == 1 and mine[late.area_path].late == 1
