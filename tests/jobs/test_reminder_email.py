"""The payment reminder job emails each bill's PDF (worded as a reminder) through a real SMTP server
on loopback, once per bill however often the job runs; without SMTP it emails nothing."""
import datetime as dt

import pytest
import sqlalchemy as sa

from services.documents.delivery import REMINDER, BillSender
from services.integrations.channels import RetryPolicy
from services.integrations.email import SmtpMailer, SmtpSettings
from services.jobs.definitions import run_job
from tests.documents.smtp_server import SmtpServer
from tests.jobs.conftest import at, build_services


@pytest.fixture
def svc(storage, society, tmp_path):
    return build_services(storage, dt.date(2026, 11, 22), tmp_path)


def test_reminder_job_emails_the_pdf_once(svc, storage):
    with storage.engine.begin() as conn:
        conn.execute(sa.text("UPDATE contacts SET email = 'owner@example.com' WHERE name = 'Test Owner'"))
    with_mail = svc.db.create_bill("B17-FF", "2026-10-01", "2026-10-31", "2026-11-25", flat_units=100)
    without = svc.db.create_bill("A1-GF", "2026-10-01", "2026-10-31", "2026-11-25", flat_units=100)
    server = SmtpServer().start()
    try:
        svc.bill_sender = BillSender(svc.db, SmtpMailer(SmtpSettings(
            host="127.0.0.1", port=server.port, starttls=False, sender="billing@example.com", timeout_seconds=5)),
            policy=RetryPolicy(max_attempts=1))
        run = run_job(svc, "payment_reminders", now=at(2026, 11, 22, 10, 0))
        assert run.counts["reminded"] == 2 and run.counts["emailed_sent"] == 1 and run.counts["emailed_skipped"] == 1
        (msg,) = server.messages
        assert msg["Subject"].startswith("Reminder: ") and with_mail.bill_number in msg["Subject"]
        assert [a.get_filename() for a in msg.iter_attachments()] == [f"bill-{with_mail.bill_number}.pdf"]
        rows = storage.list_notifications(bill_id=without.id, kind=REMINDER).items
        assert rows[0].status == "skipped" and "no email address" in rows[0].error
        # The next day's run (say the due date moved) finds the reminder sent: nothing goes twice.
        assert svc.bill_sender.send_bill(with_mail.id, actor=_system(),
                                         kind=REMINDER).already_sent
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_without_smtp_the_job_emails_nothing(svc, storage):
    svc.db.create_bill("B17-FF", "2026-10-01", "2026-10-31", "2026-11-25", flat_units=100)
    run = run_job(svc, "payment_reminders", now=at(2026, 11, 22, 10, 0))
    assert run.counts["reminded"] == 1 and not any(k.startswith("emailed") for k in run.counts)
    assert storage.list_notifications(kind=REMINDER).total == 0


def _system():
    from services.jobs.definitions import SCHEDULER_ACTOR

    return SCHEDULER_ACTOR
