"""Storing daily usage on every backend: all or nothing; a day counted once; billed days and locked
months refused; register readings stored with the usage they measured; a pending reading approved
together with its usage; usage history aggregated in the database; contacts edited and audited."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, NotFoundError, PeriodLockedError
from services.models import BatchReading, BillFilter, NewUsage, UsageBatch
from tests.factories import ADMIN, admin_user, make_service, make_water

d = dt.date


@pytest.fixture
def water(storage):
    made = make_water(storage)  # July 2026: 0.5 / 1.0 / 0.25 CCF a day
    return made["accounts"]


def rows(account_id, first, quantities, **kw):
    return tuple(NewUsage(account_id, first + dt.timedelta(days=i), D(q), **kw) for i, q in enumerate(quantities))


def count(storage, account_id, start=d(2026, 1, 1), end=d(2026, 12, 31)):
    return len(storage.list_daily_usage(account_id, start, end))


def test_rows_are_stored_and_audited(storage, water):
    who = admin_user(storage)
    a = water["HS0000001"]
    n = storage.store_usage(UsageBatch(rows(a, d(2026, 8, 1), ["1.25", "0.00", "2.50"]), label="aug.csv"), who)
    assert n == 3
    got = storage.list_daily_usage(a, d(2026, 8, 1), d(2026, 8, 31))
    assert [(x.usage_date, x.quantity, x.source) for x in got] == [
        (d(2026, 8, 1), D("1.25"), "import"), (d(2026, 8, 2), D("0.00"), "import"), (d(2026, 8, 3), D("2.50"), "import")]
    entry = storage.list_audit(action_prefix="usage.store").items[0]
    assert entry.details["rows"] == 3 and entry.details["label"] == "aug.csv" and entry.actor_name == who.username


def test_a_day_is_counted_once_and_nothing_partial_is_stored(storage, water):
    a, b = water["HS0000001"], water["HS0000002"]
    batch = rows(b, d(2026, 8, 1), ["1.00", "1.00"]) + rows(a, d(2026, 7, 31), ["9.99"])  # July 31 has usage
    with pytest.raises(ConflictError) as e:
        storage.store_usage(UsageBatch(batch), ADMIN)
    assert "HS0000001" in str(e.value) and "2026-07-31" in str(e.value)
    assert count(storage, b, d(2026, 8, 1)) == 0  # the good rows were not stored either
    with pytest.raises(ConflictError):  # the same day twice in one batch
        storage.store_usage(UsageBatch(rows(b, d(2026, 8, 1), ["1"]) + rows(b, d(2026, 8, 1), ["2"])), ADMIN)
    assert count(storage, b, d(2026, 8, 1)) == 0
    assert storage.usage_days_present([a, b], d(2026, 7, 30), d(2026, 8, 2)) == {
        (a, d(2026, 7, 30)), (a, d(2026, 7, 31)), (b, d(2026, 7, 30)), (b, d(2026, 7, 31))}


def test_billed_days_and_locked_months_are_refused(storage, water, today):
    db = make_service(storage, today)
    db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 21), actor=ADMIN)
    a = water["HS0000003"]
    assert storage.usage_billed_to(list(water.values())) == {v: d(2026, 7, 31) for v in water.values()}
    with pytest.raises(ConflictError) as e:  # a July day nobody measured before the bill: the bill would miss it
        storage.store_usage(UsageBatch(rows(a, d(2026, 6, 30), ["1.00"])), ADMIN)
    assert "billed" in str(e.value)
    assert storage.store_usage(UsageBatch(rows(a, d(2026, 8, 1), ["1.00"])), ADMIN) == 1
    with pytest.raises(PeriodLockedError):
        storage.store_usage(UsageBatch(rows(water["HS0000002"], d(2025, 11, 5), ["1.00"])), ADMIN)
    # a superseded bill no longer counts: only bills that stand
    assert db.list_bills(BillFilter(account_id=a)).total == 1


def test_register_values_are_stored_as_a_chain_with_their_usage(storage, water):
    a = water["HS0000001"]
    meter = storage.lookup_ids("meters", "meter_number", ["6100000"])["6100000"]
    readings = (BatchReading(meter, d(2026, 8, 1), D("100.00"), None, None),
                BatchReading(meter, d(2026, 8, 4), D("103.00"), D("3.00"), None))
    usage = rows(a, d(2026, 8, 2), ["1.00", "1.00", "1.00"], source="reading", meter_id=meter, reading_ref=1)
    assert storage.store_usage(UsageBatch(usage, readings, label="reads.xlsx"), ADMIN) == 3
    first, second = storage.meter_history(meter)[::-1]
    assert (first.reading_value, first.consumption, first.status, first.source) == (D("100.00"), None, "approved", "import")
    assert (second.previous_reading_id, second.consumption) == (first.id, D("3.00"))
    got = storage.list_daily_usage(a, d(2026, 8, 1), d(2026, 8, 31))
    assert [x.source for x in got] == ["reading"] * 3
    # a batch made against an older chain is refused whole
    stale = (BatchReading(meter, d(2026, 8, 9), D("110.00"), D("10.00"), first.id),)
    with pytest.raises(ConflictError):
        storage.store_usage(UsageBatch(rows(a, d(2026, 8, 5), ["2.00"] * 5, reading_ref=0), stale), ADMIN)
    assert count(storage, a, d(2026, 8, 5)) == 0 and len(storage.meter_history(meter)) == 2


def test_a_pending_reading_is_approved_with_its_usage(storage, water, today):
    db = make_service(storage, today)
    meter = storage.lookup_ids("meters", "meter_number", ["6100001"])["6100001"]
    first = db.insert_meter_reading(meter_id=meter, reading_value="500", reading_date=d(2026, 8, 1), actor=ADMIN)
    db.storage.review_reading(first.reading.id, approve=True, actor=ADMIN)
    second = db.insert_meter_reading(meter_id=meter, reading_value="506", reading_date=d(2026, 8, 4), actor=ADMIN).reading
    a = water["HS0000002"]
    usage = rows(a, d(2026, 8, 2), ["2.00", "2.00", "2.00"], source="reading", meter_id=meter, reading_id=second.id)
    with pytest.raises(ConflictError):  # priced against another consumption: refused, still pending
        storage.store_usage(UsageBatch(usage, approve_reading_id=second.id, approve_consumption=D("7.00")), ADMIN)
    assert storage.get_reading(second.id).status == "pending" and count(storage, a, d(2026, 8, 1)) == 0
    assert storage.store_usage(UsageBatch(usage, approve_reading_id=second.id,
                                          approve_consumption=D("6.00")), ADMIN) == 3
    assert storage.get_reading(second.id).status == "approved"
    assert {x.usage_date: x.quantity for x in storage.list_daily_usage(a, d(2026, 8, 1), d(2026, 8, 31))} == {
        d(2026, 8, 2): D("2.00"), d(2026, 8, 3): D("2.00"), d(2026, 8, 4): D("2.00")}
    with pytest.raises(ConflictError):  # not pending any more
        storage.store_usage(UsageBatch(rows(a, d(2026, 8, 9), ["1"]), approve_reading_id=second.id,
                                       approve_consumption=D("6.00")), ADMIN)
    # a reading whose days already have usage is refused, and stays pending
    third = db.insert_meter_reading(meter_id=meter, reading_value="510", reading_date=d(2026, 8, 6), actor=ADMIN).reading
    clash = rows(a, d(2026, 8, 4), ["2.00", "1.00", "1.00"], source="reading", reading_id=third.id)
    with pytest.raises(ConflictError):
        storage.store_usage(UsageBatch(clash, approve_reading_id=third.id, approve_consumption=D("4.00")), ADMIN)
    assert storage.get_reading(third.id).status == "pending"


def test_usage_history_is_aggregated_by_month(storage, water):
    a = water["HS0000002"]  # 1.00 a day through July
    storage.store_usage(UsageBatch(rows(a, d(2026, 8, 1), ["2.00", "0.00", "3.50"])), ADMIN)
    months = storage.usage_months(a, d(2026, 1, 1), d(2026, 12, 31))
    assert [(m.month, m.days, m.quantity, m.peak, m.zero_days) for m in months] == [
        ("2026-07", 31, D("31.00"), D("1.00"), 0), ("2026-08", 3, D("5.50"), D("3.50"), 1)]
    assert storage.usage_months(a, d(2026, 7, 10), d(2026, 7, 19))[0].quantity == D("10.00")
    assert storage.list_daily_usage(a, d(2026, 7, 30), d(2026, 8, 1))[0].usage_date == d(2026, 7, 30)


def test_a_contact_is_edited_and_audited(storage, water):
    who = admin_user(storage)
    [cid] = storage.bulk_insert("contacts", [{"name": "Noah Hernandez", "phone": "+15305550101"}], return_ids=True)
    got = storage.update_contact(cid, {"phone": "+15305550199", "email": "noah@example.com", "nope": 1}, who)
    assert (got.name, got.phone, got.email) == ("Noah Hernandez", "+15305550199", "noah@example.com")
    entry = storage.list_audit(action_prefix="contact.update").items[0]
    assert entry.entity_id == str(cid) and entry.details["phone"] == {"old": "+15305550101", "new": "+15305550199"}
    assert storage.update_contact(cid, {"phone": "+15305550199"}, who).phone == "+15305550199"
    assert len(storage.list_audit(action_prefix="contact.update").items) == 1  # nothing changed: nothing audited
    with pytest.raises(NotFoundError):
        storage.update_contact(10 ** 9, {"phone": "+15305550100"}, who)


def test_a_single_water_bill_charges_the_periods_usage_and_marks_those_days_billed(storage, water, today):
    """A bill made one at a time for a usage-priced account covers the period's daily usage as the
    month run does: its units are that usage (other units are refused, naming the field), its usage
    range is recorded, so a day is never billed twice: the run leaves it alone and usage for a
    billed day is refused."""
    from services.errors import ValidationError

    db = make_service(storage, today)
    a = water["HS0000001"]  # 0.5 CCF a day in July
    with pytest.raises(ValidationError) as e:
        db.create_bill("HS0000001", "2026-07-01", "2026-07-31", "2026-08-20", flat_units=40, actor=ADMIN)
    assert e.value.field == "units" and "15.50" in str(e.value)
    bill = db.create_bill("HS0000001", "2026-07-01", "2026-07-31", "2026-08-20", actor=ADMIN)
    assert (bill.units, bill.usage_from, bill.usage_to) == (D("15.50"), d(2026, 7, 1), d(2026, 7, 31))
    assert storage.usage_billed_to([a]) == {a: d(2026, 7, 31)}
    run = db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 20), actor=ADMIN)
    assert (run.created, run.skipped) == (2, 1)
    with pytest.raises(ConflictError):
        storage.store_usage(UsageBatch(rows(a, d(2026, 7, 31), ["0.00"]), label="late.csv"), admin_user(storage))
    with pytest.raises(ValidationError) as e:  # no usage stored for August, and no units given
        db.create_bill("HS0000001", "2026-08-01", "2026-08-31", "2026-09-20", actor=ADMIN)
    assert e.value.field == "units"


def test_usage_quantities_reads_the_stored_values_of_the_days(storage, water):
    a, b = water["HS0000001"], water["HS0000002"]
    storage.store_usage(UsageBatch(rows(a, d(2026, 8, 1), ["1.25", "0.00"]) + rows(b, d(2026, 8, 2), ["3.5"])), ADMIN)
    got = storage.usage_quantities([a, b, a], d(2026, 7, 31), d(2026, 8, 2))
    assert got == {(a, d(2026, 7, 31)): D("0.50"), (a, d(2026, 8, 1)): D("1.25"), (a, d(2026, 8, 2)): D("0.00"),
                   (b, d(2026, 7, 31)): D("1.00"), (b, d(2026, 8, 2)): D("3.50")}
    assert storage.usage_quantities([], d(2026, 8, 1), d(2026, 8, 2)) == {}
