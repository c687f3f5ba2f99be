"""Manual bill status changes: the rules (services/billing/bill_status.py) and PUT /api/bills/{id}/status."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from services.billing.bill_status import decide_status_change
from services.errors import ConflictError, PeriodLockedError, PermissionDeniedError, ValidationError
from services.models import Bill
from tests.api.conftest import make_bill, make_client
from tests.factories import ADMIN, ENGINEER

TODAY = dt.date(2026, 11, 22)
BASE = Bill(id=7, account_id=1, area_id=1, billing_period_start=dt.date(2026, 10, 1), billing_period_end=dt.date(2026, 10, 31),
            due_date=dt.date(2026, 11, 15), tariff_kind="flat_rate", pricing_rule="master_data",
            units=Decimal("150"), motor_units=Decimal("0"), total_units=Decimal("150"),
            rate_per_unit=Decimal("12"), fixed_charge=Decimal("1474"), previous_outstanding=Decimal("0"),
            total_amount=Decimal("3274.00"), status="pending")


def bill(**changes) -> Bill:
    return dataclasses.replace(BASE, **changes)


def decide(b, target, reason="cheque 104233 bounced", locked=()):
    return decide_status_change(b, target, reason, locked_months=locked, today=TODAY)


# ---- rules ---------------------------------------------------------------------------------------
def test_paid_bill_reopens_only_with_a_reason():
    paid = bill(status="paid", amount_paid=Decimal("3274.00"))
    with pytest.raises(ValidationError) as e:
        decide(paid, "pending", reason=None)
    assert e.value.field == "reason"
    with pytest.raises(ValidationError):
        decide(paid, "pending", reason="  ok ")
    assert decide(paid, "pending").status == "pending"


def test_paid_bill_cannot_be_cancelled_or_marked_overdue():
    paid = bill(status="paid", amount_paid=Decimal("3274.00"))
    for target in ("cancelled", "overdue"):
        with pytest.raises(ConflictError):
            decide(paid, target)


def test_locked_month_keeps_its_status_but_money_is_still_recorded():
    locked = ["2026-10"]
    for b, target in ((bill(status="paid", amount_paid=Decimal("3274.00")), "pending"),
                      (bill(), "cancelled"), (bill(), "overdue")):
        with pytest.raises(PeriodLockedError) as e:
            decide(b, target, locked=locked)
        assert str(e.value).startswith("Billing period 2026-10 is locked:")
    assert decide(bill(), "paid", locked=locked).action == "pay"


def test_derived_statuses_cannot_be_set_by_hand():
    for target in ("partially_paid", "carried_forward", "settled"):
        with pytest.raises(ValidationError) as e:
            decide(bill(), target)
        assert e.value.field == "status" and e.value.fix


def test_carried_forward_and_cancelled_bills_stay_as_they_are():
    for b in (bill(status="carried_forward", carried_forward_to=9), bill(status="cancelled")):
        for target in ("pending", "overdue", "cancelled" if b.status != "cancelled" else "paid"):
            with pytest.raises(ConflictError):
                decide(b, target)


def test_open_bill_transitions():
    assert decide(bill(), "overdue").status == "overdue"
    with pytest.raises(ConflictError):  # not due yet
        decide(bill(due_date=TODAY), "overdue")
    assert decide(bill(status="overdue"), "pending").status == "pending"
    part = bill(status="overdue", amount_paid=Decimal("1000"))
    assert decide(part, "pending").status == "partially_paid"  # a part-paid bill stays part paid
    assert decide(bill(), "cancelled").status == "cancelled"
    with pytest.raises(ConflictError):
        decide(part, "cancelled")
    assert decide(bill(), "pending").action == "none"
    assert decide(bill(status="partially_paid", amount_paid=Decimal("1")), "pending").action == "none"
    assert decide(bill(), "paid", reason=None).action == "pay"


# ---- service ---------------------------------------------------------------------------------------
def test_service_checks_permission_and_audits_the_reason(svc, storage):
    b = make_bill(svc)
    with pytest.raises(PermissionDeniedError):
        svc.db.change_bill_status(b.id, "cancelled", "raised in error", actor=ENGINEER)
    out = svc.db.change_bill_status(b.id, "cancelled", "raised in error", actor=ADMIN)
    assert out.status == "cancelled" and out.total_amount == b.total_amount
    entry = storage.list_audit(action_prefix="bill.status", entity_id=str(b.id)).items[0]
    assert entry.details["reason"] == "raised in error" and entry.actor_name == ADMIN.username


def test_paid_records_a_payment_of_the_balance_and_reopen_keeps_amounts(svc):
    b = make_bill(svc)
    paid = svc.db.change_bill_status(b.id, "paid", "NEFT UTR 1234", actor=ADMIN, method="bank_transfer")
    assert paid.status == "paid" and paid.amount_paid == b.total_amount
    payments = svc.db.bill_detail(b.id).payments
    assert [(p.amount, p.method, p.reference) for p in payments] == [(b.total_amount, "bank_transfer", "NEFT UTR 1234")]
    again = svc.db.change_bill_status(b.id, "paid", None, actor=ADMIN)  # PUT is idempotent
    assert len(svc.db.bill_detail(b.id).payments) == 1 and again.status == "paid"
    reopened = svc.db.change_bill_status(b.id, "pending", "cheque bounced", actor=ADMIN)
    assert reopened.status == "pending"
    assert (reopened.total_amount, reopened.amount_paid) == (b.total_amount, b.total_amount)


# ---- API -------------------------------------------------------------------------------------------
def test_put_status_rules_over_http(svc, client):
    b = make_bill(svc)
    url = f"/api/bills/{b.id}/status"
    r = client.put(url, json={"status": "paid", "payment_method": "upi", "reason": "UPI ref 99"})
    assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["balance"] == "0.00"
    r = client.put(url, json={"status": "pending"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "reason"
    r = client.put(url, json={"status": "pending", "reason": "cheque bounced"})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert r.json()["total_amount"] == str(b.total_amount)
    r = client.put(url, json={"status": "partially_paid", "reason": "because"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "status"
    r = client.put(url, json={"status": "unknown"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "status"
    r = client.put(url, json={"status": "pending", "reason": "x" * 501})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "reason"
    assert client.put("/api/bills/999999/status", json={"status": "paid"}).status_code == 404


def test_put_status_on_a_locked_month_bill_is_refused(svc, client):
    b = make_bill(svc)
    svc.db.lock_month("2026-10", "closed", actor=ADMIN)
    r = client.put(f"/api/bills/{b.id}/status", json={"status": "cancelled", "reason": "raised in error"})
    assert r.status_code == 409 and r.json()["error"] == "period_locked"
    assert r.json()["message"].startswith("Billing period 2026-10 is locked:")
    assert svc.db.get_bill(b.id).status == "pending"


def test_put_status_needs_the_payment_permission(svc):
    b = make_bill(svc)
    r = make_client(svc, role="field_engineer").put(f"/api/bills/{b.id}/status",
                                                    json={"status": "cancelled", "reason": "raised in error"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert svc.db.get_bill(b.id).status == "pending"
