"""The municipal consumer unit's page sections (issue 14), below its details on Accounts: its field
survey with the survey photo (through the photo store), the payments on its bills, its billing name /
mobile / address history, and the place for tickets and visits (issue 15). Every read goes through
the signed-in user's scoped storage: a unit outside their areas never reaches here."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import widgets as w
from ui.common import services, utility

FIELD_WORDS = {"billing_name": "billing name", "billing_mobile": "billing mobile", "billing_address": "billing address"}


def survey_section(acct) -> None:
    svc = services()
    survey = svc.db.storage.account_survey(acct.id)
    with st.container(border=True):
        st.markdown("**Field survey**")
        if survey is None:
            st.caption("No survey recorded for this unit.")
            return
        c1, c2 = st.columns([2, 1])
        zone = utility().zone
        c1.table(pd.DataFrame([
            {"field": "Survey id", "value": survey.survey_id},
            {"field": "Unit type", "value": survey.unit_type or ""},
            {"field": "Size category", "value": survey.size_category or ""},
            {"field": "Size (marla)", "value": "" if survey.size_marla is None else str(survey.size_marla)},
            {"field": "House type", "value": survey.house_type or ""},
            {"field": "Water connection", "value": survey.water_connection or ""},
            {"field": "Surveyed", "value": survey.surveyed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
             if survey.surveyed_at else ""},
            {"field": "Surveyor", "value": survey.surveyor_name or ""},
            {"field": "Name in the survey", "value": survey.survey_name or ""},
            {"field": "Mobile in the survey", "value": survey.survey_mobile or ""},
            {"field": "Address in the survey", "value": survey.survey_address or ""},
            {"field": "GPS as recorded", "value": survey.gps_text or ""},
        ]), hide_index=True)
        local = svc.photos.path_for(survey.photo_ref)
        if local:
            c2.image(str(local), caption="Survey photo", width=260)
        elif survey.photo_ref:
            c2.caption(f"Survey photo {w.esc(survey.photo_ref)} is not in the photo store.")
        else:
            c2.caption("No survey photo.")


def history_section(acct) -> None:
    st.subheader("Name and contact history")
    changes = services().db.storage.list_account_history(acct.id, 50)
    if not changes:
        st.caption("No changes of billing name, mobile or address recorded.")
        return
    zone = utility().zone
    st.dataframe([{"when": c.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if c.created_at else "",
                   "field": FIELD_WORDS.get(c.field, c.field), "was": c.old_value or "", "now": c.new_value or "",
                   "source": c.source, "by": c.changed_by_name} for c in changes], hide_index=True, width="stretch")


def payments_section(bills) -> None:
    """The payments on the bills shown (the page of bills above): one read per bill, at most a page."""
    st.subheader("Payments")
    storage = services().db.storage
    rows = [{"bill": f"#{b.id}", "period": f"{b.billing_period_start:%Y-%m}", "paid on": p.paid_on.isoformat(),
             "amount": w.money(p.amount), "method": p.method.replace("_", " "), "reference": p.reference or ""}
            for b in bills for p in storage.list_payments(b.id)]
    if not rows:
        st.caption("No payments on these bills.")
        return
    st.dataframe(rows, hide_index=True, width="stretch")
