"""Auth0 sign-in through st.login: the identity cookie's claims map to a local user and get a
server session, so the same idle and absolute timeouts apply on top of Streamlit's cookie."""
import pytest

from services.accounts.auth import AuthService, SessionExpiredError
from services.errors import AuthenticationError
from tests.accounts.conftest import T0
from tests.factories import ADMIN

SUB = "auth0|64f1c0ffee"


@pytest.fixture
def auth(storage, clock):
    return AuthService(storage, now=clock)


@pytest.fixture
def meera(storage):
    return storage.create_user(username="meera", role="admin", password_hash=None, actor=ADMIN,
                               email="meera@example.com", auth_provider="auth0")


def cookie(**over):
    c = {"is_logged_in": True, "iss": "https://t.eu.auth0.com/", "sub": SUB, "email": "meera@example.com",
         "email_verified": True, "iat": int(T0.timestamp()), "nonce": "n-1"}
    c.update(over)
    return c


def test_verified_email_maps_to_the_local_user_and_starts_one_session(auth, storage, meera):
    s1 = auth.oidc_session(cookie(), "10.0.0.5")
    s2 = auth.oidc_session(cookie(), "10.0.0.5")  # a page reload reads the same cookie
    assert s1.actor.user_id == meera.id and s1.actor.role == "admin" and s1.session.id == s2.session.id
    ok = storage.list_audit(action_prefix="login.success").items
    assert len(ok) == 1 and ok[0].details["method"] == "auth0"


def test_no_mapping_no_access(auth, storage, meera):
    for claims in (cookie(email="someone@example.com", sub="auth0|x"), cookie(email_verified=False, sub="auth0|x")):
        with pytest.raises(AuthenticationError, match="no Meterline access"):
            auth.oidc_session(claims)
    assert storage.list_audit(action_prefix="login.failed").items[0].details["method"] == "auth0"


def test_idle_timeout_applies_across_reloads(auth, meera, clock):
    auth.oidc_session(cookie())
    clock.advance(minutes=20)
    auth.oidc_session(cookie())
    clock.advance(minutes=30)
    with pytest.raises(SessionExpiredError) as exc:
        auth.oidc_session(cookie())
    assert exc.value.reason == "idle"
    with pytest.raises(SessionExpiredError):  # the same cookie stays refused
        auth.oidc_session(cookie())
    assert auth.oidc_session(cookie(iat=int(clock.now.timestamp()), nonce="n-2")).actor.user_id == meera.id


def test_absolute_timeout_counts_from_the_auth0_sign_in(auth, meera, clock):
    auth.oidc_session(cookie())
    for _ in range(24):
        clock.advance(minutes=29)
        auth.oidc_session(cookie())
    clock.advance(minutes=25)  # 12 h after iat
    with pytest.raises(SessionExpiredError) as exc:
        auth.oidc_session(cookie())
    assert exc.value.reason == "absolute"


def test_an_old_cookie_never_starts_a_session(auth, meera, clock):
    clock.advance(hours=13)
    with pytest.raises(SessionExpiredError) as exc:
        auth.oidc_session(cookie())
    assert exc.value.reason == "absolute"


def test_logout_and_deactivation(auth, storage, meera):
    auth.oidc_session(cookie())
    auth.end_oidc_session(cookie())
    with pytest.raises(SessionExpiredError):
        auth.oidc_session(cookie())
    fresh = cookie(nonce="n-3")
    auth.oidc_session(fresh)
    storage.update_user(meera.id, {"is_active": False}, ADMIN, "user.deactivate")
    with pytest.raises(SessionExpiredError):
        auth.oidc_session(fresh)


def test_claims_without_iat_are_refused(auth, meera):
    with pytest.raises(AuthenticationError, match="issue time"):
        auth.oidc_session(cookie(iat=None))
