"""Sign-in gate (minimal: local accounts). The accounts issue replaces the internals (lockout,
server-side sessions with idle/absolute timeouts, Auth0) behind the same two functions."""
from __future__ import annotations

import streamlit as st

from services.passwords import verify_password
from services.roles import Actor
from ui.common import ACTOR_KEY, current_actor, services


def require_actor() -> Actor:
    """Return the signed-in actor, or render the sign-in page and stop the script."""
    actor = current_actor()
    if actor is not None:
        return actor
    st.title("⚡ Meterline")
    st.subheader("Sign in")
    with st.form("login"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        user = services().db.storage.get_user(username=username.strip()) if username.strip() else None
        ok = verify_password(user.password_hash if user else None, password)
        if ok and user.is_active:
            st.session_state[ACTOR_KEY] = Actor(user.id, user.username, user.role, None)
            st.rerun()
        st.error("Wrong username or password.")
    st.stop()


def render_account_box(actor: Actor) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{actor.username}** ({actor.role.replace('_', ' ')})")
        if st.button("Sign out", key="logout"):
            st.session_state.pop(ACTOR_KEY, None)
            st.rerun()
