"""Admin / head office: the audit log. Who did what to which record, and when: filtered and paged
in the database (Storage.list_audit), newest first, the filters in the URL (ui/url_state.py), and
the whole filter exported to CSV or Excel a page at a time. The audit log covers the whole utility:
area-limited staff do not see this page (the storage layer refuses list_audit to them as well)."""
from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from services.accounts.roles import Permission, require
from ui import audit_export, url_state as url
from ui import widgets as w
from ui.common import page_guard, services

RECORD_TYPES = ("bill", "bill_run", "reading", "account", "user", "area", "notification", "tariff_plan",
                "period_lock", "bank_file", "meter", "contact", "utility")
EXPORT_PAGE = 1000

actor = page_guard(Permission.VIEW_AUDIT)
db = services().db
storage = db.storage

st.title(":material/manage_search: Audit log")
st.caption("Every change anyone made, with who and when (times in UTC). Filter, then open a record or export.")
key = "audit"
URL = [url.text("who", "au_who"), url.text("what", "au_what"), url.choice("type", "au_type", RECORD_TYPES),
       url.text("record", "au_record"), url.date("from", "au_from"), url.date("to", "au_to")]
url.restore(URL, key)
with st.container(border=True):
    c1, c2 = st.columns(2)
    who = c1.text_input("Who (username)", key="au_who", placeholder="e.g. admin")
    what = c2.text_input("What (action starts with)", key="au_what", placeholder="e.g. bill. or payment.record")
    c3, c4 = st.columns(2)
    record_type = c3.selectbox("Record type", [None, *RECORD_TYPES], key="au_type", placeholder="Any record",
                               format_func=lambda t: "Any record" if t is None else t.replace("_", " "))
    record = c4.text_input("Record id", key="au_record", placeholder="e.g. 146")
    c5, c6 = st.columns(2)
    since = c5.date_input("From (UTC day)", value=None, format="YYYY-MM-DD", key="au_from")
    until = c6.date_input("To (UTC day, inclusive)", value=None, format="YYYY-MM-DD", key="au_to")


def _at(day: dt.date | None, plus: int = 0) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day + dt.timedelta(days=plus), dt.time(), dt.timezone.utc)


query = dict(action_prefix=what.strip() or None, entity_type=record_type, entity_id=record.strip() or None,
             actor_name=who.strip() or None, since=_at(since), until=_at(until, 1))
size = w.page_size(key)
offset = url.restored_offset(key, w.offset_for(key, (tuple(query.items()), size)))
page = storage.list_audit(**query, offset=offset, limit=size, with_total=True)
url.publish(URL, key, size)


def _everything():
    require(actor, Permission.VIEW_AUDIT)
    at = 0
    while True:
        chunk = storage.list_audit(**query, offset=at, limit=EXPORT_PAGE).items
        yield from chunk
        if len(chunk) < EXPORT_PAGE:
            return
        at += EXPORT_PAGE


stamp = db.today().strftime("%Y%m%d")
e1, e2, _ = st.columns([1, 1, 3])
e1.download_button("Export CSV", data=lambda: audit_export.export_bytes(_everything(), "csv"),
                   file_name=f"audit-{stamp}.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
                   key="au_csv", disabled=not page.items)
e2.download_button("Export Excel", data=lambda: audit_export.export_bytes(_everything(), "xlsx"),
                   file_name=f"audit-{stamp}.xlsx", icon=":material/table_view:", on_click="ignore",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="au_xlsx",
                   disabled=not page.items)
if not page.items:
    st.info("No audit entries match these filters.")
    st.stop()


def _details(e) -> str:
    if not e.details:
        return ""
    text = json.dumps(e.details, default=str, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


st.dataframe([{"when (UTC)": e.occurred_at.strftime("%Y-%m-%d %H:%M"), "who": e.actor_name, "what": e.action,
               "record": f"{e.entity_type or ''} {e.entity_id or ''}".strip(), "details": _details(e)}
              for e in page.items], hide_index=True, width="stretch", height=35 * (len(page.items) + 1) + 3,
             column_config={"what": st.column_config.TextColumn("what", width="medium")})
w.pager(key, page, "entries")
