"""Shared parts of the customer portal's pages (issue 16): the portal service, the customer guard and
the account picker. Mobile-first: one column, full-width buttons (large tap targets)."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Actor, Permission
from services.customers.portal import CustomerPortal
from services.models import Account
from ui import widgets as w
from ui.common import page_guard


def portal() -> CustomerPortal:
    """The portal service over the unscoped services: it binds every read to the customer's scope
    itself (CustomerPortal.view), and needs the unscoped storage only for the customer's own records."""
    from ui.common import shared_services

    return CustomerPortal(shared_services())


def guard() -> Actor:
    return page_guard(Permission.USE_PORTAL)


def pick_account(actor: Actor, key: str = "portal_account") -> Account | None:
    """The customer's account this page shows: the only one, or a choice among their linked accounts."""
    accounts = portal().accounts(actor)
    if not accounts:
        st.info(f"No {w.word()} is linked to your sign-in yet. Ask the office for an invitation code, or add one "
                "on **My profile**.")
        return None
    if len(accounts) == 1:
        return accounts[0]
    labels = {a.id: f"{a.code} · {a.name}" for a in accounts}
    chosen = st.selectbox(w.word(capital=True), list(labels), format_func=labels.get, key=key)
    return next(a for a in accounts if a.id == chosen)
