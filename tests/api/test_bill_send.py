"""GET /api/bills/{id}/pdf and POST /api/bills/{id}/send: the bill's PDF by email through a real
SMTP server on loopback, once unless resent; an engineer may do neither."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from services.documents.delivery import BillSender
from services.integrations.channels import RetryPolicy
from services.integrations.email import SmtpMailer, SmtpSettings
from tests.api.conftest import make_bill, make_client


@pytest.fixture
def smtp():
    from tests.documents.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailing(svc, smtp):
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, starttls=False, sender="billing@example.com",
                            timeout_seconds=5)
    svc.bill_sender = BillSender(svc.db, SmtpMailer(settings), policy=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    return svc


def test_pdf_download(client, svc):
    bill = make_bill(svc)
    r = client.get(f"/api/bills/{bill.id}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert f'filename="bill-{bill.bill_number}.pdf"' in r.headers["content-disposition"]
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert bill.bill_number in text and "B17-FF" in text
    assert client.get("/api/bills/999999/pdf").status_code == 404


def test_send_emails_the_pdf_once_unless_resent(mailing, smtp):
    client = make_client(mailing)
    bill = make_bill(mailing)
    r = client.post(f"/api/bills/{bill.id}/send", json={"to": "owner@example.com"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "sent" and body["bill_number"] == bill.bill_number and body["recipient"] == "owner@example.com"
    (msg,) = smtp.messages
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == f"bill-{bill.bill_number}.pdf"
    assert bill.bill_number in PdfReader(io.BytesIO(att.get_content())).pages[0].extract_text()
    again = client.post(f"/api/bills/{bill.id}/send", json={"to": "owner@example.com"}).json()
    assert again["status"] == "already_sent" and again["notification_id"] == body["notification_id"]
    assert len(smtp.messages) == 1
    resent = client.post(f"/api/bills/{bill.id}/send", json={"to": "owner@example.com", "resend": True}).json()
    assert resent["status"] == "sent" and len(smtp.messages) == 2


def test_send_without_an_address_or_configuration_is_skipped(client, svc):
    bill = make_bill(svc)
    r = client.post(f"/api/bills/{bill.id}/send")  # no body: email to the owner, who has none; not configured
    assert r.status_code == 200 and r.json()["status"] == "skipped" and "SMTP_HOST" in r.json()["error"]


def test_send_refusals(mailing):
    client = make_client(mailing)
    bill = make_bill(mailing)
    r = client.post(f"/api/bills/{bill.id}/send", json={"channel": "fax"})
    assert r.status_code == 422
    r = client.post(f"/api/bills/{bill.id}/send", json={"to": "nobody"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "to"
    assert client.post("/api/bills/999999/send", json={}).status_code == 404
    engineer = make_client(mailing, role="field_engineer")
    assert engineer.post(f"/api/bills/{bill.id}/send", json={}).status_code == 403
    assert engineer.get(f"/api/bills/{bill.id}/pdf").status_code == 403
