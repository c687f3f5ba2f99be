"""Shared UI plumbing: the cached composition root, the signed-in actor, page guards, and the
utility the database serves (its words and formats: every page takes them from here)."""
from __future__ import annotations

import re

import streamlit as st

from services.config import Settings
from services.container import Services, build_services
from services.accounts.roles import Actor, Permission
from services.accounts.utility import UtilitySettings

ACTOR_KEY = "actor"
SERVICE_ICONS = {"electricity": ":material/bolt:", "water": ":material/water_drop:",
                 "sanitation": ":material/cleaning_services:"}


@st.cache_resource(show_spinner="Opening the database ...")
def _services(settings: Settings) -> Services:
    return build_services(settings)


# The services of each configuration in this process, in front of _services: Streamlit hashes a
# cached function's arguments on every call (field by field), and services() is called for every
# amount and quantity a page formats. Settings is frozen, so its own hash is the key here.
_BUILT: dict[Settings, Services] = {}
_SCOPED_KEY = "_scoped_db"  # (unscoped db, actor, the actor's scoped view of it)


def shared_services() -> Services:
    """The services of the configuration in the environment, unscoped (built once per process)."""
    settings = Settings.from_env()
    svc = _BUILT.get(settings)
    if svc is None:
        svc = _BUILT[settings] = _services(settings)
    return svc


def services() -> Services:
    """Services built once per configuration (keyed by the settings), with the database as the
    signed-in user may see it: an area-limited user's every read is filtered to their areas by the
    storage layer (DatabaseService.for_actor; services/accounts/scopes.py), so no page can forget it.
    That database view is built once per signed-in actor and kept in their session."""
    svc = shared_services()
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None or actor.scope.is_everything:
        return svc
    import dataclasses

    kept = st.session_state.get(_SCOPED_KEY)
    if kept is None or kept[0] is not svc.db or kept[1] != actor:
        kept = (svc.db, actor, svc.db.for_actor(actor))
        st.session_state[_SCOPED_KEY] = kept
    return dataclasses.replace(svc, db=kept[2])  # the other services as they are now


def utility() -> UtilitySettings:
    """The utility this database serves: its name, account and area words, money and number formats."""
    return services().db.utility()


def service_icon() -> str:
    return SERVICE_ICONS.get(utility().service, ":material/receipt_long:")


def name_logo(name: str) -> str:
    """The utility's name as a small SVG for st.logo (the top of the sidebar and, on a phone, of the
    page). The name is the admin's text: XML-escaped, and an image never runs anything."""
    from html import escape

    width = 16 + 11 * len(name)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="28" viewBox="0 0 {width} 28">'
            f'<text x="0" y="21" font-family="Helvetica, Arial, sans-serif" font-size="20" '
            f'font-weight="700" fill="#31333F">{escape(name)}</text></svg>')


def billing_source() -> str:
    """How the utility's plan gets the quantity it bills: "readings" (approved meter readings),
    "usage" (daily usage) or "none" (a fixed fee), as the month run does (services/billing/pricing.py)."""
    from services.billing.pricing import QUANTITY_SOURCE

    u = utility()
    kinds = [sp.plan.kind for sp in services().db.tariff_plans() if sp.plan.service == u.service]
    if kinds:
        return QUANTITY_SOURCE[kinds[0]]
    return "readings" if u.quantity_unit else "none"


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def page_guard(permission: Permission) -> Actor:
    """First line of every page: stop unless the signed-in user holds the permission.
    (Navigation already hides pages a role may not open; this also covers direct URLs.)"""
    actor = current_actor()
    if actor is None:
        st.error("Please sign in.")
        st.stop()
    if not actor.can(permission):
        st.error("You do not have access to this page.")
        st.stop()
    return actor


# A service's field name as the page labels it, where the two differ ("flat_units" is "Monthly units").
FIELD_LABELS = {"flat_units": "Monthly units", "units": "Monthly units", "motor_units": "Shared meter units"}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field) or field.replace("_", " ").capitalize()


_RAW_AMOUNT = re.compile(r"(?<![\w.,#-])(\d{4,})\.(\d{2})(?!\d|\.\d)")  # 571347.35, not BC-2026-000123 or 12345.6


def group_numbers(text: str, number) -> str:
    """Amounts a service wrote plainly ("571347.35 is more than the 4500.00 still due") in the utility's
    number format (5,71,347.35 with Indian grouping): one number format in every message."""
    from decimal import Decimal

    return _RAW_AMOUNT.sub(lambda m: number(Decimal(f"{m.group(1)}.{m.group(2)}")), text)


def _plain(text: str) -> str:
    try:
        return group_numbers(text, utility().number)
    except Exception:  # no utility to format by (a broken database): the message as it is
        return text


def readable(text) -> str:
    """A service's message (an exception's text) with its amounts in the utility's number format,
    for pages that keep a message to show later rather than calling show_error now."""
    return _plain(str(text))


def show_error(exc: Exception) -> None:
    """A plain sentence for a typed error (field and fix for validation errors)."""
    from services.errors import ValidationError, ValidationErrors

    if isinstance(exc, ValidationErrors):
        for e in exc.errors:
            show_error(e)
        return
    if isinstance(exc, ValidationError):
        label = field_label(exc.field)
        if exc.message.strip() == "is required.":  # a sentence that says what to do: "Enter the reading value."
            fix = f" {exc.fix}" if exc.fix and not exc.fix.lower().startswith(("enter ", "type ")) else ""
            st.error(f"Enter the {label[0].lower() + label[1:]}.{fix}", icon=":material/edit:")
            return
        st.error(_plain(f"**{label}**: {exc.message}" + (f" {exc.fix}" if exc.fix else "")))
        return
    st.error(_plain(str(exc)))
