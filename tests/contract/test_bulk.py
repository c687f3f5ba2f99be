"""Bulk operations on every backend (issue 14): a preview of exactly what changes, a reason required,
one audit entry; a manager's selection holds only their areas."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.accounts.scopes import actor_for
from services.errors import PermissionDeniedError, ValidationError
from services.models import AccountFilter, BillFilter
from services.municipal import bulk
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date


@pytest.fixture
def town(storage, today):
    made = make_municipal(storage)
    db = make_service(storage, today)
    db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    user = storage.create_user(username="manager1", role="manager", password_hash=None, actor=ADMIN)
    storage.set_user_areas(user.id, [made["areas"]["KSR"]], ADMIN)
    return db, made, actor_for(storage, user)


def test_mark_the_filtered_open_bills_paid(storage, town):
    db, made, manager = town
    flt = BillFilter(period_month="2026-10")
    pv = bulk.preview_bills_paid(db, flt, manager)  # Kasur only: units 1-3
    assert pv.count == 3 and {b.account_code[:6] for b in pv.sample} == {"SP-KSR"}
    assert pv.amount == sum((b.balance for b in pv.sample), D("0"))
    with pytest.raises(ValidationError, match="reason"):
        bulk.mark_bills_paid(db, flt, d(2026, 11, 10), "", manager)
    assert bulk.mark_bills_paid(db, flt, d(2026, 11, 10), "bank confirmed the collection", manager) == 3
    statuses = {b.account_code: b.status for b in storage.list_bills(flt, 0, 50).items}
    assert statuses == {"SP-KSR-0000001": "paid", "SP-KSR-0000002": "paid", "SP-KSR-0000003": "paid",
                        "SP-OKR-0000004": "pending"}
    entry = storage.list_audit(action_prefix="payment.settle_in_full").items[0]
    assert entry.details["settled"] == 3 and "bank confirmed" in entry.details["reference"]
    assert bulk.preview_bills_paid(db, flt, manager).count == 0  # nothing left to change


def test_deactivate_and_reactivate_the_filtered_units(storage, town):
    db, made, manager = town
    flt = AccountFilter(area_id=made["areas"]["KSR/KSR-UC01"])
    pv = bulk.preview_accounts_active(db, flt, False, manager)
    assert pv.count == 2
    assert bulk.set_accounts_active(db, flt, False, "units demolished, survey 2026-11", manager) == 2
    assert storage.list_accounts(AccountFilter(area_id=made["areas"]["KSR/KSR-UC01"], is_active=True), 0, 10).total == 0
    entry = storage.list_audit(action_prefix="bulk.accounts_active").items[0]
    assert entry.details["changed"] == 2 and entry.details["reason"].startswith("units demolished")
    # a manager of Kasur selecting everything changes only Kasur's units
    assert bulk.preview_accounts_active(db, AccountFilter(), False, manager).count == 1  # SP-KSR-0000003
    assert bulk.set_accounts_active(db, AccountFilter(), True, "resurvey found them", manager) == 2
    okr = storage.get_account(code="SP-OKR-0000005")
    assert okr.is_active is False  # Okara's inactive unit untouched


def test_agents_do_no_bulk_changes_and_a_scoped_view_checks_the_ids(storage, town):
    db, made, manager = town
    agent = storage.create_user(username="agent1", role="agent", password_hash=None, actor=ADMIN)
    with pytest.raises(PermissionDeniedError):
        bulk.preview_accounts_active(db, AccountFilter(), False, actor_for(storage, agent))
    from services.errors import NotFoundError

    view = storage.scoped(manager.scope)
    with pytest.raises(NotFoundError):
        view.set_accounts_active([made["accounts"]["SP-OKR-0000004"]], False, "guessing", manager)
    assert storage.get_account(code="SP-OKR-0000004").is_active is True
