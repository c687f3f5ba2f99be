"""My profile (customer portal, issue 16): contact details of each linked account. A new phone or
e-mail takes effect only when the one-time code sent to it is typed back; the address changes at
once. Every change is audited (Support sees it). Also: add another account with a code sent to that
account's phone or e-mail on file, or remove one of several linked accounts (never the last)."""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from ui import widgets as w
from ui.common import show_error
from ui.portal_common import guard, pick_account, portal

PENDING = "portal_pending_change"
actor = guard()
p = portal()
st.title("My profile")
acct = pick_account(actor)
flash = st.session_state.pop("portal_profile_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")
if acct is not None:
    with st.container(border=True):
        st.markdown(f"**{w.esc(acct.code)}** · {w.esc(acct.name)}")
        st.markdown(f"Phone: **{w.esc(acct.contact_phone or '-')}**  \nE-mail: **{w.esc(acct.contact_email or '-')}**"
                    f"  \nAddress: {w.esc(acct.address or '-')}")
    pending = st.session_state.get(PENDING)
    if pending:
        st.info(f"We sent a code to your new {pending['field']} ({w.esc(pending['to'])}). Type it to confirm.",
                icon=":material/sms:")
        with st.form("confirm_change", clear_on_submit=True):
            code = st.text_input("Code", max_chars=6, key="change_code", autocomplete="one-time-code")
            ok = st.form_submit_button("Confirm", type="primary", width="stretch")
        if ok:
            try:
                p.confirm_contact_change(actor, pending["field"], code)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state.pop(PENDING, None)
                st.session_state["portal_profile_flash"] = f"Your {pending['field']} is changed."
                st.rerun()
        if st.button("Cancel the change", width="stretch"):
            st.session_state.pop(PENDING, None)
            st.rerun()
    else:
        with st.form("change_contact", clear_on_submit=True):
            field = st.radio("Change my", ["phone", "email"], horizontal=True,
                             format_func={"phone": "phone", "email": "e-mail"}.get, key="change_field")
            value = st.text_input("New phone or e-mail", max_chars=200, key="change_value")
            send = st.form_submit_button("Send me a code", type="primary", width="stretch")
        if send:
            try:
                sent = p.request_contact_change(actor, acct.id, field, value)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state[PENDING] = {"field": sent.field, "to": sent.sent_to}
                st.rerun()
    with st.form("change_address"):
        address = st.text_area("Address for letters", value=acct.address or "", max_chars=300, key="address")
        if st.form_submit_button("Save address", width="stretch"):
            try:
                p.change_address(actor, acct.id, address)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state["portal_profile_flash"] = "Address saved."
                st.rerun()
if acct is not None and len(actor.scope.account_ids or ()) > 1:
    with st.expander(f"Remove {acct.code} from my sign-in", icon=":material/link_off:"):
        st.caption("You will no longer see its bills here. You can add it again with a code.")
        if st.button(f"Remove {acct.code}", key="unlink_mine", width="stretch"):
            try:
                p.remove_account(actor, acct.id)
            except MeterlineError as exc:
                show_error(exc)
            else:
                st.session_state.pop("portal_account", None)
                st.session_state["portal_profile_flash"] = f"{acct.code} removed from your sign-in."
                st.rerun()
with st.expander(f"Add another {w.word()}", icon=":material/add_home:"):
    code_for = st.text_input(f"{w.word(capital=True)} number", key="link_code_for", max_chars=40)
    if st.button("Send a code to the phone on file", key="link_send", width="stretch"):
        try:
            shown = p.request_registration(code_for)
        except MeterlineError as exc:
            show_error(exc)
        else:
            st.info(f"Code sent to {w.esc(shown)}.")
    link_code = st.text_input("Code sent for that account", max_chars=6, key="link_code", autocomplete="one-time-code")
    if st.button("Add", key="link_add", type="primary", width="stretch"):
        try:
            added = p.link_account(actor, code_for, link_code)
        except MeterlineError as exc:
            show_error(exc)
        else:
            st.success(f"{w.esc(added.code)} added. Sign out and in again to see it everywhere.")
