"""Municipal staff scoped to their areas, in a real headless Chromium (issue 14): the demo `agent`
signs in at desktop (1280x900) and phone (390x844) size, sees only the consumer units and bills of
their union councils, opens one of their bills with its PSID, and a guessed bill id of another
council says it does not exist; the head office assigns the agent another union council on the
Users page. Full-page screenshots: test-output/<test>/NN-<screen>-<size>.png."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.billing.psid import pretty
from services.models import AccountFilter, BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import full_shot, nav, sign_in, signed_in_or_form, start_streamlit, wait_for_app
from tests.conftest import TODAY
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def town_server(tmp_path_factory):
    from scripts import seed_demo

    work = tmp_path_factory.mktemp("browser_town")
    db_url = f"sqlite:///{work / 'town.db'}"
    storage = SqlStorage(db_url)
    seed_demo.seed(storage, 300, TODAY, quiet=True, utility="municipal")
    storage.dispose()
    server = start_streamlit(db_url, work)
    yield server
    server.stop()


def _agent_paths(st: SqlStorage) -> list[str]:
    return [a.path for a in st.list_user_areas(st.get_user(username="agent").id)]


def _inside(path: str, tops: list[str]) -> bool:
    return any(path == t or path.startswith(t + "/") for t in tops)


def _open_link_signed_in(page, url: str) -> None:
    """Open a link to a bill (signed out, the sign-in form comes first, then the link opens; signed in, the
    session cookie opens it at once)."""
    page.goto(url)
    wait_for_app(page)
    signed_in_or_form(page)
    if page.get_by_label("Username").count() == 0:
        return
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORDS["agent"])
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)


def test_an_agent_sees_only_their_union_councils(town_server, page):
    st = SqlStorage(town_server.db_url)
    mine = _agent_paths(st)
    units = sum(st.list_accounts(AccountFilter(area_id=st.get_area(path=p).id), 0, 1).total for p in mine)
    own = st.list_bills(BillFilter(area_id=st.get_area(path=mine[0]).id), 0, 1).items[0]
    other = next(b for b in st.list_bills(BillFilter(), 0, 300).items if not _inside(b.area_path, mine))
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, town_server.url, "agent", DEMO_PASSWORDS["agent"])
        nav(page, "Accounts")
        page.get_by_text(f"of {units:,}").first.wait_for()
        page.get_by_test_id("stDataFrame").first.wait_for()
        full_shot(page, f"agent-units-{size}")
        page.get_by_text("Show on a map").click()
        wait_for_app(page)
        page.get_by_text(f"of {units:,} consumer units shown").first.wait_for()
        page.wait_for_timeout(1500)  # deck.gl draws the points (no map tiles offline)
        full_shot(page, f"agent-map-{size}")

        _open_link_signed_in(page, f"{town_server.url}/bills?bill={own.id}")
        page.get_by_text(f"Bill #{own.id}").first.wait_for()
        page.get_by_text(pretty(own.psid)).first.wait_for()
        full_shot(page, f"agent-own-bill-{size}")

        _open_link_signed_in(page, f"{town_server.url}/bills?bill={other.id}")
        page.get_by_text(f"Bill {other.id} does not exist").first.wait_for()
        expect(page.get_by_text(pretty(other.psid))).to_have_count(0)
        full_shot(page, f"agent-guessed-bill-{size}")
        page.context.clear_cookies()


def test_the_head_office_assigns_an_agent_a_union_council(town_server, page):
    st = SqlStorage(town_server.db_url)
    other = next(a for a in st.list_areas(level=2) if not _inside(a.path, _agent_paths(st)))
    sign_in(page, town_server.url, "head", DEMO_PASSWORDS["head"])
    nav(page, "Users")
    page.get_by_role("tab", name="Change a user").click()
    page.get_by_test_id("stSelectbox").filter(has_text="User").first.click()
    page.get_by_role("option", name="agent (Agent)").click()
    wait_for_app(page)
    areas = page.get_by_test_id("stMultiSelect").filter(has_text="Areas").first
    areas.locator("input").click()
    page.keyboard.type(other.path)
    # Click the option itself once the list has filtered down to it (pressing Enter after a fixed
    # pause picked nothing on a loaded machine).
    page.get_by_role("option", name=f"{other.path} · {other.name}", exact=True).click(timeout=30_000)
    page.keyboard.press("Escape")
    expect(areas).to_contain_text(other.path)
    full_shot(page, "head-assigns-areas-desktop")
    page.get_by_role("button", name="Save areas").click()
    wait_for_app(page)
    page.get_by_text("now works in:").first.wait_for()
    full_shot(page, "head-assigned-desktop")
    assert other.path in _agent_paths(st)


def test_the_head_office_imports_a_bank_file(town_server, page, tmp_path):
    st = SqlStorage(town_server.db_url)
    open_ = [b for b in st.list_bills(BillFilter(statuses=("pending", "overdue")), 0, 50).items if b.balance > 0]
    a, b, c = open_[:3]
    csv_path = tmp_path / "hbl-2026-11-20.csv"
    csv_path.write_text("psid,transaction_id,amount,date,time,bank,channel,fine\n"
                        f"{pretty(a.psid)},HBL-1,{a.balance},2026-11-20,10:00:00,HBL,branch,0\n"
                        f"{b.psid},MCB-2,{b.balance},2026-11-20,10:05:00,MCB,ATM,0\n"
                        f"{c.psid},UBL-3,{c.balance + 10},2026-11-20,10:10:00,UBL,mobile,0\n"
                        f"{b.psid},MCB-2,{b.balance},2026-11-20,10:05:00,MCB,ATM,0\n")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, town_server.url, "head", DEMO_PASSWORDS["head"])
        nav(page, "Bank payment files")
        page.locator("input[type=file]").set_input_files(str(csv_path))
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Import payments").click()
        wait_for_app(page)
        if size == "desktop":
            page.get_by_text("Imported file #").first.wait_for()
        else:  # the same bytes again: nothing changes
            page.get_by_text("was imported already").first.wait_for()
        expect(page.get_by_test_id("stMetric").first).to_contain_text("2")
        full_shot(page, f"bank-file-{size}")
        page.context.clear_cookies()
    assert st.get_bill(a.id).status == "paid" and st.get_bill(b.id).status == "paid"
    assert st.get_bill(c.id).amount_paid == c.amount_paid and st.list_bank_files(0, 5).total == 1


def test_the_reports_for_the_head_office_and_for_an_agents_supervisor(town_server, page):
    st = SqlStorage(town_server.db_url)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, town_server.url, "head", DEMO_PASSWORDS["head"])
        nav(page, "Reports")
        page.get_by_text("Collection rate").first.wait_for()
        page.wait_for_timeout(1500)  # the charts draw
        full_shot(page, f"head-collection-{size}")
        page.get_by_role("tab", name="Arrears aging").click()
        wait_for_app(page)
        page.get_by_text("over 180 days").first.wait_for()
        full_shot(page, f"head-aging-{size}")
        page.context.clear_cookies()
    assert st.collection_report("2026-10", True)
