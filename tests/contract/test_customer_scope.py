"""A customer (issue 16) reads only their linked accounts, on every backend: a customer of unit
SP-KSR-0000001 calls every list and detail path and finds nothing of SP-KSR-0000002 (the same union
council: the same area, so only the account filter keeps it out), nor of other councils, by listing,
searching, counting, summing or guessing ids; a call naming another account's record answers
NotFoundError, exactly as one that does not exist; whole-utility work is refused."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.accounts.roles import Actor
from services.accounts.scopes import Scope, actor_for
from services.errors import NotFoundError, PermissionDeniedError
from services.models import AccountFilter, BillFilter, ReadingFilter
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date
MINE = "SP-KSR-0000001"
NEIGHBOUR = "SP-KSR-0000002"  # same union council
OTHERS = ("SP-KSR-0000002", "SP-KSR-0000003", "SP-OKR-0000004", "SP-OKR-0000005")


@pytest.fixture
def town(storage, today):
    made = make_municipal(storage)
    ids = made["accounts"]
    storage.bulk_insert("meters", [{"meter_number": f"77{i}", "account_id": ids[code], "service": "sanitation",
                                    "unit": "kWh", "status": "active"} for i, code in enumerate(sorted(ids))])
    meters = storage.lookup_ids("meters", "meter_number", [f"77{i}" for i in range(len(ids))])
    storage.bulk_insert("readings", [{"meter_id": meters[f"77{i}"], "reading_value": D("10"),
                                      "reading_date": d(2026, 10, 30), "source": "import", "status": "pending"}
                                     for i in range(len(ids))])
    db = make_service(storage, today)
    db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bills = {b.account_code: b for b in db.list_bills(BillFilter(), 0, 100).items}
    for b in bills.values():
        db.record_payment(b.id, D("100"), paid_on=d(2026, 11, 5), method="cash", actor=ADMIN)
    user = storage.create_user(username="shop1", role="customer", password_hash=None, actor=ADMIN)
    assert storage.link_customer_account(user.id, ids[MINE], ADMIN) is True
    assert storage.link_customer_account(user.id, ids[MINE], ADMIN) is False  # linked once, never doubled
    return {**made, "db": db, "bills": bills, "customer": actor_for(storage, user), "user": user, "meters": meters}


def _codes(items):
    return {x.account_code if hasattr(x, "account_code") else x.code for x in items}


def test_a_customers_scope_is_their_linked_accounts(storage, town):
    c = town["customer"]
    assert c.scope.account_ids == {town["accounts"][MINE]} and c.scope.paths == {"KSR/KSR-UC01"}
    assert storage.customer_account_ids(town["user"].id) == [town["accounts"][MINE]]
    assert storage.list_audit(action_prefix="customer.link").items[0].details == {"account_id": town["accounts"][MINE]}
    # a customer with no links, or an actor of the customer role made without its links, sees nothing
    lonely = storage.create_user(username="shop2", role="customer", password_hash=None, actor=ADMIN)
    assert actor_for(storage, lonely).scope.is_nothing
    assert Actor(None, "api-token", "customer", "api").scope.is_nothing
    assert storage.scoped(actor_for(storage, lonely).scope).list_bills(BillFilter(), 0, 50).total == 0


def test_every_list_and_detail_path_shows_a_customer_only_their_account(storage, town):
    view = storage.scoped(town["customer"].scope)
    ids, bills, areas = town["accounts"], town["bills"], town["areas"]
    assert {a.path for a in view.list_areas()} == {"KSR", "KSR/KSR-UC01"}
    page = view.list_accounts(AccountFilter(), 0, 50)
    assert _codes(page.items) == {MINE} and page.total == 1
    assert view.list_accounts(AccountFilter(search="SP-KSR-0000002"), 0, 50).total == 0
    assert view.list_accounts(AccountFilter(area_id=areas["KSR/KSR-UC01"]), 0, 50).total == 1
    for code in OTHERS:
        assert view.get_account(account_id=ids[code]) is None and view.get_account(code=code) is None
        assert view.service_connection(ids[code], "sanitation") is None
        assert view.open_balance(ids[code])[0] == D("0")
    assert view.get_account(code=MINE).code == MINE
    listed = view.list_bills(BillFilter(), 0, 50)
    assert _codes(listed.items) == {MINE} and listed.total == 1
    assert view.list_bills(BillFilter(account_id=ids[NEIGHBOUR]), 0, 50).total == 0
    assert view.list_bills(BillFilter(search=NEIGHBOUR), 0, 50).total == 0
    assert _codes(view.list_bills_after(BillFilter(), 0, 100)) == {MINE}
    for code in OTHERS[:3]:  # the fourth is inactive: not billed
        other = bills[code]
        assert view.get_bill(other.id) is None
        assert view.list_bill_lines(other.id) == [] and view.list_payments(other.id) == []
    for guess in (999_999, max(b.id for b in bills.values()) + 1):
        assert view.get_bill(guess) is None
    own = bills[MINE]
    assert view.get_bill(own.id).id == own.id and view.list_payments(own.id) and view.list_bill_lines(own.id)
    theirs = view.dashboard_figures("2026-10", d(2026, 11, 22))
    assert theirs.bill_count == 1
    assert theirs.billed == own.total_amount - own.previous_outstanding
    assert view.dashboard_figures("2026-11", d(2026, 11, 22)).collected == D("100")
    assert view.monthly_series(["2026-11"])[0].collected == D("100")
    readings = view.list_readings(ReadingFilter(status=None), 0, 50)
    assert {r.account_code for r in readings.items} == {MINE} and readings.total == 1
    assert {x.account_code for x in view.list_meter_choices(None, 0, 50).items} == {MINE}
    for code in OTHERS:
        meter_id = town["meters"][f"77{sorted(ids).index(code)}"]
        assert view.get_meter(meter_id=meter_id) is None and view.meter_history(meter_id) == []
        assert view.meter_choice(meter_id) is None
        assert view.find_reading(meter_id, d(2026, 10, 30), D("10")) is None
    other_readings = storage.list_readings(ReadingFilter(status=None, account_code=NEIGHBOUR), 0, 50).items
    assert other_readings and all(view.get_reading(r.id) is None for r in other_readings)
    assert view.aging_report(d(2026, 11, 22)) is not None


def test_calls_naming_another_accounts_records_are_not_found(storage, town):
    view = storage.scoped(town["customer"].scope)
    other = town["bills"][NEIGHBOUR]
    for call in (lambda: view.record_payment(other.id, amount=D("1"), paid_on=d(2026, 11, 6), method="cash",
                                             reference=None, actor=town["customer"]),
                 lambda: view.set_bill_status(other.id, "cancelled", town["customer"], "guess"),
                 lambda: view.list_bill_readings(other.id),
                 lambda: view.bill_document_parts([other.id]),
                 lambda: view.coverage_chain(town["accounts"][NEIGHBOUR], 1),
                 lambda: view.usage_months(town["accounts"][NEIGHBOUR], d(2026, 1, 1), d(2026, 12, 31))):
        with pytest.raises(NotFoundError):
            call()
    assert storage.get_bill(other.id).amount_paid == D("100")  # unchanged
    with pytest.raises(PermissionDeniedError):
        view.list_notifications()
    with pytest.raises(PermissionDeniedError):
        view.bulk_insert("accounts", [])


def test_the_facade_answers_a_customer_only_about_their_bills(storage, town):
    db, c = town["db"], town["customer"]
    assert _codes(db.list_bills(BillFilter(), 0, 50, actor=c).items) == {MINE}
    with pytest.raises(NotFoundError):
        db.bill_detail(town["bills"][NEIGHBOUR].id, actor=c)
    assert db.bill_detail(town["bills"][MINE].id, actor=c).bill.account_code == MINE
    with pytest.raises(PermissionDeniedError):  # a customer records no payments, even on their own bill
        db.record_payment(town["bills"][MINE].id, D("1"), paid_on=d(2026, 11, 6), method="cash", actor=c)


def test_scopes_of_accounts_narrow_and_compare():
    a = Scope(frozenset({"KSR/KSR-UC01"}), frozenset({1, 2}))
    b = Scope(frozenset({"KSR"}), frozenset({2, 3}))
    both = a.intersect(b)
    assert both.paths == {"KSR/KSR-UC01"} and both.account_ids == {2}
    assert both.within(a) and both.within(b) and not a.within(b)
    assert a.within(Scope(None)) and not Scope(None).within(a)
    assert Scope(frozenset({"X"}), frozenset()).is_nothing and not a.is_everything
    assert a.accounts_header() == "[1,2]" and Scope(None).accounts_header() is None
