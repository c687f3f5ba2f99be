"""The admin notifications page in a real browser: the log of a bill's notifications with no
channel configured (skipped rows with the reason) and the channel line."""
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import shot, sign_in, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS


def test_notifications_log_page(demo_server, page):
    st = SqlStorage(demo_server.db_url, create=False)
    try:
        st.insert_notification({"kind": "bill_created", "channel": "whatsapp", "status": "skipped",
                                "message": "Hello Test Owner, your electricity bill for flat B17-FF is ready.",
                                "error": "WhatsApp is not configured (set WHATSAPP_PHONE_NUMBER_ID and "
                                         "WHATSAPP_ACCESS_TOKEN)."})
    finally:
        st.dispose()
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("link", name="Notifications").click()  # a reload would sign out
    wait_for_app(page)
    page.get_by_text("Channels:").wait_for()
    assert page.get_by_text("not configured").count() >= 2
    page.get_by_text("Rows 1-").wait_for()
    page.wait_for_selector("[data-testid='stDataFrame'] canvas")
    page.wait_for_timeout(1500)
    shot(page, "notifications-log")
