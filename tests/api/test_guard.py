"""The request guard (services/api/guard.py): per-client throttle (429 + Retry-After), failed
authentications throttled, credentials checked before the body, body cap (413), fail closed."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.api import create_app
from services.api.guard import GuardSettings, public_paths
from services.api.ingest import IngestSettings
from services.accounts.api_auth import ApiAuthenticator
from services.errors import ConfigurationError
from services.accounts.throttle import ThrottleSettings, parse_trusted_proxies
from tests.api.conftest import TOKEN, WEBHOOK_SECRET

PROXY = "10.0.0.1"
READING = {"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-20"}


class CountingAuthenticator(ApiAuthenticator):
    calls = 0

    def authenticate(self, header, client=None):
        type(self).calls += 1
        return super().authenticate(header, client)


def guarded(svc, **throttle) -> TestClient:
    settings = GuardSettings(ThrottleSettings(trusted_proxies=parse_trusted_proxies(PROXY), **throttle),
                             max_body_bytes=4096)
    auth = CountingAuthenticator(svc.db.storage, header_token=TOKEN, header_role="admin")
    app = create_app(svc, authenticator=auth, ingest_settings=IngestSettings(False, 15),
                     stripe_webhook_secret=WEBHOOK_SECRET, guard_settings=settings)
    return TestClient(app, raise_server_exceptions=False, client=(PROXY, 40000))


def as_client(ip: str, token: str | None = TOKEN) -> dict:
    headers = {"X-Forwarded-For": ip}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def test_api_requests_per_client_get_429_with_retry_after(svc):
    client = guarded(svc, api_requests=3, api_window_seconds=60)
    for _ in range(3):
        assert client.get("/health", headers=as_client("198.51.100.1")).status_code == 200
    r = client.get("/health", headers=as_client("198.51.100.1"))
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"] == "rate_limited" and "Too many requests from your address" in r.json()["message"]
    assert client.get("/health", headers=as_client("198.51.100.2")).status_code == 200  # another client


def test_failed_authentications_are_throttled_before_the_token_is_checked(svc):
    client = guarded(svc, login_attempts=2, login_window_seconds=300)
    for _ in range(2):
        assert client.get("/api/scheduler/status", headers=as_client("198.51.100.7", "wrong")).status_code == 401
    CountingAuthenticator.calls = 0
    r = client.get("/api/scheduler/status", headers=as_client("198.51.100.7"))  # even the right token waits
    assert r.status_code == 429 and r.headers["Retry-After"] == "300" and CountingAuthenticator.calls == 0
    assert client.get("/api/scheduler/status", headers=as_client("198.51.100.8")).status_code == 200
    # Good tokens are not counted as sign-in attempts.
    for _ in range(5):
        assert client.get("/api/scheduler/status", headers=as_client("198.51.100.8")).status_code == 200


def test_credentials_are_checked_once_before_the_body(svc):
    client = guarded(svc)
    CountingAuthenticator.calls = 0
    r = client.post("/webhook/meter-reading", json=READING, headers=as_client("198.51.100.3"))
    assert r.status_code == 200 and CountingAuthenticator.calls == 1  # the route reuses the guard's principal
    # Missing credentials and a body far over the cap: 401, and the connection is not kept for the rest.
    r = client.post("/webhook/meter-reading", content=b"x" * 100_000, headers=as_client("198.51.100.3", None))
    assert r.status_code == 401 and r.headers["connection"] == "close" and r.headers["www-authenticate"] == "Bearer"


def test_body_cap_413_for_sized_and_streamed_bodies(svc):
    client = guarded(svc)
    headers = {**as_client("198.51.100.4"), "Content-Type": "application/json"}
    r = client.post("/webhook/meter-reading", content=b" " * 5000, headers=headers)
    assert r.status_code == 413 and r.json()["fields"][0]["field"] == "body"
    assert "4.0 KB" in r.json()["message"]

    def stream():
        for _ in range(100):
            yield b" " * 1000

    r = client.post("/webhook/meter-reading", content=stream(), headers=headers)  # chunked, no Content-Length
    assert r.status_code == 413
    r = client.post("/webhook/stripe", content=b" " * 5000, headers={"Stripe-Signature": "t=1,v1=0"})
    assert r.status_code == 413  # public, but capped too
    body = b'{"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-20"}' + b" " * 3000
    assert client.post("/webhook/meter-reading", content=body, headers=headers).status_code == 200  # under the cap


def test_unknown_paths_fail_closed_and_public_paths_are_the_documented_ones(svc):
    client = guarded(svc)
    assert client.get("/no/such/thing", headers=as_client("198.51.100.5", None)).status_code == 401
    assert client.get("/no/such/thing", headers=as_client("198.51.100.5")).status_code == 404
    assert public_paths(client.app) == {"/health", "/webhook/stripe", "/documents/bill.pdf", "/api/auth/login", "/openapi.json", "/docs",
                                        "/redoc", "/docs/oauth2-redirect"}
    assert client.get("/docs", headers=as_client("198.51.100.5", None)).status_code == 200


def test_guard_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("API_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("API_RATE_LIMIT", "0")
    got = GuardSettings.from_env()
    assert got.max_body_bytes == 2048 and got.throttle.api_requests == 0
    monkeypatch.setenv("API_MAX_BODY_BYTES", "1MB")
    with pytest.raises(ConfigurationError, match="API_MAX_BODY_BYTES"):
        GuardSettings.from_env()
