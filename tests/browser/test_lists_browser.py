"""Issue 18: the bills list is a real table. A click on a row opens the bill; filters, sort and
page live in the URL (a reload or a shared link keeps them; "All bills" keeps them too)."""
from urllib.parse import parse_qs, urlparse

from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import click_row, full_shot, nav, sign_in, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _url_has(page, text: str) -> None:
    """Streamlit writes st.query_params into the address after the run: wait for it."""
    page.wait_for_function("t => window.location.search.includes(t)", arg=text, timeout=20000)


def test_bills_table_sorts_in_the_database_opens_on_click_and_keeps_the_url(demo_server, page):
    storage = SqlStorage(demo_server.db_url)
    biggest = storage.list_bills(BillFilter(sort="total"), 0, 1).items[0]
    storage.dispose()
    page.set_default_timeout(60000)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
        nav(page, "Bills and payments")
        page.get_by_text("Bills 1-").wait_for()
        page.get_by_label("Sort every matching bill by").click()
        page.get_by_role("option", name="Total", exact=True).click()
        wait_for_app(page)
        _url_has(page, "sort=total")
        full_shot(page, f"issue18-bills-sorted-{size}")
        click_row(page, "bl_table")  # the largest bill of every page comes first
        page.get_by_role("heading", name=f"Bill {biggest.bill_number}").wait_for()
        _url_has(page, f"bill={biggest.id}")
        assert _query(page).get("bill") == str(biggest.id) and _query(page).get("sort") == "total"
        full_shot(page, f"issue18-bill-opened-{size}")
        page.get_by_role("button", name="All bills").click()
        wait_for_app(page)
        page.get_by_text("Bills 1-").wait_for()
        assert "bill" not in _query(page) and _query(page).get("sort") == "total"  # the list as it was
