"""Field engineer: my recent submissions and what happened to them (pending / approved /
rejected with the reviewer's reason). Only the signed-in user's own readings are listed."""
from __future__ import annotations

import streamlit as st

from services.models import ReadingFilter
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, services

actor = page_guard(Permission.VIEW_OWN_SUBMISSIONS)
db = services().db

st.title(":material/history: My submissions")
STATUSES = {"All": None, "Pending": "pending", "Approved": "approved", "Rejected": "rejected"}
choice = st.segmented_control("Status", list(STATUSES), default="All", key="mine_status")
status = STATUSES.get(choice or "All")

key = "mine"
size = w.page_size(key)
offset = w.offset_for(key, (status, size))
# Always filtered to the signed-in user, also for an admin (who may see everyone's on the review page).
page = db.list_readings(ReadingFilter(status=status, submitted_by=actor.user_id), offset, size, actor=actor)
if not page.items:
    st.info("No readings submitted yet." if status is None else f"No {status} readings.")
    st.stop()

for rd in page.items:
    with st.container(border=True):
        head = (f"**{w.esc(rd.account_code or 'shared meter')}** · meter {w.esc(rd.meter_number)} · {rd.reading_date} · "
                f"{w.qty(rd.reading_value, rd.unit)} {w.badge(rd.status)}")
        st.markdown(head)
        details = [f"consumption {w.qty(rd.consumption, rd.unit)}", f"submitted {w.date_text(rd.created_at)}"]
        if rd.bill_id:
            details.append(f"billed on bill #{rd.bill_id}")
        st.caption(" · ".join(details))
        if rd.status == "rejected":
            st.error(f"Rejected: {w.esc(rd.rejection_reason)}", icon=":material/block:")
        if rd.flags and rd.status == "pending":
            st.caption(f":material/flag: {w.esc(w.flag_text(rd.flags))}")
w.pager(key, page, "readings")
