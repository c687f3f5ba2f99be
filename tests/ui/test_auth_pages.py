"""Sign-in, sessions and the Users page through Streamlit's AppTest (real app, real database)."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from streamlit.testing.v1 import AppTest

from scripts import seed_demo
from services.accounts.auth import token_hash
from services.accounts.roles import Actor
from services.storage.sql_backend import SqlStorage
from tests.conftest import TODAY
from tests.ui.harness import DEMO_PASSWORDS, ROOT, app, sign_in
from ui.auth import TOKEN_KEY

NEW_PW = "a fresh passphrase for the test"
AUTH_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "c" * 32,
                "auth0": {"client_id": "cid", "client_secret": "cs",
                          "server_metadata_url": "https://meterline-test.eu.auth0.com/.well-known/openid-configuration"}}


@pytest.fixture
def db(tmp_path):
    """A fresh small demo database per test (these tests change users and sessions)."""
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    storage = SqlStorage(url)
    seed_demo.seed(storage, 4, TODAY, quiet=True)
    yield url, storage
    storage.dispose()


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def on_login_page(at: AppTest) -> bool:
    return any(s.value == "Sign in" for s in at.subheader) and [t.label for t in at.text_input][:2] == ["Username", "Password"]


def test_login_page_only_when_signed_out(db, monkeypatch, tmp_path):
    at = app(db[0], monkeypatch, tmp_path).run()
    assert on_login_page(at) and not at.sidebar.button and not at.metric
    assert "Sign in with Auth0" not in [b.label for b in at.button]  # no [auth] secrets: no Auth0 button
    sign_in(at, "admin")
    assert not at.exception and not on_login_page(at)
    assert "Signed in as **admin** (Administrator)" in [c.value for c in at.sidebar.caption]
    token = at.session_state[TOKEN_KEY]
    assert db[1].get_session(token_hash(token)).revoked_at is None


def test_generic_message_and_lockout_in_the_ui(db, monkeypatch, tmp_path):
    at = app(db[0], monkeypatch, tmp_path)
    sign_in(at, "nobody-here", "whatever-it-is")
    generic = texts(at, "error")
    assert generic and "Wrong username or password" in generic[0]
    for _ in range(5):
        sign_in(at, "engineer", "not the right password")
        assert texts(at, "error") == generic  # same words for an unknown user and a wrong password
    sign_in(at, "engineer")  # right password, but locked now
    assert texts(at, "error") == generic and on_login_page(at)
    assert db[1].get_user(username="engineer").locked_until is not None


def test_sign_out_ends_the_server_session(db, monkeypatch, tmp_path):
    at = sign_in(app(db[0], monkeypatch, tmp_path), "admin")
    token = at.session_state[TOKEN_KEY]
    at.sidebar.button(key="logout").click().run()
    assert on_login_page(at)
    assert db[1].get_session(token_hash(token)).revoked_reason == "logout"


def test_idle_session_is_signed_out_on_the_next_rerun(db, monkeypatch, tmp_path):
    at = sign_in(app(db[0], monkeypatch, tmp_path), "admin")
    sess = db[1].get_session(token_hash(at.session_state[TOKEN_KEY]))
    db[1].touch_session(sess.id, sess.last_seen_at - dt.timedelta(minutes=31))  # as if idle for 31 minutes
    at.run()
    assert on_login_page(at)
    assert any("30 minutes without activity" in w for w in texts(at, "warning"))


def test_password_change_signs_out_the_other_session(db, monkeypatch, tmp_path):
    laptop = sign_in(app(db[0], monkeypatch, tmp_path), "engineer2")
    phone = sign_in(app(db[0], monkeypatch, tmp_path), "engineer2")
    inputs = {t.label: t for t in laptop.sidebar.text_input}
    inputs["Current password"].input(DEMO_PASSWORDS["engineer2"])
    inputs["New password"].input(NEW_PW)
    inputs["New password again"].input(NEW_PW)
    laptop.sidebar.button[0].click().run()
    assert any("Password changed. 1 other session" in s for s in texts(laptop, "success"))
    phone.run()
    assert on_login_page(phone) and any("password changed" in w for w in texts(phone, "warning"))
    laptop.run()
    assert not on_login_page(laptop)


def test_users_page_for_admin(db, monkeypatch, tmp_path):
    at = sign_in(app(db[0], monkeypatch, tmp_path), "admin")
    at.switch_page("ui/users.py").run()
    assert not at.exception and "Users" in at.title[0].value
    assert set(at.dataframe[0].value["Username"]) == {"admin", "engineer", "engineer2", "flatowner"}  # + the demo customer
    form = {t.label: t for t in at.text_input}
    form["New username"].input("ravi")
    form["Display name"].input("Ravi Kumar")
    form["Initial password (password accounts)"].input(NEW_PW)
    form["Initial password again"].input(NEW_PW)
    at.button(key="FormSubmitter:add_user-Create user").click().run()
    assert not at.exception and any("Created ravi (Field engineer)" in s for s in texts(at, "success"))
    assert "ravi" in set(at.dataframe[0].value["Username"])
    ravi = db[1].get_user(username="ravi")
    assert ravi.password_hash.startswith("$argon2id$")
    row = db[1].list_audit(action_prefix="user.create").items[0]
    assert row.actor_name == "admin" and row.entity_id == str(ravi.id)
    # a weak password is refused with the field named
    form = {t.label: t for t in at.text_input}
    form["New username"].input("weakling")
    form["Initial password (password accounts)"].input("password1234")
    form["Initial password again"].input("password1234")
    at.button(key="FormSubmitter:add_user-Create user").click().run()
    assert any(e.startswith("**Password**") for e in texts(at, "error")) and db[1].get_user(username="weakling") is None


def test_users_page_change_role_and_deactivate(db, monkeypatch, tmp_path):
    eng = sign_in(app(db[0], monkeypatch, tmp_path), "engineer")
    at = sign_in(app(db[0], monkeypatch, tmp_path), "admin")
    at.switch_page("ui/users.py").run()
    at.selectbox(key="users_chosen").select("engineer").run()
    labels = {b.label: b for b in at.button}
    labels["Deactivate"].click().run()
    assert any("Deactivated engineer" in s for s in texts(at, "success"))
    assert db[1].get_user(username="engineer").is_active is False
    eng.run()
    assert on_login_page(eng)  # the engineer's live session ended at once
    at.selectbox(key="users_chosen").select("engineer2").run()
    [s for s in at.selectbox if s.label == "New role"][0].select("admin").run()
    {b.label: b for b in at.button}["Change role"].click().run()
    assert db[1].get_user(username="engineer2").role == "admin"


def test_users_page_refuses_a_field_engineer(db, monkeypatch, tmp_path):
    at = sign_in(app(db[0], monkeypatch, tmp_path), "engineer")
    assert not at.exception and not on_login_page(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ui/users.py")  # the navigation does not even offer the page
    # The page's own guard, for a URL that bypasses the navigation:
    page = AppTest.from_file(str(ROOT / "ui" / "users.py"), default_timeout=30)
    eng = db[1].get_user(username="engineer")
    page.session_state["actor"] = Actor(eng.id, eng.username, eng.role)
    page.run()
    assert texts(page, "error") == ["You do not have access to this page."] and not page.dataframe


def test_auth0_sign_in_maps_to_a_local_user(db, monkeypatch, tmp_path):
    db[1].create_user(username="auth0|64f1c0ffee", role="admin", password_hash=None, auth_provider="auth0",
                      email="meera@example.com", actor=Actor(None, "pytest", "system"))
    at = app(db[0], monkeypatch, tmp_path)
    at.secrets["auth"] = AUTH_SECRETS
    at.run()
    assert on_login_page(at) and "Sign in with Auth0" in [b.label for b in at.button]
    at.user = {"is_logged_in": True, "sub": "google-oauth2|99", "email": "meera@example.com", "email_verified": True,
               "iat": int(time.time()), "nonce": "n-1"}
    at.run()
    assert not on_login_page(at) and "Signed in as **auth0|64f1c0ffee** (Administrator)" in [
        c.value for c in at.sidebar.caption]
    assert db[1].list_audit(action_prefix="login.success").items[0].details["method"] == "auth0"


def test_auth0_identity_without_a_local_user_gets_no_access(db, monkeypatch, tmp_path):
    at = app(db[0], monkeypatch, tmp_path)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = {"is_logged_in": True, "sub": "auth0|stranger", "email": "x@example.com", "email_verified": True,
               "iat": int(time.time()), "nonce": "n-2"}
    at.run()
    assert on_login_page(at) and any("has no Meterline access" in w for w in texts(at, "warning"))
    assert "Sign out of Auth0" in [b.label for b in at.button]


def test_stale_auth0_cookie_is_refused(db, monkeypatch, tmp_path):
    db[1].create_user(username="auth0|old", role="admin", password_hash=None, auth_provider="auth0",
                      actor=Actor(None, "pytest", "system"))
    at = app(db[0], monkeypatch, tmp_path)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = {"is_logged_in": True, "sub": "auth0|old", "iat": int(time.time()) - 13 * 3600, "nonce": "n-3"}
    at.run()
    assert on_login_page(at) and any("older than the session limit" in w for w in texts(at, "warning"))


def test_deep_link_to_a_page_the_role_may_not_open(db, monkeypatch, tmp_path):
    at = app(db[0], monkeypatch, tmp_path)
    at.context = {"url": "http://localhost:8501/users"}
    sign_in(at, "engineer")
    assert not at.exception and "You do not have access to the page 'Users'." in texts(at, "error")[0]
    at.run()
    assert not texts(at, "error")  # said once, not on every rerun


def test_sign_in_throttle_per_client_in_the_ui(db, monkeypatch, tmp_path):
    """LOGIN_RATE_LIMIT attempts per window from one address; the next gets a clear message, is not
    checked against any account, and even the right password waits."""
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "3")
    monkeypatch.setenv("LOGIN_RATE_WINDOW_SECONDS", "300")
    at = app(db[0], monkeypatch, tmp_path)
    for _ in range(3):
        sign_in(at, "engineer", "not the right password")
        assert any("Wrong username or password" in e for e in texts(at, "error"))
    sign_in(at, "admin")
    assert on_login_page(at) and not at.exception
    assert any("Too many sign-in attempts from your address. Wait 5 minutes" in e for e in texts(at, "error"))
    assert db[1].get_user(username="engineer").failed_login_count == 3  # the 4th never reached an account
    assert not [r for r in db[1].list_audit(action_prefix="login.success").items]


def test_a_database_failure_during_sign_in_is_a_message_not_a_crash(db, monkeypatch, tmp_path):
    """Fifty sign-ins at once on SQLite behind two server processes waited past the busy timeout
    (scripts.load_test): the sign-in page showed Streamlit's redacted exception instead of saying so."""
    from services.accounts.auth import AuthService
    from services.errors import StorageError

    def busy(self, *a, **kw):
        raise StorageError("The database could not complete the request (database is locked). Try again.")

    monkeypatch.setattr(AuthService, "login", busy)
    at = sign_in(app(db[0], monkeypatch, tmp_path).run(), "admin")
    assert not at.exception and on_login_page(at)
    assert any("database is locked" in e.value for e in at.error)
    assert TOKEN_KEY not in at.session_state


# ---- issue 18 -------------------------------------------------------------------------------
def test_an_empty_login_form_says_what_is_missing(db, monkeypatch, tmp_path):
    at = app(db[0], monkeypatch, tmp_path)
    sign_in(at, "", "")
    assert texts(at, "error") == ["Enter your username and password."]
    sign_in(at, "engineer", "")
    assert texts(at, "error") == ["Enter your password."]
    sign_in(at, "  ", DEMO_PASSWORDS["engineer"])
    assert texts(at, "error") == ["Enter your username."]
    assert db[1].get_user(username="engineer").failed_login_count == 0  # nothing was tried, nothing counted


def test_a_capitalised_username_signs_in(db, monkeypatch, tmp_path):
    """A phone capitalises the first letter: "Engineer" is the user "engineer"."""
    at = sign_in(app(db[0], monkeypatch, tmp_path), "Engineer", DEMO_PASSWORDS["engineer"])
    assert not at.exception and not on_login_page(at), texts(at, "error")
    assert any("Signed in as **engineer**" in c.value for c in at.sidebar.caption)
