"""No truncated metric values (issue 18): on the pages that show amounts as metrics, a whole
municipal-sized amount (₹99,99,99,999.00, 16 characters) fits its metric at desktop and phone size
in a real Chromium. The demo's own amounts are small, so each metric's text is set to that amount
in the page and its box measured (scrollWidth beyond clientWidth is an ellipsis)."""
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, full_shot, nav, sign_in, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LONG = "₹99,99,99,999.00"
CUT = """(long) => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
  .filter(m => m.getClientRects().length).map(m => {
    const leaf = [...m.querySelectorAll('*')].filter(e => !e.children.length).pop() || m;
    if (/[0-9]/.test(leaf.textContent) && leaf.textContent.includes('.')) leaf.textContent = long;
    const cut = [m, ...m.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1);
    return [leaf.textContent, cut];
})"""


def _check(page, where):
    wait_for_app(page)
    page.locator("[data-testid='stMetricValue']").first.wait_for(state="attached")
    page.wait_for_timeout(500)
    measured = page.evaluate(CUT, LONG)
    assert measured, where
    cut = [text for text, was_cut in measured if was_cut]
    assert not cut, (where, cut)


def test_amount_metrics_are_never_cut_short(demo_server, page):
    storage = SqlStorage(demo_server.db_url)
    bill = storage.list_bills(BillFilter(), 0, 1).items[0]
    storage.dispose()
    page.set_default_timeout(60000)
    page._shot_dir = OUTPUT / "issue18"  # noqa: SLF001 - one folder for the issue's screenshots
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
        page.get_by_text("Collection rate").first.wait_for()
        full_shot(page, f"metrics-dashboard-{size}")  # before the check writes its long amount into the page
        _check(page, f"dashboard {size}")
        nav(page, "Reports")
        page.get_by_role("tab", name="Arrears aging").click()
        page.get_by_text("total open").first.wait_for()
        _check(page, f"aging {size}")
        nav(page, "Bills and payments")
        page.get_by_text("Bills 1-").wait_for()
        page.goto(f"{demo_server.url}/bills?bill={bill.id}")
        page.get_by_text("Balance").first.wait_for()
        full_shot(page, f"metrics-bill-{size}")
        _check(page, f"bill {size}")
