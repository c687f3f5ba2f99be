"""Ticket manager (issue 15): the queue of complaint tickets by status, area and age, oldest first,
with counts per status, paged and filtered in the database and exportable; a ticket's details,
comments and photos; approve (applying its proposed change, audited) or reject with a reason.
Staff see only the tickets of their areas (the storage layer filters them)."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from services.field import exports as fx
from services.field import service as field
from services.field.models import TICKET_KINDS, TicketFilter
from ui import field_work as fw
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.RAISE_TICKET)
svc = services()
db = svc.db
view = db.for_actor(actor).storage
u = utility()
today = db.today()

st.title(":material/confirmation_number: Ticket manager")

with st.container(border=True):
    area_id = w.area_picker("tk_area")
    c1, c2, c3 = st.columns(3)
    status = c1.selectbox("Status", ["pending", "approved", "rejected", None], key="tk_status",
                          format_func=lambda s: s or "any")
    kind = c2.selectbox("Kind", [None, *TICKET_KINDS], key="tk_kind", format_func=lambda k: TICKET_KINDS.get(k, "any"))
    older = c3.number_input("Older than (days)", min_value=0, max_value=3650, value=0, step=1, key="tk_age")
    mine = st.toggle("Assigned to me", key="tk_mine", value=False)

counts = view.ticket_counts(area_id)
m1, m2, m3 = st.columns(3)
m1.metric("Pending", f"{w.count(counts['pending'])}")
m2.metric("Approved", f"{w.count(counts['approved'])}")
m3.metric("Rejected", f"{w.count(counts['rejected'])}")

key = "tickets"
size = w.page_size(key)
signature = (status, area_id, kind, older, mine, size)
offset = w.offset_for(key, signature)
try:
    page = field.ticket_queue(db, status=status, area_id=area_id, older_than_days=older or None, kind=kind,
                              offset=offset, limit=size, actor=actor,
                              assignee_id=actor.user_id if mine else None)
except MeterlineError as exc:
    show_error(exc)
    st.stop()
if not page.items:
    st.info("No tickets match these filters.")
    st.stop()
st.dataframe(fw.ticket_rows(page.items, today), hide_index=True, width="stretch")
w.pager(key, page, "tickets")
flt = TicketFilter(status=status, area_id=area_id, kind=kind, assignee_id=actor.user_id if mine else None)
fw.export_buttons("tickets", lambda: fx.iter_tickets(view, flt), fx.ticket_columns(u.account_label), "Tickets")

ticket = st.selectbox("Open a ticket", page.items, key="tk_open",
                      format_func=lambda t: f"#{t.id} · {t.account_code} · {TICKET_KINDS.get(t.kind, t.kind)} · "
                                            f"{t.status} · {t.age_days(today)} d")
with st.container(border=True):
    st.markdown(f"**Ticket #{ticket.id}** · {fw.status_badge(ticket.status)} · {w.esc(ticket.account_code)} · "
                f"{w.esc(ticket.area_path or '')} · raised by {w.esc(ticket.raised_by_name)} on "
                f"{w.date_text(ticket.raised_at)}" + (f" from visit #{ticket.visit_id}" if ticket.visit_id else "")
                + (f" · assigned to {w.esc(ticket.assignee_name)}" if ticket.assignee_name else ""))
    st.text(ticket.description)
    if ticket.proposed_change:
        st.markdown(f"Proposed change: {w.esc(fx._change_text(ticket.proposed_change))}")
    if ticket.applied:
        st.markdown(f"Applied: {w.esc(fx._change_text(ticket.applied))}")
    if ticket.review_reason:
        st.markdown(f"Reason: {w.esc(ticket.review_reason)}")
    for note in view.list_ticket_notes(ticket.id):
        if note.photo_ref:
            fw.show_photo(note.photo_ref, f"photo added by {note.author_name}", note.photo_url)
        else:
            st.markdown(f"*{w.esc(note.author_name)}, {w.date_text(note.created_at)}:* {w.esc(note.body)}")
    with st.form(f"tk_comment_{ticket.id}", clear_on_submit=True, border=False):
        body = st.text_input("Comment", key=f"tk_comment_text_{ticket.id}")
        if st.form_submit_button("Add comment", icon=":material/comment:"):
            try:
                field.comment(db, ticket.id, body, actor)
                st.rerun()
            except MeterlineError as exc:
                show_error(exc)
    if ticket.status == "pending" and actor.can(Permission.RESOLVE_TICKET):
        reason = st.text_input("Reason (required to reject)", key=f"tk_reason_{ticket.id}")
        b1, b2 = st.columns(2)
        decided = None
        if b1.button("Approve" + (" and apply the change" if ticket.proposed_change else ""), type="primary",
                     icon=":material/check:", key=f"tk_approve_{ticket.id}", width="stretch"):
            decided = True
        if b2.button("Reject", icon=":material/close:", key=f"tk_reject_{ticket.id}", width="stretch"):
            decided = False
        if decided is not None:
            try:
                field.review_ticket(db, ticket.id, approve=decided, reason=reason or None, actor=actor)
                st.toast(f"Ticket #{ticket.id} {'approved' if decided else 'rejected'}.")
                st.rerun()
            except MeterlineError as exc:
                show_error(exc)
