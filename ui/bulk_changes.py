"""Bulk changes (issue 14; managers in their areas, the head office everywhere): mark the open bills
of a filter paid, or activate / deactivate the consumer units of a filter. A preview shows exactly
what changes; a reason is required; one audit entry records it (services/municipal/bulk.py)."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Permission
from services.billing.periods import month_key
from services.errors import MeterlineError
from services.models import AccountFilter, BillFilter
from services.municipal import bulk
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.BULK_UPDATE)
db = services().db
u = utility()
st.title(":material/checklist: Bulk changes")
st.caption(f"Select with a filter, check the preview, give a reason, apply. At most {w.count(bulk.MAX_SELECTION)} at once; "
           "every change is audited with your name and the reason."
           + ("" if actor.scope.is_everything else f" Your areas only: {w.esc(actor.scope.describe())}."))
flash = st.session_state.pop("bulk_flash", None)
if flash:
    st.success(flash)

bills_tab, units_tab = st.tabs([":material/paid: Mark bills paid", f":material/toggle_on: Activate / deactivate "
                                f"{u.account_label_plural}"])

with bills_tab:
    import datetime as dt

    today = db.today()
    months, cur = [], today.replace(day=1)
    for _ in range(13):
        months.append(month_key(cur))
        cur = (cur - dt.timedelta(days=1)).replace(day=1)
    c1, c2 = st.columns(2)
    month = c1.selectbox("Bill month", [None, *months], format_func=lambda m: "Any month" if m is None else m,
                         key="bk_month")
    overdue = c2.toggle("Overdue only", key="bk_overdue")
    area_id = w.area_picker("bk_area")
    flt = BillFilter(period_month=month, area_id=area_id, overdue_only=overdue, as_of=today if overdue else None)
    try:
        pv = bulk.preview_bills_paid(db, flt, actor)
    except MeterlineError as exc:
        show_error(exc)
        st.stop()
    if pv.too_many:
        st.warning(f"More than {w.count(bulk.MAX_SELECTION)} open bills match: narrow the filter.")
    elif not pv.count:
        st.info("No open bills match these filters.")
    else:
        st.markdown(f"**Preview:** {w.count(pv.count)} open bill(s) would be marked paid, recording their balances, "
                    f"{w.money(pv.amount)} in all, as payments.")
        st.dataframe([{"bill": b.id, u.account_label: b.account_code, "period": f"{b.billing_period_start:%Y-%m}",
                       "balance": w.money(b.balance), "status": b.status.replace("_", " ")} for b in pv.sample],
                     hide_index=True, width="stretch")
        if pv.count > len(pv.sample):
            st.caption(f"The first {len(pv.sample)} of {w.count(pv.count)}.")
        with st.form("bulk_bills"):
            paid_on = st.date_input("Paid on", value=today, max_value=today)
            reason = st.text_input("Reason (required)", placeholder="e.g. bank confirmed the collection, letter 2026-11-20")
            go = st.form_submit_button(f"Mark {w.count(pv.count)} bill(s) paid", icon=":material/paid:")
        if go:
            try:
                n = bulk.mark_bills_paid(db, flt, paid_on, reason, actor)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state["bulk_flash"] = f"Marked {w.count(n)} bill(s) paid."
                st.rerun()

with units_tab:
    target = st.radio("Make them", ["inactive", "active"], horizontal=True, key="bk_target")
    area2 = w.area_picker("bk_uarea")
    c1, c2 = st.columns(2)
    category = c1.text_input("Category", key="bk_category")
    search = c2.text_input("Search", key="bk_search", placeholder=f"{u.label(capital=True)} code or part of a name")
    active = target == "active"
    aflt = AccountFilter(area_id=area2, category=category.strip() or None, search=search.strip() or None)
    try:
        apv = bulk.preview_accounts_active(db, aflt, active, actor)
    except MeterlineError as exc:
        show_error(exc)
        st.stop()
    if apv.too_many:
        st.warning(f"More than {w.count(bulk.MAX_SELECTION)} {u.account_label_plural} match: narrow the filter.")
    elif not apv.count:
        st.info(f"No {'inactive' if active else 'active'} {u.account_label_plural} match these filters.")
    else:
        st.markdown(f"**Preview:** {w.count(apv.count)} {u.account_label_plural} would become **{target}**.")
        st.dataframe([{u.account_label: a.code, "name": a.name or "", "area": a.area_path or "",
                       "category": a.category or ""} for a in apv.sample], hide_index=True, width="stretch")
        if apv.count > len(apv.sample):
            st.caption(f"The first {len(apv.sample)} of {w.count(apv.count)}.")
        with st.form("bulk_units"):
            ureason = st.text_input("Reason (required)", key="bk_ureason",
                                    placeholder="e.g. units demolished, survey of 2026-11")
            ugo = st.form_submit_button(f"Make {w.count(apv.count)} {target}", icon=":material/toggle_on:")
        if ugo:
            try:
                n = bulk.set_accounts_active(db, aflt, active, ureason, actor)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state["bulk_flash"] = f"{w.count(n)} {u.account_label_plural} are now {target}."
                st.rerun()
