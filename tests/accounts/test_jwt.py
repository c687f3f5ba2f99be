"""API bearer authentication: Auth0 RS256 JWTs checked against a JWKS that a local HTTP server
serves from RSA keys made here, and the optional HEADER_AUTH_TOKEN."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.accounts import api_auth
from services.accounts.api_auth import ApiAuthenticator
from services.errors import AuthenticationError, ConfigurationError
from tests.factories import ADMIN

DOMAIN = "meterline-test.eu.auth0.com"
ISSUER = f"https://{DOMAIN}/"
AUDIENCE = "https://api.meterline.test"
SUB = "auth0|64f1c0ffee"
HEADER_TOKEN = "h" * 20 + "-machine-token-0123456789"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY_A, KEY_B, KEY_OTHER = _key(), _key(), _key()


class JwksServer:
    """Serves {"keys": [...]} for the keys in `self.keys` and counts requests."""

    def __init__(self):
        self.keys: dict[str, object] = {}
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                outer.hits += 1
                jwks = {"keys": [dict(RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), kid=kid, use="sig", alg="RS256")
                                 for kid, k in outer.keys.items()]}
                body = json.dumps(jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks():
    server = JwksServer()
    server.keys = {"key-a": KEY_A}
    yield server
    server.close()


@pytest.fixture
def auth0_user(sqlite_storage):
    return sqlite_storage.create_user(username=SUB, role="admin", password_hash=None, actor=ADMIN,
                                      email="asha@example.com", auth_provider="auth0")


@pytest.fixture
def authn(sqlite_storage, jwks, auth0_user):
    return ApiAuthenticator(sqlite_storage, auth0_domain=DOMAIN, api_identifier=AUDIENCE, jwks_url=jwks.url,
                            jwks_refresh_cooldown_seconds=0)


def claims(**over):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": AUDIENCE, "sub": SUB, "iat": now, "exp": now + 600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def token(key=KEY_A, kid="key-a", **over) -> str:
    return jwt.encode(claims(**over), key, algorithm="RS256", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(authn, tok: str) -> str:
    with pytest.raises(AuthenticationError) as exc:
        authn.authenticate(f"Bearer {tok}")
    return str(exc.value)


def test_valid_token_maps_to_the_local_auth0_user(authn, auth0_user):
    p = authn.authenticate(f"Bearer {token()}", client="10.0.0.7")
    assert p.method == "jwt" and p.claims["sub"] == SUB
    assert p.actor.user_id == auth0_user.id and p.actor.role == "admin" and p.actor.client == "10.0.0.7"


def test_jwks_is_cached(authn, jwks):
    for _ in range(3):
        authn.authenticate(f"Bearer {token()}")
    assert jwks.hits == 1


def test_expired(authn):
    now = int(time.time())
    assert "expired" in refused(authn, token(iat=now - 7200, exp=now - 3600))


def test_not_yet_valid(authn):
    assert "not valid yet" in refused(authn, token(nbf=int(time.time()) + 3600))


def test_wrong_audience(authn):
    assert "audience is wrong" in refused(authn, token(aud="https://someone-else.example"))


def test_wrong_issuer(authn):
    assert "issuer is wrong" in refused(authn, token(iss="https://evil.eu.auth0.com/"))


def test_missing_exp_is_refused(authn):
    assert "lacks a required claim" in refused(authn, token(exp=None))


def test_unknown_kid_refreshes_once_then_refuses(authn, jwks):
    authn.authenticate(f"Bearer {token()}")
    assert jwks.hits == 1
    msg = refused(authn, token(key=KEY_OTHER, kid="rotated-away"))
    assert "'rotated-away' is not in the Auth0 tenant's key set" in msg
    assert jwks.hits == 2  # exactly one refresh for the unknown kid


def test_rotated_key_is_picked_up_by_the_refresh(authn, jwks):
    authn.authenticate(f"Bearer {token()}")
    jwks.keys["key-b"] = KEY_B  # the tenant rotates its signing key
    assert authn.authenticate(f"Bearer {token(key=KEY_B, kid='key-b')}").actor.username == SUB
    assert jwks.hits == 2


def test_unknown_kid_refresh_is_rate_limited(sqlite_storage, jwks, auth0_user):
    slow = ApiAuthenticator(sqlite_storage, auth0_domain=DOMAIN, api_identifier=AUDIENCE, jwks_url=jwks.url,
                            jwks_refresh_cooldown_seconds=3600)
    slow.authenticate(f"Bearer {token()}")
    for i in range(5):
        refused(slow, token(key=KEY_OTHER, kid=f"random-{i}"))
    assert jwks.hits == 1  # random kids do not make us fetch the tenant's keys again and again


def test_tampered_payload(authn):
    head, _, sig = token().split(".")
    forged = b64(json.dumps(claims(sub="auth0|someone-else")).encode())
    assert "signature does not verify" in refused(authn, f"{head}.{forged}.{sig}")


def test_signed_by_a_key_not_in_the_jwks_under_a_known_kid(authn):
    assert "signature does not verify" in refused(authn, token(key=KEY_OTHER, kid="key-a"))


def test_alg_none(authn, jwks):
    head = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "key-a"}).encode())
    body = b64(json.dumps(claims()).encode())
    assert "algorithm 'none' is not allowed" in refused(authn, f"{head}.{body}.")
    assert jwks.hits == 0  # refused before any key is looked up


def test_hs256_signed_with_the_public_key(authn):
    # The classic algorithm-confusion forgery: HMAC keyed with the (public) RSA key's PEM.
    pem = KEY_A.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-a"}).encode())
    body = b64(json.dumps(claims()).encode())
    sig = b64(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert "algorithm 'HS256' is not allowed" in refused(authn, f"{head}.{body}.{sig}")


def test_malformed_and_missing_header(authn):
    assert "Malformed JWT" in refused(authn, "abc.def.ghi")
    with pytest.raises(AuthenticationError, match="Missing Authorization header"):
        authn.authenticate(None)
    with pytest.raises(AuthenticationError, match="must be 'Bearer <token>'"):
        authn.authenticate(f"Basic {token()}")


def test_valid_token_without_a_local_user_gets_no_access(authn):
    assert "has no Meterline access" in refused(authn, token(sub="auth0|stranger"))


def test_password_account_is_never_matched_by_a_token(sqlite_storage, authn):
    sqlite_storage.create_user(username="auth0|local-lookalike", role="admin", password_hash=None, actor=ADMIN)
    assert "has no Meterline access" in refused(authn, token(sub="auth0|local-lookalike"))


def test_verified_email_maps_unverified_does_not(authn, auth0_user):
    ok = authn.authenticate(f"Bearer {token(sub='google-oauth2|1', email='asha@example.com', email_verified=True)}")
    assert ok.actor.user_id == auth0_user.id
    assert "no Meterline access" in refused(authn, token(sub="google-oauth2|1", email="asha@example.com"))


def test_deactivated_user_is_refused(sqlite_storage, authn, auth0_user):
    sqlite_storage.update_user(auth0_user.id, {"is_active": False}, ADMIN, "user.deactivate")
    assert "deactivated" in refused(authn, token())


# ---- HEADER_AUTH_TOKEN ------------------------------------------------------------------------

def test_header_token_acts_as_field_engineer_by_default(sqlite_storage):
    a = ApiAuthenticator(sqlite_storage, header_token=HEADER_TOKEN)
    p = a.authenticate(f"Bearer {HEADER_TOKEN}", client="10.1.1.1")
    assert p.method == "header_token" and p.claims == {}
    assert (p.actor.username, p.actor.role, p.actor.user_id) == ("header-token", "field_engineer", None)
    from services.accounts.roles import Permission
    assert p.actor.can(Permission.SUBMIT_READING) and not p.actor.can(Permission.VIEW_BILLS)


def test_header_token_role_is_configurable(sqlite_storage, monkeypatch):
    monkeypatch.setenv("HEADER_AUTH_TOKEN", HEADER_TOKEN)
    monkeypatch.setenv("HEADER_AUTH_ROLE", "admin")
    p = ApiAuthenticator.from_settings(sqlite_storage).authenticate(f"Bearer {HEADER_TOKEN}")
    assert p.actor.role == "admin"
    monkeypatch.setenv("HEADER_AUTH_ROLE", "superuser")
    with pytest.raises(ConfigurationError, match="HEADER_AUTH_ROLE"):
        ApiAuthenticator.from_settings(sqlite_storage)


def test_header_token_wrong_value_refused(sqlite_storage):
    a = ApiAuthenticator(sqlite_storage, header_token=HEADER_TOKEN)
    for wrong in (HEADER_TOKEN[:-1], HEADER_TOKEN + "x", "x" * len(HEADER_TOKEN)):
        with pytest.raises(AuthenticationError, match="neither the configured header token nor a JWT"):
            a.authenticate(f"Bearer {wrong}")


def test_header_token_is_compared_in_constant_time(sqlite_storage, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(api_auth.hmac, "compare_digest", spy)
    a = ApiAuthenticator(sqlite_storage, header_token=HEADER_TOKEN)
    a.authenticate(f"Bearer {HEADER_TOKEN}")
    with pytest.raises(AuthenticationError):
        a.authenticate("Bearer short")
    # Fixed-length digests are compared, so neither the token nor its length leaks.
    assert calls == [(32, 32), (32, 32)]


def test_short_header_token_is_a_configuration_error(sqlite_storage):
    with pytest.raises(ConfigurationError, match="shorter than 32"):
        ApiAuthenticator(sqlite_storage, header_token="your-dev-token")


def test_disabled_when_nothing_is_set(sqlite_storage, monkeypatch):
    for var in ("AUTH0_DOMAIN", "AUTH0_API_IDENTIFIER", "AUTH0_JWKS_URL", "HEADER_AUTH_TOKEN", "HEADER_AUTH_ROLE"):
        monkeypatch.delenv(var, raising=False)
    a = ApiAuthenticator.from_settings(sqlite_storage)
    # Local sign-in tokens (POST /api/auth/login) are always on since issue 13: the signing key comes
    # from API_SIGNING_KEY or a generated key file. Auth0 and the header token stay off unless set.
    assert a.enabled and a.local_tokens is not None and not a.auth0_enabled and not a.header_token_enabled
    with pytest.raises(AuthenticationError, match="neither the configured header token nor a JWT"):
        a.authenticate(f"Bearer {HEADER_TOKEN}")
    assert not ApiAuthenticator(sqlite_storage).enabled  # built without local tokens: nothing is accepted
    with pytest.raises(AuthenticationError, match="not configured"):
        ApiAuthenticator(sqlite_storage).authenticate(f"Bearer {HEADER_TOKEN}")


def test_jwt_refused_when_only_header_token_is_set(sqlite_storage):
    a = ApiAuthenticator(sqlite_storage, header_token=HEADER_TOKEN)
    assert a.enabled and not a.auth0_enabled
    with pytest.raises(AuthenticationError, match="Auth0 is not configured"):
        a.authenticate(f"Bearer {token()}")


def test_half_configured_auth0_is_an_error(sqlite_storage):
    with pytest.raises(ConfigurationError, match="both AUTH0_DOMAIN and AUTH0_API_IDENTIFIER"):
        ApiAuthenticator(sqlite_storage, auth0_domain=DOMAIN)


def test_from_settings_builds_issuer_and_default_jwks_url(sqlite_storage, monkeypatch):
    monkeypatch.delenv("AUTH0_JWKS_URL", raising=False)
    monkeypatch.delenv("HEADER_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("AUTH0_DOMAIN", f"https://{DOMAIN}/")
    monkeypatch.setenv("AUTH0_API_IDENTIFIER", AUDIENCE)
    a = ApiAuthenticator.from_settings(sqlite_storage)
    assert a.issuer == ISSUER and a.audience == AUDIENCE
    assert a.jwks_url == f"https://{DOMAIN}/.well-known/jwks.json"
    assert a.enabled and a.auth0_enabled and not a.header_token_enabled
