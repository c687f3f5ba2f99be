"""Emailing a bill's PDF through a real SMTP server on loopback (aiosmtpd): the message and its
attachment, one row per send in the notifications log, retried on failure, never sent twice for
the same bill and channel unless asked."""
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from services.documents.delivery import KIND, BillSender
from services.errors import ConflictError, ValidationError
from services.integrations.channels import RetryPolicy
from services.integrations.email import SmtpMailer, SmtpSettings
from tests.documents.smtp_server import free_port
from tests.factories import ADMIN, make_service, make_society

TODAY = dt.date(2026, 11, 22)
OCT = ("2026-10-01", "2026-10-31", "2026-11-15")
POLICY = RetryPolicy(max_attempts=3, backoff_seconds=1.0, timeout_seconds=5)


@pytest.fixture
def db(storage):
    make_society(storage)
    with storage.engine.begin() as conn:
        conn.execute(sa.text("UPDATE contacts SET email = 'owner@example.com' WHERE name = 'Test Owner'"))
    return make_service(storage, TODAY)


@pytest.fixture
def bill(db):
    return db.create_bill("B17-FF", *OCT, flat_units=120, motor_units=10, previous_outstanding=0)


def sender(db, port, sleeps=None, **settings) -> BillSender:
    s = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="Blessings City <billing@example.com>",
                     timeout_seconds=5, **settings)
    return BillSender(db, SmtpMailer(s), policy=POLICY, sleep=(sleeps if sleeps is not None else []).append)


def test_the_bill_arrives_with_its_pdf_and_the_log_says_sent(db, bill, smtp):
    out = sender(db, smtp.port).send_bill(bill.id, actor=ADMIN)
    assert out.notification.status == "sent" and not out.already_sent
    assert out.notification.recipient == "owner@example.com" and out.notification.kind == KIND
    (msg,) = smtp.messages
    assert msg["To"] == "owner@example.com" and "billing@example.com" in msg["From"]
    assert bill.bill_number in msg["Subject"] and "B17-FF" in msg["Subject"] and "15 Nov 2026" in msg["Subject"]
    assert out.notification.provider_message_id == msg["Message-ID"]
    body = msg.get_body(("plain",)).get_content()
    assert "Dear Test Owner" in body and bill.bill_number in body
    (att,) = list(msg.iter_attachments())
    assert att.get_content_type() == "application/pdf"
    assert att.get_filename() == f"bill-{bill.bill_number}.pdf"
    text = PdfReader(io.BytesIO(att.get_content())).pages[0].extract_text()
    assert bill.bill_number in text and "B17-FF" in text and "Due date: 15 Nov 2026" in text
    assert db.storage.list_audit(action_prefix="bill.send").items[0].entity_id == str(bill.id)


def test_never_sent_twice_unless_asked(db, bill, smtp):
    s = sender(db, smtp.port)
    first = s.send_bill(bill.id, actor=ADMIN)
    again = s.send_bill(bill.id, actor=ADMIN)
    assert again.already_sent and again.notification.id == first.notification.id
    assert "Already emailed" in again.message
    assert len(smtp.messages) == 1
    resent = s.send_bill(bill.id, actor=ADMIN, resend=True)
    assert resent.notification.status == "sent" and resent.notification.resend_of == first.notification.id
    assert len(smtp.messages) == 2
    rows = db.storage.list_notifications(bill_id=bill.id, kind=KIND).items
    assert sorted(r.status for r in rows) == ["sent", "sent"]


def test_a_server_that_is_down_is_retried_then_failed_and_the_next_try_sends(db, bill, smtp):
    sleeps = []
    down = sender(db, free_port(), sleeps)  # nothing listens there
    out = down.send_bill(bill.id, actor=ADMIN)
    assert out.notification.status == "failed" and out.notification.attempts == 3
    assert "gave up after 3 attempts" in out.notification.error and sleeps == [1.0, 2.0]
    up = sender(db, smtp.port).send_bill(bill.id, actor=ADMIN)  # a failed send does not block the next
    assert up.notification.status == "sent" and len(smtp.messages) == 1


def test_a_temporary_refusal_is_retried_a_permanent_one_is_not(db, bill, smtp):
    sleeps = []
    smtp.inbox.refuse_with = "451 4.3.0 try again later"
    out = sender(db, smtp.port, sleeps).send_bill(bill.id, actor=ADMIN)
    assert out.notification.status == "failed" and out.notification.attempts == 3 and "451" in out.notification.error
    smtp.inbox.refuse_with = "550 5.1.1 no such mailbox"
    sleeps.clear()
    out = sender(db, smtp.port, sleeps).send_bill(bill.id, actor=ADMIN)
    assert out.notification.status == "failed" and out.notification.attempts == 1 and sleeps == []
    assert smtp.messages == []


def test_not_configured_or_no_address_is_a_skipped_row_saying_why(db, bill, smtp):
    out = BillSender(db).send_bill(bill.id, actor=ADMIN)
    assert out.notification.status == "skipped" and "SMTP_HOST" in out.notification.error
    other = db.create_bill("A1-GF", *OCT, flat_units=5, previous_outstanding=0)  # Asha Rao has no email
    out = sender(db, smtp.port).send_bill(other.id, actor=ADMIN)
    assert out.notification.status == "skipped" and "no email address" in out.notification.error
    out = sender(db, smtp.port).send_bill(other.id, actor=ADMIN, to="asha@example.com")  # typed on the bill page
    assert out.notification.status == "sent" and smtp.messages[0]["To"] == "asha@example.com"
    with pytest.raises(ValidationError):
        sender(db, smtp.port).send_bill(other.id, actor=ADMIN, to="not an address")
    with pytest.raises(ValidationError):
        sender(db, smtp.port).send_bill(other.id, "whatsapp", actor=ADMIN)


def test_a_superseded_bill_is_not_sent(db, bill, smtp):
    db.create_bill("B17-FF", *OCT, flat_units=125, motor_units=10, previous_outstanding=0)  # re-issue
    with pytest.raises(ConflictError, match="replaced it"):
        sender(db, smtp.port).send_bill(bill.id, actor=ADMIN)
    assert smtp.messages == []


def test_the_password_never_reaches_the_log(db, bill):
    s = sender(db, free_port(), user="u", password="hunter2-secret")
    out = s.send_bill(bill.id, actor=ADMIN)
    assert out.notification.status == "failed" and "hunter2" not in (out.notification.error or "")


def test_a_failed_email_is_resent_from_the_log(db, bill, smtp):
    failed = sender(db, free_port()).send_bill(bill.id, actor=ADMIN).notification
    assert failed.status == "failed"
    s = sender(db, smtp.port)
    row = s.resend_failed(failed.id, ADMIN)
    assert row.status == "sent" and row.resend_of == failed.id and row.recipient == "owner@example.com"
    assert len(smtp.messages) == 1
    with pytest.raises(ConflictError):
        s.resend_failed(row.id, ADMIN)  # sent: not failed
    again = s.resend_failed(failed.id, ADMIN)  # the bill went since: nothing twice
    assert again.id == row.id and len(smtp.messages) == 1
    assert {r.kind for r in db.storage.list_notifications(bill_id=bill.id).items} == {KIND}
