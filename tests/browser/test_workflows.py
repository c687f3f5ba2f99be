"""The daily workflows end to end in a real headless Chromium against `streamlit run` on a
temporary database: a field engineer submits a reading with a photo (on a phone-sized screen);
an admin sees it with its photo, approves it, bills it, checks the breakdown and marks it paid;
a bill in a locked month is refused; a field engineer is refused at an admin URL. Every screen
is saved under test-output/<test>/."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from services.models import BillFilter, ReadingFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import full_shot, nav, sign_in, start_streamlit, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS

B17 = "B17-FF - First Floor - Test Owner - meter 19152159"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """streamlit run on the 320-flat demo society (it has seed 002's B17-FF), dated by the app's clock."""
    from scripts import seed_demo
    from services.clock import today

    work = tmp_path_factory.mktemp("workflows")
    db_url = f"sqlite:///{work / 'demo.db'}"
    storage = SqlStorage(db_url)
    seed_demo.seed(storage, 320, today(), quiet=True)
    storage.dispose()
    server = start_streamlit(db_url, work)
    yield server
    server.stop()


def meter_photo(path, text: str) -> None:
    """A picture that looks like a meter display, so the screenshots show something real."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 320), (38, 42, 48))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((30, 60, 450, 200), radius=12, fill=(170, 196, 150), outline=(10, 10, 10), width=4)
    d.text((60, 110), text, fill=(20, 20, 20), font_size=44)
    d.text((30, 240), "meter 19152159  kWh", fill=(230, 230, 230), font_size=28)
    img.save(path, format="JPEG", quality=90)


def card(page, reading_id: int):
    return page.locator(f".st-key-reading_{reading_id}")


def readings_of_b17(storage) -> list:
    meter = storage.get_meter(meter_number="19152159")
    return storage.list_readings(ReadingFilter(status=None, meter_id=meter.id), 0, 100).items


def test_reading_to_paid_bill(app_server, page, tmp_path):
    storage = SqlStorage(app_server.db_url)
    before = readings_of_b17(storage)
    value = before[0].reading_value + Decimal("123.4")
    # The seeded month's reading waits for review; a bill covers every reading since the last one
    # billed, so it is reviewed and billed first (by its month) and the new reading's bill is its own.
    from services.database_service import DatabaseService
    from services.billing.periods import BillingPeriod
    from services.accounts.roles import Actor

    admin = storage.get_user(username="admin")
    actor = Actor(admin.id, admin.username, admin.role)
    seeded = DatabaseService(storage).approve_reading(before[0].id, actor=actor)
    month = BillingPeriod.for_month(seeded.reading_date)
    DatabaseService(storage).bill_reading(seeded.id, month.start, month.end, month.end, actor=actor)

    # ---- field engineer, on a phone-sized screen --------------------------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, app_server.url, "engineer", DEMO_PASSWORDS["engineer"])
    page.get_by_text("Submit a reading").first.wait_for()
    full_shot(page, "engineer-form-phone")
    search = page.get_by_label("Find the flat")
    search.fill("B17-FF")
    search.press("Enter")
    wait_for_app(page)
    expect(page.get_by_label("Flat and meter")).to_have_value("")  # nothing chosen until the engineer picks
    page.get_by_label("Flat and meter").click()
    page.get_by_role("option", name=B17).click()
    wait_for_app(page)
    expect(page.get_by_label("Flat and meter")).to_have_value(B17)
    page.get_by_text("motor meter 82000002").wait_for()
    page.get_by_label("Reading value (kWh)").fill(str(value))
    photo = tmp_path / "meter.jpg"
    meter_photo(photo, f"{value:,.1f}")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(photo))
    page.get_by_text("meter.jpg").wait_for()
    full_shot(page, "engineer-filled-phone")
    page.get_by_role("button", name="Submit reading").dblclick()  # a double tap
    wait_for_app(page)
    # The first tap saves; whichever run draws the answer, it names the stored reading.
    page.get_by_text(re.compile(r"Saved reading #|is stored: B17-FF")).wait_for()
    page.get_by_text("123.40 kWh").first.wait_for()  # the consumption against the previous reading
    full_shot(page, "engineer-submitted-phone")
    after = readings_of_b17(storage)
    assert len(after) == len(before) + 1  # the double tap stored one row
    new = after[0]
    assert new.reading_value == value and new.photo_ref and (app_server.photo_dir / new.photo_ref).is_file()
    nav(page, "My submissions")
    page.get_by_text(f"{value:,.2f} kWh").first.wait_for()
    full_shot(page, "engineer-my-submissions-phone")

    # ---- admin: review, approve ------------------------------------------------------------------
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, app_server.url, "admin", DEMO_PASSWORDS["admin"])
    page.get_by_text("Readings pending review").wait_for()
    full_shot(page, "admin-dashboard")
    nav(page, "Review readings")
    page.get_by_label("Flat code starts with").fill("B17-FF")
    page.get_by_label("Flat code starts with").press("Enter")
    wait_for_app(page)
    c = card(page, new.id)
    c.wait_for()
    img = c.locator("img").first
    img.wait_for()
    assert page.evaluate("(el) => el.complete && el.naturalWidth > 0", img.element_handle())  # the photo loads
    full_shot(page, "admin-review-with-photo")
    c.get_by_role("button", name="Approve").click()
    wait_for_app(page)
    c.get_by_text(f"Approved reading #{new.id}").wait_for()  # in the row's place (a toast says it too)
    assert storage.get_reading(new.id).status == "approved"

    # ---- admin: bill it ----------------------------------------------------------------------------
    page.get_by_role("link", name=f"Bill reading #{new.id} now").click()
    wait_for_app(page)
    page.get_by_text("Rule that applied").wait_for()
    page.get_by_role("textbox", name="Previous outstanding (₹)").fill("0")
    page.get_by_role("textbox", name="Previous outstanding (₹)").press("Enter")
    wait_for_app(page)
    page.get_by_text("BHK fixed charge override").wait_for()
    expected = Decimal("123.40") * 12 + Decimal("1890") + (new.motor_share or 0) * 12
    full_shot(page, "admin-bill-preview")
    page.get_by_role("button", name="Save bill").click()
    wait_for_app(page)
    page.get_by_text("Saved bill #").wait_for()
    bill = storage.list_bills(BillFilter(search="B17-FF"), 0, 1).items[0]
    assert bill.last_reading_id == new.id and bill.units == Decimal("123.40")
    assert bill.total_amount == expected.quantize(Decimal("0.01"))
    full_shot(page, "admin-bill-saved")

    # ---- admin: the bill's page, then paid -----------------------------------------------------------
    page.get_by_role("link", name=f"Open bill #{bill.id}").click()
    wait_for_app(page)
    page.get_by_text("the same as the stored total").wait_for()
    page.get_by_text(f"reading #{new.id}").first.wait_for()
    page.locator("[data-testid='stImage'] img").first.wait_for()
    full_shot(page, "admin-bill-detail")
    page.get_by_label("Reference").fill("UPI 99120")
    page.get_by_role("button", name="Mark paid in full").click()
    wait_for_app(page)
    page.get_by_text("the bill is now paid").wait_for()
    full_shot(page, "admin-bill-paid")
    paid = storage.get_bill(bill.id)
    assert paid.status == "paid" and paid.amount_paid == paid.total_amount
    assert storage.list_payments(bill.id)[-1].reference == "UPI 99120"
    storage.dispose()


def _set_date(page, label: str, value: str) -> None:
    """Type a date into Streamlit's date field, one segment (year, month, day) at a time."""
    year, month, day = value.split("-")
    for part, digits in (("year", year), ("month", month), ("day", day)):
        seg = page.get_by_role("spinbutton", name=f"{part}, {label}")
        seg.click()
        seg.press_sequentially(digits)
    page.keyboard.press("Tab")
    wait_for_app(page)
    expect(page.get_by_role("spinbutton", name=f"year, {label}")).to_have_text(year)


def test_locked_month_bill_refused(app_server, page):
    storage = SqlStorage(app_server.db_url)
    sign_in(page, app_server.url, "admin", DEMO_PASSWORDS["admin"])
    nav(page, "Review readings")
    page.get_by_label("Flat code starts with").fill("A1-GF")
    page.get_by_label("Flat code starts with").press("Enter")
    wait_for_app(page)
    pending = storage.list_readings(ReadingFilter(status="pending", account_code="A1-GF"), 0, 1).items[0]
    card(page, pending.id).get_by_role("button", name="Approve").click()
    wait_for_app(page)
    page.get_by_role("link", name=f"Bill reading #{pending.id} now").click()
    wait_for_app(page)
    page.get_by_text("Rule that applied").wait_for()
    _set_date(page, "Billing period start", "2025-11-01")
    _set_date(page, "Billing period end", "2025-11-30")
    _set_date(page, "Due date", "2025-12-15")
    page.get_by_role("button", name="Save bill").click()
    wait_for_app(page)
    page.get_by_text("Refused, nothing was stored: Billing period 2025-11 is locked").wait_for()
    full_shot(page, "admin-locked-month-refused")
    assert storage.count_bills_ending_in("2025-11") == 0
    assert storage.get_reading(pending.id).bill_id is None
    storage.dispose()


def test_admin_lists_runs_and_exports(app_server, page):
    sign_in(page, app_server.url, "admin", DEMO_PASSWORDS["admin"])
    nav(page, "Generate monthly bills")
    page.get_by_role("button", name="Preview (dry run)").click()
    wait_for_app(page)
    page.get_by_text("(nothing was written)").wait_for()
    page.get_by_text("Recent runs").wait_for()
    full_shot(page, "admin-generate-dry-run")
    nav(page, "Bills and payments")
    page.get_by_role("textbox", name="Flat code, name or bill number").fill("B1")
    page.get_by_role("textbox", name="Flat code, name or bill number").press("Enter")
    wait_for_app(page)
    # The searched list, not the one before it: the export button of the run before the search
    # would export every bill (it did once in CI, 1,602 rows).
    storage = SqlStorage(app_server.db_url)
    found = storage.list_bills(BillFilter(search="B1"), 0, 1).total
    storage.dispose()
    page.get_by_text(f"Bills 1-20 of {found:,}", exact=False).wait_for()
    wait_for_app(page)  # and that run finished, its export button drawn
    full_shot(page, "admin-bills-list")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Export CSV").click()
    text = open(dl.value.path(), encoding="utf-8").read().splitlines()
    assert text[0].startswith("bill_id,flat,") and len(text) > 20 and all(",B1" in row for row in text[1:])


def test_field_engineer_refused_at_admin_url(app_server, page):
    page.goto(f"{app_server.url}/review")
    wait_for_app(page)
    page.get_by_label("Username").fill("engineer")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORDS["engineer"])
    page.get_by_role("button", name="Sign in", exact=True).click()
    wait_for_app(page)
    page.get_by_text("You do not have access to the page 'Review readings'").wait_for()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_test_id("stSidebarNav").get_by_text("Review readings").count() == 0
    full_shot(page, "engineer-refused-at-review-url")
