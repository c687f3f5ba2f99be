"""Every page renders for every role that may open it; a field engineer never reaches an admin page."""
import pytest
from streamlit.testing.v1 import AppTest

from services.accounts.roles import Actor, Permission
from tests.ui.harness import ROOT, app, sign_in
from ui.registry import PAGES, SERVICE_ICON

MINE = ["ui/dashboard.py", "ui/review_readings.py", "ui/bill_reading.py", "ui/generate_bills.py", "ui/bills.py",
        "ui/submit_reading.py", "ui/my_submissions.py"]
ADMIN_ONLY = MINE[:5]


def test_registry_permissions():
    spec = {p.path: p for p in PAGES}
    assert {p: spec[p].permission for p in MINE} == {
        "ui/dashboard.py": Permission.VIEW_REPORTS, "ui/review_readings.py": Permission.REVIEW_READINGS,
        "ui/bill_reading.py": Permission.CREATE_BILL, "ui/generate_bills.py": Permission.RUN_BILLING,
        "ui/bills.py": Permission.VIEW_BILLS, "ui/submit_reading.py": Permission.SUBMIT_READING,
        "ui/my_submissions.py": Permission.VIEW_OWN_SUBMISSIONS}
    assert all(p.icon.startswith(":material/") or p.icon == SERVICE_ICON for p in PAGES)


@pytest.mark.parametrize("username,pages", [("admin", MINE), ("engineer", MINE[5:])])
def test_each_page_renders_for_each_role(demo_url, monkeypatch, tmp_path, username, pages):
    at = sign_in(app(demo_url, monkeypatch, tmp_path, timeout=60), username)
    for page in pages:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page
        assert not any("do not have access" in e.value for e in at.error), page


def test_admin_lands_on_dashboard_engineer_on_submit(demo_url, monkeypatch, tmp_path):
    at = sign_in(app(demo_url, monkeypatch, tmp_path, timeout=60), "admin")
    assert at.title[0].value.endswith("Dashboard")
    at = sign_in(app(demo_url, monkeypatch, tmp_path, timeout=60), "engineer")
    assert at.title[0].value.endswith("Submit a reading")


def test_engineer_navigation_has_no_admin_page(demo_url, monkeypatch, tmp_path):
    at = sign_in(app(demo_url, monkeypatch, tmp_path, timeout=60), "engineer")
    for page in ADMIN_ONLY:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


@pytest.mark.parametrize("page", ADMIN_ONLY)
def test_page_guard_refuses_engineer_running_admin_page(demo_url, monkeypatch, tmp_path, page):
    """Even when the script itself runs (a URL typed by hand), the page's first line refuses."""
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setattr("ui.common.current_actor", lambda: Actor(2, "engineer", "field_engineer"))
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["You do not have access to this page."]
    assert not at.title and not at.button and not at.dataframe


def test_signed_out_page_asks_to_sign_in(demo_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setattr("ui.common.current_actor", lambda: None)
    at = AppTest.from_file(str(ROOT / "ui/bills.py"), default_timeout=60).run()
    assert [e.value for e in at.error] == ["Please sign in."] and not at.title
