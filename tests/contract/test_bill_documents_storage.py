"""Storage.bill_document_parts and claim_notification on every backend."""
import datetime as dt
from decimal import Decimal as D

from services.models import BillFilter
from tests.contract.test_bill_runs import approved_readings

d = dt.date
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))
SEP = (d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15))


def test_parts_of_many_bills_at_once(db, storage):
    sep = db.create_bill("B17-FF", *SEP, flat_units=40, previous_outstanding=0)
    ids = approved_readings(db, storage)
    oct_bill = db.bill_reading(ids["19152159"], *OCT, previous_outstanding=0)
    other = db.create_bill("A1-GF", *OCT, flat_units=5, previous_outstanding=0)
    parts = storage.bill_document_parts([oct_bill.id, other.id, sep.id])
    p = parts[oct_bill.id]
    assert [ln.code for ln in p.lines] == [ln.code for ln in storage.list_bill_lines(oct_bill.id)]
    assert [(r.reading_date, r.reading_value, r.units, r.meter_number) for r in p.readings] == [
        (d(2026, 9, 20), D("1000.00"), D("0.00"), "19152159"), (d(2026, 10, 20), D("1100.00"), D("100.00"), "19152159")]
    assert p.account_name == "Test Owner"
    # The account's months up to this bill: September's 40 kWh and October's 100.
    assert [(h.month, h.quantity) for h in p.history] == [("2026-09", D("40.00")), ("2026-10", D("100.00"))]
    assert p.history[0].charges == sep.total_amount
    assert [h.month for h in parts[sep.id].history] == ["2026-09"]  # never a later month
    assert parts[other.id].readings == () and [h.month for h in parts[other.id].history] == ["2026-10"]
    assert storage.bill_document_parts([]) == {}


def test_parts_name_the_replaced_bill(db, storage):
    first = db.create_bill("B17-FF", *OCT, flat_units=10, previous_outstanding=0)
    second = db.create_bill("B17-FF", *OCT, flat_units=12, previous_outstanding=0)  # a re-issue
    parts = storage.bill_document_parts([first.id, second.id])
    assert parts[second.id].replaces_number == first.bill_number
    assert parts[first.id].replaced_by_number == second.bill_number
    # A superseded bill's month is not counted twice.
    assert [(h.month, h.quantity) for h in parts[second.id].history] == [("2026-10", D("12.00"))]


def test_an_email_is_claimed_once_unless_resent(db, storage):
    bill = db.create_bill("B17-FF", *OCT, flat_units=10, previous_outstanding=0)
    row = {"kind": "bill_document", "channel": "email", "message": "m", "bill_id": bill.id, "recipient": "a@b.example"}
    first = storage.claim_notification(row)
    assert first.status == "pending"
    assert storage.claim_notification(row) is None  # pending: taken
    storage.update_notification(first.id, {"status": "failed", "error": "x"})
    second = storage.claim_notification(row)  # a failed send does not block the next
    storage.update_notification(second.id, {"status": "sent"})
    assert storage.claim_notification(row) is None  # sent: taken
    again = storage.claim_notification({**row, "resend_of": second.id})  # asked for: goes
    assert again is not None and again.resend_of == second.id
    assert storage.claim_notification({**row, "kind": "reminder"}) is not None  # another kind
    assert storage.claim_notification({**row, "channel": "whatsapp"}) is not None  # not a once-only channel
    assert db.list_bills(BillFilter()).total == 1
