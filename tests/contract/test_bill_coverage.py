"""Every approved unit is billed exactly once: a bill covers every approved reading of the flat since
its last billed reading, up to the reading it bills (single bills and the month run alike), and a
pending reading in between holds it back (issue 11, item 1). The invariants themselves run over
random sequences in test_billing_invariants.py."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, ValidationError
from services.models import BillFilter, ReadingFilter
from tests.factories import admin_user, engineer_user

d = dt.date
SEP = (d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15))
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))  # the month of the example (11-20, 11-28) a month back
NOV = (d(2026, 11, 1), d(2026, 11, 30), d(2026, 12, 15))
METER = "19150001"  # A1-GF: rate 11.5, fixed 1680 (3BHK)


def reading(db, storage, value, date, approve=True, **kw):
    r = db.insert_meter_reading(meter_number=METER, reading_value=value, reading_date=date,
                                actor=engineer_user(storage)).reading
    if approve:
        r = db.approve_reading(r.id, actor=admin_user(storage), **kw)
    return r


def billed_september(db, storage):
    """A baseline and a September reading, billed by the September run: the flat's last billed reading."""
    reading(db, storage, "1000", d(2026, 8, 25))
    sep = reading(db, storage, "1100", d(2026, 9, 25))
    assert db.generate_bills_for_month(*SEP).created == 1
    return sep


def test_a1_ff_the_run_bills_every_approved_reading_since_the_last_bill(db, storage):
    """A1-FF: approved 11-20 (204.5 kWh) and 11-28 (50 kWh). The November run used to bill 50 and
    leave 204.5 approved and never billed; it bills 254.5, and each reading is on the bill."""
    billed_september(db, storage)
    r20 = reading(db, storage, "1304.5", d(2026, 10, 20))
    r28 = reading(db, storage, "1354.5", d(2026, 10, 28))
    run = db.generate_bills_for_month(*OCT)
    assert run.created == 1
    bill = db.list_bills(BillFilter(period_month="2026-10")).items[0]
    assert bill.units == D("254.50") and (bill.first_reading_id, bill.last_reading_id) == (r20.id, r28.id)
    assert bill.total_amount - bill.previous_outstanding == D("4606.75")  # 254.5 x 11.5 + 1680, arrears apart
    assert [(c.reading_id, c.units) for c in storage.list_bill_readings(bill.id)] == [(r20.id, D("204.50")),
                                                                                     (r28.id, D("50.00"))]
    assert storage.readings_billed([r20.id, r28.id]) == {r20.id, r28.id}
    assert db.get_reading(r20.id).bill_id == db.get_reading(r28.id).bill_id == bill.id
    approved_unbilled = db.list_readings(ReadingFilter(status="approved", unbilled_only=True), actor=admin_user(storage))
    assert approved_unbilled.total == 0
    again = db.generate_bills_for_month(*OCT)
    assert (again.created, again.skipped) == (0, 1)


def test_a_single_bill_covers_every_approved_reading_since_the_last_bill(db, storage):
    billed_september(db, storage)
    r20 = reading(db, storage, "1304.5", d(2026, 10, 20))
    r28 = reading(db, storage, "1354.5", d(2026, 10, 28))
    quote = db.quote_bill("A1-GF", reading_id=r28.id, billing_period_start=OCT[0], billing_period_end=OCT[1])
    assert [c.reading_id for c in quote.coverage.readings] == [r20.id, r28.id] and quote.priced.units == D("254.5")
    bill = db.bill_reading(r28.id, *OCT, actor=admin_user(storage))
    assert (bill.units, bill.first_reading_id, bill.last_reading_id) == (D("254.50"), r20.id, r28.id)
    assert bill.total_amount == quote.priced.total_amount
    assert storage.readings_billed([r20.id]) == {r20.id}


def test_a_pending_reading_before_holds_the_bill_back(db, storage):
    billed_september(db, storage)
    r20 = reading(db, storage, "1304.5", d(2026, 10, 20), approve=False)
    r28 = reading(db, storage, "1354.5", d(2026, 10, 28))
    with pytest.raises(ConflictError) as e:
        db.bill_reading(r28.id, *OCT)
    assert f"review reading #{r20.id} of 2026-10-20 first" in str(e.value).lower()
    run = db.generate_bills_for_month(*OCT)
    assert (run.created, run.waiting) == (0, 1) and "wait for review" in run.message
    assert db.list_bills(BillFilter(period_month="2026-10")).total == 0
    db.approve_reading(r20.id, actor=admin_user(storage))
    run = db.generate_bills_for_month(*OCT)
    assert run.created == 1 and db.list_bills(BillFilter(period_month="2026-10")).items[0].units == D("254.50")


def test_the_run_bills_up_to_the_reading_before_a_pending_one(db, storage):
    """Approved 11-05, pending 11-20, approved 11-28: the run bills 11-05; the rest waits for the next bill."""
    billed_september(db, storage)
    r05 = reading(db, storage, "1120", d(2026, 10, 5))
    r20 = reading(db, storage, "1304.5", d(2026, 10, 20), approve=False)
    r28 = reading(db, storage, "1354.5", d(2026, 10, 28))
    assert db.generate_bills_for_month(*OCT).created == 1
    bill = db.list_bills(BillFilter(period_month="2026-10")).items[0]
    assert (bill.last_reading_id, bill.units) == (r05.id, D("20.00"))
    assert storage.readings_billed([r05.id, r20.id, r28.id]) == {r05.id}
    db.approve_reading(r20.id, actor=admin_user(storage))
    dec = db.bill_reading(r28.id, *NOV)
    assert (dec.first_reading_id, dec.units) == (r20.id, D("234.50"))


def test_rejected_readings_are_never_covered(db, storage):
    billed_september(db, storage)
    bad = reading(db, storage, "9999", d(2026, 10, 10), approve=False)
    db.reject_reading(bad.id, "photo shows 1150", actor=admin_user(storage))
    r28 = reading(db, storage, "1354.5", d(2026, 10, 28))
    bill = db.bill_reading(r28.id, *OCT)
    assert [c.reading_id for c in storage.list_bill_readings(bill.id)] == [r28.id] and bill.units == D("254.50")


def test_monthly_units_entered_become_the_billed_readings_confirmed_units(db, storage):
    billed_september(db, storage)
    r20 = reading(db, storage, "1304.5", d(2026, 10, 20))
    r28 = reading(db, storage, "1354.5", d(2026, 10, 28))
    with pytest.raises(ValidationError) as e:  # less than the readings before it already add up to
        db.bill_reading(r28.id, *OCT, flat_units="200")
    assert e.value.field == "units" and "204.5" in str(e.value)
    assert db.list_bills(BillFilter(period_month="2026-10")).total == 0
    bill = db.bill_reading(r28.id, *OCT, flat_units="260", actor=admin_user(storage))
    assert bill.units == D("260.00") and db.get_reading(r28.id).approved_units == D("55.50")
    assert [c.units for c in storage.list_bill_readings(bill.id)] == [D("204.50"), D("55.50")]
    audit = storage.list_audit(action_prefix="reading.confirm_units").items
    assert audit[0].entity_id == str(r28.id) and audit[0].details["bill_id"] == bill.id


def test_a_manual_bill_covers_no_reading_and_arrears_must_be_backed(db, storage):
    bill = db.create_bill("A1-GF", *SEP, flat_units=10)
    assert storage.list_bill_readings(bill.id) == [] and bill.first_reading_id is None
    with pytest.raises(ValidationError) as e:  # arrears that no open bill backs
        db.create_bill("A1-GF", *OCT, flat_units=10, previous_outstanding="500")
    assert e.value.field == "previous_outstanding"
    open_left = db.create_bill("A1-GF", *OCT, flat_units=10, previous_outstanding=0)
    assert open_left.previous_outstanding == 0 and db.get_bill(bill.id).status == "pending"


def test_the_api_rule_is_the_same_after_approving_the_pending_reading(db, storage):
    """The run after approving an earlier pending reading bills both (it used to say 'already billed')."""
    billed_september(db, storage)
    r20 = reading(db, storage, "1304.5", d(2026, 10, 20), approve=False)
    r25 = reading(db, storage, "1339.8", d(2026, 10, 25))
    with pytest.raises(ConflictError):
        db.bill_reading(r25.id, *OCT)
    db.approve_reading(r20.id, actor=admin_user(storage))
    bill = db.bill_reading(r25.id, *OCT)
    assert bill.units == D("239.80") and storage.readings_billed([r20.id, r25.id]) == {r20.id, r25.id}
