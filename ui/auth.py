"""Sign-in gate for the Streamlit app.

The browser session (st.session_state) holds only a random session token; on every rerun it is
validated against the server-side session (services/accounts/auth.py), so idle/absolute timeouts,
logout, deactivation and "password changed elsewhere" apply at once. The signed-in Actor is
then put where ui.common.current_actor() reads it.

When `.streamlit/secrets.toml` has an `[auth]` section, the page also offers Streamlit's own
OIDC sign-in (st.login, Auth0). Streamlit's identity cookie is trusted only as far as the
server-side session tied to it allows: the same timeouts apply, and the Auth0 identity must
match an active local user with sign-in method Auth0 (services/accounts/identity.py).
"""
from __future__ import annotations

import streamlit as st

from services.accounts.auth import SessionExpiredError
from services.accounts.cookie_session import COOKIE_NAME, END_PATH, HANDOFFS, START_PATH
from services.errors import AuthenticationError, MeterlineError, RateLimitedError
from services.accounts.roles import ROLES, Actor
from services.accounts.throttle import ThrottleSettings, client_address
from ui.common import ACTOR_KEY, current_actor, service_icon, services, show_error, utility  # noqa: F401 - current_actor re-exported

TOKEN_KEY = "_meterline_session_token"
VIA_KEY = "_meterline_signed_in_via"  # "password" | "auth0"
REQUESTED_KEY = "_meterline_requested_page"  # url_path of a deep link opened while signed out
REQUESTED_PARAMS_KEY = "_meterline_requested_params"  # and its query (?bill=123), kept through sign-in
HANDOFF_KEY = "_meterline_cookie_handoff"  # a one-time code the page swaps for the HttpOnly session cookie
CLEAR_COOKIE_KEY = "_meterline_clear_cookie"  # signed out: the page asks the server to drop the cookie
SIGNED_OUT_KEY = "_meterline_signed_out_notice"
DEAD_COOKIE_KEY = "_meterline_dead_cookie"  # the ended session's token: the cookie the page still shows is ignored


def _client() -> str | None:
    """Who is connecting, for the audit log: IP address and browser (never used to authorise)."""
    try:
        ip = st.context.ip_address or ""
        agent = st.context.headers.get("User-Agent") or ""
    except Exception:  # AppTest and older runtimes have no request context
        return None
    return f"{ip} {agent}".strip()[:128] or None


def _client_ip() -> str:
    """The address the per-client sign-in throttle counts: the connection's peer, or the address a
    trusted proxy (TRUSTED_PROXIES) put in X-Forwarded-For."""
    try:
        peer, forwarded = st.context.ip_address, st.context.headers.get("X-Forwarded-For")
    except Exception:  # AppTest and older runtimes have no request context
        peer, forwarded = None, None
    return client_address(peer, forwarded, ThrottleSettings.from_env().trusted_proxies)


def _oidc_provider() -> str | None:
    """The st.login provider configured in secrets.toml: "auth0" for an [auth.auth0] section,
    "default" for a provider defined directly in [auth], None when OIDC is not configured."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all
        return None
    if not section:
        return None
    if "auth0" in section:
        return "auth0"
    return "default" if "client_id" in section else None


def _oidc_claims() -> dict | None:
    if _oidc_provider() is None:
        return None
    user = st.user.to_dict()
    return user if user.get("is_logged_in") else None


def _requested_page() -> str | None:
    """The page a signed-out visitor asked for by URL (e.g. /users), to open after sign-in."""
    try:
        url = st.context.url or ""
    except Exception:
        return None
    from urllib.parse import urlparse

    last = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
    return last or None


def _forget() -> None:
    for key in (TOKEN_KEY, VIA_KEY, ACTOR_KEY):
        st.session_state.pop(key, None)


def _cookie_token() -> str | None:
    """The session token the browser's HttpOnly cookie carried when this page was opened (a reload)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # AppTest and older runtimes have no request context
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def _post(path: str, body: str = "{}") -> None:
    """Run one same-origin POST from the page (st.html runs the script in the app's own document, so the
    response's Set-Cookie lands in this browser; JavaScript never sees the token, only a one-time code)."""
    import json

    st.html(f"<script>fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', "
            f"headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(body)}}});</script>",
            unsafe_allow_javascript=True)


def _cookie_calls() -> None:
    """Set the cookie after a sign-in, or clear it after a sign-out, once."""
    import json

    code = st.session_state.pop(HANDOFF_KEY, None)
    if code:
        _post(START_PATH, json.dumps({"code": code}))
    if st.session_state.pop(CLEAR_COOKIE_KEY, False):
        _post(END_PATH)


def require_actor() -> Actor:
    """Return the signed-in actor, or render the sign-in page and stop the script."""
    auth = services().auth
    notice = None
    token = st.session_state.get(TOKEN_KEY)
    if token:
        try:
            active = auth.validate(token)
            st.session_state[ACTOR_KEY] = active.actor
            return active.actor
        except SessionExpiredError as exc:
            notice = str(exc)
    elif (cookie := _cookie_token()) and cookie != st.session_state.get(DEAD_COOKIE_KEY):
        # A reload (or a new tab): the browser's cookie names a session; the database decides if it still lives.
        try:
            active = auth.validate(cookie)
        except SessionExpiredError as exc:
            notice = str(exc)
            st.session_state[DEAD_COOKIE_KEY] = cookie  # said once; the page drops the cookie
            st.session_state[CLEAR_COOKIE_KEY] = True
        else:
            st.session_state[TOKEN_KEY] = cookie
            st.session_state[VIA_KEY] = "password"
            st.session_state[ACTOR_KEY] = active.actor
            return active.actor
    _forget()
    claims = _oidc_claims()
    if claims:
        try:
            active = auth.oidc_session(claims, _client())
            st.session_state[ACTOR_KEY] = active.actor
            st.session_state[VIA_KEY] = "auth0"
            return active.actor
        except AuthenticationError as exc:
            notice = str(exc)
            _forget()
    _login_page(auth, notice, signed_in_at_auth0=bool(claims))
    st.stop()


def _login_page(auth, notice: str | None, signed_in_at_auth0: bool) -> None:
    _cookie_calls()  # a sign-out just now, or a dead cookie: drop it
    if REQUESTED_KEY not in st.session_state:
        st.session_state[REQUESTED_KEY] = _requested_page()
        st.session_state[REQUESTED_PARAMS_KEY] = st.query_params.to_dict()
    st.title(f"{service_icon()} {utility().name}")
    st.subheader("Sign in")
    st.caption("Meterline billing")
    done = st.session_state.pop(SIGNED_OUT_KEY, None)
    if done:
        st.success(done, icon=":material/logout:")
    if notice:
        st.warning(notice)
    with st.form("login", clear_on_submit=True):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in")
    missing = [what for what, given in (("username", username), ("password", password)) if not (given or "").strip()]
    if submitted and missing:  # nothing to check: say what is missing, not "wrong password" (and count no attempt)
        st.error(f"Enter your {' and '.join(missing)}.", icon=":material/edit:")
    elif submitted:
        try:
            signed = auth.login(username, password, _client(), client_ip=_client_ip())
        except RateLimitedError as exc:
            st.error(str(exc), icon=":material/timer:")
        except AuthenticationError as exc:
            st.error(str(exc))
        except MeterlineError as exc:  # e.g. the database busy past its timeout: say so, sign in again
            show_error(exc)
        else:
            st.session_state[TOKEN_KEY] = signed.token
            st.session_state[VIA_KEY] = "password"
            st.session_state[ACTOR_KEY] = signed.actor
            st.session_state[HANDOFF_KEY] = HANDOFFS.issue(signed.token)  # -> the HttpOnly cookie, on the next run
            st.rerun()
    from ui.portal_register import registration_box  # the customer portal (issue 16)

    registration_box()
    provider = _oidc_provider()
    if provider:
        st.divider()
        if signed_in_at_auth0:
            st.caption("You are signed in at Auth0, but Meterline did not accept that sign-in (see above).")
            if st.button("Sign out of Auth0", icon=":material/logout:"):
                st.logout()
        if st.button("Sign in with Auth0", icon=":material/login:"):
            st.login(None if provider == "default" else provider)


def _sign_out() -> None:
    auth = services().auth
    if st.session_state.get(VIA_KEY) == "auth0":
        claims = _oidc_claims()
        if claims:
            auth.end_oidc_session(claims)
        _forget()
        st.logout()  # clears Streamlit's identity cookie and ends the Auth0 session
        return
    auth.logout(st.session_state.get(TOKEN_KEY))  # revoked in the database: the cookie is worthless from now on
    st.session_state[DEAD_COOKIE_KEY] = st.session_state.get(TOKEN_KEY)
    _forget()
    st.session_state[CLEAR_COOKIE_KEY] = True
    st.session_state[REQUESTED_KEY] = None  # the next person to sign in starts on their own first page
    st.rerun()


def _sign_out_everywhere() -> None:
    ended = services().auth.logout_everywhere(st.session_state.get(TOKEN_KEY))
    st.session_state[DEAD_COOKIE_KEY] = st.session_state.get(TOKEN_KEY)
    _forget()
    st.session_state[CLEAR_COOKIE_KEY] = True
    st.session_state[REQUESTED_KEY] = None
    st.session_state[SIGNED_OUT_KEY] = f"Signed out on every device ({ended} session{'s' if ended != 1 else ''} ended)."
    st.rerun()


def _open_requested_page(actor: Actor) -> None:
    """After sign-in, go to the page the URL named, or say plainly that this role may not open it.
    (Runs after st.navigation, which only lists the pages the role may open.)"""
    wanted = st.session_state.pop(REQUESTED_KEY, None)
    params = st.session_state.pop(REQUESTED_PARAMS_KEY, None)
    if not wanted:
        return
    from ui.registry import PAGES

    spec = next((p for p in PAGES if p.url_path == wanted), None)
    if spec is None:
        return
    if spec.opens_for(actor):
        st.switch_page(spec.path, query_params=params or None)
    st.error(f"You do not have access to the page '{spec.title}'. Ask an administrator if you need it.",
             icon=":material/block:")


def render_account_box(actor: Actor) -> None:
    _open_requested_page(actor)  # may switch page (a rerun): the cookie call below is then made on that page
    _cookie_calls()  # just signed in: swap the one-time code for the HttpOnly cookie
    role = ROLES[actor.role].label if actor.role in ROLES else actor.role
    with st.sidebar:
        st.caption(f"Signed in as **{actor.username}** ({role})")
        if st.session_state.get(VIA_KEY) == "password":
            with st.expander("Change password", icon=":material/key:"):
                _change_password_form()
        if st.button("Sign out", key="logout", icon=":material/logout:"):
            _sign_out()
        if st.session_state.get(VIA_KEY) == "password" and st.button(
                "End all my sessions", key="logout_everywhere", icon=":material/devices:", type="tertiary",
                help="Ends your sessions on every browser and phone (e.g. after a lost phone)."):
            _sign_out_everywhere()


def _change_password_form() -> None:
    with st.form("change_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", autocomplete="current-password")
        new = st.text_input("New password", type="password", autocomplete="new-password",
                            help="At least 12 characters; a few unrelated words work well.")
        confirm = st.text_input("New password again", type="password", autocomplete="new-password")
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return
    if new != confirm:
        st.error("**New password again**: does not match the new password. Type both again.")
        return
    try:
        ended = services().auth.change_password(st.session_state.get(TOKEN_KEY), current, new)
    except MeterlineError as exc:
        show_error(exc)
        return
    st.success(f"Password changed. {ended} other session(s) were signed out.")
