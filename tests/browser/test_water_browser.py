"""The water demo (seed_demo --utility water) in a real headless Chromium, as its three roles use it,
at desktop (1280x900) and phone (390x844) size:
- Operations filter the anomalies to usage on a closed account, open the planted one (customer
  HS0000007, January 2026), see its chart and band, and record the review;
- Billing run November 2026 (a dry run first) and open a tiered bill: its lines on the page are the
  stored ones, and they follow the plan's arithmetic (tiers, the seasonal multiplier, the two fees);
- Support open a customer and change the phone (audited).
Full-page screenshots: test-output/<test>/NN-<role>-<screen>-<size>.png."""
from __future__ import annotations

import re
from decimal import Decimal as D

import pytest

from services.models import AnomalyFilter, BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, click_row, full_shot, nav, sign_in, start_streamlit, wait_for_app
from tests.conftest import TODAY
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
CUSTOMERS = 60  # customer index 6 (HS0000007) is a closed account with usage planted in January 2026


@pytest.fixture(scope="module")
def water_server(tmp_path_factory):
    from scripts import seed_demo
    from services.pricing_service import PricingService

    work = tmp_path_factory.mktemp("water")
    db_url = f"sqlite:///{work / 'water.db'}"
    storage = SqlStorage(db_url)
    assert seed_demo.seed(storage, CUSTOMERS, TODAY, PricingService(), quiet=True, utility="water")
    storage.dispose()
    server = start_streamlit(db_url, work)
    yield server
    server.stop()


@pytest.fixture
def pages(browser, request):
    """A fresh browser context (a signed-out user) per call, screenshots under test-output/<test>/."""
    made = []
    out = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    counter = {"n": 0}

    def new(size: str):
        ctx = browser.new_context(viewport=SIZES[size])
        pg = ctx.new_page()
        pg.set_default_timeout(30000)
        pg._shot_dir = out  # noqa: SLF001 - used by shot()
        counter["n"] += 10
        pg._shot_n = counter["n"]
        made.append(ctx)
        return pg

    yield new
    for ctx in made:
        ctx.close()


def pick(page, key: str, option: str) -> None:
    """Choose an option of the Streamlit selectbox with widget key `key`."""
    box = page.locator(f".st-key-{key} [data-testid=stSelectbox] > div").last  # the box under the label
    box.wait_for()
    box.click()
    page.keyboard.type(option)  # the selectbox filters its options as one types
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def test_operations_review_the_planted_anomaly(water_server, pages):
    storage = SqlStorage(water_server.db_url)
    planted = storage.list_anomalies(AnomalyFilter(method="inactive_usage")).items
    assert [(a.account_code, f"{a.period_start:%Y-%m}") for a in planted] == [("HS0000007", "2026-01")]
    for size in SIZES:
        page = pages(size)
        sign_in(page, water_server.url, "operations", DEMO_PASSWORDS["operations"])
        page.get_by_text("Open an anomaly").first.wait_for()  # Operations land on the anomalies
        full_shot(page, f"operations-anomalies-{size}")
        if size != "desktop":
            continue
        pick(page, "an_method", "usage on a closed account")
        page.get_by_test_id("stMarkdownContainer").filter(has_text="HS0000007").first.wait_for()
        page.get_by_text("band", exact=False).first.wait_for()
        page.locator("[data-testid=stVegaLiteChart], [data-testid=stArrowVegaLiteChart]").first.wait_for()
        full_shot(page, f"operations-planted-anomaly-{size}")
        pick(page, "an_outcome", "customer contacted")
        page.get_by_role("textbox", name="Note").fill("closed account in use: new tenant, account reopened")
        page.get_by_role("button", name="Record review").click()
        wait_for_app(page)
        page.get_by_text("reviewed: customer contacted").wait_for()
        full_shot(page, f"operations-reviewed-{size}")
    done = storage.get_anomaly(planted[0].id)
    assert (done.status, done.outcome, done.reviewed_by_name) == ("reviewed", "customer_contacted", "operations")
    storage.dispose()


def test_billing_run_a_month_and_open_a_tiered_bill(water_server, pages):
    storage = SqlStorage(water_server.db_url)
    page = pages("desktop")
    sign_in(page, water_server.url, "billing", DEMO_PASSWORDS["billing"])
    nav(page, "Generate monthly bills")
    pick(page, "run_month", "2026-11")
    page.get_by_role("button", name="Preview (dry run)").click()
    wait_for_app(page)
    page.get_by_text("(nothing was written)").wait_for()
    full_shot(page, "billing-dry-run-desktop")
    page.get_by_role("button", name=re.compile(r"^Create \d+ bills?$")).click()
    wait_for_app(page)
    # the run, then the month's anomaly detection: done when the page shows the run's record
    page.get_by_text(re.compile(r"Run #\d+ completed")).first.wait_for(timeout=180000)
    november = storage.list_bills(BillFilter(period_month="2026-11"), 0, 500).items
    assert november and all(b.billing_period_start.isoformat() == "2026-11-01" for b in november)
    full_shot(page, "billing-run-done-desktop")

    nav(page, "Bills and payments")
    click_row(page, "bl_table")  # the newest bill is listed first
    wait_for_app(page)
    newest = storage.list_bills(BillFilter(), 0, 1).items[0]
    page.get_by_text(f"Bill #{newest.id}").first.wait_for()
    lines = storage.list_bill_lines(newest.id)
    table = page.get_by_test_id("stTable").first
    for ln in lines:
        assert ln.label in table.inner_text()
        assert f"{ln.amount:,.2f}" in table.inner_text()
    full_shot(page, "billing-tiered-bill-desktop")
    # The seed's arithmetic (25 CCF in July: 10 x 2.50 + 10 x 3.00 + 5 x 3.50, x 1.2, + 15.00 + 5.00):
    # blocks of 10 CCF at 2.50 and 3.00, the rest at 3.50; November is no season (no multiplier
    # line); the two monthly fees; the lines add up to the bill's total.
    tiers = [ln for ln in lines if ln.code.startswith("tier_")]
    assert tiers and sum(ln.quantity for ln in tiers) == newest.units
    for ln, rate, width in zip(tiers, (D("2.50"), D("3.00"), D("3.50")), (D(10), D(10), None)):
        assert ln.rate == rate and ln.amount == (ln.quantity * rate).quantize(D("0.01"))
        assert width is None or ln.quantity <= width
    assert "seasonal" not in {ln.code for ln in lines}
    assert sorted(ln.amount for ln in lines if ln.code.startswith("fee_")) == [D("5.00"), D("15.00")]
    assert sum(ln.amount for ln in lines) == newest.total_amount

    phone = pages("phone")
    sign_in(phone, water_server.url, "billing", DEMO_PASSWORDS["billing"])
    nav(phone, "Bills and payments")
    phone.get_by_text("Bills 1-").wait_for()
    full_shot(phone, "billing-bills-phone")
    storage.dispose()


def test_support_change_a_customers_phone(water_server, pages):
    storage = SqlStorage(water_server.db_url)
    for size, phone_number in (("desktop", "(530) 555-0177"), ("phone", "+1 530 555 0188")):
        page = pages(size)
        sign_in(page, water_server.url, "support", DEMO_PASSWORDS["support"])
        nav(page, "Accounts")
        search = page.get_by_role("textbox", name="Search")
        search.fill("HS0000002")
        search.press("Enter")
        wait_for_app(page)
        page.locator(".st-key-ac_open_btn button").click()
        wait_for_app(page)
        page.get_by_text("Customer HS0000002").first.wait_for()
        page.get_by_text("Change contact details").click()
        box = page.get_by_role("textbox", name="Phone")
        box.fill(phone_number)
        page.get_by_role("button", name="Save contact").click()
        wait_for_app(page)
        page.get_by_text("Contact of HS0000002 saved.").wait_for()
        full_shot(page, f"support-contact-saved-{size}")
        assert storage.get_account(code="HS0000002").contact_phone == phone_number
    changes = storage.list_audit(action_prefix="contact.update").items
    assert [e.actor_name for e in changes] == ["support", "support"]
    assert changes[0].details["phone"]["new"] == "+1 530 555 0188"
    storage.dispose()
