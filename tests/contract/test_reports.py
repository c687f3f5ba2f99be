"""The collection and arrears-aging reports on every backend (issue 14): each figure equals the same
figure computed from the bills one by one (services/reports/models.py defines them); an agent's
reports hold only their areas."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal as D

import pytest

from services.accounts.scopes import Scope
from services.models import BillFilter
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date


@pytest.fixture
def town(storage, today):
    make_municipal(storage)
    db = make_service(storage, today)
    for start, end, due in ((d(2026, 8, 1), d(2026, 8, 31), d(2026, 9, 20)),
                            (d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 20)),
                            (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20))):
        db.generate_bills_for_month(start, end, due, actor=ADMIN)
        bills = {b.account_code: b for b in db.list_bills(BillFilter(period_month=f"{start:%Y-%m}"), 0, 50).items}
        if start.month == 8:
            db.mark_bill_paid(bills["SP-KSR-0000001"].id, paid_on=d(2026, 9, 5), actor=ADMIN)
            db.record_payment(bills["SP-OKR-0000004"].id, D("100"), paid_on=d(2026, 9, 6), actor=ADMIN)
        if start.month == 10:
            db.record_payment(bills["SP-KSR-0000002"].id, D("250"), paid_on=d(2026, 11, 2), actor=ADMIN)
    return db


def _city(path: str) -> str:
    return path.split("/")[0]


def test_collection_per_city_and_union_council_equals_the_bills(storage, town):
    bills = [b for b in storage.list_bills(BillFilter(period_month="2026-10"), 0, 100).items
             if b.status not in ("cancelled", "superseded")]
    for top, key in ((True, _city), (False, lambda p: p)):
        want = defaultdict(lambda: [0, D("0"), D("0"), D("0")])
        for b in bills:
            w = want[key(b.area_path)]
            w[0] += 1
            w[1] += b.total_amount - b.previous_outstanding
            w[2] += b.total_amount
            w[3] += b.amount_paid
        got = {r.area_path: [r.bills, r.billed, r.due, r.collected] for r in storage.collection_report("2026-10", top)}
        assert got == dict(want)
    rows = {r.area_path: r for r in storage.collection_report("2026-10", False)}
    # unit 1 paid August but not September (October carries arrears, nothing paid: ARREARS); unit 2 paid
    # part of October (PARTIAL)
    uc01 = rows["KSR/KSR-UC01"]
    assert (uc01.paid, uc01.partial, uc01.arrears, uc01.unpaid) == (0, 1, 1, 0)
    assert uc01.paid + uc01.partial + uc01.arrears + uc01.unpaid == uc01.bills
    assert uc01.rate == (uc01.collected * 100 / uc01.due).quantize(D("0.1"))
    okr = rows["OKR/OKR-UC01"]  # part paid in August, so October carries arrears and nothing paid on it
    assert okr.arrears == 1 and okr.collected == D("0")


def test_aging_puts_each_open_balance_in_one_bucket(storage, town):
    as_of = d(2026, 11, 22)
    open_ = [b for b in storage.list_bills(BillFilter(), 0, 100).items
             if b.status in ("pending", "partially_paid", "overdue")]
    rows = storage.aging_report(as_of, True)
    assert sum(r.total for r in rows) == sum(b.balance for b in open_)
    assert sum(r.bills for r in rows) == len(open_)
    for r in rows:
        mine = [b for b in open_ if _city(b.area_path) == r.area_path]
        assert r.d0_30 == sum((b.balance for b in mine if 0 <= (as_of - b.due_date).days <= 30), D("0"))
        assert r.not_due == sum((b.balance for b in mine if b.due_date > as_of), D("0"))
        assert r.d31_90 + r.d91_180 + r.d180_plus == sum((b.balance for b in mine if (as_of - b.due_date).days > 30),
                                                         D("0"))
    later = storage.aging_report(d(2027, 6, 1), True)
    assert sum(r.d180_plus for r in later) == sum(b.balance for b in open_ if b.due_date <= d(2026, 12, 2))


def test_an_agents_reports_hold_only_their_areas(storage, town):
    view = storage.scoped(Scope.of(["KSR/KSR-UC01"]))
    assert [r.area_path for r in view.collection_report("2026-10", True)] == ["KSR"]
    assert [r.area_path for r in view.collection_report("2026-10", False)] == ["KSR/KSR-UC01"]
    mine = view.collection_report("2026-10", True)[0]
    everything = {r.area_path: r for r in storage.collection_report("2026-10", False)}["KSR/KSR-UC01"]
    assert (mine.bills, mine.due, mine.collected) == (everything.bills, everything.due, everything.collected)
    assert {r.area_path for r in view.aging_report(d(2026, 11, 22), False)} <= {"KSR/KSR-UC01"}
