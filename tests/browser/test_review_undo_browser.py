"""Review readings in a real Chromium (issue 18): the A key approves the first undecided row, the
decision shows in the row's place with Undo, the U key undoes it and the reading is back where it
was; at desktop and phone size, screenshots under test-output/issue18/ (look at them)."""
from services.models import ReadingFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, full_shot, nav, sign_in, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _first_pending(db_url: str) -> int:
    storage = SqlStorage(db_url)
    try:
        return storage.list_readings(ReadingFilter(status="pending", unbilled_only=True, sort="date",
                                                   descending=False), 0, 1).items[0].id
    finally:
        storage.dispose()


def test_review_keyboard_approve_and_undo(demo_server, page):
    page.set_default_timeout(60000)
    page._shot_dir = OUTPUT / "issue18"  # noqa: SLF001 - one folder for the issue's screenshots
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
        nav(page, "Review readings")
        page.get_by_text("Pending readings 1-").wait_for()
        first = _first_pending(demo_server.db_url)
        row = page.locator(f".st-key-reading_{first}")
        page.get_by_role("heading", name="Review readings").click()  # focus on the page, not a field
        page.keyboard.press("a")
        row.get_by_text(f"Approved reading #{first}").wait_for()
        wait_for_app(page)
        full_shot(page, f"review-approved-undo-{size}")
        page.keyboard.press("u")
        row.get_by_role("button", name="Approve").wait_for()
        wait_for_app(page)
        assert page.get_by_text(f"Approved reading #{first}").count() == 0
        assert f"#{first}" in page.locator("[class*='st-key-reading_']").first.inner_text()  # back in its place
        full_shot(page, f"review-undone-{size}")
        # A single key typed into a field is text, not a shortcut.
        page.get_by_label("code starts with").fill("")
        page.get_by_label("code starts with").press("a")
        page.wait_for_timeout(800)
        assert page.get_by_text(f"Approved reading #{first}").count() == 0
        page.get_by_label("code starts with").fill("")
        page.get_by_label("code starts with").press("Enter")
        wait_for_app(page)
