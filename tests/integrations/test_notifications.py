"""Discord and WhatsApp through requests against loopback servers: rows, retries, skips, resend."""
import re
from decimal import Decimal

import pytest

from services.errors import ConflictError, PermissionDeniedError, ValidationError
from services.integrations.channels import RetryPolicy, retry_after_seconds
from services.integrations.messages import bill_values
from services.integrations.wiring import notifier_of
from services.accounts.roles import SYSTEM
from tests.factories import engineer_user
from tests.integrations.conftest import (
    DISCORD_PATH, WA_PHONE_ID, WA_TOKEN, discord_config, new_bill, whatsapp_config,
)
from tests.integrations.fakeserver import Reply

WA_OK = Reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": "910000000000", "wa_id": "910000000000"}],
                    "messages": [{"id": "wamid.HBgLOTEwMDAwMDAwMDAwFQIAERgS"}]})


def rows(svc, **kw):
    return svc.db.storage.list_notifications(**kw).items


def test_not_configured_gives_skipped_rows_with_reason(make_svc):
    svc = make_svc()
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, SYSTEM)
    got = {r.channel: r for r in rows(svc)}
    assert set(got) == {"discord", "whatsapp"}
    assert all(r.status == "skipped" and r.kind == "bill_created" and r.bill_id == bill.id for r in got.values())
    assert "DISCORD_WEBHOOK_URL" in got["discord"].error
    assert "WHATSAPP_PHONE_NUMBER_ID" in got["whatsapp"].error and "WHATSAPP_ACCESS_TOKEN" in got["whatsapp"].error
    assert "₹3,394.00" in got["whatsapp"].message  # the message that would have gone is kept
    assert any("Online payment is not set up" in m for m in report.messages)
    assert any(m.startswith("Discord: not sent. Discord is not set up.") for m in report.messages), report.messages
    # What the person who saved the bill reads has no variable names; the stored row keeps them for the admin.
    assert not any(re.search(r"\b[A-Z]+_[A-Z_]+\b", m) for m in report.messages), report.messages


def test_whatsapp_message_has_bill_summary_and_payment_link(make_svc, server):
    server.script = [WA_OK]
    svc = make_svc(**whatsapp_config(server))
    svc.payment_links = FixedLinks("plink_1", "https://buy.stripe.com/test_abc123")
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, SYSTEM)
    (req,) = server.requests
    assert req.method == "POST" and req.path == f"/v21.0/{WA_PHONE_ID}/messages"
    assert req.headers["authorization"] == f"Bearer {WA_TOKEN}"
    body = req.json()
    assert body["messaging_product"] == "whatsapp" and body["type"] == "text" and body["to"] == "910000000000"
    text = body["text"]["body"]
    for part in ("Test Owner", "B17-FF", "1 Oct 2026 to 31 Oct 2026", "160.00 kWh", "₹3,394.00", "15 Nov 2026",
                 "https://buy.stripe.com/test_abc123"):
        assert part in text, part
    (wa,) = rows(svc, kind="bill_created", status="sent")
    assert wa.channel == "whatsapp" and wa.recipient == "910000000000" and wa.attempts == 1
    assert wa.provider_message_id == "wamid.HBgLOTEwMDAwMDAwMDAwFQIAERgS" and wa.message == text and wa.sent_at
    assert report.payment_link_url == "https://buy.stripe.com/test_abc123"
    assert svc.db.get_bill(bill.id).payment_link_url == "https://buy.stripe.com/test_abc123"


def test_provider_down_gives_failed_row_after_bounded_retries_and_bill_stored(make_svc, server, sleeps):
    server.default = Reply(503, {"message": "upstream unavailable"})
    svc = make_svc(**discord_config(server), **whatsapp_config(server))
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, SYSTEM)  # must not raise
    assert svc.db.get_bill(bill.id).total_amount == Decimal("3394.00")
    failed = rows(svc, status="failed")
    assert {r.channel for r in failed} == {"discord", "whatsapp"}
    assert all(r.attempts == 3 and "HTTP 503" in r.error and "gave up after 3 attempts" in r.error for r in failed)
    assert len(server.requests) == 6  # 3 attempts per channel, no more
    assert sleeps == [1.0, 2.0, 1.0, 2.0]  # exponential backoff between attempts, none after the last
    assert any("Discord: failed" in m and "resend" in m for m in report.messages)


def test_429_honours_retry_after_then_succeeds(make_svc, server, sleeps):
    server.script = [Reply(429, {"message": "You are being rate limited.", "retry_after": 7.5},
                           headers={"Retry-After": "7.5"}),
                     Reply(200, {"id": "1183375629102477383", "content": "x"})]
    svc = make_svc(**discord_config(server))
    svc.events.bill_created(new_bill(svc), SYSTEM)
    (sent,) = rows(svc, status="sent")
    assert sent.channel == "discord" and sent.attempts == 2 and sent.provider_message_id == "1183375629102477383"
    assert sleeps == [7.5]
    first = server.requests[0]
    assert first.path == DISCORD_PATH and first.query == {"wait": "true"}
    body = first.json()
    assert body["allowed_mentions"] == {"parse": []}  # an owner named "@everyone" pings nobody
    assert body["content"].startswith("[bill created] bill #") and "₹3,394.00" in body["content"]


def test_retry_after_too_long_is_not_waited_for(make_svc, server, sleeps):
    server.default = Reply(429, {"message": "slow down"}, headers={"Retry-After": "3600"})
    svc = make_svc(**discord_config(server))
    svc.events.bill_created(new_bill(svc), SYSTEM)
    (row,) = rows(svc, status="failed")
    assert row.attempts == 1 and "3600 s" in row.error and sleeps == []


def test_other_4xx_is_not_retried(make_svc, server, sleeps):
    server.default = Reply(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                           "code": 190}})
    svc = make_svc(**whatsapp_config(server))
    svc.events.bill_created(new_bill(svc), SYSTEM)
    (row,) = rows(svc, status="failed")
    assert row.attempts == 1 and "Invalid OAuth access token" in row.error and "code 190" in row.error
    assert len(server.requests) == 1 and sleeps == []


def test_network_down_fails_without_leaking_secrets(make_svc, server, sleeps):
    url = server.url
    server.stop()  # nothing listens on the port any more
    svc = make_svc(discord_webhook_url=url + DISCORD_PATH, whatsapp_phone_number_id=WA_PHONE_ID,
                   whatsapp_access_token=WA_TOKEN, whatsapp_api_base=url + "/v21.0")
    bill = new_bill(svc)
    svc.events.bill_created(bill, SYSTEM)
    failed = rows(svc, status="failed")
    assert len(failed) == 2 and all(r.attempts == 3 and "ConnectionError" in r.error for r in failed)
    for r in failed:
        assert "s3cr3t-webhook-token" not in r.error and WA_TOKEN not in r.error
    assert {r.recipient for r in failed} == {"discord webhook 1234567890", "910000000000"}


def test_owner_without_phone_skips_whatsapp(make_svc, server):
    server.script = [Reply(200, {"id": "1"})]
    svc = make_svc(**discord_config(server), **whatsapp_config(server))
    bill = _without_phone(new_bill(svc))
    got, _ = notifier_of(svc).notify("reminder", bill, bill_values(bill, None))
    by = {r.channel: r for r in got}
    assert by["discord"].status == "sent"
    assert by["whatsapp"].status == "skipped" and "No owner phone number for flat B17-FF" in by["whatsapp"].error
    assert [r.path for r in server.requests] == [DISCORD_PATH]


def test_resend_failed_creates_new_row_and_audits(make_svc, server, admin):
    server.script = [Reply(500, {}), Reply(500, {}), Reply(500, {}), Reply(200, {"id": "999"})]
    svc = make_svc(**discord_config(server))
    svc.events.bill_created(new_bill(svc), SYSTEM)
    (failed,) = rows(svc, status="failed")
    notifier = notifier_of(svc)
    again = notifier.resend(failed.id, admin)
    assert again.id != failed.id and again.resend_of == failed.id and again.status == "sent"
    assert again.message == failed.message and again.provider_message_id == "999" and again.bill_id == failed.bill_id
    assert svc.db.storage.get_notification(failed.id).status == "failed"  # history is kept
    audit = svc.db.storage.list_audit(action_prefix="notification.resend").items
    assert audit[0].actor_name == admin.username and audit[0].details["resend_of"] == failed.id
    with pytest.raises(ConflictError):
        notifier.resend(again.id, admin)  # only failed ones
    with pytest.raises(PermissionDeniedError):
        notifier.resend(failed.id, engineer_user(svc.db.storage))


def test_log_is_filtered_and_paginated(make_svc, admin):
    svc = make_svc()
    for start, end in (("2026-08-01", "2026-08-31"), ("2026-09-01", "2026-09-30"), ("2026-10-01", "2026-10-31")):
        svc.events.bill_created(new_bill(svc, start=start, end=end), SYSTEM)
    notifier = notifier_of(svc)
    page = notifier.list_log(admin, status="skipped", kind="bill_created", offset=0, limit=4)
    assert len(page.items) == 4 and page.total == 6 and page.has_next
    assert notifier.list_log(admin, status="sent").total == 0
    with pytest.raises(ValidationError) as err:
        notifier.list_log(admin, status="lost")
    assert err.value.field == "status"
    with pytest.raises(PermissionDeniedError):
        notifier.list_log(engineer_user(svc.db.storage))
    status = {c.name: c for c in notifier.channel_status()}
    assert not status["discord"].configured and "DISCORD_WEBHOOK_URL" in status["discord"].detail


def test_retry_after_parsing():
    import datetime as dt

    now = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds("7") == 7.0 and retry_after_seconds("1.5") == 1.5
    assert retry_after_seconds("Sun, 22 Nov 2026 10:00:30 GMT", lambda: now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert RetryPolicy(backoff_seconds=1, max_backoff_seconds=5).backoff(4) == 5


class FixedLinks:
    name = "fixed"

    def __init__(self, link_id, url):
        self.link_id, self.url, self.calls = link_id, url, []

    def create_payment_link(self, bill):
        from services.integrations.base import PaymentLink

        self.calls.append(bill.id)
        return PaymentLink(self.link_id, self.url)


def _without_phone(bill):
    import dataclasses

    return dataclasses.replace(bill, contact_phone=None)
