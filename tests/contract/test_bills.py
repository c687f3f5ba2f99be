"""Bills: every input stored, locks, no-overwrite retry, arrears, payments."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import BillCollisionError, BillImmutableError, ConflictError, PeriodLockedError, ValidationError
from services.models import BillFilter
from services.tariff_rules import TariffRules
from tests.factories import admin_user, engineer_user, raw_bill

d = dt.date
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))


def test_create_bill_stores_every_input(db, storage):
    admin = admin_user(storage)
    bill = db.create_bill("B17-FF", *OCT, flat_units=150, motor_units=10, previous_outstanding=0, actor=admin)
    # B17-FF is a 2BHK: rate 12 from master data, fixed charge 1474 by the BHK rule.
    assert (bill.units, bill.motor_units, bill.total_units) == (D("150.00"), D("10.00"), D("160.00"))
    assert (bill.rate_per_unit, bill.fixed_charge, bill.previous_outstanding) == (D("12"), D("1474"), D("0"))
    assert bill.total_amount == D("3394.00") and bill.pricing_rule == "bhk_override"
    assert bill.status == "pending" and bill.reissue_of is None and bill.created_by == admin.user_id
    assert TariffRules.recompute(bill) == bill.total_amount
    assert db.bill_detail(bill.id).arithmetic_ok
    audit = storage.list_audit(entity_type="bill", entity_id=str(bill.id)).items
    assert audit[0].action == "bill.create" and audit[0].actor_name == "admin1"
    assert audit[0].details["total_amount"] == "3394.00"


def test_special_flat_priced_at_9_without_fixed_charge(db):
    bill = db.create_bill("C14-SF", *OCT, flat_units=D("210.5"), motor_units=0)
    assert (bill.rate_per_unit, bill.fixed_charge, bill.total_amount) == (D("9"), D("0"), D("1894.50"))


def test_unknown_flat_refused(db):
    with pytest.raises(ValidationError) as e:
        db.create_bill("Z9-TF", *OCT, flat_units=1)
    assert e.value.field == "account"


@pytest.mark.parametrize("start,end,locked", [
    (d(2025, 10, 1), d(2025, 10, 31), False),
    (d(2025, 11, 1), d(2025, 11, 1), True),
    (d(2025, 11, 1), d(2025, 11, 30), True),
    (d(2025, 12, 1), d(2025, 12, 31), False),
])
def test_locked_month_refused_by_service(db, storage, start, end, locked):
    if locked:
        with pytest.raises(PeriodLockedError) as e:
            db.create_bill("B17-FF", start, end, end + dt.timedelta(days=15), flat_units=10)
        assert "2025-11" in str(e.value)
        assert storage.count_bills_ending_in("2025-11") == 0
    else:
        assert db.create_bill("B17-FF", start, end, end + dt.timedelta(days=15), flat_units=10).id


def test_lock_enforced_below_the_service(db, storage, society):
    """Even a storage-level insert that skips the service check is refused by the database."""
    new = raw_bill(storage, "B17-FF", d(2025, 11, 1), d(2025, 11, 30))
    with pytest.raises(PeriodLockedError):
        storage.insert_bill(new, admin_user(storage))
    refused, detail = storage.probe_lock_enforced("2025-11")
    assert refused, detail
    assert storage.count_bills_ending_in("2025-11") == 0


def test_collision_twice_in_a_row_stores_reissues(db, storage):
    """A collision is a re-issue: a new row, start moved forward, replacing the bill that stood."""
    first = db.create_bill("B17-FF", *OCT, flat_units=100)
    second = db.create_bill("B17-FF", *OCT, flat_units=120)
    third = db.create_bill("B17-FF", *OCT, flat_units=130)
    assert first.billing_period_start == d(2026, 10, 1) and first.reissue_of is None
    assert second.billing_period_start == d(2026, 10, 2) and second.reissue_of == first.id
    assert third.billing_period_start == d(2026, 10, 3) and third.reissue_of == second.id
    assert db.get_bill(first.id).units == D("100.00")  # never overwritten
    assert (db.get_bill(first.id).status, db.get_bill(first.id).superseded_by) == ("superseded", second.id)
    assert (db.get_bill(second.id).status, db.get_bill(second.id).superseded_by) == ("superseded", third.id)
    assert db.flat_outstanding("B17-FF") == third.total_amount  # one bill stands, charged once
    assert {a.action for a in storage.list_audit(action_prefix="bill.").items} >= {"bill.create", "bill.reissue"}


def test_collision_with_no_room_left_names_existing_bill(db, storage):
    one_day = (d(2026, 10, 31), d(2026, 10, 31), d(2026, 11, 15))
    first = db.create_bill("B17-FF", *one_day, flat_units=10)
    with pytest.raises(BillCollisionError) as e:
        db.create_bill("B17-FF", *one_day, flat_units=11)
    assert e.value.existing_bill_id == first.id and f"#{first.id}" in str(e.value)
    assert storage.list_bills(BillFilter(account_id=first.account_id)).total == 1


def test_issued_bill_is_immutable_except_payment_status(db, storage):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    if not hasattr(storage, "engine"):
        pytest.skip("direct SQL only on SQL backends")
    import sqlalchemy as sa

    from database.schema import bills
    from services.storage.sql_common import translate_errors

    with pytest.raises(BillImmutableError):
        with translate_errors(), storage.engine.begin() as c:
            c.execute(bills.update().where(bills.c.id == bill.id).values(total_amount=D("1.00")))
    with pytest.raises(BillImmutableError):
        with translate_errors(), storage.engine.begin() as c:
            c.execute(bills.delete().where(bills.c.id == bill.id))
    with storage.engine.begin() as c:
        c.execute(bills.update().where(bills.c.id == bill.id).values(status="overdue"))
    assert db.get_bill(bill.id).status == "overdue" and db.get_bill(bill.id).total_amount == bill.total_amount
    _ = sa


def test_arrears_carried_forward_exactly_once(db, storage):
    sep = db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100)  # 2674.00
    db.record_payment(sep.id, "674.00", paid_on=d(2026, 10, 10), method="cash")
    assert db.flat_outstanding("B17-FF") == D("2000.00")
    octb = db.create_bill("B17-FF", *OCT, flat_units=50)  # defaults to what the flat owes
    assert octb.previous_outstanding == D("2000.00") and octb.total_amount == D("4074.00")
    old = db.get_bill(sep.id)
    assert old.status == "carried_forward" and old.carried_forward_to == octb.id
    assert db.flat_outstanding("B17-FF") == D("4074.00")  # not 2000 + 4074
    nov = db.create_bill("B17-FF", d(2026, 11, 1), d(2026, 11, 30), d(2026, 12, 15), flat_units=0)
    assert nov.previous_outstanding == D("4074.00") and nov.total_amount == D("5548.00")
    with pytest.raises(ConflictError):
        db.record_payment(sep.id, "1", method="cash")


def test_explicit_previous_outstanding_does_not_absorb_open_bills(db):
    sep = db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100)
    octb = db.create_bill("B17-FF", *OCT, flat_units=50, previous_outstanding=0)
    assert octb.previous_outstanding == 0 and db.get_bill(sep.id).status == "pending"
    assert db.flat_outstanding("B17-FF") == sep.total_amount + octb.total_amount


def test_partial_then_full_payment_and_overpayment(db, storage):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)  # 2674.00
    r1 = db.record_payment(bill.id, "1000", paid_on=d(2026, 11, 5), method="upi", reference="UTR1")
    assert r1.applied and r1.bill.status == "partially_paid" and r1.bill.amount_paid == D("1000.00")
    with pytest.raises(ValidationError) as e:
        db.record_payment(bill.id, "1674.01", method="cash")
    assert "1674.00" in str(e.value)
    r2 = db.mark_bill_paid(bill.id, method="cash")
    assert r2.bill.status == "paid" and r2.bill.balance == 0 and r2.payment.amount == D("1674.00")
    assert [p.amount for p in storage.list_payments(bill.id)] == [D("1000.00"), D("1674.00")]


def test_payment_replay_by_external_id_changes_nothing(db, storage):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    results = [db.record_payment(bill.id, "500", method="stripe", external_id="evt_1") for _ in range(5)]
    assert [r.applied for r in results] == [True, False, False, False, False]
    assert db.get_bill(bill.id).amount_paid == D("500.00") and len(storage.list_payments(bill.id)) == 1


def test_payment_validation(db):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    with pytest.raises(ValidationError) as e:
        db.record_payment(bill.id, "10", method="bitcoin")
    assert e.value.field == "method"
    with pytest.raises(ValidationError) as e:
        db.record_payment(bill.id, "10", paid_on=d(2026, 11, 23))
    assert e.value.field == "paid_on"


def test_status_change_refused_when_bill_changed_meanwhile(db, storage):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    admin = admin_user(storage)
    db.mark_bill_paid(bill.id, method="cash", actor=admin)  # lands between someone's read and write
    with pytest.raises(ConflictError) as e:
        storage.set_bill_status(bill.id, "cancelled", admin, "duplicate", expected_status="pending")
    assert "changed meanwhile" in str(e.value)
    assert db.get_bill(bill.id).status == "paid"
    assert storage.set_bill_status(bill.id, "pending", admin, "cheque bounced", expected_status="paid").status == "pending"


def test_settle_in_full_is_set_based_and_skips_closed(db, storage):
    a = db.create_bill("B17-FF", *OCT, flat_units=100)
    b = db.create_bill("A1-GF", *OCT, flat_units=100)
    db.record_payment(b.id, "100", method="cash")
    n = storage.settle_bills_in_full([a.id, b.id, a.id], paid_on=d(2026, 11, 10), method="upi", reference="file-1",
                                     actor=admin_user(storage))
    assert n == 2
    assert db.get_bill(a.id).status == "paid" and db.get_bill(b.id).amount_paid == b.total_amount
    assert sum(p.amount for p in storage.list_payments(b.id)) == b.total_amount


def test_list_bills_filters_and_pagination(db, storage, society):
    for code in ("B17-FF", "A1-GF", "C14-SF", "D3-SF"):
        db.create_bill(code, *OCT, flat_units=100)
    db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100, previous_outstanding=0)
    assert db.list_bills(BillFilter(period_month="2026-10")).total == 4
    assert db.list_bills(BillFilter(area_id=society["areas"]["B"])).total == 2
    assert [b.account_code for b in db.list_bills(BillFilter(search="test own")).items] == ["B17-FF", "B17-FF"]
    assert db.list_bills(BillFilter(search="c14")).items[0].account_code == "C14-SF"
    page = db.list_bills(BillFilter(), offset=0, limit=2)
    assert len(page.items) == 2 and page.total == 5 and page.has_next
    overdue = db.list_bills(BillFilter(overdue_only=True))  # today is 2026-11-22
    assert overdue.total == 5
    owner = storage.get_account(code="B17-FF").contact_id
    assert db.list_bills(BillFilter(contact_id=owner)).total == 2


def test_mark_overdue_and_permissions(db, storage):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    assert storage.mark_overdue(d(2026, 11, 16), admin_user(storage)) == [bill.id]
    assert storage.mark_overdue(d(2026, 11, 16), admin_user(storage)) == []
    from services.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        db.create_bill("B17-FF", *OCT, flat_units=1, actor=engineer_user(storage))
    with pytest.raises(PermissionDeniedError):
        db.record_payment(bill.id, "1", actor=engineer_user(storage))


def test_change_bill_status_never_overwrites_a_payment_that_landed_meanwhile(db, storage, monkeypatch):
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    stale = db.get_bill(bill.id)  # what the admin's screen read
    db.mark_bill_paid(bill.id, method="cash")  # a Stripe payment lands before the admin clicks
    monkeypatch.setattr(db, "get_bill", lambda _id: stale)
    with pytest.raises(ConflictError):
        db.change_bill_status(bill.id, "cancelled", "duplicate bill", actor=admin_user(storage))
    assert storage.get_bill(bill.id).status == "paid"


def test_bill_refused_when_a_payment_lands_between_pricing_and_storing(db, storage, monkeypatch):
    """The new bill was priced carrying 2674.00; a payment of 674.00 lands before it is stored.
    Storing it would charge money already paid: refused whole, nothing of it kept."""
    sep = db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100)  # 2674.00
    real = storage.insert_bill

    def payment_lands_first(new, *args, **kwargs):
        assert new.previous_outstanding == D("2674.00")
        db.record_payment(sep.id, "674.00", paid_on=d(2026, 10, 10), method="cash")
        return real(new, *args, **kwargs)

    monkeypatch.setattr(storage, "insert_bill", payment_lands_first)
    with pytest.raises(ConflictError, match="changed while this bill was being created"):
        db.create_bill("B17-FF", *OCT, flat_units=50)
    monkeypatch.setattr(storage, "insert_bill", real)
    assert db.list_bills(BillFilter(account_id=sep.account_id)).total == 1
    assert db.get_bill(sep.id).status == "partially_paid" and db.flat_outstanding("B17-FF") == D("2000.00")
    again = db.create_bill("B17-FF", *OCT, flat_units=50)  # priced afresh: carries what is really owed
    assert again.previous_outstanding == D("2000.00") and again.total_amount == D("4074.00")
