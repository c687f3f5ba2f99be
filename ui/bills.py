"""Admin: bills and payments.

A list filtered and paginated in the database (period, status, area at any level, overdue,
account code or contact name), CSV and Excel exports of the current filter (read a page at a
time), and, with ?bill=<id> in the URL, one bill's detail page with its lines and payments
(ui/bill_view.py). Under the list, the bills of the current filter printed to one PDF or a zip,
or emailed to their owners, with a progress bar (ui/bill_bulk.py). Words and money are the
utility's (ui/widgets.py).
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from database.schema import BILL_STATUSES
from services.models import BillFilter
from services.billing.periods import month_key
from services.accounts.roles import Permission
from ui import bill_bulk as bulk, bill_view, exports, field_work
from ui import url_state as url
from ui import widgets as w
from ui.common import page_guard, services, utility

actor = page_guard(Permission.VIEW_BILLS)
db = services().db
u = utility()

wanted = st.query_params.get("bill")
if wanted and wanted.isdigit():
    bill_view.render(int(wanted), actor)
    field_work.raise_from_bill(int(wanted), actor)  # issue 15
    st.stop()

st.title(":material/receipt_long: Bills and payments")
today = db.today()
months = []
cur = today.replace(day=1)
for _ in range(13):
    months.append(month_key(cur))
    cur = (cur - dt.timedelta(days=1)).replace(day=1)

# Sort keys the database orders by (services.models.BILL_SORTS), as the list names its columns.
SORTS = {"period": "Period", "number": "Bill number", "account": w.word(capital=True) + " code", "total": "Total",
         "paid": "Paid", "due": "Due date", "status": "Status"}
key = "bills"
URL = [url.choice("period", "bl_period", months), url.many("status", "bl_status", BILL_STATUSES),
       *url.area("area", "bl_area", len(u.area_levels), lambda i: db.get_area(area_id=i)),
       url.text("q", "bl_search"), url.flag("overdue", "bl_overdue"),
       url.choice("sort", "bl_sort", list(SORTS), "period"), url.flag("asc", "bl_asc")]
url.restore(URL, key)

with st.container(border=True):
    c1, c2 = st.columns([1, 2])
    period = c1.selectbox("Period", [None, *months], format_func=lambda m: "Any period" if m is None else m,
                          placeholder="Any period",
                          key="bl_period")
    statuses = c2.multiselect("Status", BILL_STATUSES, key="bl_status", format_func=lambda s: s.replace("_", " "),
                              placeholder="Any status")
    area_id = w.area_picker("bl_area")
    c4, c5 = st.columns([3, 1], vertical_alignment="bottom")
    search = c4.text_input(f"{w.word(capital=True)} code, name or bill number", key="bl_search",
                           icon=":material/search:", help=f"The start of a {w.word()} code, part of its contact's "
                                                          f"name, or a bill number or its start ({u.short_code}-2026-0001).")
    overdue = c5.toggle("Overdue only", key="bl_overdue", help="Open bills past their due date.")
    s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
    sort = s1.selectbox("Sort every matching bill by", list(SORTS), format_func=SORTS.get, key="bl_sort")
    ascending = s2.toggle("Smallest / oldest first", key="bl_asc")

run = st.query_params.get("run")  # from Generate monthly bills: the bills of one run
run_id = int(run) if run and run.isdigit() else None
if run_id is not None:
    r1, r2 = st.columns([3, 1], vertical_alignment="center")
    r1.info(f"Only the bills of run #{run_id}.", icon=":material/filter_alt:")
    if r2.button("All runs", key="bl_all_runs", icon=":material/close:"):
        del st.query_params["run"]
        st.rerun()
flt = BillFilter(period_month=period, statuses=tuple(statuses), area_id=area_id, overdue_only=overdue,
                 search=search.strip() or None, bill_run_id=run_id, sort=sort, descending=not ascending)
size = w.page_size(key)
offset = url.restored_offset(key, w.offset_for(key, (flt, size)))
page = db.list_bills(flt, offset, size, actor=actor)
if not page.items and offset:  # a shared link past the last page: its first page
    st.session_state[f"{key}__offset"] = offset = 0
    page = db.list_bills(flt, offset, size, actor=actor)

stamp = today.strftime("%Y%m%d")
e1, e2, _ = st.columns([1, 1, 3])
e1.download_button("Export CSV", data=lambda: exports.export_bytes(db.iter_bills(flt, actor=actor), "csv", u),
                   file_name=f"bills-{stamp}.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
                   key="export_csv", disabled=not page.items)
e2.download_button("Export Excel", data=lambda: exports.export_bytes(db.iter_bills(flt, actor=actor), "xlsx", u),
                   file_name=f"bills-{stamp}.xlsx", icon=":material/table_view:", on_click="ignore",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="export_xlsx",
                   disabled=not page.items)

if not page.items:
    url.publish(URL, key, size)
    st.info("No bills match these filters.")
    st.stop()


def _status(b) -> str:
    """The bill's status; an open bill past its due date says so (no separate "overdue" column)."""
    if b.status in ("pending", "partially_paid") and b.due_date < today:
        return f"{b.status.replace('_', ' ')}, overdue"
    return b.status.replace("_", " ")


label = w.word()
# What the bill comes to first: on a phone the columns after the fourth or fifth are scrolled to.
# Sorting is the "Sort every matching bill by" choice above (in the database, over every page); a
# column header sorts the rows shown, amounts by amount; clicking a row opens the bill.
event = st.dataframe(w.amounts_table([{
    "number": b.number, label: b.account_code, "total": b.total_amount, "balance": b.balance,
    "status": _status(b), "period": f"{b.billing_period_start:%Y-%m}", "due": b.due_date.isoformat(),
    "name": b.contact_name or "", "area": b.area_path or "", "paid": b.amount_paid,
} for b in page.items], money_columns=("total", "balance", "paid")), hide_index=True, width="stretch", height=35 * (len(page.items) + 1) + 3,  # no inner scroll
    on_select="rerun", selection_mode="single-row", key=f"bl_table_{st.session_state.get('bl_table_n', 0)}",
    column_config={"status": st.column_config.TextColumn("status", width="medium"),
                   "number": st.column_config.TextColumn("bill number", width=136),  # the total in view on a phone
                   **w.amount_columns("total", "balance", "paid")})
st.caption(":material/touch_app: Click a row to open the bill.")
w.pager(key, page, "bills")
url.publish(URL, key, size)
picked = event.selection.rows if event is not None else []
if picked:
    # A new table key for the way back: the browser would otherwise keep the row selected and open it again.
    st.session_state["bl_table_n"] = st.session_state.get("bl_table_n", 0) + 1
    st.query_params["bill"] = str(page.items[picked[0]].id)
    st.rerun()

bulk.render(db, flt, page.total, actor, stamp)
