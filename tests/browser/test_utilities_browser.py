"""Each utility in a real headless Chromium: an admin signs in, opens the bills list, a bill with its
lines, and the Tariff plans page with a preview, at desktop (1280x900) and phone (390x844) size
(at desktop also an edited plan's preview, the Accounts and the Utility pages).
Full-page screenshots: test-output/<test>/NN-<utility>-<screen>-<size>.png."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import click_row, full_shot, nav, sign_in, start_streamlit, wait_for_app
from tests.conftest import TODAY
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
# What each utility's pages must say: its name, the label of the account column, a bill line, the
# area levels, and the calculator's input (a quantity, or none for a fixed fee).
EXPECT = {
    "society": dict(name="Blessings City", account="Flat", line="Energy: ", levels=("Block", "Floor"),
                    quantity="Quantity (kWh)", symbol="₹", edit=("Default rate (₹/kWh)", "13")),
    "municipal": dict(name="Suthra Punjab", account="Consumer unit", line="Sanitation fee: ",
                      levels=("City/Tehsil", "Union Council"), quantity=None, symbol="Rs",
                      edit=("Small: default fee (Rs)", "600")),
    "water": dict(name="HydroSpark", account="Customer", line="Tier 1: 0-10 CCF", levels=("Service area", "Billing cycle"),
                  quantity="Quantity (CCF)", symbol="$", edit=("Tier 1 rate ($/CCF)", "2.80")),
}


@pytest.fixture
def utility_server(request, tmp_path):
    """streamlit run on a database of the utility named by the test's parameter."""
    template = request.param
    db_url = f"sqlite:///{tmp_path / (template + '.db')}"
    storage = SqlStorage(db_url)
    if template == "society":
        from scripts import seed_demo

        seed_demo.seed(storage, 32, TODAY, quiet=True)
    else:
        from tests.ui.utilities import build

        build(storage, template)
    storage.dispose()
    server = start_streamlit(db_url, tmp_path)
    server.template = template
    yield server
    server.stop()


@pytest.mark.parametrize("utility_server", ["society", "municipal", "water"], indirect=True)
def test_bills_a_bill_and_the_tariff_plans(utility_server, page):
    template = utility_server.template
    want = EXPECT[template]
    storage = SqlStorage(utility_server.db_url)
    newest = storage.list_bills(BillFilter(), 0, 1).items[0]
    lines = storage.list_bill_lines(newest.id)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, utility_server.url, "admin", DEMO_PASSWORDS["admin"])
        expect(page).to_have_title(f"{want['name']} · Meterline")  # the utility names the tab and heads the page
        page.locator("[data-testid=stSidebarLogo]:visible, [data-testid=stHeaderLogo]:visible").first.wait_for()

        nav(page, "Bills and payments")
        page.get_by_text("Bills 1-").wait_for()
        for level in want["levels"]:
            page.get_by_text(level, exact=True).first.wait_for()  # the area picker's levels
        page.get_by_role("textbox", name=f"{want['account']} code, name or bill number").wait_for()
        full_shot(page, f"{template}-bills-{size}")

        click_row(page, "bl_table")  # the newest bill is listed first
        wait_for_app(page)
        page.get_by_text(f"Bill #{newest.id}").first.wait_for()
        page.get_by_text("Bill lines").wait_for()
        page.get_by_text("the same as the stored total").wait_for()
        page.get_by_text("version 1 in effect").wait_for()
        table = page.get_by_test_id("stTable").first
        for ln in lines:
            expect(table).to_contain_text(ln.label)
        expect(table).to_contain_text(want["line"])
        full_shot(page, f"{template}-bill-{size}")
        page.get_by_role("button", name="All bills").click()
        wait_for_app(page)

        nav(page, "Tariff plans")
        page.get_by_text("Preview calculator").wait_for()
        if want["quantity"]:
            box = page.get_by_role("textbox", name=want["quantity"])
            box.fill("25")
            box.press("Enter")
            wait_for_app(page)
        quote = page.get_by_test_id("stMarkdownContainer").filter(has_text="Stored plan").first
        quote.wait_for()
        assert want["symbol"] in quote.inner_text(), quote.inner_text()
        full_shot(page, f"{template}-tariff-plans-{size}")
        if size == "desktop":  # the editor's preview next to the stored plan, then the other admin pages
            label, value = want["edit"]
            box = page.get_by_role("textbox", name=label)
            box.fill(value)
            box.press("Enter")
            wait_for_app(page)
            page.get_by_test_id("stMarkdownContainer").filter(has_text="Edited").first.wait_for()
            full_shot(page, f"{template}-tariff-edit-preview-{size}")
            nav(page, "Accounts")
            page.get_by_role("button", name="Open", exact=True).last.wait_for()
            full_shot(page, f"{template}-accounts-{size}")
            nav(page, "Utility")
            page.get_by_text("Area levels, top first").wait_for()
            full_shot(page, f"{template}-utility-{size}")
    storage.dispose()
