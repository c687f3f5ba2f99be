"""Server-side sessions with an injected clock: idle and absolute timeouts, logout, password change."""
import datetime as dt

import pytest

from services.accounts.auth import AuthService, SessionExpiredError, token_hash
from services.config import Settings
from services.errors import ValidationError
from services.accounts.passwords import hash_password, verify_password
from tests.factories import ADMIN

PW = "correct horse battery staple"
NEW = "a brand new passphrase here"


@pytest.fixture
def auth(storage, clock):
    return AuthService(storage, now=clock)


@pytest.fixture
def asha(storage):
    return storage.create_user(username="asha", role="field_engineer", password_hash=hash_password(PW), actor=ADMIN)


def expired(auth, token) -> SessionExpiredError:
    with pytest.raises(SessionExpiredError) as exc:
        auth.validate(token)
    return exc.value


def test_activity_keeps_the_session_alive_until_idle(auth, asha, clock):
    s = auth.login("asha", PW)
    for _ in range(4):  # 4 x 29 minutes of use, each within the idle window
        clock.advance(minutes=29)
        assert auth.validate(s.token).actor.username == "asha"
    clock.advance(minutes=30)
    e = expired(auth, s.token)
    assert e.reason == "idle" and "30 minutes without activity" in str(e)
    assert expired(auth, s.token).reason == "revoked"  # and it stays ended


def test_absolute_timeout_even_when_active(auth, storage, asha, clock):
    s = auth.login("asha", PW)
    for _ in range(11 * 2):
        clock.advance(minutes=29)  # 10 h 38 min of steady use
        auth.validate(s.token)
    clock.advance(minutes=29)
    auth.validate(s.token)  # 11 h 7 min
    clock.advance(minutes=53)  # 12 h 0 min since sign-in
    e = expired(auth, s.token)
    assert e.reason == "absolute" and "12 hours" in str(e)
    assert storage.get_session(token_hash(s.token)).revoked_reason == "absolute_timeout"
    assert storage.list_audit(action_prefix="session.end").items[0].details["reason"] == "absolute_timeout"


def test_timeouts_come_from_settings(storage, asha, clock):
    settings = Settings.from_env()
    settings = type(settings)(**{**settings.__dict__, "session_idle_minutes": 5, "session_absolute_hours": 1})
    auth = AuthService.from_settings(storage, settings, now=clock)
    s = auth.login("asha", PW)
    clock.advance(minutes=4)
    auth.validate(s.token)
    clock.advance(minutes=5)
    assert expired(auth, s.token).reason == "idle"
    s2 = auth.login("asha", PW)
    assert storage.get_session(token_hash(s2.token)).expires_at == clock.now + dt.timedelta(hours=1)


def test_unknown_and_missing_tokens(auth):
    assert expired(auth, None).reason == "missing"
    assert expired(auth, "made-up-token").reason == "unknown"


def test_logout(auth, storage, asha):
    s = auth.login("asha", PW)
    auth.logout(s.token)
    assert expired(auth, s.token).reason == "revoked"
    assert storage.get_session(token_hash(s.token)).revoked_reason == "logout"
    assert storage.list_audit(action_prefix="session.end").items[0].details["reason"] == "logout"
    auth.logout(s.token)  # twice is harmless
    auth.logout(None)


def test_password_change_ends_other_sessions(auth, storage, asha):
    laptop, phone, tablet = (auth.login("asha", PW) for _ in range(3))
    assert auth.change_password(laptop.token, PW, NEW) == 2
    assert auth.validate(laptop.token).actor.username == "asha"
    for other in (phone, tablet):
        e = expired(auth, other.token)
        assert e.reason == "revoked" and "password changed" in str(e)
    assert verify_password(storage.get_user(user_id=asha.id).password_hash, NEW)
    assert storage.list_audit(action_prefix="user.password_change").items[0].details["password_hash"] == "(changed)"
    auth.login("asha", NEW)


def test_password_change_needs_the_current_password_and_the_policy(auth, asha):
    s = auth.login("asha", PW)
    with pytest.raises(ValidationError) as exc:
        auth.change_password(s.token, "not my password", NEW)
    assert exc.value.field == "current_password"
    with pytest.raises(ValidationError) as exc:
        auth.change_password(s.token, PW, "password1234")
    assert exc.value.field == "new_password"
    with pytest.raises(ValidationError):
        auth.change_password(s.token, PW, PW)
    with pytest.raises(SessionExpiredError):
        auth.change_password("not-a-session", PW, NEW)


def test_deactivation_and_role_change_apply_to_live_sessions(auth, storage, asha):
    s = auth.login("asha", PW)
    storage.update_user(asha.id, {"role": "admin"}, ADMIN, "user.role")
    assert auth.validate(s.token).actor.role == "admin"
    storage.update_user(asha.id, {"is_active": False}, ADMIN, "user.deactivate")
    assert expired(auth, s.token).reason == "inactive"


def test_last_seen_is_written_at_most_every_15_seconds(auth, storage, asha, clock):
    s = auth.login("asha", PW)
    start = clock.now
    clock.advance(seconds=10)
    auth.validate(s.token)
    assert storage.get_session(token_hash(s.token)).last_seen_at == start
    clock.advance(seconds=10)
    auth.validate(s.token)
    assert storage.get_session(token_hash(s.token)).last_seen_at == clock.now
