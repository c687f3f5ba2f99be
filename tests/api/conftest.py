"""API test fixtures: a seeded SQLite database (PostgreSQL where a test asks), the Services over
it with the suite's fixed clock, TestClients authenticated by the real ApiAuthenticator (header
token), Stripe-signed payloads, and a loopback Stripe API for the real SDK."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from services.api import create_app
from services.api.ingest import IngestSettings
from services.accounts.api_auth import ApiAuthenticator
from services.config import Settings
from services.container import Services
from services.integrations.base import EventReport
from services.photos import PhotoStore
from tests.api.stripe_server import StripeLoopback
from tests.factories import ADMIN, make_service, make_society

TOKEN = "api-test-token-0123456789abcdefghijklmnop"
WEBHOOK_SECRET = "whsec_meterline_test_secret"


class RecordingEvents:
    """BillingEvents that records calls (the real ones belong to the notifications integration)."""

    def __init__(self):
        self.created, self.paid = [], []

    def bill_created(self, bill, actor):
        self.created.append((bill, actor))
        return EventReport()

    def payment_received(self, result, actor):
        self.paid.append((result, actor))
        return EventReport()

    def payment_reminder(self, bill):
        return EventReport()

    def bill_overdue(self, bill):
        return EventReport()


def build_svc(storage, today, tmp_path) -> Services:
    svc = Services(Settings.from_env(), make_service(storage, today), PhotoStore(tmp_path / "photos"))
    svc.events = RecordingEvents()
    return svc


@pytest.fixture
def storage(tmp_path):
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage(f"sqlite:///{tmp_path / 'api.db'}")
    yield st
    st.dispose()


@pytest.fixture
def society(storage):
    return make_society(storage)


@pytest.fixture
def svc(storage, society, today, tmp_path) -> Services:
    return build_svc(storage, today, tmp_path)


def make_client(svc: Services, *, role: str = "admin", auto_billing: bool = True, due_days: int = 15,
                secret: str | None = WEBHOOK_SECRET) -> TestClient:
    auth = ApiAuthenticator(svc.db.storage, header_token=TOKEN, header_role=role)
    app = create_app(svc, authenticator=auth, ingest_settings=IngestSettings(auto_billing, due_days),
                     stripe_webhook_secret=secret)
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {TOKEN}"
    return client


@pytest.fixture
def client(svc) -> TestClient:
    return make_client(svc)


def seed_previous_reading(svc: Services, meter: str = "19152159", value="10000", date=dt.date(2026, 10, 20)):
    """An approved earlier reading, so the next one has consumption and no 'first reading' flag."""
    out = svc.db.insert_meter_reading(meter_number=meter, reading_value=value, reading_date=date, actor=ADMIN)
    svc.db.approve_reading(out.reading.id, actor=ADMIN)
    return out.reading


def make_bill(svc: Services, flat="B17-FF", month_start=dt.date(2026, 10, 1), units=150):
    end = (month_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return svc.db.create_bill(flat, month_start, end, end + dt.timedelta(days=15), flat_units=units,
                              previous_outstanding=Decimal("0"), actor=ADMIN)


# ---- Stripe ------------------------------------------------------------------------------------
def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>") in hex."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def session_event(bill_id, amount_minor: int, *, event_id="evt_1", session_id="cs_test_1",
                  etype="checkout.session.completed", payment_status="paid", currency="inr",
                  link_amount_minor: int | None = None, created: int | None = None) -> str:
    meta = {"bill_id": str(bill_id), "amount_minor": str(link_amount_minor if link_amount_minor is not None
                                                         else amount_minor), "currency": "inr"}
    return json.dumps({
        "id": event_id, "object": "event", "type": etype, "api_version": "2024-06-20",
        "created": created or int(time.time()), "livemode": False,
        "data": {"object": {"id": session_id, "object": "checkout.session", "amount_total": amount_minor,
                            "currency": currency, "payment_status": payment_status, "payment_link": "plink_1",
                            "metadata": meta}},
    })


def post_event(client: TestClient, payload: str, signature: str | None = None):
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature or sign(payload)}
    return client.post("/webhook/stripe", content=payload, headers=headers)


@pytest.fixture
def stripe_api():
    server = StripeLoopback().start()
    yield server
    server.stop()
