"""Each scheduled job on small data with an injected clock: what it does, once per period."""
import datetime as dt
import json
from decimal import Decimal as D

import pytest

from services.clock import utcnow
from services.errors import ConfigurationError, NotFoundError, PermissionDeniedError
from services.jobs.definitions import job_status, run_job
from services.models import BillFilter
from tests.factories import ADMIN, admin_user, engineer_user
from tests.jobs.conftest import approve_october, at, build_services

d = dt.date


@pytest.fixture
def svc(storage, society, tmp_path):
    return build_services(storage, d(2026, 11, 22), tmp_path)


def test_status_lists_every_job_with_schedule_next_run_and_last_run(svc):
    status = job_status(svc, now=at(2026, 11, 21, 12, 0))  # a Saturday
    by = {j["id"]: j for j in status}
    assert set(by) == {"monthly_bills", "payment_reminders", "overdue_marking", "smart_meter_collection", "usage_anomalies",
                       "customer_due_reminders", "consumer_patterns", "bill_archive"}
    assert by["monthly_bills"]["schedule"] == "0 2 1 * *"
    assert by["monthly_bills"]["next_run"] == "2026-12-01T02:00:00+05:30"
    assert by["payment_reminders"]["next_run"] == "2026-11-22T10:00:00+05:30"
    assert by["overdue_marking"]["next_run"] == "2026-11-22T11:00:00+05:30"
    assert by["smart_meter_collection"]["next_run"] == "2026-11-22T08:00:00+05:30"  # Sunday
    assert all(j["last_run"] is None and j["timezone"] == "Asia/Kolkata" for j in status)
    run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0))
    last = {j["id"]: j for j in job_status(svc)}["overdue_marking"]["last_run"]
    assert last["status"] == "completed" and last["run_key"] == "2026-11-22" and last["finished_at"]
    json.dumps(job_status(svc))  # JSON as it is, for the API


def test_times_and_zone_come_from_the_environment(svc, monkeypatch):
    monkeypatch.setenv("SCHEDULER_TIMEZONE", "UTC")
    monkeypatch.setenv("JOB_PAYMENT_REMINDERS_CRON", "30 9 * * *")
    monkeypatch.setenv("JOB_SMART_METERS_CRON", "0 8 * * 0")  # crontab's 0 is Sunday (APScheduler 3 says Monday)
    by = {j["id"]: j for j in job_status(svc, now=at(2026, 11, 21, 12, 0))}
    assert by["payment_reminders"]["next_run"] == "2026-11-21T09:30:00+00:00"  # 12:00 IST is 06:30 UTC
    assert by["smart_meter_collection"]["next_run"] == "2026-11-22T08:00:00+00:00"
    monkeypatch.setenv("JOB_OVERDUE_MARKING_CRON", "every day")
    with pytest.raises(ConfigurationError, match="5 fields"):
        job_status(svc)


def test_monthly_bills_bills_the_previous_month_once(storage, society, tmp_path):
    svc = build_services(storage, d(2026, 11, 1), tmp_path)
    approve_october(svc.db, storage)
    run = run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 0))
    assert (run.status, run.run_key, run.error) == ("completed", "2026-10", None)
    assert run.counts["created"] == 4 and run.counts["due_date"] == "2026-11-15" and run.counts["notified"] == 4
    bills = svc.db.list_bills(BillFilter(period_month="2026-10")).items
    assert len(bills) == 4 and {b.due_date for b in bills} == {d(2026, 11, 15)}
    assert sorted(svc.events.created) == sorted(b.id for b in bills)
    assert run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 5)) is None
    assert run_job(svc, "monthly_bills", now=at(2026, 11, 20, 9, 0)) is None  # still October's period
    assert storage.table_counts(["bills"])["bills"] == 4 and len(svc.events.created) == 4
    assert [r.status for r in storage.list_job_runs(job_id="monthly_bills")] == ["completed"]


def test_monthly_bills_estimates_flats_with_no_reading_when_set(storage, society, tmp_path, monkeypatch):
    svc = build_services(storage, d(2026, 11, 1), tmp_path)
    approve_october(svc.db, storage, date=d(2026, 9, 20))  # no reading dated in October
    assert run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 0)).counts["created"] == 0
    monkeypatch.setenv("JOB_ESTIMATE_MISSING_READINGS", "true")
    run = run_job(svc, "monthly_bills", now=at(2026, 12, 1, 2, 0))  # November: estimated from Aug 21-Sep 20
    assert (run.status, run.counts["created"], run.counts["estimated"]) == ("completed", 4, 4)
    bills = svc.db.list_bills(BillFilter(period_month="2026-11")).items
    assert all(b.tariff_details["estimate"]["estimated"] for b in bills)
    b17 = next(b for b in bills if b.account_code == "B17-FF")
    assert b17.units == D("100.00")  # 100 kWh in 30 days, times November's 30


def test_due_date_rule_is_configurable(storage, society, tmp_path, monkeypatch):
    monkeypatch.setenv("BILL_DUE_DAYS", "10")
    monkeypatch.setenv("JOB_NOTIFY_NEW_BILLS", "false")
    svc = build_services(storage, d(2026, 11, 1), tmp_path)
    approve_october(svc.db, storage)
    run = run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 0))
    assert {b.due_date for b in svc.db.list_bills(BillFilter(period_month="2026-10")).items} == {d(2026, 11, 10)}
    assert svc.events.created == [] and "notified" not in run.counts


def test_without_contact_notifications_the_opted_in_portal_customer_still_gets_bill_ready(storage, society, tmp_path,
                                                                                          monkeypatch):
    from tests.factories import ADMIN

    monkeypatch.setenv("JOB_NOTIFY_NEW_BILLS", "false")
    svc = build_services(storage, d(2026, 11, 1), tmp_path)
    approve_october(svc.db, storage)
    user = storage.create_user(username="owner.b17", role="customer", password_hash=None, actor=ADMIN)
    storage.link_customer_account(user.id, storage.get_account(code="B17-FF").id, ADMIN)
    storage.set_customer_preference(user.id, "bill_ready", True, ADMIN)
    run = run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 0))
    assert svc.events.created == [] and run.counts["customer_bill_ready_skipped"] == 1  # offline: in the log
    (row,) = storage.list_notifications(kind="customer_alert", limit=5).items
    assert "B17-FF" in row.message and "is ready" in row.message


def test_monthly_bills_of_a_locked_month_are_refused_whole(storage, society, tmp_path):
    svc = build_services(storage, d(2025, 12, 1), tmp_path)
    approve_october(svc.db, storage, date=d(2025, 11, 20))  # November 2025 is locked
    run = run_job(svc, "monthly_bills", now=at(2025, 12, 1, 2, 0))
    assert run.status == "refused" and run.counts["refused"] == 4 and "2025-11" in run.counts["message"]
    assert storage.count_bills_ending_in("2025-11") == 0 and svc.events.created == []


def _bill(svc, code, due, units=100):
    return svc.db.create_bill(code, "2026-10-01", "2026-10-31", due, flat_units=units)


def test_payment_reminders_for_unpaid_bills_due_in_three_days(svc):
    pending = _bill(svc, "B17-FF", "2026-11-25")
    partly = _bill(svc, "A1-GF", "2026-11-25")
    svc.db.record_payment(partly.id, "100", method="cash")
    paid = _bill(svc, "C14-SF", "2026-11-25")
    svc.db.mark_bill_paid(paid.id)
    later = _bill(svc, "D3-SF", "2026-11-26")
    run = run_job(svc, "payment_reminders", now=at(2026, 11, 22, 10, 0))
    assert run.status == "completed" and run.counts["reminded"] == 2 and run.counts["due_date"] == "2026-11-25"
    assert sorted(svc.events.reminded) == sorted([pending.id, partly.id])
    assert run_job(svc, "payment_reminders", now=at(2026, 11, 22, 18, 0)) is None
    run_job(svc, "payment_reminders", now=at(2026, 11, 23, 10, 0))
    assert sorted(svc.events.reminded) == sorted([pending.id, partly.id, later.id])


def test_overdue_marking_marks_and_sends_each_notice_once(svc, storage):
    late = _bill(svc, "B17-FF", "2026-11-15")
    partly_late = _bill(svc, "A1-GF", "2026-11-20")
    svc.db.record_payment(partly_late.id, "100", method="cash")
    paid_late = _bill(svc, "C14-SF", "2026-11-15")
    svc.db.mark_bill_paid(paid_late.id)
    not_yet = _bill(svc, "D3-SF", "2026-11-25")
    run = run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0))
    assert run.counts["marked_overdue"] == 2 and run.counts["notices"] == 2
    assert {svc.db.get_bill(b.id).status for b in (late, partly_late)} == {"overdue"}
    assert svc.db.get_bill(paid_late.id).status == "paid" and svc.db.get_bill(not_yet.id).status == "pending"
    assert svc.db.get_bill(late.id).overdue_notified_at is not None
    assert sorted(svc.events.overdue) == sorted([late.id, partly_late.id])
    assert run_job(svc, "overdue_marking", now=at(2026, 11, 22, 15, 0)) is None
    again = run_job(svc, "overdue_marking", now=at(2026, 11, 23, 11, 0))
    assert again.counts["marked_overdue"] == 0 and again.counts["notices"] == 0
    assert len(svc.events.overdue) == 2


def test_bills_marked_overdue_by_a_run_that_died_still_get_their_notice(svc, storage):
    late = _bill(svc, "B17-FF", "2026-11-15")
    storage.mark_overdue(d(2026, 11, 21), admin_user(storage))  # marked, then the process stopped
    run = run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0))
    assert run.counts["marked_overdue"] == 0 and run.counts["notices"] == 1 and svc.events.overdue == [late.id]


def test_a_failed_run_is_recorded_and_may_run_again(svc, monkeypatch):
    bill = _bill(svc, "B17-FF", "2026-11-25")

    def broken(b):
        raise RuntimeError("channel exploded")

    monkeypatch.setattr(svc.events, "payment_reminder", broken)
    run = run_job(svc, "payment_reminders", now=at(2026, 11, 22, 10, 0))
    assert run.status == "failed" and "channel exploded" in run.error and run.finished_at is not None
    assert run.counts["due_date"] == "2026-11-25"  # how far it got
    monkeypatch.undo()
    retry = run_job(svc, "payment_reminders", now=at(2026, 11, 22, 12, 0))
    assert retry.id == run.id and retry.status == "completed" and retry.error is None
    assert svc.events.reminded == [bill.id]


def test_a_run_left_running_past_the_stale_limit_is_superseded(svc, storage, monkeypatch):
    monkeypatch.setenv("JOB_STALE_AFTER_MINUTES", "30")
    dead = storage.claim_job_run("overdue_marking", "2026-11-22", "dead-host:1", utcnow() - dt.timedelta(hours=2))
    run = run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0))
    assert run.run_key == "2026-11-22#2" and run.status == "completed"
    old = next(r for r in storage.list_job_runs(job_id="overdue_marking") if r.id == dead.id)
    assert old.status == "failed" and "abandoned" in old.error and f"#{run.id}" in old.error
    assert run_job(svc, "overdue_marking", now=at(2026, 11, 22, 12, 0)) is None


def test_a_recent_running_run_is_left_alone(svc, storage):
    storage.claim_job_run("overdue_marking", "2026-11-22", "other-replica:7", utcnow() - dt.timedelta(minutes=5))
    assert run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0)) is None


def test_unknown_job_and_permissions(svc, storage):
    with pytest.raises(NotFoundError, match="monthly_bills"):
        run_job(svc, "no_such_job")
    with pytest.raises(PermissionDeniedError):
        run_job(svc, "overdue_marking", actor=engineer_user(storage))
    run = run_job(svc, "overdue_marking", actor=admin_user(storage), now=at(2026, 11, 22, 11, 0))
    assert run.counts["run_by"] == "admin1"


def test_counts_are_plain_json(svc, storage):
    _bill(svc, "B17-FF", "2026-11-15", units=D("12.5"))
    run = run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0))
    json.dumps(run.counts)
    assert storage.list_job_runs(job_id="overdue_marking")[0].counts == run.counts


@pytest.mark.parametrize("var, value", [("BILL_DUE_DAYS", "fifteen"), ("REMINDER_DAYS_BEFORE", "-1"),
                                        ("SCHEDULER_TIMEZONE", "Mars/Olympus")])
def test_bad_configuration_is_named(svc, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError, match=var):
        run_job(svc, "overdue_marking", now=at(2026, 11, 22, 11, 0))


def test_usage_anomalies_job_detects_the_month_so_far_on_water_only(tmp_path, svc):
    """Water: the job detects the month of yesterday up to yesterday; elsewhere it does nothing."""
    from services.jobs.definitions import JobContext, SCHEDULER_ACTOR, job_config, usage_anomalies
    from services.storage.sql_backend import SqlStorage
    from tests.factories import make_service, make_water

    ctx = JobContext(svc, SCHEDULER_ACTOR, at(2026, 8, 1, 6, 0), job_config())
    assert usage_anomalies(ctx) == "completed" and ctx.counts["skipped"].startswith("this utility")

    st = SqlStorage(f"sqlite:///{tmp_path / 'water.db'}")
    make_water(st, dt.date(2026, 6, 1), 61)

    class Water:
        db = make_service(st, dt.date(2026, 8, 1))

    ctx = JobContext(Water, SCHEDULER_ACTOR, at(2026, 8, 1, 6, 0), job_config())
    assert usage_anomalies(ctx) == "completed"
    assert ctx.counts["period"] == "2026-07-01 to 2026-07-31" and ctx.counts["found_zscore"] == 0
    assert st.list_audit(action_prefix="usage.detect").items[0].actor_name == "scheduler"
    st.dispose()


def test_bill_archive_moves_the_settled_months_before_the_kept_ones(svc, storage, monkeypatch):
    approve_october(svc.db, storage)
    run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 0))  # October's bills, due November 15
    october = storage.list_bills(BillFilter(), 0, 50).items
    for bill in october:
        svc.db.record_payment(bill.id, bill.total_amount, paid_on=d(2026, 11, 10), actor=ADMIN)
    monkeypatch.setenv("ARCHIVE_AFTER_MONTHS", "3")  # keeps September 2027 on: October 2026 may move
    run = run_job(svc, "bill_archive", now=at(2027, 12, 2, 4, 0))
    # nothing moves: no account has a newer bill inside the kept months, so each October bill stays its last
    assert (run.status, run.run_key, run.counts["after_months"]) == ("completed", "2027-11", 3)
    assert run.counts["bills_moved"] == 0 and run.counts["bills_kept_live"] == len(october) > 0
    assert all(storage.get_bill(b.id) is not None for b in october)
    monkeypatch.setenv("ARCHIVE_AFTER_MONTHS", "1")
    bad = run_job(svc, "bill_archive", now=at(2028, 1, 2, 4, 0))
    assert bad.status == "failed" and "at least 3" in bad.error


def test_consumer_patterns_counts_each_window_as_of_the_day(svc, storage):
    approve_october(svc.db, storage)
    run_job(svc, "monthly_bills", now=at(2026, 11, 1, 2, 0))  # October's bills, due November 15
    run = run_job(svc, "consumer_patterns", now=at(2026, 11, 22, 3, 0))
    assert (run.status, run.run_key, run.counts["as_of"]) == ("completed", "2026-11-22", "2026-11-22")
    assert {k for k in run.counts if k.startswith("areas_")} == {"areas_3_months", "areas_6_months", "areas_12_months"}
    assert storage.consumer_patterns_computed_at(d(2026, 11, 22), 12) is not None
    assert run_job(svc, "consumer_patterns", now=at(2026, 11, 22, 3, 5)) is None  # once a day
