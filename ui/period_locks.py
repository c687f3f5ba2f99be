"""Period locks (admins): lock a month (month and reason, audited) and list the locks with who
locked them, when, and how many bills ended in the month then. There is no unlock: period_locks
is append-only in the database, and nothing in the app removes a lock."""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from services.billing.periods import month_key, parse_month, previous_month
from services.accounts.roles import Permission
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.MANAGE_LOCKS)
db = services().db
st.title(":material/lock: Period locks")
st.caption("A locked month is closed for billing: no bill may end in it or cover any day of it, a month run "
           "whose period touches it is refused whole, and the database itself refuses such a bill. "
           "**A lock cannot be removed.**")

flash = st.session_state.pop("locks_flash", None)
if flash:
    st.success(flash)

with st.form("lock_month", clear_on_submit=False):
    month = st.text_input("Month to lock (YYYY-MM)", value=previous_month(db.today()), max_chars=7,
                          key="lock_month_value")
    reason = st.text_input("Reason", max_chars=500, placeholder="books audited by the committee",
                           help="Why the month is closed; stored with the lock and in the audit log.", key="lock_reason")
    sure = st.checkbox("I understand that a lock cannot be removed", key="lock_confirm")
    submitted = st.form_submit_button("Lock month", icon=":material/lock:")
if submitted:
    if not sure:
        st.error("**Confirm**: tick *I understand that a lock cannot be removed* to lock the month.")
    else:
        try:
            locked_now = db.lock_month(month, reason, actor=actor)
        except MeterlineError as exc:
            show_error(exc)
        else:
            key = month_key(parse_month(month))
            st.session_state["locks_flash"] = (f"Locked {key}: no bill may touch it from now on." if locked_now
                                               else f"{key} was already locked; nothing changed.")
            st.rerun()

locks = db.list_period_locks(actor=actor)
zone = utility().zone
st.subheader("Locked months")
if not locks:
    st.info("No month is locked.")
else:
    st.dataframe(
        [{"Month": lk.month, "Reason": lk.reason, "Locked by": lk.locked_by,
          "Locked at": lk.locked_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if lk.locked_at else "",
          "Bills at lock": lk.bill_count_at_lock} for lk in locks],
        hide_index=True, width="stretch")
    st.caption(f"{len(locks)} locked month(s). Times in {zone.key}. *Bills at lock*: bills ending in the month "
               "when it was locked.")
