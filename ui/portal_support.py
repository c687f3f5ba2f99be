"""Support's view of the customer portal (issue 16), on the account page: the audit trail's customer.*
entries of the account (who, when, which field), and the customer sign-ins linked to the account,
each of which Support (INVITE_CUSTOMERS) can unlink."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Actor, Permission
from services.models import Account
from ui import widgets as w


def portal_changes(acct: Account, actor: Actor) -> None:
    if not actor.can(Permission.EDIT_CONTACTS):
        return
    from ui.portal_common import portal

    changes = portal().profile_changes(actor, acct.id)
    if changes:
        with st.expander(f"Changes made in the customer portal ({len(changes)})", icon=":material/history:"):
            st.dataframe([{"when": w.date_text(c.occurred_at), "who": c.actor_name,
                           "what": (c.details or {}).get("field", c.action)} for c in changes],
                         hide_index=True, width="stretch")


def linked_sign_ins(acct: Account, actor: Actor) -> None:
    """The customer sign-ins linked to this account; Support unlinks one (audited)."""
    if not actor.can(Permission.INVITE_CUSTOMERS):
        return
    from services.errors import MeterlineError
    from ui.common import show_error
    from ui.portal_common import portal

    p = portal()
    users = p.linked_customers(actor, acct.id)
    if not users:
        return
    with st.expander(f"Customer sign-ins ({len(users)})", icon=":material/group:"):
        for u in users:
            c1, c2 = st.columns([3, 1], vertical_alignment="center")
            c1.markdown(f"**{w.esc(u.username)}** · {w.esc(u.display_name or '')}")
            if c2.button("Unlink", key=f"unlink_{acct.id}_{u.id}", icon=":material/link_off:"):
                try:
                    p.unlink(actor, u.id, acct.id)
                except MeterlineError as exc:
                    show_error(exc)
                else:
                    st.toast(f"{u.username} no longer sees {acct.code}.")
                    st.rerun()
