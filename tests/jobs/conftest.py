"""Scheduled-job tests: Services over a small society with recording events and an injected
clock (`now` passed to run_job). Job configuration comes from the environment, so every test
starts from the defaults."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from services.config import Settings
from services.container import Services
from services.integrations.base import EventReport
from services.photos import PhotoStore
from tests.factories import admin_user, engineer_user, make_service, make_society

IST = ZoneInfo("Asia/Kolkata")
JOB_ENV = ("SCHEDULER_TIMEZONE", "JOB_MONTHLY_BILLS_CRON", "JOB_PAYMENT_REMINDERS_CRON", "JOB_OVERDUE_MARKING_CRON",
           "JOB_SMART_METERS_CRON", "BILL_DUE_DAYS", "REMINDER_DAYS_BEFORE", "OVERDUE_NOTICE_LOOKBACK_DAYS",
           "JOB_NOTIFY_NEW_BILLS", "JOB_STALE_AFTER_MINUTES", "SMART_METER_URL", "SMART_METER_TOKEN",
           "SMART_METER_TIMEOUT_S", "JOB_ESTIMATE_MISSING_READINGS", "JOB_CONSUMER_PATTERNS_CRON")


def at(*args) -> dt.datetime:
    """A moment in the utility's zone (Asia/Kolkata)."""
    return dt.datetime(*args, tzinfo=IST)


class RecordingEvents:
    """BillingEvents that records what the jobs asked for (the real ones send notifications)."""

    def __init__(self):
        self.created, self.reminded, self.overdue = [], [], []

    def bill_created(self, bill, actor):
        self.created.append(bill.id)
        return EventReport()

    def payment_received(self, result, actor):
        return EventReport()

    def payment_reminder(self, bill):
        self.reminded.append(bill.id)
        return EventReport()

    def bill_overdue(self, bill):
        self.overdue.append(bill.id)
        return EventReport()


def build_services(storage, today: dt.date, tmp_path) -> Services:
    svc = Services(Settings.from_env(), make_service(storage, today), PhotoStore(tmp_path / "photos"))
    svc.events = RecordingEvents()
    return svc


@pytest.fixture(autouse=True)
def job_defaults(monkeypatch):
    for var in JOB_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("METERLINE_TIMEZONE", "Asia/Kolkata")


@pytest.fixture
def storage(tmp_path):
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield st
    st.dispose()


@pytest.fixture
def society(storage):
    return make_society(storage)


def approve_october(db, storage, date=dt.date(2026, 10, 20)):
    """Two approved readings a month apart per flat, the later one in October (a pending earlier one
    would hold the later back: a bill covers everything since the last billed reading)."""
    eng, admin = engineer_user(storage), admin_user(storage)
    for i, meter in enumerate(("19152159", "19150001", "19150002", "19150003")):
        first = db.insert_meter_reading(meter_number=meter, reading_value=1000,
                                        reading_date=date - dt.timedelta(days=30), actor=eng)
        db.approve_reading(first.reading.id, actor=admin)
        r = db.insert_meter_reading(meter_number=meter, reading_value=1100 + 10 * i, reading_date=date, actor=eng)
        db.approve_reading(r.reading.id, actor=admin)
