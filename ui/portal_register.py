"""New customer? Create your sign-in (issue 16), on the sign-in page: the account number, a code sent to
the phone or e-mail on file (or the invitation code staff sent), a username and a password."""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from ui import widgets as w
from ui.common import show_error


def registration_box() -> None:
    from ui.portal_common import portal

    with st.expander("New customer? Create your sign-in", icon=":material/person_add:"):
        account = st.text_input(f"Your {w.word()} number (as on your bill)", key="reg_account", max_chars=40)
        via = st.radio("Send my code to", ["phone", "email"], horizontal=True, key="reg_via",
                       format_func={"phone": "phone on file", "email": "e-mail on file"}.get)
        if st.button("Send me a code", key="reg_send", width="stretch"):
            try:
                shown = portal().request_registration(account, via)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.info(f"Code sent to {w.esc(shown)}. It expires in 15 minutes.")
        with st.form("register", clear_on_submit=False):
            code = st.text_input("Code (or your invitation code)", max_chars=6, key="reg_code",
                                 autocomplete="one-time-code")
            username = st.text_input("Pick a sign-in name", max_chars=64, key="reg_user", autocomplete="username")
            password = st.text_input("Choose a password", type="password", key="reg_password",
                                     autocomplete="new-password", help="At least 12 characters; a few unrelated words work well.")
            made = st.form_submit_button("Create my sign-in", type="primary", width="stretch")
        if made:
            try:
                portal().register(account, code, username, password)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.success("Your sign-in is ready. Sign in above.", icon=":material/check_circle:")
