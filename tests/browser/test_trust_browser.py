"""Issue 20's screens in a real headless Chromium (docs/trust.md), at desktop (1280x800) and phone
(390x844) size, saved under test-output/issue20/: the review page flags a reused photo and shows
the other meter's photo beside it; the Generate bills page's dry run shows the diff against last
month (the biggest movers and why) and offers the manifest for download."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from services.models import ReadingFilter
from services.photos import PhotoStore
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, full_shot, nav, shot, sign_in, start_streamlit, wait_for_app
from tests.factories import admin_user, engineer_user
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def meter_photo(text: str, seed: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 320), (38 + seed, 42, 48))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((30, 60, 450, 200), radius=12, fill=(170, 196, 150), outline=(10, 10, 10), width=4)
    d.text((60 + 7 * seed, 110), text, fill=(20, 20, 20), font_size=44)
    d.ellipse((360 - 20 * seed, 220, 420, 300), fill=(200, 60 + 30 * seed, 40))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def resent(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.resize((360, 240)).save(out, format="JPEG", quality=70)
        return out.getvalue()


@pytest.fixture(scope="module")
def trust_server(tmp_path_factory):
    """The 32-flat demo on 2026-11-22: B17-FF's October reading has a photo; another flat's November
    reading arrives with a resized copy of it; most November readings are approved, ready to bill."""
    from scripts import seed_demo
    from services.database_service import DatabaseService

    work = tmp_path_factory.mktemp("trust")
    db_url = f"sqlite:///{work / 'demo.db'}"
    storage = SqlStorage(db_url)
    today = dt.date(2026, 11, 22)
    seed_demo.seed(storage, 32, today, quiet=True)
    db = DatabaseService(storage, today=lambda: today)
    admin, eng = admin_user(storage), engineer_user(storage)
    photos = PhotoStore(work / "photos")
    pending = storage.list_readings(ReadingFilter(status="pending", account_meters_only=True), 0, 100).items
    source = pending[-1]  # its flat's October reading gets a photo
    october = next(r for r in storage.list_readings(ReadingFilter(status=None, meter_id=source.meter_id), 0, 50).items
                   if r.reading_date.month == 10)
    original = meter_photo("0 4 2 1 7 . 3", 0)
    db.record_photo_print(october, photos.save(original, "oct.jpg", meter_number=source.meter_number,
                                               today=october.reading_date))
    victim = pending[0]
    stored = photos.save(resent(original), "copy.jpg", meter_number=victim.meter_number, today=today)
    out = db.insert_meter_reading(meter_id=victim.meter_id, reading_value=victim.reading_value + 5,
                                  reading_date=today - dt.timedelta(days=1), photo_ref=stored.ref, actor=eng)
    db.record_photo_print(out.reading, stored)
    fresh = photos.save(meter_photo("0 0 9 8 1 . 0", 3), "own.jpg", meter_number=pending[1].meter_number, today=today)
    own = db.insert_meter_reading(meter_id=pending[1].meter_id, reading_value=pending[1].reading_value + 3,
                                  reading_date=today - dt.timedelta(days=1), photo_ref=fresh.ref, actor=eng)
    db.record_photo_print(own.reading, fresh)
    for r in pending[2:]:
        db.approve_reading(r.id, actor=admin)
    storage.dispose()
    server = start_streamlit(db_url, work, {"PHOTO_DIR": str(work / "photos")})
    server.source_code = source.account_code
    yield server
    server.stop()


@pytest.mark.parametrize("size", list(SIZES))
def test_reused_photo_and_run_manifest_screens(trust_server, browser, size):
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(90000)
    page._shot_dir = OUTPUT / "issue20"  # noqa: SLF001 - shot() writes here
    page._shot_n = {"desktop": 0, "phone": 10}[size]
    try:
        sign_in(page, trust_server.url, "admin", DEMO_PASSWORDS["admin"])
        nav(page, "Review readings")
        code = trust_server.source_code
        page.get_by_text(f"This photo looks like the one for {code} on 2026-10-", exact=False).first.wait_for()
        flag = page.get_by_text(f"This photo looks like the one for {code} on 2026-10-", exact=False).first
        flag.scroll_into_view_if_needed()  # images load as they come into view (a phone shows one card at a time)
        page.get_by_text(f"Earlier photo: {code} on 2026-10-").first.wait_for()
        page.wait_for_timeout(1000)
        shot(page, f"review-reused-photo-card-{size}")
        full_shot(page, f"review-reused-photo-{size}")
        nav(page, "Generate monthly bills")
        page.get_by_label("Billing month").click()  # the app's clock is today's: pick the seeded November
        page.get_by_role("option", name="2026-11").click()
        wait_for_app(page)
        page.get_by_role("button", name="Preview (dry run)").click()
        page.get_by_text("Compared with last month's bills").wait_for()
        page.get_by_text("biggest changes").first.wait_for()
        page.get_by_text("Download manifest (CSV)").wait_for()
        page.get_by_text("Recent runs").wait_for()
        full_shot(page, f"generate-dry-run-manifest-{size}")
    finally:
        context.close()
