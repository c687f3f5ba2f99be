"""The app starts under `streamlit run` and signs an admin in, in a real headless Chromium."""
from tests.browser.conftest import shot, sign_in, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS


def test_sign_in_page_then_status(demo_server, page):
    page.goto(demo_server.url)
    wait_for_app(page)
    page.get_by_text("Sign in").first.wait_for()
    shot(page, "sign-in")
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    page.get_by_test_id("stSidebarNav").get_by_text("System status", exact=True).click()  # admins land on the dashboard
    wait_for_app(page)
    page.get_by_text("Database OK").wait_for()
    shot(page, "status")
