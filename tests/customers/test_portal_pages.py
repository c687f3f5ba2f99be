"""Unlinking in the app (Streamlit AppTest over the seeded demo society): a customer removes one of
two linked accounts on My profile (never the last: no button then), and an admin unlinks a customer
sign-in from the account page."""
import pytest

from scripts import seed_demo
from services.models import AccountFilter
from services.storage.sql_backend import SqlStorage
from tests.conftest import TODAY
from tests.factories import ADMIN
from tests.ui.harness import app, sign_in

CUSTOMER, _, _, CUSTOMER_PASSWORD = seed_demo.CUSTOMER_DEMO_USERS["society"]


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal_pages.db'}"
    storage = SqlStorage(url)
    seed_demo.seed(storage, 32, TODAY, quiet=True)
    storage.dispose()
    return url


def test_a_customer_removes_one_of_two_accounts_but_never_the_last(url, monkeypatch, tmp_path):
    storage = SqlStorage(url)
    user = storage.get_user(username=CUSTOMER)
    (first,) = storage.customer_account_ids(user.id)
    second = next(a for a in storage.list_accounts(AccountFilter(), 0, 5).items if a.id != first)
    storage.link_customer_account(user.id, second.id, ADMIN)
    at = sign_in(app(url, monkeypatch, tmp_path, timeout=60), CUSTOMER, CUSTOMER_PASSWORD)
    at.switch_page("ui/portal_profile.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="portal_account").set_value(second.id).run()
    next(b for b in at.button if b.key == "unlink_mine").click()
    at.run()
    assert not at.exception, at.exception
    assert any(f"{second.code} removed from your sign-in." in s.value for s in at.success)
    assert storage.customer_account_ids(user.id) == [first]
    assert not [b for b in at.button if b.key == "unlink_mine"]  # one account left: nothing to remove
    assert storage.list_audit(action_prefix="customer.unlinked").items[0].actor_name == CUSTOMER
    storage.dispose()


def test_an_admin_unlinks_a_customer_sign_in_on_the_account_page(url, monkeypatch, tmp_path):
    storage = SqlStorage(url)
    user = storage.get_user(username=CUSTOMER)
    (mine,) = storage.customer_account_ids(user.id)
    acct = storage.get_account(account_id=mine)
    at = sign_in(app(url, monkeypatch, tmp_path, timeout=60), "admin")
    at.switch_page("ui/accounts.py").run()
    at.selectbox(key="ac_open").set_value(next(a for a in at.selectbox(key="ac_open").options
                                               if a.startswith(acct.code)))
    next(b for b in at.button if b.key == "ac_open_btn").click()
    at.run()
    assert not at.exception, at.exception
    assert any(CUSTOMER in m.value for m in at.markdown)
    next(b for b in at.button if b.key == f"unlink_{acct.id}_{user.id}").click()
    at.run()
    assert not at.exception, at.exception
    assert storage.customer_account_ids(user.id) == []
    assert storage.list_audit(action_prefix="customer.unlinked").items[0].actor_name == "admin"
    storage.dispose()
