"""Issue 18 in a real Chromium against `streamlit run web.py`: a reload keeps the user signed in (an
HttpOnly, Secure, SameSite=Strict cookie JavaScript cannot read); sign-out, revocation and 30 minutes
idle end it; a deep link keeps its query through sign-in; on a phone the sidebar closes after a page
is chosen. Screenshots under test-output/issue18b/."""
import datetime as dt
import re

import sqlalchemy as sa

from services.accounts.cookie_session import COOKIE_NAME
from services.clock import utcnow
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import (OUTPUT, nav, sign_in, sign_out, signed_in_or_form, start_streamlit,
                                   wait_for_app)
from tests.ui.harness import DEMO_PASSWORDS

SHOTS = OUTPUT / "issue18b"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _cookie(page):
    return next((c for c in page.context.cookies() if c["name"] == COOKIE_NAME), None)


def _wait_for_cookie(page):
    page.wait_for_function("() => true")  # let the page's fetch finish
    for _ in range(50):
        if _cookie(page):
            return _cookie(page)
        page.wait_for_timeout(100)
    raise AssertionError("the session cookie was not set")


def _signed_in_as(page, username: str) -> bool:
    signed_in_or_form(page)
    return page.get_by_text(f"Signed in as {username}").count() > 0


def test_reload_keeps_the_session_and_sign_out_ends_it(demo_server, page):
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    cookie = _wait_for_cookie(page)
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert 0 < cookie["expires"] - dt.datetime.now().timestamp() <= 12 * 3600 + 5  # never past the absolute timeout
    assert COOKIE_NAME not in page.evaluate("() => document.cookie")  # JavaScript cannot read it
    st = SqlStorage(demo_server.db_url)
    assert st.get_user(username="admin")  # the database keeps only the token's hash:
    with st.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM user_sessions WHERE token_hash = :t"),
                            {"t": cookie["value"]}).scalar() == 0
    page.reload()
    wait_for_app(page)
    assert _signed_in_as(page, "admin"), "a reload signed the user out"
    _shot(page, "reload-keeps-session-desktop")
    sign_out(page)
    for _ in range(30):
        if _cookie(page) is None:
            break
        page.wait_for_timeout(100)
    assert _cookie(page) is None  # the cookie is cleared ...
    page.reload()
    wait_for_app(page)
    assert not _signed_in_as(page, "admin")  # ... and a reload shows the sign-in form


def test_sign_in_survives_landing_on_another_server_process(demo_server, page, tmp_path):
    """Issue 19: behind a balancer a user may land on another `streamlit run` process of the same
    database (a restart, a re-balanced connection). The cookie names a session the database holds, so
    that process signs them in too; and a sign-out there ends it on the first one."""
    other = start_streamlit(demo_server.db_url, tmp_path)
    try:
        sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
        _wait_for_cookie(page)  # a cookie is for the host, whatever the port: both processes receive it
        page.goto(other.url)
        wait_for_app(page)
        assert _signed_in_as(page, "admin"), "the second process did not take the session"
        _shot(page, "another-process-keeps-session")
        sign_out(page)
        page.goto(demo_server.url)
        wait_for_app(page)
        assert not _signed_in_as(page, "admin")
    finally:
        other.stop()


def test_a_copied_cookie_dies_with_its_session(demo_server, browser, page):
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    cookie = _wait_for_cookie(page)
    other = browser.new_context()  # another browser holding a copy of the cookie
    other.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "secure", "sameSite")}])
    thief = other.new_page()
    thief.goto(demo_server.url)
    wait_for_app(thief)
    assert _signed_in_as(thief, "admin")
    sign_out(page)  # signing out in the first browser revokes the session in the database
    thief.reload()
    wait_for_app(thief)
    assert not _signed_in_as(thief, "admin")
    thief.get_by_text("Your session was ended").wait_for()
    other.close()


def test_revoked_and_idle_sessions_end_at_the_next_reload(demo_server, page):
    st = SqlStorage(demo_server.db_url)
    # Revoked by an administrator (or "End all my sessions" elsewhere)
    sign_in(page, demo_server.url, "engineer", DEMO_PASSWORDS["engineer"])
    _wait_for_cookie(page)
    user = st.get_user(username="engineer")
    assert st.revoke_sessions(user_id=user.id, reason="admin_revoked", now=utcnow()) >= 1
    page.reload()
    wait_for_app(page)
    page.get_by_text("Your session was ended (admin revoked)").wait_for()
    _shot(page, "revoked-session-desktop")
    # 30 minutes without activity
    sign_in(page, demo_server.url, "engineer", DEMO_PASSWORDS["engineer"])
    _wait_for_cookie(page)
    with st.engine.begin() as conn:
        conn.execute(sa.text("UPDATE user_sessions SET last_seen_at = :t WHERE user_id = :u AND revoked_at IS NULL"),
                     {"t": utcnow() - dt.timedelta(minutes=31), "u": user.id})
    page.reload()
    wait_for_app(page)
    page.get_by_text("signed out after 30 minutes without activity").wait_for()
    assert not _signed_in_as(page, "engineer")


def test_sign_out_everywhere_ends_every_session(demo_server, browser, page):
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    _wait_for_cookie(page)
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(phone, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    page.get_by_role("button", name="End all my sessions").click()
    page.get_by_text("Signed out on every device").wait_for()
    _shot(page, "signed-out-everywhere-desktop")
    phone.reload()
    wait_for_app(phone)
    assert not _signed_in_as(phone, "admin")
    phone.context.close()


def test_a_deep_link_keeps_its_query_through_sign_in(demo_server, page):
    bill = SqlStorage(demo_server.db_url).list_bills(BillFilter(), 0, 1).items[0]
    page.goto(f"{demo_server.url}/bills?bill={bill.id}")
    wait_for_app(page)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORDS["admin"])
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)
    page.wait_for_url(re.compile(rf"/bills\?(.*&)?bill={bill.id}\b"))
    _wait_for_cookie(page)
    page.reload()  # and a reload of that URL stays there, signed in
    wait_for_app(page)
    assert _signed_in_as(page, "admin") and f"bill={bill.id}" in page.url
    _shot(page, "deep-link-after-sign-in-desktop")


def test_on_a_phone_the_sidebar_closes_after_choosing_a_page(demo_server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    nav(page, "Bills and payments")  # nav() waits for the sidebar to close by itself
    assert page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true"
    _shot(page, "phone-sidebar-closed-after-nav")
