"""The customer portal's service (issue 16) on SQLite: getting in with one-time codes (hashed,
expiring, single-use, rate-limited, shown in the notifications log offline), the profile's confirmed
changes, opt-ins, and the bill explanation and anticipated bill, always within the customer's accounts.
The same storage calls run on every backend in tests/contract/test_customer_scope.py."""
import datetime as dt
import re
from decimal import Decimal as D

import pytest

from services.accounts.roles import Actor
from services.accounts.scopes import actor_for
from services.customers import insights
from services.customers.codes import MAX_ATTEMPTS, MAX_CODES_PER_WINDOW, digest
from services.customers.portal import CustomerPortal
from services.errors import DuplicateError, NotFoundError, PermissionDeniedError, RateLimitedError, ValidationError
from services.models import BillFilter
from tests.api.conftest import build_svc
from tests.factories import ADMIN, make_municipal, make_society, make_water

d = dt.date
PASSWORD = "Blue-Kettle-Morning-42"


@pytest.fixture
def storage(tmp_path):
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage(f"sqlite:///{tmp_path / 'portal.db'}")
    yield st
    st.dispose()


def last_code(storage) -> str:
    row = storage.list_notifications(kind="customer_code", limit=1).items[0]
    return re.search(r"code is (\d{6})", row.message).group(1)


@pytest.fixture
def society(storage, today, tmp_path):
    make_society(storage)
    svc = build_svc(storage, today, tmp_path)
    for flat in ("B17-FF", "A1-GF"):
        svc.db.create_bill(flat, "2025-10-01", "2025-10-31", "2025-11-15", flat_units=90, motor_units=0,
                           previous_outstanding=0, actor=ADMIN)
        svc.db.create_bill(flat, "2026-09-01", "2026-09-30", "2026-10-15", flat_units=120, motor_units=0, actor=ADMIN)
        svc.db.create_bill(flat, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=150, motor_units=10, actor=ADMIN)
    return svc


def register(svc, code="B17-FF", username="owner.b17"):
    portal = CustomerPortal(svc)
    shown = portal.request_registration(code)
    assert shown.endswith("0000") and "+91" not in shown  # masked
    return portal, portal.register(code, last_code(svc.db.storage), username, PASSWORD)


def test_self_registration_with_a_code_links_the_account_and_nothing_else(society):
    portal, me = register(society)
    storage = society.db.storage
    assert me.role == "customer" and len(me.scope.account_ids) == 1
    row = storage.list_notifications(kind="customer_code", limit=1).items[0]
    assert row.channel == "log" and row.status == "skipped" and "+91" not in (row.recipient or "")
    stored = storage.latest_customer_code(f"account:{storage.get_account(code='B17-FF').id}", "register")
    assert stored.used_at is not None and stored.code_hash != last_code(storage)  # only a salted hash is kept
    assert stored.code_hash == digest(stored.salt, last_code(storage))
    bills = portal.bills(me).items
    assert {b.account_code for b in bills} == {"B17-FF"} and len(bills) == 3
    other = society.db.list_bills(BillFilter(search="A1-GF"), 0, 5).items[0]
    with pytest.raises(NotFoundError):
        portal.bill(me, other.id)
    with pytest.raises(NotFoundError):
        portal.bill_pdf(me, other.id)
    with pytest.raises(NotFoundError):
        insights.explain(portal.view(me), other.id, me)
    assert portal.bill_pdf(me, bills[0].id).data.startswith(b"%PDF")
    # the code was used: a second registration with it fails; a taken username is refused
    with pytest.raises(ValidationError, match="already used"):
        portal.register("B17-FF", last_code(storage), "someone.else", PASSWORD)
    with pytest.raises(DuplicateError):
        portal.register("B17-FF", "000000", "owner.b17", PASSWORD)


def test_codes_expire_allow_few_tries_and_are_rate_limited(society):
    portal = CustomerPortal(society)
    storage = society.db.storage
    portal.request_registration("A1-GF")
    good = last_code(storage)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(ValidationError):
            portal.register("A1-GF", wrong, "asha", PASSWORD)
    with pytest.raises(ValidationError, match="no longer works"):
        portal.register("A1-GF", good, "asha", PASSWORD)  # locked after too many wrong tries
    assert storage.get_user(username="asha") is None  # nothing partial
    for _ in range(MAX_CODES_PER_WINDOW - 1):
        portal.request_registration("A1-GF")
    with pytest.raises(RateLimitedError):
        portal.request_registration("A1-GF")
    # an expired code: move the clock past its life
    portal.codes.now = lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    with pytest.raises(ValidationError, match="expired"):
        portal.register("A1-GF", last_code(storage), "asha", PASSWORD)
    with pytest.raises(ValidationError, match="account number"):
        portal.request_registration("NOPE-1")


def test_staff_invite_and_a_second_account_link(society):
    storage = society.db.storage
    support = storage.create_user(username="support1", role="support", password_hash=None, actor=ADMIN)
    portal = CustomerPortal(society)
    shown = portal.invite(actor_for(storage, support), "B17-FF")
    assert shown.endswith("0000")
    me = portal.register("B17-FF", last_code(storage), "owner.b17", PASSWORD)
    with pytest.raises(PermissionDeniedError):
        portal.invite(me, "A1-GF")  # customers invite nobody
    portal.invite(actor_for(storage, support), "A1-GF")
    portal.link_account(me, "A1-GF", last_code(storage))
    me = actor_for(storage, storage.get_user(username="owner.b17"))
    assert {a.code for a in portal.accounts(me)} == {"B17-FF", "A1-GF"}
    assert len(storage.list_audit(action_prefix="customer.invite").items) == 2


def test_a_changed_phone_takes_effect_only_with_the_code_sent_to_it(society):
    portal, me = register(society)
    storage = society.db.storage
    acct = portal.accounts(me)[0]
    sent = portal.request_contact_change(me, acct.id, "phone", "+91 98765 43210")
    assert sent.sent_to.endswith("3210")
    assert portal.account(me, acct.id).contact_phone == "+910000000000"  # not yet
    with pytest.raises(ValidationError):
        portal.confirm_contact_change(me, "phone", "999999" if last_code(storage) != "999999" else "888888")
    portal.confirm_contact_change(me, "phone", last_code(storage))
    assert portal.account(me, acct.id).contact_phone == "+91 98765 43210"
    with pytest.raises(ValidationError, match="already used"):
        portal.confirm_contact_change(me, "phone", last_code(storage))
    with pytest.raises(ValidationError):
        portal.request_contact_change(me, acct.id, "phone", "12")
    other = storage.get_account(code="A1-GF")
    with pytest.raises(NotFoundError):
        portal.request_contact_change(me, other.id, "phone", "+91 98765 43210")
    portal.change_address(me, acct.id, "Flat FF, Block B")
    # audited, and Support sees it
    assert storage.list_audit(action_prefix="contact.update").items[0].actor_name == "owner.b17"
    support = actor_for(storage, storage.create_user(username="support1", role="support", password_hash=None,
                                                     actor=ADMIN))
    changes = portal.profile_changes(support, acct.id)
    assert {c.details["field"] for c in changes} == {"phone", "address"}


def test_opt_ins_are_stored_audited_and_logged(society):
    portal, me = register(society)
    storage = society.db.storage
    assert portal.preferences(me) == dict.fromkeys(portal.preferences(me), False)
    portal.set_preference(me, "paperless", True)
    portal.set_preference(me, "paperless", True)  # unchanged: nothing more written
    assert portal.preferences(me)["paperless"] is True
    assert len(storage.list_audit(action_prefix="customer.preference").items) == 1
    assert storage.list_notifications(kind="customer_preference", limit=5).total == 1
    with pytest.raises(ValidationError):
        portal.set_preference(me, "sms_spam", True)


def test_why_is_my_bill_different_compares_previous_and_last_year(society):
    portal, me = register(society)
    db = portal.view(me)
    oct_bill = next(b for b in portal.bills(me).items if b.billing_period_start == d(2026, 10, 1))
    x = insights.explain(db, oct_bill.id, me)
    prev, last_year = x.comparisons
    assert prev.bill.billing_period_start == d(2026, 9, 1) and last_year.bill.billing_period_start == d(2025, 10, 1)
    assert any("150" in p and "120" in p and "kWh" in p for p in prev.points)
    assert any("90" in p for p in last_year.points)
    assert "October 2026" in x.summary
    sept = next(b for b in portal.bills(me).items if b.billing_period_start == d(2026, 9, 1))
    assert insights.explain(db, sept.id, me).comparisons[1].bill is None  # no September 2025 bill


def test_the_anticipated_bill_for_each_utility(society, storage, today, tmp_path):
    portal, me = register(society)
    acct = portal.accounts(me)[0]
    a = insights.anticipate(portal.view(me), acct, me)
    assert a is not None and a.period_start == d(2026, 11, 1) and a.low <= a.amount <= a.high
    assert a.quantity is not None and "Forecast" in a.how


def test_the_anticipated_bill_water_and_municipal(tmp_path, today):
    from services.storage.sql_backend import SqlStorage

    for template in ("water", "municipal"):
        st = SqlStorage(f"sqlite:///{tmp_path / (template + '.db')}")
        made = make_water(st, d(2026, 8, 1), 113) if template == "water" else make_municipal(st)
        svc = build_svc(st, today, tmp_path)
        code = sorted(made["accounts"])[0]
        user = st.create_user(username="c1", role="customer", password_hash=None, actor=ADMIN)
        st.link_customer_account(user.id, made["accounts"][code], ADMIN)
        me = actor_for(st, user)
        portal = CustomerPortal(svc)
        a = insights.anticipate(portal.view(me), portal.accounts(me)[0], me)
        assert a is not None and a.low <= a.amount <= a.high and a.how
        if template == "municipal":
            assert a.quantity is None and a.low == a.amount == a.high == D("1000.00")
        else:
            assert a.quantity > 0
        st.dispose()


def test_the_portal_is_for_customers_only(society):
    portal = CustomerPortal(society)
    with pytest.raises(PermissionDeniedError):
        portal.bills(ADMIN)
    with pytest.raises(PermissionDeniedError):
        portal.preferences(Actor(None, "eng", "field_engineer"))


def test_demo_customer_passwords_pass_the_policy_and_readme_lists_them():
    from pathlib import Path

    from services.accounts.password_policy import check_password
    from scripts.seed_demo import CUSTOMER_DEMO_USERS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for username, role, _, password in CUSTOMER_DEMO_USERS.values():
        check_password(password, username)
        assert role == "customer" and f"| `{username}` | `{password}` |" in readme, username


def test_the_facades_inherited_usage_reads_go_through_the_actors_scope(tmp_path, today):
    """daily_usage and usage_by_month come from the water mixin: given a customer actor they read
    through the customer's scope even on the unscoped facade (services/storage/scoping.py actor_scoped)."""
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage(f"sqlite:///{tmp_path / 'w.db'}")
    made = make_water(st, d(2026, 10, 1), 20)
    svc = build_svc(st, today, tmp_path)
    user = st.create_user(username="c1", role="customer", password_hash=None, actor=ADMIN)
    st.link_customer_account(user.id, made["accounts"]["HS0000001"], ADMIN)
    me = actor_for(st, user)
    assert svc.db.daily_usage(made["accounts"]["HS0000001"], d(2026, 10, 1), d(2026, 10, 31), actor=me)
    for call in (svc.db.daily_usage, svc.db.usage_by_month):
        with pytest.raises(NotFoundError):
            call(made["accounts"]["HS0000002"], d(2026, 10, 1), d(2026, 10, 31), actor=me)
    st.dispose()


def test_a_customer_reports_a_problem_with_their_own_bill_as_a_ticket_and_only_their_own(society):
    """Issue 15: customers raise tickets from the portal; the ticket is the office's to review (pending,
    assigned as staff tickets are), it names the bill, and another account's bill answers not found."""
    from services.field.models import TicketFilter

    portal, me = register(society)
    mine = next(b for b in portal.bills(me).items if b.billing_period_start == d(2026, 10, 1))
    ticket = portal.report_problem(me, mine.id, "wrong_reading", "The meter showed 1520, not 1580 as billed.")
    assert (ticket.status, ticket.source, ticket.bill_id, ticket.account_id) == (
        "pending", "portal", mine.id, mine.account_id)
    assert [t.id for t in portal.my_tickets(me, mine.account_id)] == [ticket.id]
    staff_view = society.db.storage.list_tickets(TicketFilter(status=None), 0, 10).items
    assert [t.id for t in staff_view] == [ticket.id]
    theirs = society.db.list_bills(BillFilter(account_id=society.db.get_account("A1-GF").id), 0, 5).items[0]
    with pytest.raises(NotFoundError):
        portal.report_problem(me, theirs.id, "other", "Someone else's bill, by a guessed id.")
    with pytest.raises(ValidationError) as e:
        portal.report_problem(me, mine.id, "duplicate_unit", "Not a customer's kind of problem.")
    assert e.value.field == "kind"
    assert society.db.storage.list_tickets(TicketFilter(status=None), 0, 10).total == 1


def test_unlinking_by_support_and_by_the_customer_never_the_last_account(society):
    storage = society.db.storage
    support = actor_for(storage, storage.create_user(username="support1", role="support", password_hash=None,
                                                     actor=ADMIN))
    portal, me = register(society)
    portal.invite(support, "A1-GF")
    portal.link_account(me, "A1-GF", last_code(storage))
    me = actor_for(storage, storage.get_user(username="owner.b17"))
    a1, b17 = storage.get_account(code="A1-GF"), storage.get_account(code="B17-FF")
    a1_bill = portal.bills(me, a1.id).items[0]
    # the customer removes one of their own accounts; it is out of their scope from the next request on
    portal.remove_account(me, a1.id)
    me = actor_for(storage, storage.get_user(username="owner.b17"))
    assert {a.code for a in portal.accounts(me)} == {"B17-FF"}
    with pytest.raises(NotFoundError):
        portal.bill(me, a1_bill.id)
    with pytest.raises(NotFoundError):
        portal.remove_account(me, a1.id)  # no longer theirs
    with pytest.raises(ValidationError) as refused:
        portal.remove_account(me, b17.id)  # the last one stays
    assert refused.value.field == "account"
    audit = storage.list_audit(action_prefix="customer.unlinked", entity_type="account", entity_id=str(a1.id)).items
    assert [(x.actor_name, x.details["by"]) for x in audit] == [("owner.b17", "customer")]
    # Support sees the sign-ins of an account and can remove even the last link
    assert [u.username for u in portal.linked_customers(support, b17.id)] == ["owner.b17"]
    with pytest.raises(PermissionDeniedError):
        portal.unlink(me, me.user_id, b17.id)  # a customer uses remove_account, not the staff path
    assert portal.unlink(support, me.user_id, b17.id) is True
    assert portal.unlink(support, me.user_id, b17.id) is False
    assert actor_for(storage, storage.get_user(username="owner.b17")).scope.is_nothing
    assert storage.list_audit(action_prefix="customer.unlinked", entity_type="account",
                              entity_id=str(b17.id)).items[0].actor_name == "support1"
