"""Parts of the customer page (ui/accounts.py, one account) for a water utility and for Support:
the contact editor (phone, e-mail, address; audited), and usage: the last months by month
(aggregated in the database), the daily chart of the last 90 days with the band of the latest
anomaly, the customer's anomalies, and the forecast of this month's usage."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from services.accounts.roles import Actor, Permission
from services.errors import MeterlineError
from services.models import Account, AnomalyFilter
from services.readings.anomalies import METHOD_LABELS, OUTCOME_LABELS
from services.water_service import band
from ui import widgets as w
from ui.common import services, show_error


def contact_editor(acct: Account, actor: Actor) -> None:
    """A form to change the primary contact's phone, e-mail and address (EDIT_CONTACTS only)."""
    if acct.contact_id is None or not actor.can(Permission.EDIT_CONTACTS):
        return
    db = services().db
    flash = st.session_state.pop("contact_flash", None)
    if flash:
        st.success(flash)
    with st.expander("Change contact details", icon=":material/edit:"):
        with st.form(f"contact_{acct.contact_id}"):
            phone = st.text_input("Phone", value=acct.contact_phone or "", key="ct_phone", max_chars=40)
            email = st.text_input("E-mail", value=acct.contact_email or "", key="ct_email", max_chars=200)
            saved = st.form_submit_button("Save contact", icon=":material/save:")
        if saved:
            try:
                db.update_contact(acct.contact_id, phone=phone, email=email, actor=actor)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state["contact_flash"] = f"Contact of {acct.code} saved."
                st.rerun()


def usage_section(acct: Account, actor: Actor) -> None:
    db = services().db
    today = db.today()
    st.subheader("Usage")
    first_month = (today.replace(day=1) - dt.timedelta(days=365)).replace(day=1)
    months = db.usage_by_month(acct.id, first_month, today, actor=actor)
    if not months:
        st.caption("No usage recorded.")
        return
    anomalies = []
    if actor.can(Permission.REVIEW_ANOMALIES):
        anomalies = db.list_anomalies(AnomalyFilter(status=None, account_id=acct.id), 0, 20, actor=actor).items
    rows = db.daily_usage(acct.id, today - dt.timedelta(days=90), today, actor=actor)
    frame = pd.DataFrame({"day": [r.usage_date for r in rows], "usage": [float(r.quantity) for r in rows]})
    lo_hi = band(anomalies[0]) if anomalies else None
    if lo_hi and not frame.empty:
        frame["usual low"], frame["usual high"] = float(lo_hi[0]), float(lo_hi[1])
    c1, c2 = st.columns([3, 2])
    with c1:
        if not frame.empty:
            st.line_chart(frame, x="day", y=[c for c in frame.columns if c != "day"], height=240)
            st.caption("Daily usage, last 90 days" + (" · band: the usual range of the latest anomaly" if lo_hi else ""))
    with c2:
        st.dataframe([{"month": m.month, "usage": w.qty(m.quantity), "days": m.days, "peak day": w.qty(m.peak),
                       "zero days": m.zero_days} for m in reversed(months)], hide_index=True, width="stretch",
                     height=240)
    forecast = db.forecast_next_period(acct.id, actor=actor)
    if forecast is not None:
        st.markdown(f"**This month ({forecast.period_start:%B %Y})**: expected {w.qty(forecast.expected)} "
                    f"(90% interval {w.qty(forecast.low)} to {w.qty(forecast.high)}; {forecast.measured_days} days "
                    f"measured, {forecast.forecast_days} forecast by {forecast.method.replace('_', ' ')}).")
    bill = db.anticipated_bill(acct.id, actor=actor)  # services/billing/anticipated.py
    if bill is not None:
        st.markdown(f"**Anticipated bill for {bill.period_start:%B %Y}**: {w.money(bill.amount)} "
                    f"(90% interval {w.money(bill.low_amount)} to {w.money(bill.high_amount)}), for "
                    f"{w.qty(bill.forecast.expected)} by the plan's tiers, season and fees; arrears not included.",
                    help="The forecast usage and both ends of its interval, priced by the customer's tariff plan "
                         "as the month run would price them.")
    if anomalies:
        st.markdown("**Anomalies**")
        st.dataframe([{"#": x.id, "method": METHOD_LABELS.get(x.method, x.method), "day": x.usage_date.isoformat(),
                       "usage": w.qty(x.usage), "score": str(x.score),
                       "status": x.status if x.status == "open" else OUTCOME_LABELS.get(x.outcome or "", x.outcome)}
                      for x in anomalies], hide_index=True, width="stretch")
