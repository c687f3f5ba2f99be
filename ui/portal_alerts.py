"""Alerts and paperless (customer portal, issue 16): opt in to high-usage and leak alerts, bill-ready
and due-date reminders, and paperless billing. Each change is stored, audited and confirmed in the
notifications log. The alerts themselves are sent by services/customers/alerts.py."""
from __future__ import annotations

import streamlit as st

from services.customers.portal import PREFERENCE_LABELS
from services.errors import MeterlineError
from ui.common import show_error
from ui.portal_common import guard, portal

actor = guard()
p = portal()
st.title("Alerts and paperless")
st.caption("Alerts go to the e-mail or phone on **My profile**, once for each bill or unusual use.")
current = p.preferences(actor)
with st.form("prefs"):
    chosen = {k: st.toggle(label, value=current.get(k, False), key=f"pref_{k}") for k, label in PREFERENCE_LABELS.items()}
    saved = st.form_submit_button("Save", icon=":material/save:", type="primary", width="stretch")
if saved:
    try:
        for kind, on in chosen.items():
            p.set_preference(actor, kind, on)
    except MeterlineError as exc:
        show_error(exc)
    else:
        st.success("Saved. We will use the phone and e-mail on your profile.", icon=":material/check_circle:")
