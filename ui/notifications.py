"""Admin: the notifications log (every attempt on every channel), filtered and paginated in the
database, which channels are configured, and resending a failed notification."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

from services.errors import MeterlineError
from services.integrations.notifications import LOG_KINDS
from services.integrations.notifications import STATUSES
from services.integrations.wiring import notifier_of
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, readable, services, show_error

KEY = "notif"
PAGE_SIZE = 25

actor = page_guard(Permission.MANAGE_NOTIFICATIONS)
svc = services()
notifier = notifier_of(svc)
tz = ZoneInfo(svc.settings.timezone)
st.title(":material/notifications: Notifications")
if notifier is None:
    st.info("Notifications are not set up in this deployment: billing events send nothing.")
    st.stop()

channels = notifier.channel_status()
st.markdown("**Channels:** " + " · ".join(
    f"{c.label} :{'green' if c.configured else 'gray'}-badge[{'configured' if c.configured else 'not configured'}]"
    for c in channels))
wording = "personalised by OpenAI (exact amounts, template on any failure)" if notifier.composer.personaliser \
    else "templates"
st.caption(f"Message wording: {wording}. " + " ".join(c.detail for c in channels if not c.configured))


def _resend(notification_id: int) -> None:
    # A callback runs before the page is drawn again, so the table below already shows the new row.
    try:
        original = svc.db.storage.get_notification(notification_id)
        if original is not None and original.channel == "email":  # a bill's PDF: the bill sender resends it
            row = svc.sender().resend_failed(notification_id, actor)
        else:
            row = notifier.resend(notification_id, actor)
    except MeterlineError as exc:
        st.session_state[f"{KEY}__flash"] = ("error", readable(exc))
        return
    level = {"sent": "success", "skipped": "warning"}.get(row.status, "error")
    detail = f": {row.error}" if row.error else ""
    st.session_state[f"{KEY}__flash"] = (level, f"Resent #{notification_id} as #{row.id} ({row.status}{detail}).")


def _move(to: int) -> None:
    st.session_state[f"{KEY}__offset"] = max(to, 0)


flash = st.session_state.pop(f"{KEY}__flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

c1, c2 = st.columns(2)
status = c1.selectbox("Status", ("all",) + STATUSES, key=f"{KEY}_status")
kind = c2.selectbox("Kind", ("all",) + LOG_KINDS, key=f"{KEY}_kind",
                    format_func=lambda k: k.replace("_", " "))
signature = (status, kind)
if st.session_state.get(f"{KEY}__sig") != signature:  # a new filter starts on the first page
    st.session_state[f"{KEY}__sig"] = signature
    st.session_state[f"{KEY}__offset"] = 0
offset = st.session_state.get(f"{KEY}__offset", 0)

try:
    page = notifier.list_log(actor, status=None if status == "all" else status, kind=None if kind == "all" else kind,
                             offset=offset, limit=PAGE_SIZE)
except MeterlineError as exc:
    show_error(exc)
    st.stop()

if not page.items:
    st.info("No notifications match." if offset == 0 else "No more notifications.")
else:
    st.dataframe(
        [{"id": n.id, "created": n.created_at.astimezone(tz) if n.created_at else None, "kind": n.kind, "channel": n.channel, "status": n.status,
          "message": n.message, "error": n.error, "recipient": n.recipient, "bill": n.bill_id, "attempts": n.attempts,
          "provider id": n.provider_message_id, "resend of": n.resend_of}
         for n in page.items],
        hide_index=True, width="stretch",
        column_config={"created": st.column_config.DatetimeColumn(f"created ({svc.settings.timezone})", format="YYYY-MM-DD HH:mm"),
                       "message": st.column_config.TextColumn("message", width="large"),
                       "error": st.column_config.TextColumn("error", width="medium")},
    )
end = offset + len(page.items)
p1, p2, p3 = st.columns([3, 1, 1], vertical_alignment="center")
p1.caption(f"Rows {offset + 1 if page.items else 0}-{end} of {w.count(page.total)}" if page.total is not None else "")
p2.button("Previous", key=f"{KEY}_prev", disabled=offset == 0, on_click=_move, args=(offset - PAGE_SIZE,),
          icon=":material/chevron_left:")
p3.button("Next", key=f"{KEY}_next", disabled=not page.has_next, on_click=_move, args=(offset + PAGE_SIZE,),
          icon=":material/chevron_right:")

failed = [n for n in page.items if n.status == "failed"]
if failed:
    st.subheader("Resend a failed notification")
    choice = st.selectbox("Failed notification", [n.id for n in failed], key=f"{KEY}_pick",
                          format_func=lambda i: next(f"#{n.id} · {n.channel} · {n.kind.replace('_', ' ')}"
                                                     f" · bill {n.bill_id or '-'}" for n in failed if n.id == i))
    st.button("Resend", key=f"{KEY}_resend", type="primary", on_click=_resend, args=(choice,),
              icon=":material/send:")
