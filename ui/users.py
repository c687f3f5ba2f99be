"""Users (admins): list, add, change role, deactivate/reactivate, reset password, unlock.
Every action goes through AuthService, which checks MANAGE_USERS again and writes audit_log."""
from __future__ import annotations

import streamlit as st

from services.clock import utcnow
from services.errors import MeterlineError
from services.accounts.roles import ROLES, Permission
from ui.common import page_guard, services, show_error, utility
from ui.widgets import word

PAGE_SIZE = 25
METHODS = {"Password": "local", "Auth0": "auth0"}

actor = page_guard(Permission.MANAGE_USERS)
auth = services().auth
st.title(":material/group: Users")


def _role_label(name: str) -> str:
    return ROLES[name].label if name in ROLES else name


def _when(ts) -> str:
    return ts.astimezone(utility().zone).strftime("%Y-%m-%d %H:%M") if ts else ""


def _done(message: str) -> None:
    """Show the result after the rerun that refreshes the table."""
    st.session_state["users_flash"] = message
    st.rerun()


flash = st.session_state.pop("users_flash", None)
if flash:
    st.success(flash)

first = auth.list_users(actor, offset=0, limit=1)
pages = max(1, -(-(first.total or 0) // PAGE_SIZE))
page_no = st.number_input("Page", min_value=1, max_value=pages, value=1, step=1) if pages > 1 else 1
users = auth.list_users(actor, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
now = utcnow()
st.dataframe(
    [{"Username": u.username, "Name": u.display_name, "Email": u.email or "", "Role": _role_label(u.role),
      "Sign-in": "Auth0" if u.auth_provider == "auth0" else "Password",
      "Active": u.is_active,
      "Locked until": _when(u.locked_until) if u.locked_until and u.locked_until > now else "",
      "Password changed": _when(u.password_changed_at)} for u in users.items],
    hide_index=True, width="stretch")
st.caption(f"{users.total} user(s), page {page_no} of {pages}. Times in {utility().zone.key}.")

add_tab, change_tab = st.tabs([":material/person_add: Add a user", ":material/manage_accounts: Change a user"])

with add_tab:
    with st.form("add_user", clear_on_submit=False):
        method = st.radio("Sign-in method", list(METHODS), horizontal=True,
                          help="Auth0: the person signs in with Auth0; the username is their Auth0 user id "
                               "(e.g. auth0|64f1...), or give their email (it must be verified at Auth0).")
        username = st.text_input("New username")
        name = st.text_input("Display name")
        email = st.text_input("Email (optional for password accounts)")
        role = st.selectbox("Role", list(ROLES), format_func=_role_label)
        pw = st.text_input("Initial password (password accounts)", type="password", autocomplete="new-password",
                           help="At least 12 characters; ask the person to change it after signing in.")
        pw2 = st.text_input("Initial password again", type="password", autocomplete="new-password")
        create = st.form_submit_button("Create user", icon=":material/person_add:")
    if create:
        if METHODS[method] == "local" and pw != pw2:
            st.error("**Initial password again**: does not match the initial password. Type both again.")
        else:
            try:
                made = auth.create_user(actor, username=username, role=role, display_name=name, email=email or None,
                                        password=pw if METHODS[method] == "local" else None,
                                        auth_provider=METHODS[method])
            except MeterlineError as exc:
                show_error(exc)
            else:
                _done(f"Created {made.username} ({_role_label(made.role)}).")

with change_tab:
    if not users.items:
        st.info("No users on this page.")
        st.stop()
    by_name = {u.username: u for u in users.items}
    chosen = by_name[st.selectbox("User", list(by_name), key="users_chosen", format_func=lambda n: (
        f"{n} ({_role_label(by_name[n].role)}" + ("" if by_name[n].is_active else ", deactivated") + ")"))]
    try:
        col_role, col_active = st.columns(2)
        with col_role:
            new_role = st.selectbox("New role", list(ROLES), index=list(ROLES).index(chosen.role)
                                    if chosen.role in ROLES else 0, format_func=_role_label)
            if st.button("Change role", icon=":material/badge:"):
                auth.change_role(actor, chosen.id, new_role)
                _done(f"{chosen.username} is now {_role_label(new_role)}.")
        with col_active:
            if chosen.is_active:
                if st.button("Deactivate", icon=":material/person_off:",
                             help="Signs the user out everywhere and refuses their sign-in."):
                    auth.set_active(actor, chosen.id, False)
                    _done(f"Deactivated {chosen.username}; their sessions were ended.")
            elif st.button("Reactivate", icon=":material/person_check:"):
                auth.set_active(actor, chosen.id, True)
                _done(f"Reactivated {chosen.username}.")
            if chosen.locked_until and chosen.locked_until > now:
                if st.button("Unlock", icon=":material/lock_open:"):
                    auth.unlock(actor, chosen.id)
                    _done(f"Unlocked {chosen.username}.")
        role = ROLES.get(chosen.role)
        if role is not None and role.scoped:
            # The areas this user works in: they see only these areas and what lies under them.
            every = services().db.list_areas()
            by_id = {a.id: a for a in every}
            assigned = [a.id for a in auth.user_areas(actor, chosen.id)]
            with st.form(f"user_areas_{chosen.id}"):
                st.markdown(f"**Areas** of {chosen.username}: they see only the {word(True)} of these areas "
                            "(a city/tehsil includes all its union councils); with none they see nothing.")
                picked = st.multiselect("Areas", list(by_id), default=[i for i in assigned if i in by_id],
                                        format_func=lambda i: f"{by_id[i].path} · {by_id[i].name}",
                                        key=f"user_areas_pick_{chosen.id}")
                save_areas = st.form_submit_button("Save areas", icon=":material/map:")
            if save_areas:
                done = auth.assign_areas(actor, chosen.id, picked)
                _done(f"{chosen.username} now works in: " + (", ".join(a.path for a in done) or "no areas") + ".")
        if chosen.auth_provider == "local":
            with st.form("reset_password", clear_on_submit=True):
                st.markdown("**Reset password** (signs the user out everywhere and lifts a lockout)")
                npw = st.text_input("New password for the user", type="password", autocomplete="new-password")
                npw2 = st.text_input("New password for the user, again", type="password", autocomplete="new-password")
                reset = st.form_submit_button("Reset password", icon=":material/lock_reset:")
            if reset:
                if npw != npw2:
                    st.error("**New password for the user, again**: does not match. Type both again.")
                else:
                    auth.reset_password(actor, chosen.id, npw)
                    _done(f"Password of {chosen.username} reset; their sessions were ended.")
        else:
            st.caption("This user signs in with Auth0; their password is managed there.")
    except MeterlineError as exc:
        show_error(exc)
