"""Invite a customer (staff, issue 16): send a one-time code to the phone or e-mail on file of an
account; the customer signs up with it on the sign-in page ("New customer? Create your sign-in").
Offline the code shows in the notifications log."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from ui import widgets as w
from ui.common import page_guard, show_error
from ui.portal_common import portal

actor = page_guard(Permission.INVITE_CUSTOMERS)
st.title("Invite a customer")
st.caption(f"The code goes to the phone or e-mail on file for the {w.word()}; it lasts 7 days and works once.")
with st.form("invite"):
    code = st.text_input(f"{w.word(capital=True)} number", max_chars=40)
    via = st.radio("Send to", ["phone", "email"], horizontal=True)
    sent = st.form_submit_button("Send invitation", type="primary")
if sent:
    try:
        shown = portal().invite(actor, code, via)
    except MeterlineError as exc:
        show_error(exc)
    else:
        st.success(f"Invitation sent to {w.esc(shown)}. Offline, the code is in the notifications log.")
