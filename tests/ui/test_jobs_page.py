"""Admin: the scheduled-jobs page (last runs, run now, bill runs); engineers never see it."""
import pytest
from streamlit.testing.v1 import AppTest

from services.accounts.roles import Actor
from tests.ui.harness import ROOT
from tests.ui.seeded import seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/jobs.py"
NAMES = ("Monthly bill generation", "Payment reminders", "Overdue marking", "Smart-meter collection",
         "Usage anomaly detection")


def _run_now(at, index: int):
    [b for b in at.button if b.label == "Run now"][index].click()
    return at.run()


def test_admin_sees_jobs_and_bill_runs(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    assert at.title[0].value.endswith("Scheduled jobs")
    assert [s.value for s in at.subheader][:5] == list(NAMES) and at.subheader[5].value == "Bill runs"
    assert len([b for b in at.button if b.label == "Run now"]) == 5
    assert sum("Never run yet" in c.value for c in at.caption) == 5
    bill_runs = next(df.value for df in at.dataframe if "created" in df.value.columns)
    assert len(bill_runs) >= 1 and set(bill_runs["status"]) == {"completed"}  # the demo's months, by the real run


def test_run_now_runs_once_and_shows_the_run(seeded_url, monkeypatch, tmp_path):
    monkeypatch.delenv("SMART_METER_URL", raising=False)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at = _run_now(at, 2)  # overdue marking
    assert not at.exception
    assert any(s.value.startswith("Overdue marking") and "completed" in s.value for s in at.success)
    runs = at.dataframe[0].value
    assert list(runs["status"]) == ["completed"] and "marked_overdue" in runs["counts"][0]
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
