"""The water facade on every backend (services/water_service.py): who may do what (Operations
review anomalies, Support change contacts, Billing neither), the outcome and phone rules, the
customer's usage by month and forecast."""
import datetime as dt
import threading
from decimal import Decimal as D

import pytest

from services.accounts.roles import ROLES, Actor, Permission
from services.errors import NotFoundError, PermissionDeniedError, ValidationError
from services.models import AnomalyFilter
from services.readings.anomalies import DetectionParams
from services.water_service import band, normalize_phone
from tests.factories import make_service, make_water

d = dt.date
OPS = Actor(None, "ops", "operations", "pytest")
SUPPORT = Actor(None, "help", "support", "pytest")
BILLING = Actor(None, "bill", "billing", "pytest")


def test_roles_are_permission_sets():
    assert ROLES["operations"].permissions >= {Permission.REVIEW_ANOMALIES, Permission.REVIEW_READINGS}
    assert ROLES["billing"].permissions >= {Permission.RUN_BILLING, Permission.RECORD_PAYMENT, Permission.VIEW_BILLS}
    assert ROLES["support"].permissions == {Permission.EDIT_CONTACTS, Permission.VIEW_BILLS,
                                            Permission.INVITE_CUSTOMERS,  # issue 16: invites portal customers
                                            Permission.RAISE_TICKET}  # issue 15: raises a ticket for a customer
    assert Permission.EDIT_CONTACTS not in ROLES["billing"].permissions
    assert Permission.REVIEW_ANOMALIES not in ROLES["support"].permissions | ROLES["billing"].permissions


@pytest.fixture
def water_db(storage, today):
    accounts = make_water(storage, d(2026, 6, 1), 61)["accounts"]  # June and July
    contact = storage.bulk_insert("contacts", [{"name": "Ana Ruiz", "phone": "+15305550100"}], return_ids=True)[0]
    storage.bulk_insert("account_contacts", [{"account_id": accounts["HS0000001"], "contact_id": contact,
                                              "is_primary": True}])
    return make_service(storage, d(2026, 8, 10)), accounts


def test_operations_detect_and_review_others_may_not(water_db):
    db, accounts = water_db
    params = DetectionParams(baseline_days=30, min_history_days=28, methods=("high_read",))
    with pytest.raises(PermissionDeniedError):
        db.detect_usage_anomalies(d(2026, 7, 1), d(2026, 7, 31), params, actor=SUPPORT)
    assert db.detect_usage_anomalies(d(2026, 7, 1), d(2026, 7, 31), params, actor=OPS) == {"high_read": 0}
    with pytest.raises(PermissionDeniedError):
        db.list_anomalies(AnomalyFilter(), actor=BILLING)
    assert db.list_anomalies(AnomalyFilter(), actor=OPS).total == 0
    with pytest.raises(ValidationError) as e:
        db.review_anomaly(1, "fixed it", actor=OPS)
    assert e.value.field == "outcome" and "leak confirmed" in e.value.fix
    with pytest.raises(NotFoundError):
        db.review_anomaly(999, "genuine", actor=OPS)
    with pytest.raises(ValidationError):
        db.detect_usage_anomalies(d(2026, 7, 31), d(2026, 7, 1), params, actor=OPS)


def test_support_change_a_phone_validated_and_audited(water_db, storage):
    db, accounts = water_db
    acct = db.get_account(accounts["HS0000001"])
    with pytest.raises(PermissionDeniedError):
        db.update_contact(acct.contact_id, phone="530 555 0100", actor=BILLING)
    with pytest.raises(ValidationError) as e:
        db.update_contact(acct.contact_id, phone="555-CALL", actor=SUPPORT)
    assert e.value.field == "phone"
    with pytest.raises(ValidationError) as e:
        db.update_contact(acct.contact_id, email="nobody", actor=SUPPORT)
    assert e.value.field == "email"
    old = acct.contact_phone
    got = db.update_contact(acct.contact_id, phone=" (530) 555-0142 ", actor=SUPPORT)
    assert got.phone == "(530) 555-0142" and db.get_account(acct.id).contact_phone == "(530) 555-0142"
    entry = storage.list_audit(action_prefix="contact.update").items[0]
    assert entry.actor_name == "help" and entry.details == {"phone": {"old": old, "new": "(530) 555-0142"}}
    db.update_contact(acct.contact_id, phone="(530) 555-0142", actor=SUPPORT)  # no change: no audit row
    assert len(storage.list_audit(action_prefix="contact.update").items) == 1
    with pytest.raises(NotFoundError):
        db.update_contact(10 ** 9, phone="5305550142", actor=SUPPORT)


def test_usage_by_month_and_forecast(water_db):
    db, accounts = water_db
    a = accounts["HS0000002"]  # 1.00 CCF a day
    months = db.usage_by_month(a, d(2026, 1, 1), d(2026, 12, 31), actor=SUPPORT)
    assert [(m.month, m.days, m.quantity) for m in months] == [("2026-06", 30, D("30.00")), ("2026-07", 31, D("31.00"))]
    assert len(db.daily_usage(a, d(2026, 7, 1), d(2026, 7, 31), actor=BILLING)) == 31
    f = db.forecast_next_period(a, actor=SUPPORT)  # August from 61 days: the recent weekday mean
    assert f.method == "recent_weekday_mean" and f.expected == D("31.00") and f.period_start == d(2026, 8, 1)


def test_phone_and_band_helpers():
    assert normalize_phone("") is None and normalize_phone("+1 530 555 0142") == "+1 530 555 0142"
    with pytest.raises(ValidationError):
        normalize_phone("12345")

    class A:
        baseline, spread = D("1.00"), D("0.75")
    assert band(A) == (D("0"), D("2.50"))


def test_a_month_run_detects_the_periods_anomalies_before_it_returns(water_db, storage):
    """Issue 13: detection follows each run. On PostgreSQL it runs in its own thread while the bills
    are stored (services/billing/bill_run.detect_alongside); elsewhere after them; either way it has
    finished, with the same findings, when the run returns, and a dry run detects nothing."""
    db, _ = water_db
    seen = []
    detect = db.detect_after_run

    def recording(start, end, actor):
        seen.append((start, end, threading.current_thread().name))
        return detect(start, end, actor)

    db.detect_after_run = recording
    db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 20), dry_run=True, actor=BILLING)
    assert seen == []
    run = db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 20), actor=BILLING)
    assert run.created == 3
    alongside = getattr(storage, "dialect", None) == "postgresql"
    assert seen == [(d(2026, 7, 1), d(2026, 7, 31), "detect-alongside-run" if alongside else "MainThread")]
    done = storage.list_audit(action_prefix="usage.detect").items
    assert [(e.details["period_start"], e.details["period_end"]) for e in done] == [("2026-07-01", "2026-07-31")]
