"""Sign-in in a real headless Chromium against `streamlit run`: wrong password, lockout after five
tries, sign out, and a field engineer refused on an admin page reached by its URL."""
from tests.browser.conftest import shot, sign_in, sign_out, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS

GENERIC = "Wrong username or password"


def _try(page, username, password):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    wait_for_app(page)


def test_wrong_password(demo_server, page):
    sign_in(page, demo_server.url, "admin", "not-the-admin-password")
    page.get_by_text(GENERIC).wait_for()
    assert page.get_by_label("Username").is_visible()
    shot(page, "wrong-password")


def test_lockout_after_five_tries(demo_server, page):
    page.goto(demo_server.url)
    wait_for_app(page)
    for i in range(5):
        _try(page, "engineer2", f"wrong password number {i}")
        page.get_by_text(GENERIC).wait_for()
    _try(page, "engineer2", DEMO_PASSWORDS["engineer2"])  # the right password, now refused
    page.get_by_text(GENERIC).wait_for()
    assert page.get_by_label("Username").is_visible()
    shot(page, "locked")
    from services.storage.sql_backend import SqlStorage

    storage = SqlStorage(demo_server.db_url)
    assert storage.get_user(username="engineer2").locked_until is not None
    assert storage.list_audit(action_prefix="login.lockout").items[0].actor_name == "engineer2"
    storage.dispose()


def test_logout(demo_server, page):
    sign_in(page, demo_server.url, "admin", DEMO_PASSWORDS["admin"])
    page.get_by_text("Signed in as").wait_for()
    shot(page, "signed-in")
    page.get_by_role("button", name="Sign out").click()
    wait_for_app(page)
    page.get_by_label("Username").wait_for()
    assert page.get_by_text("Signed in as").count() == 0
    shot(page, "signed-out")
    page.reload()  # a reload does not bring the session back
    wait_for_app(page)
    page.get_by_label("Username").wait_for()


def test_field_engineer_refused_on_admin_page_by_url(demo_server, page):
    page.goto(f"{demo_server.url}/users")
    wait_for_app(page)
    _try(page, "engineer", DEMO_PASSWORDS["engineer"])
    page.get_by_text("You do not have access to the page 'Users'").wait_for()
    shot(page, "engineer-refused-at-users-url")
    assert page.get_by_text("Add a user").count() == 0
    assert page.get_by_role("link", name="Users").count() == 0  # not in the engineer's navigation
    # the same URL for an admin opens the page after sign-in (the engineer signs out first: the session
    # cookie would otherwise keep them signed in across the reload)
    sign_out(page)
    page.goto(f"{demo_server.url}/users")
    wait_for_app(page)
    _try(page, "admin", DEMO_PASSWORDS["admin"])
    page.get_by_text("Add a user").wait_for()
    assert page.get_by_text("You do not have access").count() == 0
    shot(page, "admin-at-users-url")
