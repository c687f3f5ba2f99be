"""Signed, expiring links to a bill's PDF: in WhatsApp and Discord messages, opened without a sign-in
through GET /documents/bill.pdf, and good for that bill only until they expire."""
import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from services.documents.links import BillLinks
from tests.integrations.fakeserver import Reply

SECRET = "s" * 40
LINKS = BillLinks(SECRET, "https://billing.example.com", days=30)


def parts(url: str) -> dict:
    q = parse_qs(urlsplit(url).query)
    return {"bill": int(q["bill"][0]), "exp": int(q["exp"][0]), "sig": q["sig"][0]}


def test_a_link_names_one_bill_and_expires():
    now = 1_800_000_000
    p = parts(LINKS.url(7, now=now))
    assert LINKS.url(7, now=now).startswith("https://billing.example.com/documents/bill.pdf?bill=7&exp=")
    assert p["exp"] == now + 30 * 86400
    assert LINKS.verify(7, p["exp"], p["sig"], now=now) is None
    assert LINKS.verify(8, p["exp"], p["sig"], now=now) == "This link is not valid."  # another bill
    assert LINKS.verify(7, p["exp"] + 86400, p["sig"], now=now) == "This link is not valid."  # a longer life
    assert BillLinks("t" * 40, LINKS.base_url).verify(7, p["exp"], p["sig"], now=now)  # another secret
    assert "expired" in LINKS.verify(7, p["exp"], p["sig"], now=p["exp"] + 1)


def test_from_env_needs_a_long_secret_and_a_base_url(monkeypatch):
    monkeypatch.setenv("METERLINE_DOTENV", "0")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://billing.example.com/")
    monkeypatch.setenv("BILL_LINK_SECRET", "short")
    assert BillLinks.from_env() is None
    monkeypatch.setenv("BILL_LINK_SECRET", SECRET)
    monkeypatch.setenv("BILL_LINK_DAYS", "7")
    assert BillLinks.from_env() == BillLinks(SECRET, "https://billing.example.com", 7)
    monkeypatch.delenv("PUBLIC_BASE_URL")
    assert BillLinks.from_env() is None


def test_the_link_opens_the_pdf_without_a_sign_in(storage, tmp_path):
    from tests.api.conftest import build_svc, make_bill, make_client
    from tests.factories import make_society
    import datetime as dt

    make_society(storage)
    svc = build_svc(storage, dt.date(2026, 11, 22), tmp_path)
    bill = make_bill(svc)
    client = make_client(svc)
    del client.headers["Authorization"]  # the owner has no token
    p = parts(LINKS.url(bill.id))
    assert client.get("/documents/bill.pdf", params=p).status_code == 404  # links not turned on
    svc.bill_links = LINKS
    r = client.get("/documents/bill.pdf", params=p)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert bill.bill_number in PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert client.get("/documents/bill.pdf", params={**p, "sig": "0" * 64}).status_code == 403
    old = parts(LINKS.url(bill.id, now=time.time() - 31 * 86400))
    bad = client.get("/documents/bill.pdf", params=old)
    assert bad.status_code == 403 and "expired" in bad.json()["message"]


def test_whatsapp_and_discord_messages_carry_the_link(storage, tmp_path, monkeypatch):
    from services.config import Settings
    from services.container import Services
    from services.integrations.channels import RetryPolicy
    from services.integrations.wiring import IntegrationConfig, wire_integrations
    from services.photos import PhotoStore
    from tests.factories import ADMIN, make_service, make_society
    from tests.integrations.fakeserver import FakeServer
    import datetime as dt

    make_society(storage)
    server = FakeServer().start()
    try:
        server.default = Reply(200, {"id": "1", "messages": [{"id": "wamid.1"}]})
        svc = Services(Settings.from_env(), make_service(storage, dt.date(2026, 11, 22)), PhotoStore(tmp_path / "p"))
        wire_integrations(svc, IntegrationConfig(
            discord_webhook_url=server.url + "/api/webhooks/1/tok", whatsapp_phone_number_id="106",
            whatsapp_access_token="tok", whatsapp_api_base=server.url + "/v21.0",
            notify_policy=RetryPolicy(max_attempts=1)), sleep=lambda s: None)
        svc.bill_links = LINKS
        bill = svc.db.create_bill("B17-FF", "2026-10-01", "2026-10-31", "2026-11-15", flat_units=10)
        report = svc.events.bill_created(bill, ADMIN)
        assert {n.channel: n.status for n in report.notifications} == {"discord": "sent", "whatsapp": "sent"}
        texts = [r.json().get("content") or r.json()["text"]["body"] for r in server.requests]
        assert len(texts) == 2
        for text in texts:
            assert "Your bill (PDF): https://billing.example.com/documents/bill.pdf?bill=" in text
            url = text.split("Your bill (PDF): ", 1)[1].split()[0]
            p = parts(url)
            assert p["bill"] == bill.id and LINKS.verify(bill.id, p["exp"], p["sig"]) is None
    finally:
        server.stop()
