"""Customers land in the portal and never see staff navigation; staff never see portal pages
(ui/registry.py: PageSpec.for_customers), whatever permissions a role holds."""
from services.accounts.roles import ROLES, Actor, Permission
from services.accounts.scopes import Scope
from ui.registry import PAGES


def _titles(actor):
    return [p.title for p in PAGES if p.opens_for(actor)]


def test_a_customer_opens_only_the_portal_and_lands_on_my_bills():
    customer = Actor(7, "flatowner", "customer", "t", Scope(frozenset({"B/FF"}), frozenset({3})))
    titles = _titles(customer)
    assert titles[0] == "My bills"
    assert set(titles) == {"My bills", "My usage", "Alerts and paperless", "My profile"}
    assert all(p.for_customers for p in PAGES if p.opens_for(customer))


def test_staff_never_see_portal_pages():
    for role in ROLES:
        if ROLES[role].customer:
            continue
        actor = Actor(1, "x", role, "t")
        assert not any(p.for_customers for p in PAGES if p.opens_for(actor)), role
        assert not actor.can(Permission.USE_PORTAL)
    assert "Invite a customer" in _titles(Actor(1, "s", "support", "t"))

