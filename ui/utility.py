"""Admin: the utility this database serves (services/accounts/utility.py).

Shows its settings (name, template, currency, locale, time zone, what an account and each area
level are called, billing day, due days) and lets an administrator rename it, change those words
and set the billing and due days (DatabaseService.update_utility: validated, audited). Template,
currency, locale, time zone and service are chosen at setup and not changed here: the stored bills
were priced and worded by them.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from ui import widgets as w
from ui.common import page_guard, service_icon, services, show_error, utility

FLASH = "utility_flash"
EXAMPLE = Decimal("1234567.50")

actor = page_guard(Permission.MANAGE_MASTER_DATA)
db = services().db
u = utility()

st.title(":material/tune: Utility")
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

st.markdown(f"### {service_icon()} {w.esc(u.name)}")
st.table(pd.DataFrame([
    {"setting": "Name", "value": u.name},
    {"setting": "Template", "value": u.template},
    {"setting": "Service", "value": u.service + (f", billed per {u.quantity_unit}" if u.quantity_unit
                                                   else ", a fixed fee (nothing metered)")},
    {"setting": "Currency", "value": f"{u.currency} ({w.currency_symbol()}), e.g. {u.money(EXAMPLE)}"},
    {"setting": "Locale", "value": f"{u.locale}, e.g. {u.number(EXAMPLE)}"},
    {"setting": "Time zone", "value": u.timezone},
    {"setting": "An account is called", "value": f"{u.account_label} / {u.account_label_plural}"},
    {"setting": "Area levels, top first", "value": " > ".join(u.area_levels)},
    {"setting": "Billing day", "value": f"day {u.billing_day} of the month"},
    {"setting": "Due", "value": f"{u.due_days} days after the billing period ends"},
]), hide_index=True)
st.caption("Template, currency, locale, time zone and service are chosen when the utility is set up: the stored "
           "bills were priced and worded by them.")

st.subheader("Edit")
with st.form("utility_edit"):
    name = st.text_input("Name", value=u.name, max_chars=64)
    c1, c2 = st.columns(2)
    label = c1.text_input("An account is called", value=u.account_label, max_chars=64,
                          help="The word for one of them, in lower case, as your staff and customers say it.")
    plural = c2.text_input("Several are called", value=u.account_label_plural, max_chars=64)
    cols = st.columns(len(u.area_levels))
    levels = [col.text_input(f"Area level {i + 1}", value=level, max_chars=32, key=f"ut_level_{i}")
              for i, (col, level) in enumerate(zip(cols, u.area_levels))]
    c1, c2 = st.columns(2)
    billing_day = c1.text_input("Billing day (1-28)", value=str(u.billing_day))
    due_days = c2.text_input("Days from the end of the period to the due date (0-90)", value=str(u.due_days))
    saved = st.form_submit_button("Save settings", type="primary", icon=":material/save:")
if saved:
    try:
        new = db.update_utility(name=name, account_label=label, account_label_plural=plural, area_levels=levels,
                                billing_day=billing_day, due_days=due_days, actor=actor)
    except MeterlineError as exc:
        show_error(exc)
    else:
        st.session_state[FLASH] = "Saved." if new != u else "Nothing changed."
        st.rerun()
