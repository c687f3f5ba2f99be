"""Bill archive (issue 14): settled bills older than the kept months leave the live tables, a month at
a time; find an archived bill by PSID or account; move a month back. The head office and admins
(MANAGE_ARCHIVE); the rules are in services/billing/archive.py."""
from __future__ import annotations

import os

import streamlit as st

from services.accounts.roles import Permission
from services.billing.archive import MIN_ARCHIVE_AFTER_MONTHS, after_months_from_env, first_kept_month
from services.billing.archiving import archive_month, describe, restore_month
from services.billing.periods import month_key
from services.errors import MeterlineError
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.MANAGE_ARCHIVE)
db = services().db
storage = db.for_actor(actor).storage
zone = utility().zone
st.title(":material/inventory_2: Bill archive")
try:
    default_months = after_months_from_env(os.environ)
except MeterlineError:
    default_months = 12
st.caption(f"Settled bills older than the last {default_months} months move to archive tables, "
           "a month at a time, so the live tables stay the size of a year. A bill moves with its lines, payments and "
           "seal when it is paid, carried forward, cancelled or replaced, its account has a newer bill inside the kept "
           "months, and no ticket names it; open bills never move. Each move is counted before and after and undone "
           "unless both agree. Reports and the dashboard keep counting archived months. The scheduled job *Bill "
           "archive* does this on the 2nd of each month.")

flash = st.session_state.pop("archive_flash", None)
if flash:
    st.success(flash)

st.subheader("Find an archived bill")
with st.form("archive_find"):
    c1, c2 = st.columns(2)
    psid = c1.text_input("PSID", max_chars=17, key="archive_psid", placeholder="17 digits")
    account = c2.text_input("Account", max_chars=32, key="archive_account", placeholder="account code")
    find = st.form_submit_button("Search the archive", icon=":material/search:")
if find:
    try:
        page = storage.find_archived_bills(psid=psid or None, account_code=account or None, limit=100)
    except MeterlineError as exc:
        show_error(exc)
    else:
        if not page.items:
            st.info("No archived bill matches. Bills of the kept months are on **Bills and payments**.")
        else:
            st.dataframe([{"Bill": b.bill_number or f"#{b.id}", "PSID": b.psid or "", "Account": b.account_code or "",
                           "Period": f"{b.billing_period_start} to {b.billing_period_end}",
                           "Total": w.money(b.total_amount), "Paid": w.money(b.amount_paid), "Status": b.status}
                          for b in page.items], hide_index=True, width="stretch")
            st.caption(f"{w.count(page.total)} archived bill(s), newest first.")

st.subheader("Archive a month")
first_kept = first_kept_month(db.today(), default_months)
with st.form("archive_month"):
    c1, c2 = st.columns(2)
    month = c1.text_input("Bill month (YYYY-MM)", max_chars=7, key="archive_month_value",
                          help=f"A month before {month_key(first_kept)}.")
    months = c2.number_input("Months kept live", min_value=MIN_ARCHIVE_AFTER_MONTHS, max_value=120,
                             value=default_months, key="archive_months")
    preview = st.form_submit_button("Preview", icon=":material/preview:")
    move = st.form_submit_button("Archive the month", icon=":material/inventory_2:", type="primary")
if preview or move:
    try:
        out = archive_month(storage, month, db.today(), actor, after_months=int(months), dry_run=bool(preview))
    except MeterlineError as exc:
        show_error(exc)
    else:
        if preview:
            st.info(describe(out) + ". Nothing was moved.")
        else:
            st.session_state["archive_flash"] = describe(out) + "."
            st.rerun()

st.subheader("Archived months")
archived = storage.list_archived_months()
if not archived:
    st.info("No month is archived.")
else:
    st.dataframe([{"Month": m.month, "Bills": w.count(m.counts.bills), "Total": w.money(m.counts.total_amount),
                   "Paid": w.money(m.counts.amount_paid), "Lines": w.count(m.counts.lines),
                   "Payments": w.count(m.counts.payments), "Stayed live": w.count(m.kept_live),
                   "Archived": m.archived_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "By": m.archived_by}
                  for m in archived], hide_index=True, width="stretch")
    with st.form("archive_restore"):
        back = st.selectbox("Month to move back", [m.month for m in archived], key="archive_restore_month",
                            help="Newest first: a month whose balances were carried into a later archived month "
                                 "comes back after it.")
        sure = st.checkbox("Move this month's archived bills back to the live tables", key="archive_restore_sure")
        restore = st.form_submit_button("Restore the month", icon=":material/unarchive:")
    if restore:
        if not sure:
            st.error("**Confirm**: tick *Move this month's archived bills back* to restore it.")
        else:
            try:
                out = restore_month(storage, back, actor)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state["archive_flash"] = describe(out) + "."
                st.rerun()
