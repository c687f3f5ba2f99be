"""User management in the service layer: only MANAGE_USERS may do it, every change is audited."""
import pytest

from services.accounts.auth import AuthService, SessionExpiredError
from services.errors import DuplicateError, PermissionDeniedError, ValidationError
from services.accounts.passwords import hash_password, verify_password
from services.accounts.roles import Actor
from tests.factories import ADMIN

PW = "correct horse battery staple"
PW2 = "another good passphrase"


@pytest.fixture
def auth(storage, clock):
    return AuthService(storage, now=clock)


@pytest.fixture
def admin(storage):
    u = storage.create_user(username="boss", role="admin", password_hash=hash_password(PW), actor=ADMIN)
    return Actor(u.id, u.username, u.role, "10.0.0.1")


@pytest.fixture
def engineer(storage):
    u = storage.create_user(username="asha", role="field_engineer", password_hash=hash_password(PW), actor=ADMIN)
    return Actor(u.id, u.username, u.role, "10.0.0.2")


def test_field_engineer_may_not_manage_users(auth, engineer, admin):
    calls = [
        lambda: auth.list_users(engineer),
        lambda: auth.create_user(engineer, username="mallory", role="admin", password=PW2),
        lambda: auth.set_active(engineer, admin.user_id, False),
        lambda: auth.change_role(engineer, engineer.user_id, "admin"),
        lambda: auth.reset_password(engineer, admin.user_id, PW2),
        lambda: auth.unlock(engineer, admin.user_id),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError, match="may not manage users"):
            call()


def test_admin_creates_a_user_who_can_sign_in(auth, storage, admin):
    u = auth.create_user(admin, username="ravi", role="field_engineer", password=PW2, display_name="Ravi K",
                         email="Ravi@Example.com")
    assert u.password_hash.startswith("$argon2id$") and u.email == "ravi@example.com" and u.auth_provider == "local"
    assert auth.login("ravi", PW2).actor.role == "field_engineer"
    row = storage.list_audit(action_prefix="user.create").items[0]
    assert row.actor_id == admin.user_id and row.client == "10.0.0.1" and row.entity_id == str(u.id)
    with pytest.raises(DuplicateError):
        auth.create_user(admin, username="ravi", role="admin", password=PW2)


@pytest.mark.parametrize("kw, field", [
    ({"username": "x", "role": "admin", "password": PW2}, "username"),
    ({"username": "bad name", "role": "admin", "password": PW2}, "username"),
    ({"username": "okname", "role": "superuser", "password": PW2}, "role"),
    ({"username": "okname", "role": "admin", "password": "short"}, "password"),
    ({"username": "okname", "role": "admin", "password": "password12345"}, "password"),
    ({"username": "okname", "role": "admin", "password": PW2, "email": "not-an-email"}, "email"),
    ({"username": "okname", "role": "admin", "password": PW2, "auth_provider": "ldap"}, "auth_provider"),
    ({"username": "auth0|abc", "role": "admin", "password": PW2, "auth_provider": "auth0"}, "password"),
])
def test_create_refuses_bad_input_and_stores_nothing(auth, storage, admin, kw, field):
    with pytest.raises(ValidationError) as exc:
        auth.create_user(admin, **kw)
    assert exc.value.field == field
    assert storage.list_users().total == 1


def test_auth0_user_has_no_password(auth, storage, admin):
    u = auth.create_user(admin, username="auth0|64f1c0ffee", role="admin", auth_provider="auth0",
                         email="meera@example.com")
    assert u.password_hash is None and u.auth_provider == "auth0"
    with pytest.raises(ValidationError):
        auth.reset_password(admin, u.id, PW2)


def test_deactivate_ends_sessions_and_reactivate(auth, storage, admin, engineer):
    s = auth.login("asha", PW)
    auth.set_active(admin, engineer.user_id, False)
    with pytest.raises(SessionExpiredError):
        auth.validate(s.token)
    with pytest.raises(Exception):
        auth.login("asha", PW)
    auth.set_active(admin, engineer.user_id, True)
    auth.login("asha", PW)
    actions = [a.action for a in storage.list_audit(entity_type="user", entity_id=str(engineer.user_id)).items]
    assert "user.deactivate" in actions and "user.reactivate" in actions


def test_admin_cannot_lock_themselves_out(auth, admin):
    with pytest.raises(PermissionDeniedError, match="own account"):
        auth.set_active(admin, admin.user_id, False)
    with pytest.raises(PermissionDeniedError, match="own role"):
        auth.change_role(admin, admin.user_id, "field_engineer")


def test_change_role(auth, storage, admin, engineer):
    s = auth.login("asha", PW)
    u = auth.change_role(admin, engineer.user_id, "admin")
    assert u.role == "admin" and auth.validate(s.token).actor.role == "admin"
    with pytest.raises(ValidationError):
        auth.change_role(admin, engineer.user_id, "root")
    assert storage.list_audit(action_prefix="user.role").items[0].details == {"role": "admin"}


def test_reset_password_ends_sessions_and_lifts_the_lock(auth, storage, admin, engineer, clock):
    s = auth.login("asha", PW)
    for _ in range(5):
        with pytest.raises(Exception):
            auth.login("asha", "wrong password here")
    auth.reset_password(admin, engineer.user_id, PW2)
    u = storage.get_user(user_id=engineer.user_id)
    assert u.locked_until is None and verify_password(u.password_hash, PW2)
    with pytest.raises(SessionExpiredError):
        auth.validate(s.token)
    auth.login("asha", PW2)
    with pytest.raises(ValidationError):
        auth.reset_password(admin, engineer.user_id, "qwertyuiop123")


def test_unlock(auth, storage, admin, engineer):
    for _ in range(5):
        with pytest.raises(Exception):
            auth.login("asha", "wrong password here")
    auth.unlock(admin, engineer.user_id)
    auth.login("asha", PW)


def test_list_users_is_paginated(auth, admin):
    for i in range(5):
        auth.create_user(admin, username=f"user{i}", role="field_engineer", password=PW2)
    page = auth.list_users(admin, offset=2, limit=2)
    assert len(page.items) == 2 and page.total == 6
