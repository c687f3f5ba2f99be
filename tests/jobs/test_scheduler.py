"""The APScheduler wiring, catch-up of missed runs, and `python -m scripts.run_scheduler`."""
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.jobs import scheduler
from services.errors import ConfigurationError
from tests.jobs.conftest import approve_october, at, build_services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def svc(storage, society, tmp_path):
    return build_services(storage, dt.date(2026, 11, 3), tmp_path)


def test_one_cron_job_per_job_in_the_configured_zone(svc, monkeypatch):
    monkeypatch.setenv("JOB_SMART_METERS_CRON", "15 7 * * 0")
    sched = scheduler.build_scheduler(svc)
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"monthly_bills", "payment_reminders", "overdue_marking", "smart_meter_collection",
                         "usage_anomalies", "customer_due_reminders", "consumer_patterns",
                         "bill_archive"}
    trigger = jobs["smart_meter_collection"].trigger
    assert str(trigger.timezone) == "Asia/Kolkata"
    fire = trigger.get_next_fire_time(None, at(2026, 11, 23, 0, 0))
    assert fire == at(2026, 11, 29, 7, 15) and fire.strftime("%A") == "Sunday"


def test_crontab_day_numbers_mean_what_they_mean_in_cron():
    zone = "UTC"
    saturday = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
    for expr, weekday in (("0 8 * * 0", "Sunday"), ("0 8 * * 7", "Sunday"), ("0 8 * * 1-5", "Monday"),
                          ("0 8 * * sat", "Saturday")):
        nxt = scheduler.cron_trigger(expr, zone).get_next_fire_time(None, saturday + dt.timedelta(hours=9))
        assert nxt.strftime("%A") == weekday, expr
    with pytest.raises(ConfigurationError, match="not a valid crontab"):
        scheduler.cron_trigger("0 25 * * *", zone)


def test_catch_up_runs_each_missed_period_once(svc, storage):
    approve_october(svc.db, storage)
    out = scheduler.catch_up(svc, now=at(2026, 11, 3, 9, 0))  # the scheduler was down on the 1st
    assert out["monthly_bills"].run_key == "2026-10" and out["monthly_bills"].counts["created"] == 4
    assert out["payment_reminders"].run_key == "2026-11-02" and out["overdue_marking"].run_key == "2026-11-02"
    assert out["smart_meter_collection"].run_key == "2026-11-01"  # last Sunday
    again = scheduler.catch_up(svc, now=at(2026, 11, 3, 9, 30))
    assert all(run is None for run in again.values())


def test_a_started_scheduler_runs_a_due_job(svc, storage):
    sched = scheduler.build_scheduler(svc)
    sched.start()
    try:
        sched.get_job("overdue_marking").modify(next_run_time=dt.datetime.now(dt.timezone.utc))
        deadline = time.time() + 20
        while time.time() < deadline and not storage.list_job_runs(job_id="overdue_marking"):
            time.sleep(0.1)
    finally:
        sched.shutdown(wait=True)
    runs = storage.list_job_runs(job_id="overdue_marking")
    assert len(runs) == 1 and runs[0].status == "completed"


def script(tmp_path, *args, timeout=120):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'sched.db'}", "METERLINE_DOTENV": "0",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "scripts.run_scheduler", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_script_help_list_and_run_now(tmp_path):
    out = script(tmp_path, "--help")
    assert out.returncode == 0 and "--run-now" in out.stdout and "--list" in out.stdout
    out = script(tmp_path, "--list")
    assert out.returncode == 0, out.stderr
    for job in ("monthly_bills", "payment_reminders", "overdue_marking", "smart_meter_collection"):
        assert job in out.stdout
    assert "never run" in out.stdout
    out = script(tmp_path, "--run-now", "overdue_marking")
    assert out.returncode == 0 and "overdue_marking" in out.stdout and "completed" in out.stdout, out.stderr
    out = script(tmp_path, "--run-now", "overdue_marking")
    assert out.returncode == 0 and "already done" in out.stdout
    assert "completed" in script(tmp_path, "--list").stdout
    out = script(tmp_path, "--run-now", "no_such_job")
    assert out.returncode == 2 and "monthly_bills" in out.stderr


def test_script_runs_until_stopped(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'sched.db'}", "METERLINE_DOTENV": "0",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "scripts.run_scheduler", "--no-catch-up"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = ""
        deadline = time.time() + 60
        while "Scheduler started" not in seen and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "Scheduler started" in seen, seen
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0 and "Scheduler stopped" in rest, seen + rest
