"""A re-issue replaces the bill it re-issues (issue 11, item 3): the original becomes superseded
(kept, amounts unchanged, pointing at its replacement), its balance is not carried into the
replacement, the arrears it carried move with it, what was paid on it is credited, and the
preview is what is stored."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, PermissionDeniedError, ValidationError
from services.models import BillFilter, ReadingFilter
from services.tariff_rules import TariffRules
from tests.factories import admin_user, engineer_user

d = dt.date
SEP = (d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15))
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))
NOV = (d(2026, 11, 1), d(2026, 11, 30), d(2026, 12, 15))


@pytest.fixture
def r2299(db, storage):
    """B17-FF's October reading of 180.20 kWh (the D7-TF example's units), approved after its baseline."""
    eng, admin = engineer_user(storage), admin_user(storage)
    base = db.insert_meter_reading(meter_number="19152159", reading_value="5000", reading_date=d(2026, 9, 20), actor=eng)
    db.approve_reading(base.reading.id, actor=admin)
    r = db.insert_meter_reading(meter_number="19152159", reading_value="5180.20", reading_date=d(2026, 10, 20), actor=eng)
    return db.approve_reading(r.reading.id, actor=admin)


def preview(db, reading):
    return db.quote_bill(reading.account_id, reading_id=reading.id, billing_period_start=OCT[0], billing_period_end=OCT[1])


def test_reissue_replaces_the_bill_and_charges_the_reading_once(db, storage, r2299):
    """Save, tick Re-issue, Save: the second bill used to be stored at twice the first (the first one
    carried forward into it, the same 180.20 kWh charged twice) while the preview showed the first's."""
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    assert first.total_amount == D("3636.40")  # 180.20 x 12 + 1474
    quoted = preview(db, r2299)
    assert quoted.replaces.id == first.id and quoted.priced.previous_outstanding == 0
    second = db.bill_reading(r2299.id, *OCT, actor=admin)
    assert second.total_amount == quoted.priced.total_amount == D("3636.40")
    assert second.previous_outstanding == 0 and second.reissue_of == first.id
    assert second.billing_period_start == d(2026, 10, 2)  # the seed's collision rule: a new row, start moved on
    old = db.get_bill(first.id)
    assert (old.status, old.superseded_by, old.carried_forward_to) == ("superseded", second.id, None)
    assert (old.total_amount, old.units, old.amount_paid) == (first.total_amount, first.units, 0)  # unchanged
    assert db.flat_outstanding("B17-FF") == D("3636.40")
    assert db.get_reading(r2299.id).bill_id == second.id and storage.readings_billed([r2299.id]) == {r2299.id}
    assert [c.reading_id for c in storage.list_bill_readings(second.id)] == \
        [c.reading_id for c in storage.list_bill_readings(first.id)]
    actions = [a.action for a in storage.list_audit(entity_type="bill", entity_id=str(second.id)).items]
    assert "bill.reissue" in actions
    # Sums count the replacement only.
    figures = db.dashboard("2026-10")
    assert (figures.billed, figures.bill_count) == (D("3636.40"), 1)
    assert db.monthly_points(["2026-10"])[0].billed == D("3636.40")


def test_money_paid_on_the_original_is_credited_once(db, storage, r2299):
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    db.record_payment(first.id, "1000", paid_on=d(2026, 11, 5), method="upi", actor=admin)
    quoted = db.quote_bill("B17-FF", "170.20", None, None, reading_id=r2299.id, billing_period_start=OCT[0])
    assert quoted.credit == D("1000.00") and quoted.balance == quoted.priced.total_amount - D("1000")
    second = db.bill_reading(r2299.id, *OCT, flat_units="170.20", actor=admin)
    assert second.total_amount == quoted.priced.total_amount == D("3516.40")
    assert (second.amount_paid, second.status, second.balance) == (D("1000.00"), "partially_paid", D("2516.40"))
    credit = storage.list_payments(second.id)
    assert [(p.amount, p.method, p.credit_from_bill) for p in credit] == [(D("1000.00"), "credit", first.id)]
    assert db.get_bill(first.id).amount_paid == D("1000.00")  # the original keeps its history
    assert db.flat_outstanding("B17-FF") == D("2516.40")
    assert db.dashboard("2026-11").collected == D("1000.00")  # the money arrived once
    with pytest.raises(ConflictError):
        db.record_payment(first.id, "1", actor=admin)  # the superseded bill takes no payments
    with pytest.raises(ConflictError):
        db.change_bill_status(first.id, "pending", "reopen it", actor=admin)
    assert db.mark_bill_paid(second.id, actor=admin).bill.status == "paid"
    assert db.flat_outstanding("B17-FF") == 0


def test_arrears_the_original_carried_move_to_the_replacement(db, storage, r2299):
    admin = admin_user(storage)
    sep = db.create_bill("B17-FF", *SEP, flat_units=100)  # 2674.00, open
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    assert first.previous_outstanding == D("2674.00") and db.get_bill(sep.id).carried_forward_to == first.id
    quoted = preview(db, r2299)
    assert quoted.priced.previous_outstanding == D("2674.00") and quoted.priced.total_amount == D("6310.40")
    with pytest.raises(ValidationError) as e:  # a re-issue carries exactly what the original carried
        db.bill_reading(r2299.id, *OCT, previous_outstanding="0", actor=admin)
    assert e.value.field == "previous_outstanding"
    second = db.bill_reading(r2299.id, *OCT, actor=admin)
    assert (second.previous_outstanding, second.total_amount) == (D("2674.00"), D("6310.40"))
    assert (db.get_bill(sep.id).status, db.get_bill(sep.id).carried_forward_to) == ("carried_forward", second.id)
    assert db.flat_outstanding("B17-FF") == D("6310.40")  # not 2674 + 6310.40 + 6310.40


def test_a_bill_carried_forward_is_reissued_through_the_later_bill(db, storage, r2299):
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    nov = db.create_bill("B17-FF", *NOV, flat_units=10)  # absorbs October's balance
    assert db.get_bill(first.id).status == "carried_forward"
    before = storage.table_counts(["bills", "payments", "bill_readings"])
    with pytest.raises(ConflictError) as e:
        db.bill_reading(r2299.id, *OCT, actor=admin)
    assert f"re-issue bill #{nov.id}" in str(e.value)
    assert storage.table_counts(["bills", "payments", "bill_readings"]) == before


def test_more_paid_than_the_replacement_is_refused_whole(db, storage, r2299):
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    db.mark_bill_paid(first.id, actor=admin)
    before = storage.table_counts(["bills", "payments", "bill_readings", "audit_log"])
    with pytest.raises(ValidationError) as e:  # 3636.40 paid; the replacement would come to 1594.00
        db.bill_reading(r2299.id, *OCT, flat_units="10", actor=admin)
    assert "credit note" in str(e.value)
    assert storage.table_counts(["bills", "payments", "bill_readings", "audit_log"]) == before
    assert db.get_bill(first.id).status == "paid" and db.get_reading(r2299.id).approved_units is None


def test_a_reissue_priced_against_a_stale_original_is_refused(db, storage, r2299, monkeypatch):
    """A payment lands on the original between pricing the re-issue and storing it: the credit
    would be wrong, so nothing is stored."""
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    real = storage.insert_bill

    def payment_lands_first(new, *args, **kwargs):
        db.record_payment(first.id, "500", method="cash", actor=admin)
        return real(new, *args, **kwargs)

    monkeypatch.setattr(storage, "insert_bill", payment_lands_first)
    with pytest.raises(ConflictError):
        db.bill_reading(r2299.id, *OCT, actor=admin)
    monkeypatch.setattr(storage, "insert_bill", real)
    assert db.get_bill(first.id).status == "partially_paid" and db.list_bills(BillFilter(account_id=first.account_id)).total == 1


def test_a_manual_reissue_of_a_bill_that_covers_readings_is_refused(db, storage, r2299):
    first = db.bill_reading(r2299.id, *OCT)
    with pytest.raises(ConflictError) as e:
        db.create_bill("B17-FF", *OCT, flat_units=100)
    assert f"reading #{r2299.id}" in str(e.value)
    assert db.get_bill(first.id).status == "pending"


def test_billing_a_later_reading_for_the_same_period_reissues_the_months_bill(db, storage, r2299):
    """A second reading in a billed month, billed for the same month: the month's bill is re-issued
    to cover both readings (not a second bill on top)."""
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    later = db.insert_meter_reading(meter_number="19152159", reading_value="5200.20", reading_date=d(2026, 10, 30),
                                    actor=engineer_user(storage)).reading
    db.approve_reading(later.id, actor=admin)
    second = db.bill_reading(later.id, *OCT, actor=admin)
    assert second.reissue_of == first.id and second.units == D("200.20")
    assert [c.reading_id for c in storage.list_bill_readings(second.id)][-2:] == [r2299.id, later.id]
    assert db.get_bill(first.id).status == "superseded"
    assert db.list_readings(ReadingFilter(status="approved", unbilled_only=True), actor=admin).total == 0


def test_reissue_needs_the_permission(db, storage, r2299):
    db.bill_reading(r2299.id, *OCT)
    with pytest.raises(PermissionDeniedError):
        db.bill_reading(r2299.id, *OCT, actor=engineer_user(storage))


def test_every_bill_still_recomputes(db, storage, r2299):
    admin = admin_user(storage)
    first = db.bill_reading(r2299.id, *OCT, actor=admin)
    db.record_payment(first.id, "100", actor=admin)
    db.bill_reading(r2299.id, *OCT, flat_units="181", actor=admin)
    for bill in db.list_bills(BillFilter(account_id=first.account_id)).items:
        assert TariffRules.recompute(bill) == bill.total_amount
