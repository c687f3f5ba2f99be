"""The survey import and the consumer unit's page in a real headless Chromium (issue 14), at desktop
(1280x900) and phone (390x844) size: the head office checks and imports a survey file (a new unit and
a changed billing name and mobile); the demo `agent` opens a unit of their union council and sees its
field survey and name/contact history; a unit of another council is not there for them. Full-page
screenshots: test-output/issue14/NN-<screen>-<size>.png."""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, full_shot, nav, open_signed_in, sign_in, start_streamlit, wait_for_app
from tests.conftest import TODAY
from tests.ui.harness import DEMO_PASSWORDS
from tests.ui.test_survey_import_page import csv_of, survey_row

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def town_server(tmp_path_factory):
    from scripts import seed_demo

    work = tmp_path_factory.mktemp("browser_survey")
    db_url = f"sqlite:///{work / 'town.db'}"
    storage = SqlStorage(db_url)
    seed_demo.seed(storage, 300, TODAY, quiet=True, utility="municipal")
    storage.dispose()
    server = start_streamlit(db_url, work)
    server.work = work
    yield server
    server.stop()


def _open_signed_in(page, url: str, username: str) -> None:
    open_signed_in(page, url, username, DEMO_PASSWORDS[username])

def test_head_imports_a_survey_and_an_agent_sees_only_their_units_history(town_server, page):
    page._shot_dir = OUTPUT / "issue14"  # noqa: SLF001 - the issue's screenshots live together
    shutil.rmtree(page._shot_dir, ignore_errors=True)
    st = SqlStorage(town_server.db_url)
    mine = st.list_user_areas(st.get_user(username="agent").id)[0].path
    other_uc = next(a.path for a in st.list_areas(level=2) if a.path.split("/")[0] != mine.split("/")[0])
    names = {"desktop": ("Ali Raza", "03001234567"), "phone": ("Bilal Raza", "03451112223")}
    for size, viewport in SIZES.items():
        name, mobile = names[size]
        survey = town_server.work / f"survey-{size}.csv"
        survey.write_bytes(csv_of(survey_row(st, mine, "SP-NEW-0000001", billing_consumer_name=name,
                                             billing_mobile=mobile),
                                  survey_row(st, other_uc, "SP-NEW-0000002")))
        page.set_viewport_size(viewport)
        sign_in(page, town_server.url, "head", DEMO_PASSWORDS["head"])
        nav(page, "Survey import")
        page.locator("input[type=file]").set_input_files(str(survey))
        wait_for_app(page)
        page.get_by_role("button", name="Check the file").click()
        wait_for_app(page)
        page.get_by_text("the file is good").first.wait_for()
        full_shot(page, f"head-survey-checked-{size}")
        page.get_by_role("button", name="Import", exact=True).click()
        wait_for_app(page)
        page.get_by_text("Imported survey").first.wait_for()
        full_shot(page, f"head-survey-imported-{size}")
        page.context.clear_cookies()

        _open_signed_in(page, f"{town_server.url}/accounts?account=SP-NEW-0000001", "agent")
        page.get_by_text("Field survey").first.wait_for()
        page.get_by_text("Name and contact history").first.wait_for()
        page.get_by_text("Field visits and tickets").first.wait_for()
        full_shot(page, f"agent-own-unit-{size}")

        _open_signed_in(page, f"{town_server.url}/accounts?account=SP-NEW-0000002", "agent")
        page.get_by_text("unknown consumer unit SP-NEW-0000002").first.wait_for()
        expect(page.get_by_text("Field survey")).to_have_count(0)
        full_shot(page, f"agent-other-council-unit-{size}")
        page.context.clear_cookies()
    acct = st.get_account(code="SP-NEW-0000001")
    assert {(c.field, c.old_value, c.new_value) for c in st.list_account_history(acct.id)} == {
        ("billing_name", "Ali Raza", "Bilal Raza"), ("billing_mobile", "+923001234567", "+923451112223")}
    st.dispose()
