"""Admin: the utility's accounts (flats, consumer units, customers).

A list searched (code prefix, or part of the name or the primary contact's name) and filtered
(area at any level, category, active or not) and paginated in the database (DatabaseService.
list_accounts); with ?account=<code> in the URL, one account: its details, its contact, its
service connection and plan, what it owes and its bills (paginated, each opening the bill page); for a
municipal consumer unit also its survey and photo, name/contact history, the payments on its bills and
the place for tickets and visits (ui/unit_detail.py).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from services.models import AccountFilter, BillFilter
from ui import portal_support
from ui import account_page, customer_water, field_work, unit_detail, widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.VIEW_BILLS)
db = services().db
u = utility()
label, labels = u.label(capital=True), u.label(plural=True, capital=True)


def _open(code: str) -> None:
    st.query_params["account"] = code


def _area_names(area_id: int) -> str:
    """The account's areas by name, top first (Block B > First Floor), up from its leaf area."""
    names = []
    area = db.get_area(area_id)
    while True:
        names.append(area.name)
        if area.parent_id is None:
            return " > ".join(reversed(names))
        area = db.get_area(area.parent_id)


def _detail(code: str) -> None:
    if st.button(f"All {u.account_label_plural}", icon=":material/arrow_back:", key="back_to_accounts"):
        del st.query_params["account"]
        st.rerun()
    try:
        acct = db.get_account(code)
    except MeterlineError as exc:
        show_error(exc)
        return
    st.title(f":material/home_work: {w.esc(label)} {w.esc(acct.code)}")
    st.markdown(f"**{w.esc(acct.name or '-')}** · {w.esc(_area_names(acct.area_id))} · "
                + (":green-badge[active]" if acct.is_active else ":gray-badge[inactive]"))
    levels = " > ".join(u.area_levels)
    c1, c2 = st.columns(2)
    with c1.container(border=True):
        st.markdown("**Details**")
        st.table(pd.DataFrame([
            {"field": "Code", "value": acct.code}, {"field": "Name", "value": acct.name or ""},
            {"field": f"Area ({levels})", "value": _area_names(acct.area_id)},
            {"field": "Category", "value": acct.category or ""}, {"field": "Type", "value": acct.account_type or ""},
            {"field": "Address", "value": acct.address or ""},
            {"field": "GPS", "value": f"{acct.gps_lat}, {acct.gps_lon}" if acct.gps_lat is not None else ""},
            {"field": "Since", "value": w.date_text(acct.created_at)},
        ]), hide_index=True)
    with c2.container(border=True):
        st.markdown("**Contact**")
        if acct.contact_name or acct.contact_phone or acct.contact_email:
            st.markdown(f"{w.esc(acct.contact_name or '-')} (primary)  \n"
                        f"{w.esc(acct.contact_phone or 'no phone')} · {w.esc(acct.contact_email or 'no email')}")
        else:
            st.caption("No contact recorded.")
        customer_water.contact_editor(acct, actor)
        portal_support.portal_changes(acct, actor)  # what the customer changed in the portal (issue 16)
        portal_support.linked_sign_ins(acct, actor)  # the customer sign-ins of the account; Support unlinks
        st.markdown("**Service**")
        try:
            conn = db.service_connection(acct)
        except MeterlineError:
            st.caption(f"Not connected to {u.service}: it is not billed.")
        else:
            plan = db.plan_book().plan(conn.tariff_plan_id).plan
            st.markdown(f"{w.esc(conn.service)} · {w.esc(plan.name)} ({w.esc(plan.code)})"
                        + ("" if conn.is_active else " · :gray-badge[inactive]"))
        st.metric("Owes on open bills", w.money(db.account_outstanding(acct.id)))
    if u.service == "water":
        customer_water.usage_section(acct, actor)
    municipal = u.service == "sanitation"
    if municipal:
        unit_detail.survey_section(acct)
        unit_detail.history_section(acct)
    field_work.render_unit_tickets_and_visits(acct.id, actor)  # issue 15: this unit's tickets and visits
    account_page.render(acct, actor)  # issue 18: readings, bills, payments, notifications, audit as one timeline

    st.subheader("Bills")
    key = f"acct_bills_{acct.id}"
    size = w.page_size(key, 10)
    offset = w.offset_for(key, (acct.id, size))
    page = db.list_bills(BillFilter(account_id=acct.id), offset, size, actor=actor)
    if not page.items:
        st.caption(f"No bills for this {u.account_label} yet.")
        return
    st.dataframe(w.amounts_table([{"bill": b.id, "period": f"{b.billing_period_start} to {b.billing_period_end}",
                                   "due": b.due_date.isoformat(), "total": b.total_amount, "paid": b.amount_paid,
                                   "balance": b.balance, "status": b.status.replace("_", " ")} for b in page.items],
                                 money_columns=("total", "paid", "balance")), hide_index=True, width="stretch",
                 column_config=w.amount_columns("total", "paid", "balance"))
    w.pager(key, page, "bills")
    if municipal:
        unit_detail.payments_section(page.items)
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    bill = c1.selectbox("Open a bill", page.items, key=f"ac_bill_{acct.id}",
                        format_func=lambda b: f"#{b.id} · {b.billing_period_start:%Y-%m} · {w.money(b.total_amount)} · "
                                              f"{b.status.replace('_', ' ')}")
    c2.page_link("ui/bills.py", label=f"Open bill #{bill.id}", icon=":material/open_in_new:",
                 query_params={"bill": bill.id})
    archived = db.for_actor(actor).storage.find_archived_bills(account_code=acct.code, limit=12)
    if archived.items:  # settled bills older than the kept months (issue 14): read-only, newest first
        with st.expander(f"Archived bills ({w.count(archived.total)})", icon=":material/inventory_2:"):
            st.dataframe(w.amounts_table([{"bill": b.bill_number or b.id, "PSID": b.psid or "",
                                           "period": f"{b.billing_period_start} to {b.billing_period_end}",
                                           "total": b.total_amount, "paid": b.amount_paid,
                                           "status": b.status.replace("_", " ")} for b in archived.items],
                                         money_columns=("total", "paid")), hide_index=True, width="stretch",
                         column_config=w.amount_columns("total", "paid"))
            st.caption("Settled bills older than the kept months, moved to the bill archive; the newest 12 are shown.")


wanted = st.query_params.get("account")
if wanted:
    _detail(wanted)
    st.stop()

st.title(f":material/home_work: {w.esc(labels)}")
with st.container(border=True):
    area_id = w.area_picker("ac_area")
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    search = c1.text_input("Search", key="ac_search", icon=":material/search:",
                           placeholder=f"{label} code, or part of a name",
                           help=f"The start of a {u.account_label} code, or part of its name or its contact's name.")
    category = c2.text_input("Category", key="ac_category", help="Exactly as shown in the list.")
    active_only = c3.toggle("Active only", key="ac_active", value=True)

flt = AccountFilter(area_id=area_id, category=category.strip() or None, search=search.strip() or None,
                    is_active=True if active_only else None)
key = "accounts"
size = w.page_size(key)
offset = w.offset_for(key, (flt, size))
page = db.list_accounts(flt, offset, size, actor=actor)
if not page.items:
    st.info(f"No {u.account_label_plural} match these filters.")
    st.stop()
st.dataframe([{u.account_label: a.code, "name": a.name or "", "area": a.area_path or "", "area name": a.area_name or "",
               "category": a.category or "", "type": a.account_type or "", "contact": a.contact_name or "",
               "phone": a.contact_phone or "", "active": "yes" if a.is_active else "no"} for a in page.items],
             hide_index=True, width="stretch", height=35 * (len(page.items) + 1) + 3)
w.pager(key, page, u.account_label_plural)

c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
chosen = c1.selectbox(f"Open a {u.account_label}", page.items, key="ac_open",
                      format_func=lambda a: f"{a.code} · {a.name or a.contact_name or ''} · {a.area_name or ''}")
if c2.button("Open", icon=":material/open_in_new:", key="ac_open_btn", width="stretch"):
    _open(chosen.code)
    st.rerun()

# The map of the filtered units' GPS points (the municipal survey's; a capped sample, newest filter,
# read through the user's scope like the list). Points show without map tiles when offline.
MAP_POINTS = 2000
if any(a.gps_lat is not None for a in page.items) and st.toggle("Show on a map", key="ac_map",
                                                                 help=f"Up to {w.count(MAP_POINTS)} of the filtered "
                                                                      f"{u.account_label_plural} with GPS."):
    sample = db.list_accounts(flt, 0, MAP_POINTS, actor=actor).items
    points = pd.DataFrame([{"lat": float(a.gps_lat), "lon": float(a.gps_lon)} for a in sample
                           if a.gps_lat is not None])
    st.map(points, latitude="lat", longitude="lon", size=20, height=420)
    st.caption(f"{w.count(len(points))} of {w.count(page.total or 0)} {u.account_label_plural} shown "
               f"(the first {w.count(MAP_POINTS)} of the filter at most).")
