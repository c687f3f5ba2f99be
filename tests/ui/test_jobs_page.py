"""Admin: the scheduled-jobs page (last runs, run now, bill runs); engineers never see it."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from services.accounts.roles import Actor
from tests.ui.harness import ROOT
from tests.ui.seeded import seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from tests.ui.utilities import water_url  # noqa: F401

PAGE = "ui/jobs.py"
NAMES = ("Monthly bill generation", "Payment reminders", "Overdue marking", "Smart-meter collection",
         "Usage anomaly detection", "Customer due-date reminders", "Consumer payment patterns",
         "Bill archive")


def _run_now(at, index: int):
    [b for b in at.button if b.label == "Run now"][index].click()
    return at.run()


def test_admin_sees_jobs_and_bill_runs(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    assert at.title[0].value.endswith("Scheduled jobs")
    jobs = len(NAMES)
    assert [s.value for s in at.subheader][:jobs] == list(NAMES) and at.subheader[jobs].value == "Bill runs"
    assert len([b for b in at.button if b.label == "Run now"]) == jobs
    assert sum("Never run yet" in c.value for c in at.caption) == jobs
    schedules = [m.value for m in at.markdown if m.value.startswith("Runs ")]
    assert schedules[0].startswith("Runs on the 1st of every month at 02:00 · next run")  # words, not "0 2 1 * *"
    assert not any("`" in m or "*" in m.split("·")[0] for m in schedules)
    captions = " ".join(c.value for c in at.caption)
    assert "due 15 days after the month ends" in captions and "in 3 days" in captions
    assert not re.search(r"\b[A-Z]{2,}_[A-Z_]{2,}\b", captions), captions  # no variable names (issue 18)
    bill_runs = next(df.value for df in at.dataframe if "created" in df.value.columns)
    assert len(bill_runs) >= 1 and set(bill_runs["status"]) == {"completed"}  # the demo's months, by the real run


def test_run_now_runs_once_and_shows_the_run(seeded_url, monkeypatch, tmp_path):
    monkeypatch.delenv("SMART_METER_URL", raising=False)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at = _run_now(at, 2)  # overdue marking
    assert not at.exception
    assert any(s.value.startswith("Overdue marking") and "completed" in s.value for s in at.success)
    runs = at.dataframe[0].value
    assert list(runs["status"]) == ["completed"] and "marked overdue" in runs["what it did"][0]
    assert "{" not in runs["what it did"][0]  # words, not JSON (issue 18)
    stored = storage_for(seeded_url).list_job_runs(job_id="overdue_marking")
    assert len(stored) == 1 and stored[0].counts["run_by"] == "admin"
    at = _run_now(at, 2)
    assert any("already happened" in i.value for i in at.info)
    assert len(storage_for(seeded_url).list_job_runs(job_id="overdue_marking")) == 1


def test_engineer_has_no_jobs_page_and_its_guard_refuses(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    # The script run directly (a URL typed by hand) refuses on its first line.
    monkeypatch.setattr("ui.common.current_actor", lambda: Actor(2, "engineer", "field_engineer"))
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60).run()
    assert [e.value for e in at.error] == ["You do not have access to this page."] and not at.button


def test_times_are_in_the_utility_time_zone(water_url, monkeypatch, tmp_path):
    """Issue 18: one time zone everywhere, the utility's (HydroSpark: Los Angeles), even when the scheduler's
    own zone (SCHEDULER_TIMEZONE, default Asia/Kolkata) differs; the schedule then names its zone."""
    monkeypatch.delenv("SCHEDULER_TIMEZONE", raising=False)
    monkeypatch.delenv("METERLINE_TIMEZONE", raising=False)
    at = signed_in(water_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    assert any(c.value.startswith("Times in America/Los_Angeles.") for c in at.caption), [c.value for c in at.caption]
    assert any(m.value.startswith("Runs on the 1st of every month at 02:00 (Asia/Kolkata time)") for m in at.markdown)
