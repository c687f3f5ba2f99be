"""The company API: a local sign-in gives a short-lived HS256 token that resolves the actor as the app
does (lockout and all); customers and bills are filtered in the database and by the caller's storage
scope (a record out of scope is 404); only Billing and admins run a month, and running it again
creates nothing new."""
import datetime as dt
import os
import stat

import jwt
import pytest
from fastapi.testclient import TestClient

from services.accounts.api_auth import ApiAuthenticator
from services.accounts.api_tokens import LocalTokens, load_signing_key
from services.accounts.passwords import hash_password
from services.api import create_app
from tests.api.conftest import TOKEN, build_svc
from tests.factories import ADMIN, make_water

KEY = "k" * 48
PASSWORD = "Blue-Heron-Canal-2026"


@pytest.fixture
def company(storage, tmp_path):
    made = make_water(storage)  # July 2026; HS0000001/2 in N, HS0000003 in S
    for name, role in (("bill", "billing"), ("sup", "support"), ("ops", "operations"), ("agentn", "agent")):
        storage.create_user(username=name, role=role, password_hash=hash_password(PASSWORD), actor=ADMIN)
    agent = storage.get_user(username="agentn")
    storage.set_user_areas(agent.id, [made["areas"]["N"]], ADMIN)
    svc = build_svc(storage, dt.date(2026, 11, 22), tmp_path)
    auth = ApiAuthenticator(storage, header_token=TOKEN, header_role="field_engineer")
    api = TestClient(create_app(svc, authenticator=auth, local_tokens=LocalTokens(KEY)), raise_server_exceptions=False)
    return api, made


def signed(api, username, password=PASSWORD):
    r = api.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_login_gives_a_short_lived_token_of_the_user(company):
    api, _ = company
    r = api.post("/api/auth/login", json={"username": "bill", "password": PASSWORD})
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], KEY, algorithms=["HS256"], audience="meterline-api")
    assert claims["role"] == "billing" and claims["sub"] == str(body["user"]["id"]) and claims["exp"] - claims["iat"] == 900
    me = api.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and (me.json()["username"], me.json()["role"], me.json()["method"]) == (
        "bill", "billing", "local")
    # a token signed with another key, or with "none", is refused
    forged = jwt.encode({**claims, "role": "admin"}, "x" * 48, algorithm="HS256")
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401
    expired = LocalTokens(KEY, minutes=-5).issue(type("A", (), {"user_id": claims["sub"], "role": "billing",
                                                                "username": "bill"})()).token
    r = api.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["message"]


def test_wrong_passwords_lock_the_account_as_in_the_app(company):
    api, _ = company
    for _ in range(5):
        r = api.post("/api/auth/login", json={"username": "sup", "password": "wrong-password-1"})
        assert r.status_code in (401, 429)
    r = api.post("/api/auth/login", json={"username": "sup", "password": PASSWORD})
    assert r.status_code in (401, 429)  # locked (or the client throttled): the right password does not help now
    assert api.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD}).status_code in (401, 429)


def test_a_deactivated_user_token_stops_working(company, storage):
    api, _ = company
    h = signed(api, "ops")
    assert api.get("/api/auth/me", headers=h).status_code == 200
    user = storage.get_user(username="ops")
    storage.update_user(user.id, {"is_active": False}, ADMIN, "user.deactivate")
    assert api.get("/api/auth/me", headers=h).status_code == 401


def test_ending_the_sign_in_session_ends_its_token_at_once(company, storage):
    api, _ = company
    h, other = signed(api, "ops"), signed(api, "bill")
    token = h["Authorization"].split()[1]
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience="meterline-api")
    assert api.get("/api/auth/me", headers=h).status_code == 200
    assert storage.revoke_sessions(session_id=claims["sid"], reason="admin_revoked",
                                   now=dt.datetime.now(dt.timezone.utc)) == 1
    r = api.get("/api/auth/me", headers=h)
    assert r.status_code == 401 and "session of this access token has ended" in r.json()["message"]
    assert api.get("/api/auth/me", headers=other).status_code == 200  # another user's session is untouched
    # a token whose session key was swapped for another session's is refused, though correctly signed
    other_claims = jwt.decode(other["Authorization"].split()[1], KEY, algorithms=["HS256"], audience="meterline-api")
    mixed = jwt.encode({**claims, "sk": other_claims["sk"]}, KEY, algorithm="HS256")
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {mixed}"}).status_code == 401
    assert "sk" in claims and claims["sk"] != token  # the key to the session, not a secret


def test_customers_are_searched_filtered_and_scoped(company):
    api, made = company
    h = signed(api, "sup")
    r = api.get("/api/customers", headers=h, params={"limit": 2})
    assert r.status_code == 200 and [c["code"] for c in r.json()["items"]] == ["HS0000001", "HS0000002"]
    assert r.json()["total"] == 3 and r.json()["has_next"]
    r = api.get("/api/customers", headers=h, params={"customer_type": "commercial"})
    assert [c["code"] for c in r.json()["items"]] == ["HS0000002"]
    r = api.get("/api/customers", headers=h, params={"area_id": made["areas"]["S"]})
    assert [c["code"] for c in r.json()["items"]] == ["HS0000003"]
    south = made["accounts"]["HS0000003"]
    assert api.get(f"/api/customers/{south}", headers=h).json()["code"] == "HS0000003"
    agent = signed(api, "agentn")  # area-limited to N
    assert [c["code"] for c in api.get("/api/customers", headers=agent).json()["items"]] == ["HS0000001", "HS0000002"]
    assert api.get(f"/api/customers/{south}", headers=agent).status_code == 404
    assert api.get("/api/customers/999999", headers=h).status_code == 404


def test_bills_generate_once_and_are_scoped(company):
    api, made = company
    ops, billing = signed(api, "ops"), signed(api, "bill")
    assert api.post("/api/bills/generate", headers=ops, json={"period": "2026-07"}).status_code == 403
    r = api.post("/api/bills/generate", headers=billing, json={"period": "2026-07"})
    assert r.status_code == 200 and (r.json()["created"], r.json()["skipped"]) == (3, 0), r.text
    again = api.post("/api/bills/generate", headers=billing, json={"period": "2026-07"})
    assert (again.json()["created"], again.json()["skipped"]) == (0, 3)
    r = api.get("/api/bills", headers=ops, params={"period": "2026-07"})
    assert r.status_code == 200 and r.json()["total"] == 3
    r = api.get("/api/bills", headers=ops, params={"customer_id": made["accounts"]["HS0000002"]})
    assert [b["account_code"] for b in r.json()["items"]] == ["HS0000002"]
    agent = signed(api, "agentn")
    mine = api.get("/api/bills", headers=agent).json()["items"]
    assert sorted(b["account_code"] for b in mine) == ["HS0000001", "HS0000002"]
    others = api.get("/api/bills", headers=ops, params={"customer_id": made["accounts"]["HS0000003"]}).json()["items"]
    assert api.get(f"/api/bills/{others[0]['id']}", headers=agent).status_code == 404


def test_the_signing_key_is_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "api_signing_key"
    key = load_signing_key({"API_SIGNING_KEY_FILE": str(path)})
    assert len(key) >= 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_signing_key({"API_SIGNING_KEY_FILE": str(path)}) == key
    assert load_signing_key({"API_SIGNING_KEY": KEY}) == KEY
