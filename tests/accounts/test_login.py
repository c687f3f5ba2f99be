"""Sign-in: generic failure, lockout after 5 failures for 15 minutes, audit rows with time and client."""
import pytest

from services.accounts.auth import AuthService, token_hash
from services.errors import AuthenticationError
from services.accounts.passwords import hash_password
from tests.factories import ADMIN

PW = "correct horse battery staple"
GENERIC = "Wrong username or password. After 5 failed attempts an account is locked for 15 minutes."


@pytest.fixture
def auth(storage, clock):
    return AuthService(storage, now=clock)


@pytest.fixture
def asha(storage):
    return storage.create_user(username="asha", role="field_engineer", password_hash=hash_password(PW), actor=ADMIN)


def fail(auth, username, password, client="10.0.0.9"):
    with pytest.raises(AuthenticationError) as exc:
        auth.login(username, password, client)
    return str(exc.value)


def test_login_creates_a_server_side_session(auth, storage, asha, clock):
    s = auth.login("asha", PW, "10.0.0.9 Firefox")
    assert s.actor.user_id == asha.id and s.actor.role == "field_engineer" and s.actor.client == "10.0.0.9 Firefox"
    assert len(s.token) >= 43  # 32 random bytes
    row = storage.get_session(token_hash(s.token))
    assert row.id == s.session_id and row.user_id == asha.id and row.client == "10.0.0.9 Firefox"
    assert row.created_at == clock.now and row.expires_at == clock.now.replace(hour=21)  # 12 h
    assert storage.get_session(s.token) is None  # only the hash is stored


def test_failure_message_is_the_same_whatever_the_cause(auth, storage, asha):
    storage.create_user(username="gone", role="admin", password_hash=hash_password(PW), actor=ADMIN)
    storage.update_user(storage.get_user(username="gone").id, {"is_active": False}, ADMIN, "user.deactivate")
    storage.create_user(username="ssoonly", role="admin", password_hash=None, actor=ADMIN, auth_provider="auth0")
    messages = {fail(auth, "asha", "wrong password here"), fail(auth, "nobody", PW), fail(auth, "gone", PW),
                fail(auth, "ssoonly", ""), fail(auth, "", ""), fail(auth, "x" * 500, PW)}
    assert messages == {GENERIC}


def test_five_failures_lock_for_fifteen_minutes(auth, storage, asha, clock):
    for _ in range(4):
        fail(auth, "asha", "wrong password here")
    assert storage.get_user(username="asha").failed_login_count == 4
    fail(auth, "asha", "wrong password here")
    locked = storage.get_user(username="asha")
    assert locked.locked_until == clock.now + __import__("datetime").timedelta(minutes=15)
    assert fail(auth, "asha", PW) == GENERIC  # the right password is refused while locked
    clock.advance(minutes=14, seconds=59)
    fail(auth, "asha", PW)
    assert storage.get_user(username="asha").locked_until == locked.locked_until  # failures while locked do not extend it
    clock.advance(seconds=1)
    assert auth.login("asha", PW).actor.username == "asha"
    after = storage.get_user(username="asha")
    assert after.failed_login_count == 0 and after.locked_until is None


def test_success_resets_the_failure_count(auth, storage, asha):
    for _ in range(4):
        fail(auth, "asha", "wrong password here")
    auth.login("asha", PW)
    for _ in range(4):
        fail(auth, "asha", "wrong password here")
    assert storage.get_user(username="asha").locked_until is None


def test_audit_rows_for_failures_and_successes(auth, storage, asha):
    fail(auth, "nobody", "whatever", client="192.0.2.1")
    for _ in range(5):
        fail(auth, "asha", "wrong password here", client="192.0.2.2")
    fail(auth, "asha", PW, client="192.0.2.2")
    rows = storage.list_audit(action_prefix="login.", limit=20).items
    assert [r.action for r in rows][:3] == ["login.failed", "login.failed", "login.lockout"]
    unknown = rows[-1]
    assert unknown.actor_name == "nobody" and unknown.actor_id is None and unknown.client == "192.0.2.1"
    assert unknown.details["reason"] == "unknown_user" and unknown.occurred_at is not None
    assert rows[0].details["reason"] == "locked" and rows[0].actor_id == asha.id
    assert all("wrong password" not in str(r.details) and PW not in str(r.details) for r in rows)
    assert sum(r.details.get("reason") == "bad_password" for r in rows if r.action == "login.failed") == 5
    # a success after the lock is lifted
    storage.update_user(asha.id, {"locked_until": None}, ADMIN, "user.unlock")
    auth.login("asha", PW, "192.0.2.3")
    ok = storage.list_audit(action_prefix="login.success").items[0]
    assert ok.actor_id == asha.id and ok.client == "192.0.2.3" and ok.details["method"] == "password"


def test_weak_hash_is_upgraded_on_login(auth, storage):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PW)
    u = storage.create_user(username="legacy", role="admin", password_hash=weak, actor=ADMIN)
    auth.login("legacy", PW)
    assert storage.get_user(user_id=u.id).password_hash != weak
    auth.login("legacy", PW)
