"""One page per account (issue 18): drawn by ui/accounts.py under the account's details when the
URL says ?account=<code>. Its readings (with photos), bills, payments, notifications and who did
what, as one timeline, newest first, paged (services/reports/timeline.py reads each kind from the
database with a limit, through the user's scope)."""
from __future__ import annotations

import streamlit as st

from services.models import Account
from services.reports import timeline
from ui import widgets as w
from ui.common import services

PAGE_SIZE = 15
BADGES = {"reading": "blue", "bill": "violet", "payment": "green", "notification": "orange", "visit": "primary",
          "ticket": "red", "audit": "gray"}


def render(acct: Account, actor) -> None:
    svc = services()
    st.subheader("Timeline")
    key = f"tl_{acct.id}"
    kinds = st.pills("Show", list(timeline.KINDS), selection_mode="multi", default=list(timeline.KINDS),
                     format_func=timeline.LABELS.get, key=f"{key}_kinds")
    offset = w.offset_for(key, (acct.id, tuple(kinds)))
    page = timeline.account_timeline(svc.db, acct, offset, PAGE_SIZE, actor=actor, kinds=tuple(kinds))
    if page.left_out:
        st.caption("Not shown to you: " + ", ".join(timeline.LABELS[k].lower() for k in page.left_out) + ".")
    if not page.items:
        st.caption("Nothing yet.")
        return
    for n, item in enumerate(page.items):
        with st.container(border=True, key=f"{key}_item_{offset + n}"):
            c1, c2, c3 = st.columns([1.3, 4, 1], vertical_alignment="center")
            c1.markdown(f":{BADGES[item.kind]}-badge[{timeline.LABELS[item.kind]}]  \n"
                        f"{item.when:%Y-%m-%d}")
            c2.markdown(f"**{w.esc(item.title)}**  \n{w.esc(item.detail)}")
            local = svc.photos.path_for(item.photo_ref) if item.photo_ref else None
            if local:
                c3.image(str(local), width=72)
            elif item.photo_url:
                c3.image(item.photo_url, width=72)
            elif item.bill_id:
                c3.page_link("ui/bills.py", label="Open", icon=":material/open_in_new:",
                             query_params={"bill": item.bill_id})
    p1, p2, p3 = st.columns([3, 1, 1], vertical_alignment="center")
    p1.caption(f"Items {w.count(offset + 1)}-{w.count(offset + len(page.items))}")
    if p2.button("Newer", key=f"{key}_prev", disabled=offset == 0, icon=":material/chevron_left:", width="stretch"):
        st.session_state[f"{key}__offset"] = max(0, offset - PAGE_SIZE)
        st.rerun()
    if p3.button("Older", key=f"{key}_next", disabled=not page.has_next, icon=":material/chevron_right:",
                 width="stretch"):
        st.session_state[f"{key}__offset"] = offset + PAGE_SIZE
        st.rerun()
