"""Admin notifications page: channel line, filtered log, resend of a failed row."""
import pytest

from services.storage.sql_backend import SqlStorage
from tests.integrations.fakeserver import FakeServer, Reply
from tests.ui.harness import app, sign_in

PAGE = "ui/notifications.py"


@pytest.fixture
def log_rows(demo_url):
    st = SqlStorage(demo_url)
    failed = st.insert_notification({"kind": "bill_created", "channel": "discord", "message": "Bill for **B17-FF**",
                                     "status": "failed", "error": "HTTP 503: down", "attempts": 3,
                                     "recipient": "discord webhook 1"})
    skipped = st.insert_notification({"kind": "reminder", "channel": "whatsapp", "message": "Reminder",
                                      "status": "skipped", "error": "WhatsApp is not configured"})
    yield failed, skipped
    st.dispose()


def table(at):
    return at.dataframe[0].value if at.dataframe else None


def test_log_filter_and_channel_line(demo_url, monkeypatch, tmp_path, log_rows):
    failed, skipped = log_rows
    at = sign_in(app(demo_url, monkeypatch, tmp_path), "admin")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert any("Discord" in m.value and "not configured" in m.value for m in at.markdown)
    ids = set(table(at)["id"])
    assert {failed.id, skipped.id} <= ids
    at.selectbox(key="notif_status").select("skipped").run()
    assert set(table(at)["id"]) >= {skipped.id} and failed.id not in set(table(at)["id"])
    assert set(table(at)["status"]) == {"skipped"}
    assert not _has(at, "notif_resend")  # nothing failed on this page: nothing to resend


def test_resend_failed_from_the_page(demo_url, monkeypatch, tmp_path, log_rows):
    failed, _ = log_rows
    server = FakeServer().start()
    server.default = Reply(200, {"id": "777"})
    try:
        monkeypatch.setenv("DISCORD_WEBHOOK_URL", server.url + "/api/webhooks/1/token")
        at = sign_in(app(demo_url, monkeypatch, tmp_path), "admin")
        at.switch_page(PAGE).run()
        assert any("Discord" in m.value and ":green-badge[configured]" in m.value for m in at.markdown)
        at.selectbox(key="notif_status").select("failed").run()
        at.selectbox(key="notif_pick").select(failed.id).run()
        at.button(key="notif_resend").click().run()
        assert not at.exception
        assert any(f"Resent #{failed.id}" in s.value and "sent" in s.value for s in at.success)
        assert len(server.requests) == 1 and server.requests[0].json()["content"] == failed.message
    finally:
        server.stop()
    st = SqlStorage(demo_url)
    try:
        (new,) = [n for n in st.list_notifications(status="sent").items if n.resend_of == failed.id]
        assert new.provider_message_id == "777"
    finally:
        st.dispose()


def _has(at, key):
    try:
        at.button(key=key)
        return True
    except KeyError:
        return False


def test_resend_a_failed_bill_email_from_the_page(demo_url, monkeypatch, tmp_path):
    from services.models import BillFilter
    from tests.documents.smtp_server import SmtpServer

    st = SqlStorage(demo_url)
    bill = st.list_bills(BillFilter(statuses=("pending", "overdue")), 0, 1).items[0]
    failed = st.insert_notification({"kind": "bill_document", "channel": "email", "message": "Bill", "status": "failed",
                                     "error": "ConnectionRefusedError", "attempts": 3, "bill_id": bill.id,
                                     "recipient": "owner@example.com"})
    st.dispose()
    smtp = SmtpServer().start()
    try:
        for k, v in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "false",
                     "SMTP_SENDER": "billing@example.com"}.items():
            monkeypatch.setenv(k, v)
        at = sign_in(app(demo_url, monkeypatch, tmp_path), "admin")
        at.switch_page(PAGE).run()
        at.selectbox(key="notif_kind").select("bill_document").run()
        assert not at.exception and [r for r in table(at).to_dict("records")]
        at.selectbox(key="notif_status").select("failed").run()
        at.selectbox(key="notif_pick").select(failed.id).run()
        at.button(key="notif_resend").click().run()
        assert not at.exception
        assert any(f"Resent #{failed.id}" in s.value and "sent" in s.value for s in at.success)
        (msg,) = smtp.messages
        assert msg["To"] == "owner@example.com" and bill.bill_number in msg["Subject"]
    finally:
        smtp.stop()
