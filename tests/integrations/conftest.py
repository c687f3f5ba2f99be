"""Fixtures: a seeded SQLite database wrapped in Services, loopback provider servers, a bill."""
from __future__ import annotations

import pytest

from services.config import Settings
from services.container import Services
from services.integrations.channels import RetryPolicy
from services.integrations.wiring import IntegrationConfig, wire_integrations
from services.photos import PhotoStore
from services.storage.sql_backend import SqlStorage
from tests.factories import admin_user, make_service, make_society
from tests.integrations.fakeserver import FakeServer

DISCORD_PATH = "/api/webhooks/1234567890/s3cr3t-webhook-token"
WA_TOKEN = "EAAG-test-access-token"
WA_PHONE_ID = "106540352242922"


@pytest.fixture
def server():
    s = FakeServer().start()
    yield s
    s.stop()


@pytest.fixture
def storage(tmp_path):
    st = SqlStorage(f"sqlite:///{tmp_path / 'integrations.db'}")
    make_society(st)
    yield st
    st.dispose()


@pytest.fixture
def admin(storage):
    return admin_user(storage)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_svc(storage, tmp_path, today, monkeypatch, sleeps):
    """make_svc(**config): Services on the test database, wired with an IntegrationConfig."""
    monkeypatch.setenv("PHOTO_DIR", str(tmp_path / "photos"))
    settings = Settings.from_env()

    def build(**config) -> Services:
        svc = Services(settings, make_service(storage, today), PhotoStore(tmp_path / "photos"))
        config.setdefault("notify_policy", RetryPolicy(max_attempts=3, backoff_seconds=1.0, timeout_seconds=5))
        wire_integrations(svc, IntegrationConfig(**config), sleep=sleeps.append)
        return svc

    return build


def discord_config(server) -> dict:
    return {"discord_webhook_url": server.url + DISCORD_PATH}


def whatsapp_config(server) -> dict:
    return {"whatsapp_phone_number_id": WA_PHONE_ID, "whatsapp_access_token": WA_TOKEN,
            "whatsapp_api_base": server.url + "/v21.0"}


def new_bill(svc, code="B17-FF", start="2026-10-01", end="2026-10-31", due="2026-11-15", **kw):
    """A stored bill (seed 002's flat: 150 + 10 units at 12, fixed 1474 -> 3394.00)."""
    kw.setdefault("flat_units", 150)
    kw.setdefault("motor_units", 10)
    return svc.db.create_bill(code, start, end, due, **kw)

