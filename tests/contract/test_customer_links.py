"""Customer links and alerts on every backend (issue 16): unlinking takes an account out of the
customer's scope at once (and keeps the last link when asked), opt-ins are found per account, and an
alert is claimed once per customer, kind and bill or anomaly by the database's unique key."""
import pytest

from services.accounts.scopes import actor_for
from services.errors import ConflictError, NotFoundError
from services.models import BillFilter
from tests.contract.test_customer_scope import MINE, NEIGHBOUR, town  # noqa: F401 (the fixture)
from tests.factories import ADMIN


def test_after_unlinking_the_customers_scope_no_longer_reaches_the_account(storage, town):  # noqa: F811
    ids, user = town["accounts"], town["user"]
    assert storage.link_customer_account(user.id, ids[NEIGHBOUR], ADMIN) is True
    both = actor_for(storage, user)
    neighbour_bill = town["bills"][NEIGHBOUR]
    assert storage.scoped(both.scope).get_bill(neighbour_bill.id) is not None
    assert storage.account_customer_ids(ids[NEIGHBOUR]) == [user.id]

    assert storage.unlink_customer_account(user.id, ids[NEIGHBOUR], ADMIN) is True
    assert storage.unlink_customer_account(user.id, ids[NEIGHBOUR], ADMIN) is False  # nothing left to remove
    assert storage.list_audit(action_prefix="customer.unlink").items[0].details == {"account_id": ids[NEIGHBOUR]}
    me = actor_for(storage, user)  # read at every request, like staff areas
    assert me.scope.account_ids == {ids[MINE]}
    view = storage.scoped(me.scope)
    assert view.get_bill(neighbour_bill.id) is None
    assert {b.account_code for b in view.list_bills(BillFilter(), 0, 50).items} == {MINE}
    assert view.get_account(account_id=ids[NEIGHBOUR]) is None
    assert storage.account_customer_ids(ids[NEIGHBOUR]) == []
    db = town["db"].for_actor(me)
    with pytest.raises(NotFoundError):
        db.get_bill(neighbour_bill.id)

    # the last link stays when asked to keep it; staff may still remove it (the sign-in then sees nothing)
    with pytest.raises(ConflictError):
        storage.unlink_customer_account(user.id, ids[MINE], ADMIN, keep_last=True)
    assert storage.customer_account_ids(user.id) == [ids[MINE]]
    assert storage.unlink_customer_account(user.id, ids[MINE], ADMIN) is True
    assert actor_for(storage, user).scope.is_nothing


def test_opt_ins_are_found_per_account_and_an_alert_is_claimed_once(storage, town):  # noqa: F811
    ids, user = town["accounts"], town["user"]
    other = storage.create_user(username="shop9", role="customer", password_hash=None, actor=ADMIN)
    storage.link_customer_account(other.id, ids[NEIGHBOUR], ADMIN)
    assert storage.customers_opted_in("bill_ready", [ids[MINE], ids[NEIGHBOUR]]) == []
    storage.set_customer_preference(user.id, "bill_ready", True, ADMIN)
    storage.set_customer_preference(other.id, "bill_ready", False, ADMIN)
    storage.set_customer_preference(other.id, "due_reminder", True, ADMIN)
    assert storage.customers_opted_in("bill_ready", [ids[MINE], ids[NEIGHBOUR]]) == [(user.id, ids[MINE])]
    assert storage.customers_opted_in("due_reminder", [ids[MINE], ids[NEIGHBOUR]]) == [(other.id, ids[NEIGHBOUR])]
    assert storage.customers_opted_in("bill_ready", []) == []
    storage.update_user(other.id, {"is_active": False}, ADMIN, "user.deactivate")  # a deactivated sign-in gets nothing
    assert storage.customers_opted_in("due_reminder", [ids[NEIGHBOUR]]) == []

    bill = town["bills"][MINE]
    assert storage.claim_customer_alert(user.id, "bill_ready", f"bill:{bill.id}", ids[MINE]) is True
    assert storage.claim_customer_alert(user.id, "bill_ready", f"bill:{bill.id}", ids[MINE]) is False
    assert storage.claim_customer_alert(user.id, "due_reminder", f"bill:{bill.id}", ids[MINE]) is True
