"""Issue 13 in a real headless Chromium: an Operations user of the water demo imports a usage file
on the Import usage page (desktop 1280x900 and phone 390x844): the first import stores the days and
says so, the same file again stores nothing and says so, a file with a conflicting value and an
unknown customer is refused whole with the row numbers and columns listed.
Screenshots: test-output/issue13/NN-<step>-<size>.png."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, full_shot, nav, sign_in, start_streamlit, wait_for_app
from tests.conftest import TODAY
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
CUSTOMERS = 12
SHOTS = OUTPUT / "issue13"


@pytest.fixture(scope="module")
def water_server(tmp_path_factory):
    from scripts import seed_demo
    from services.pricing_service import PricingService

    work = tmp_path_factory.mktemp("water_import")
    db_url = f"sqlite:///{work / 'water.db'}"
    storage = SqlStorage(db_url)
    assert seed_demo.seed(storage, CUSTOMERS, TODAY, PricingService(), quiet=True, utility="water")
    storage.dispose()
    server = start_streamlit(db_url, work)
    yield server
    server.stop()


def _file(tmp_path, name: str, rows: list[str]) -> str:
    p = tmp_path / name
    p.write_text("customer,date,usage_ccf\n" + "".join(r + "\n" for r in rows))
    return str(p)


def _upload(page, path: str) -> None:
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(path)
    page.get_by_text(Path(path).name).first.wait_for()  # the chosen file is listed under the box
    page.get_by_role("button", name="Import usage").click()
    wait_for_app(page)


def test_operations_import_a_usage_file(water_server, browser, tmp_path):
    shutil.rmtree(SHOTS, ignore_errors=True)
    n = 0
    storage = SqlStorage(water_server.db_url)
    days = [TODAY + dt.timedelta(days=i) for i in (2, 3)]  # after the seeded usage, before the app's today
    for size, (first, second) in zip(SIZES, (("HS0000001", "HS0000002"), ("HS0000003", "HS0000004"))):
        rows = [f"{c},{d},{q}" for c, q in ((first, "0.42"), (second, "1.10")) for d in days]
        good = _file(tmp_path, f"usage-{size}.csv", rows)
        bad = _file(tmp_path, f"bad-{size}.csv", [f"{first},{days[0]},0.99", f"HS9999999,{days[0]},1.00",
                                                  f"{second},{days[1]},abc"])
        ctx = browser.new_context(viewport=SIZES[size])
        page = ctx.new_page()
        page.set_default_timeout(30000)
        page._shot_dir, page._shot_n = SHOTS, n  # noqa: SLF001 - used by shot()
        sign_in(page, water_server.url, "operations", DEMO_PASSWORDS["operations"])
        nav(page, "Import usage")
        page.get_by_text("File layout").first.wait_for()
        _upload(page, good)
        page.get_by_text("stored 4 day(s) of usage for 2 customer(s)", exact=False).wait_for()
        page.get_by_test_id("stMetricValue").first.wait_for()
        page.get_by_test_id("stDataFrame").last.wait_for()  # the recent imports table
        full_shot(page, f"imported-{size}")
        _upload(page, good)
        page.get_by_text("nothing new", exact=False).wait_for()
        full_shot(page, f"repeated-{size}")
        _upload(page, bad)
        page.get_by_text("Nothing was imported: 3 problem(s)", exact=False).wait_for()
        full_shot(page, f"refused-{size}")
        n = page._shot_n
        ctx.close()
        acct = storage.get_account(code=first)
        got = {x.usage_date: str(x.quantity) for x in storage.list_daily_usage(acct.id, days[0], days[-1])}
        assert got == {d: "0.42" for d in days}  # stored once; the refused file changed nothing
    storage.dispose()
