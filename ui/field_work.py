"""Field operations shown inside other pages (issue 15): a unit's visits and tickets, and the
pieces the Log a visit, Visits and Ticket manager pages share.

`render_unit_tickets_and_visits(account_id)` is the unit page's section (called from the account
detail of ui/accounts.py; the account timeline page calls it too). Everything is read through the
signed-in actor's scoped view: a unit outside the actor's areas shows nothing.
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from services.field import exports as fx
from services.field import service as field
from services.field.models import TICKET_KINDS, VISIT_OUTCOMES, Ticket, TicketFilter, Visit, VisitFilter
from ui import widgets as w
from ui.common import current_actor, services, show_error, utility


def status_badge(status: str) -> str:
    colour = {"pending": "orange", "approved": "green", "rejected": "red"}.get(status, "gray")
    return f":{colour}-badge[{status}]"


def distance_text(v: Visit) -> str:
    if v.distance_m is None:
        return "no position" if v.gps_lat is None else "unit has no GPS"
    text = f"{v.distance_m:,.0f} m"
    return text + (f" (over {v.radius_m} m)" if v.flagged else "")


def visit_rows(visits: list[Visit]) -> list[dict]:
    label = utility().account_label
    return [{"visit": v.id, label: v.account_code, "when": w.date_text(v.visited_at), "agent": v.agent_name,
             "outcome": VISIT_OUTCOMES.get(v.outcome, v.outcome), "distance": distance_text(v),
             "flagged": "yes" if v.flagged else "", "photo": "yes" if v.photo_ref or v.photo_url else "", "status": v.status,
             "reviewed by": v.reviewed_by_name or "", "reason": v.review_reason or "", "notes": v.notes or ""}
            for v in visits]


def ticket_rows(tickets: list[Ticket], today: dt.date) -> list[dict]:
    label = utility().account_label
    return [{"ticket": t.id, label: t.account_code, "area": t.area_path or "",
             "kind": TICKET_KINDS.get(t.kind, t.kind), "age (days)": t.age_days(today), "status": t.status,
             "raised by": t.raised_by_name, "raised": w.date_text(t.raised_at), "assignee": t.assignee_name or "",
             "change": fx._change_text(t.proposed_change), "from": t.source + (f" #{t.visit_id}" if t.visit_id else ""),
             "description": t.description, "comments": t.comments, "photos": t.attachments} for t in tickets]


def export_buttons(key: str, rows_fn, columns, sheet: str) -> None:
    """CSV and Excel downloads of a filter (read page by page when clicked)."""
    c1, c2 = st.columns(2)
    c1.download_button("Export CSV", data=lambda: fx.export_bytes(rows_fn(), columns, "csv", sheet),
                       file_name=f"{key}.csv", mime="text/csv", icon=":material/download:", key=f"{key}_csv",
                       width="stretch")
    c2.download_button("Export Excel", data=lambda: fx.export_bytes(rows_fn(), columns, "xlsx", sheet),
                       file_name=f"{key}.xlsx", icon=":material/table_view:", key=f"{key}_xlsx", width="stretch",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def show_photo(ref: str | None, caption: str, url: str | None = None) -> None:
    """The local copy when this server has it, else the remote copy (Cloudinary/Drive URL), as meter photos."""
    path = services().photos.path_for(ref)
    if path is not None:
        st.image(str(path), caption=caption, width=240)
    elif url:
        st.image(url, caption=caption, width=240)


def render_unit_tickets_and_visits(account_id: int, actor=None) -> None:
    """The unit's visits (newest first) and tickets (oldest first), paged in the database, in the
    actor's scope; with a link to log a visit for the unit."""
    actor = actor or current_actor()
    if actor is None:
        return
    svc = services()
    view = svc.db.for_actor(actor).storage
    account = view.get_account(account_id=account_id)
    if account is None:
        return
    st.subheader("Field visits and tickets")
    if actor.can(Permission.LOG_VISIT):
        st.page_link("ui/field_visit.py", label=f"Log a visit to {account.code}", icon=":material/add_location_alt:",
                     query_params={"account": account.code})
    if actor.can(Permission.RAISE_TICKET):
        with st.expander(f"Raise a ticket about {account.code}", icon=":material/confirmation_number:"):
            ticket = ticket_form(f"unit_ticket_{account_id}", account_id, actor)
            if ticket is not None:
                st.success(f"Raised ticket #{ticket.id} for the supervisor.", icon=":material/confirmation_number:")
    key = f"unit_visits_{account_id}"
    size = w.page_size(key, 5)
    page = view.list_visits(VisitFilter(account_id=account_id), w.offset_for(key, (account_id, size)), size)
    if page.items:
        st.markdown("**Visits**")
        st.dataframe(visit_rows(page.items), hide_index=True, width="stretch")
        w.pager(key, page, "visits")
    else:
        st.caption("No visits logged for this unit.")
    key = f"unit_tickets_{account_id}"
    size = w.page_size(key, 5)
    tickets = view.list_tickets(TicketFilter(status=None, account_id=account_id), w.offset_for(key, (account_id, size)),
                                size)
    if tickets.items:
        st.markdown("**Tickets**")
        st.dataframe(ticket_rows(tickets.items, svc.db.today()), hide_index=True, width="stretch")
        w.pager(key, tickets, "tickets")
    else:
        st.caption("No tickets raised for this unit.")


def raise_from_bill(bill_id: int, actor) -> None:
    """Under a bill: raise a ticket about it (payment not posted, wrong category or fee ...)."""
    if not actor.can(Permission.RAISE_TICKET):
        return
    bill = services().db.for_actor(actor).storage.get_bill(bill_id)
    if bill is None:
        return
    with st.expander("Raise a ticket about this bill", icon=":material/confirmation_number:"):
        ticket = ticket_form(f"bill_ticket_{bill.id}", bill.account_id, actor, bill_id=bill.id)
        if ticket is not None:
            st.success(f"Raised ticket #{ticket.id} for the supervisor.", icon=":material/confirmation_number:")


def ticket_form(key: str, account_id: int, actor, *, visit: Visit | None = None,
                bill_id: int | None = None) -> Ticket | None:
    """Raise a ticket for the unit (from a visit when given), optionally proposing a data change."""
    with st.form(key, clear_on_submit=False, border=True):
        kind = st.selectbox("Kind", list(TICKET_KINDS), format_func=TICKET_KINDS.get, key=f"{key}_kind")
        description = st.text_area("What is wrong", key=f"{key}_desc", max_chars=field.MAX_TEXT,
                                   placeholder="e.g. The unit is a bakery now, billed as a tailor.")
        st.caption("Proposed change (applied only when a supervisor approves the ticket)")
        c1, c2 = st.columns(2)
        category = c1.text_input("New category", key=f"{key}_cat")
        account_type = c2.text_input("New type", key=f"{key}_type")
        deactivate = st.checkbox("Deactivate the unit (closed)", key=f"{key}_off")
        c3, c4 = st.columns(2)
        contact_name = c3.text_input("Corrected contact name", key=f"{key}_cname")
        contact_phone = c4.text_input("Corrected phone", key=f"{key}_cphone")
        sent = st.form_submit_button("Raise ticket", icon=":material/confirmation_number:", width="stretch")
    if not sent:
        return None
    try:
        change = field.proposed_change(category=category, account_type=account_type, deactivate=deactivate,
                                       contact={"name": contact_name, "phone": contact_phone})
        return field.raise_ticket(services().db, account_id, kind, description, actor=actor, change=change,
                                  visit_id=visit.id if visit else None, bill_id=bill_id,
                                  photo_refs=(visit.photo_ref,) if visit and visit.photo_ref else (),
                                  photo_urls=(visit.photo_url,) if visit and visit.photo_ref else ())
    except MeterlineError as exc:
        show_error(exc)
        return None
