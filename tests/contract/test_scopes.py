"""Staff scoped to their areas, on every backend (issue 14): an AGENT of union council KSR/KSR-UC01
calls every read path and finds nothing of another council or city, by listing, searching, counting,
summing or guessing ids; a call naming a record outside the scope answers NotFoundError, as for a
record that does not exist; whole-utility work is refused. The head office and admins see everything."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.accounts.scopes import EVERYTHING, Scope, actor_for
from services.errors import NotFoundError, PermissionDeniedError, ValidationError
from services.models import AccountFilter, BillFilter, ReadingFilter
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date
MINE = "KSR/KSR-UC01"  # units SP-KSR-0000001 and SP-KSR-0000002
OTHERS = ("SP-KSR-0000003", "SP-OKR-0000004", "SP-OKR-0000005")


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
    agent = storage.create_user(username="agent1", role="agent", password_hash=None, actor=ADMIN)
    storage.set_user_areas(agent.id, [made["areas"][MINE]], ADMIN)
    return {**made, "db": db, "bills": bills, "agent": actor_for(storage, agent), "agent_user": agent,
            "meters": meters}


def _codes(items):
    return {x.account_code if hasattr(x, "account_code") else x.code for x in items}


def test_an_agents_scope_comes_from_their_assigned_areas(storage, town):
    agent = town["agent"]
    assert agent.scope == Scope.of([MINE]) and not agent.scope.is_everything
    assert [a.path for a in storage.list_user_areas(agent.user_id)] == [MINE]
    entry = storage.list_audit(action_prefix="user.areas").items[0]
    assert entry.details["after"] == [MINE] and entry.details["before"] == []
    # HEAD and admins are not area-limited, whatever is assigned to them.
    head = storage.create_user(username="head1", role="head", password_hash=None, actor=ADMIN)
    storage.set_user_areas(head.id, [town["areas"]["OKR"]], ADMIN)
    assert actor_for(storage, head).scope == EVERYTHING
    # An agent with no areas sees nothing.
    lonely = storage.create_user(username="agent2", role="agent", password_hash=None, actor=ADMIN)
    scope = actor_for(storage, lonely).scope
    assert scope.is_nothing
    assert storage.scoped(scope).list_accounts(AccountFilter(), 0, 50).total == 0


def test_set_user_areas_replaces_the_assignment_and_checks_it(storage, town):
    uid = town["agent_user"].id
    areas = town["areas"]
    storage.set_user_areas(uid, [areas["OKR"], areas["KSR/KSR-UC02"], areas["OKR"]], ADMIN)
    assert {a.path for a in storage.list_user_areas(uid)} == {"OKR", "KSR/KSR-UC02"}
    with pytest.raises(ValidationError):
        storage.set_user_areas(uid, [areas["OKR"], 999_999], ADMIN)
    assert {a.path for a in storage.list_user_areas(uid)} == {"OKR", "KSR/KSR-UC02"}  # nothing partial
    with pytest.raises(NotFoundError):
        storage.set_user_areas(999_999, [areas["OKR"]], ADMIN)
    storage.set_user_areas(uid, [], ADMIN)
    assert storage.list_user_areas(uid) == []


def test_every_read_path_shows_an_agent_only_their_union_council(storage, town):
    view = storage.scoped(town["agent"].scope)
    ids, bills, areas = town["accounts"], town["bills"], town["areas"]
    mine = {"SP-KSR-0000001", "SP-KSR-0000002"}
    # areas: theirs, and the city above it to navigate; no other council or city
    assert {a.path for a in view.list_areas()} == {"KSR", MINE}
    assert view.get_area(area_id=areas["OKR/OKR-UC01"]) is None and view.get_area(path="KSR/KSR-UC02") is None
    # accounts: list, count, search, filters, by id and by code
    page = view.list_accounts(AccountFilter(), 0, 50)
    assert _codes(page.items) == mine and page.total == 2
    assert view.list_accounts(AccountFilter(search="SP-OKR"), 0, 50).total == 0
    assert view.list_accounts(AccountFilter(area_id=areas["OKR"]), 0, 50).total == 0
    for code in OTHERS:
        assert view.get_account(account_id=ids[code]) is None and view.get_account(code=code) is None
        assert view.service_connection(ids[code], "sanitation") is None
        assert view.open_balance(ids[code])[0] == D("0")
    assert view.get_account(code="SP-KSR-0000001").code == "SP-KSR-0000001"
    assert view.service_connection(ids["SP-KSR-0000001"], "sanitation") is not None
    # bills: list, count, keyset pages, detail, lines, payments
    listed = view.list_bills(BillFilter(), 0, 50)
    assert _codes(listed.items) == mine and listed.total == 2
    assert _codes(view.list_bills_after(BillFilter(), 0, 100)) == mine
    for code in OTHERS[:2]:  # the third is inactive: not billed
        other = bills[code]
        assert view.get_bill(other.id) is None
        assert view.list_bill_lines(other.id) == [] and view.list_payments(other.id) == []
    own = bills["SP-KSR-0000001"]
    assert view.get_bill(own.id).id == own.id and view.list_payments(own.id) and view.list_bill_lines(own.id)
    # sums: the dashboard and the monthly series count only their bills and payments
    everything = storage.dashboard_figures("2026-10", d(2026, 11, 22))
    theirs = view.dashboard_figures("2026-10", d(2026, 11, 22))
    assert theirs.bill_count == 2 < everything.bill_count
    assert theirs.billed == sum((bills[c].total_amount - bills[c].previous_outstanding for c in mine), D("0"))
    nov = view.dashboard_figures("2026-11", d(2026, 11, 22))
    assert nov.collected == D("200")
    series = {p.month: p for p in view.monthly_series(["2026-10", "2026-11"])}
    assert series["2026-11"].collected == D("200")
    # the dashboard's chart: the units of their bills only (a fixed fee's are 0), as the series says
    assert view.monthly_consumption(["2026-10", "2026-11"]) == {m: p.consumption for m, p in series.items()}
    # readings and meters
    assert {r.account_code for r in view.list_readings(ReadingFilter(status=None), 0, 50).items} == mine
    assert view.list_readings(ReadingFilter(status=None), 0, 50).total == 2
    assert _meter_accounts(view) == mine
    for code in OTHERS:
        meter_id = town["meters"][f"77{sorted(ids).index(code)}"]
        assert view.get_meter(meter_id=meter_id) is None and view.meter_history(meter_id) == []
        assert view.meter_choice(meter_id) is None
        assert view.find_reading(meter_id, d(2026, 10, 30), D("10")) is None
    other_readings = storage.list_readings(ReadingFilter(status=None, account_code="SP-OKR"), 0, 50).items
    assert other_readings and all(view.get_reading(r.id) is None for r in other_readings)
    # naming another area's account by its id (the account timeline's filter) finds none of its readings
    other_account = other_readings[0].account_id
    assert storage.list_readings(ReadingFilter(status=None, account_id=other_account), 0, 50).total >= 1
    assert view.list_readings(ReadingFilter(status=None, account_id=other_account), 0, 50).total == 0


def _meter_accounts(view) -> set[str]:
    return {c.account_code for c in view.list_meter_choices(None, 0, 50).items}


def test_calls_naming_records_outside_the_scope_are_not_found(storage, town):
    view = storage.scoped(town["agent"].scope)
    other = town["bills"]["SP-OKR-0000004"]
    with pytest.raises(NotFoundError):
        view.record_payment(other.id, amount=D("1"), paid_on=d(2026, 11, 6), method="cash", reference=None,
                            actor=town["agent"])
    with pytest.raises(NotFoundError):
        view.set_bill_status(other.id, "cancelled", town["agent"], "guess")
    assert storage.get_bill(other.id).amount_paid == D("100")  # unchanged
    # whole-utility work is not for area-limited staff
    with pytest.raises(PermissionDeniedError):
        view.bulk_insert("accounts", [])
    with pytest.raises(PermissionDeniedError):
        view.set_user_areas(town["agent_user"].id, [town["areas"]["OKR"]], town["agent"])


def test_the_service_facade_reads_through_the_actors_scope(storage, town, today):
    db, agent = town["db"], town["agent"]
    mine = db.for_actor(agent)
    assert _codes(mine.list_bills(BillFilter(), 0, 50).items) == {"SP-KSR-0000001", "SP-KSR-0000002"}
    with pytest.raises(NotFoundError):
        mine.get_bill(town["bills"]["SP-OKR-0000004"].id)
    assert db.for_actor(ADMIN) is db and db.list_bills(BillFilter(), 0, 50).total == 4
    # a method given the actor runs in the actor's scope even on the unscoped facade: a manager of
    # Kasur may record payments there, and a bill of Okara is not found for them
    user = storage.create_user(username="manager1", role="manager", password_hash=None, actor=ADMIN)
    storage.set_user_areas(user.id, [town["areas"]["KSR"]], ADMIN)
    manager = actor_for(storage, user)
    with pytest.raises(NotFoundError):
        db.record_payment(town["bills"]["SP-OKR-0000004"].id, D("1"), paid_on=d(2026, 11, 6), method="cash",
                          actor=manager)
    paid = db.record_payment(town["bills"]["SP-KSR-0000003"].id, D("1"), paid_on=d(2026, 11, 6), method="cash",
                             actor=manager)
    assert paid is not None
    with pytest.raises(PermissionDeniedError):
        db.generate_bills_for_month(d(2026, 11, 1), d(2026, 11, 30), d(2026, 12, 20), actor=agent)


def test_a_scope_path_is_not_a_prefix_match(storage, town):
    """"KSR/KSR-UC0" must not take "KSR/KSR-UC01": paths match whole segments."""
    storage.ensure_areas([{"path": "KSR/KSR-UC0", "name": "UC0"}], ADMIN)
    view = storage.scoped(Scope.of(["KSR/KSR-UC0"]))
    assert view.list_accounts(AccountFilter(), 0, 50).total == 0
    assert view.list_bills(BillFilter(), 0, 50).total == 0


def test_a_scoped_service_shows_its_parents_utility_settings(storage, town):
    """Every amount a page formats asks the service for the utility's settings: a scoped view reads
    them from its unscoped service (read once there), and an edit there is what the view shows next,
    without reading the database once a call."""
    db, agent = town["db"], town["agent"]
    view = db.for_actor(agent)
    assert view is not db and view.utility() is db.utility()
    calls = []
    real = storage.utility_settings_row
    storage.utility_settings_row = lambda: calls.append(1) or real()
    try:
        for _ in range(5):
            view.utility()
        assert calls == []
    finally:
        del storage.utility_settings_row
    db.update_utility(name="Renamed Town", actor=ADMIN)
    assert view.utility().name == "Renamed Town" == db.for_actor(agent).utility().name
