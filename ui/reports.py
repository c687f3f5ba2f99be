"""Reports (issue 14, seed 003 phase 3): collection of a bill month and arrears aging, per
city/tehsil or union council, consumer analytics (payment patterns) and staff performance in their
areas (ui/report_analytics.py), with charts and CSV / Excel exports. Every figure is read through the
signed-in user's scope (an area-limited user's reports hold only their areas); definitions in
services/reports/models.py, stated on the page."""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import streamlit as st

from services.accounts.roles import Permission
from services.billing.periods import month_key
from services.models import BillFilter
from services.reports.models import AGING_BUCKETS, AGING_LABELS
from ui import report_analytics, widgets as w
from ui.common import page_guard, services, utility

actor = page_guard(Permission.VIEW_REPORTS)
db = services().db
u = utility()
st.title(":material/insights: Reports")
if not actor.scope.is_everything:
    st.caption(f"Your areas only: {w.esc(actor.scope.describe())}.")

levels = u.area_levels
by = st.segmented_control("Per", list(levels[:2]), default=levels[0], key="rp_level") or levels[0]
top = by == levels[0]


def _downloads(df: pd.DataFrame, name: str, key: str) -> None:
    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button("Export CSV", data=df.to_csv(index=False).encode("utf-8-sig"), file_name=f"{name}.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key=f"{key}_csv")
    buf = io.BytesIO()
    df.to_excel(buf, index=False, sheet_name=name[:31])
    c2.download_button("Export Excel", data=buf.getvalue(), file_name=f"{name}.xlsx", icon=":material/table_view:",
                       on_click="ignore", key=f"{key}_xlsx")


collection_tab, aging_tab, consumer_tab, staff_tab = st.tabs([
    ":material/payments: Collection", ":material/hourglass_bottom: Arrears aging", ":material/groups: Consumers",
    ":material/badge: Staff performance"])

with collection_tab:
    months, cur = [], db.today().replace(day=1)
    for _ in range(13):
        months.append(month_key(cur))
        cur = (cur - dt.timedelta(days=1)).replace(day=1)
    newest = db.storage.list_bills(BillFilter(), 0, 1, with_total=False).items  # the newest bill month by default
    latest = month_key(newest[0].billing_period_start) if newest else None
    month = st.selectbox("Bill month", months, index=months.index(latest) if latest in months else 1, key="rp_month")
    rows = db.storage.collection_report(month, top)
    st.caption("The month's bills (replaced and cancelled ones left out). **Billed**: what they charge for the month; "
               "**due**: their totals, with the arrears carried into them; **collected**: paid on them so far; "
               "**collection rate** = collected / due. Status: PAID in full, PARTIAL (something paid), ARREARS "
               "(nothing paid and carrying earlier months' arrears, or carried forward), UNPAID (nothing paid, no "
               "arrears).")
    if not rows:
        st.info(f"No bills of {month}" + ("." if actor.scope.is_everything else " in your areas."))
    else:
        due, collected = sum(r.due for r in rows), sum(r.collected for r in rows)
        m = st.columns(2) + st.columns(2)  # two rows: whole amounts stay readable
        m[0].metric("Bills", f"{w.count(sum(r.bills for r in rows))}")
        m[1].metric("Collection rate", f"{collected * 100 / due:.1f}%" if due else "-")
        m[2].metric("Due", w.money(due))
        m[3].metric("Collected", w.money(collected))
        df = pd.DataFrame([{by: r.area_name, "code": r.area_path, "bills": r.bills, "billed": float(r.billed),
                            "due": float(r.due), "collected": float(r.collected),
                            "rate %": float(r.rate) if r.rate is not None else None, "PAID": r.paid,
                            "PARTIAL": r.partial, "ARREARS": r.arrears, "UNPAID": r.unpaid} for r in rows])
        st.bar_chart(df.set_index(by)[["collected", "due"]], stack=False, height=280)
        st.bar_chart(df.set_index(by)[["PAID", "PARTIAL", "ARREARS", "UNPAID"]], height=240,
                     color=["#2e7d32", "#f9a825", "#c62828", "#9e9e9e"])
        st.dataframe(df, hide_index=True, width="stretch",
                     column_config={k: st.column_config.NumberColumn(format="%.2f") for k in ("billed", "due", "collected")})
        _downloads(df, f"collection-{month}-{'city' if top else 'uc'}", "rp_col")

with aging_tab:
    as_of = st.date_input("As of", value=db.today(), key="rp_asof")
    rows = db.storage.aging_report(as_of, top)
    st.caption("The open balance of every open bill (pending, overdue, part paid), by the days since its due date. "
               "An older bill's unpaid balance carried into a newer bill is counted once, with the newer bill.")
    if not rows:
        st.info("Nothing is owed" + ("." if actor.scope.is_everything else " in your areas."))
    else:
        df = pd.DataFrame([{by: r.area_name, "code": r.area_path, "open bills": r.bills,
                            **{AGING_LABELS[k]: float(getattr(r, k)) for k in AGING_BUCKETS},
                            "total": float(r.total)} for r in rows])
        m = st.columns(2) + st.columns(2) + st.columns(2)  # amounts two to a row: never cut short
        for col, k in zip(m, AGING_BUCKETS):
            col.metric(AGING_LABELS[k], w.money(sum(getattr(r, k) for r in rows)))
        m[5].metric("total open", w.money(sum(r.total for r in rows)))
        st.bar_chart(df.set_index(by)[[AGING_LABELS[k] for k in AGING_BUCKETS]], height=300,
                     color=["#90caf9", "#fff176", "#ffb74d", "#e57373", "#b71c1c"])
        st.dataframe(df, hide_index=True, width="stretch")
        _downloads(df, f"arrears-aging-{as_of}-{'city' if top else 'uc'}", "rp_age")

with consumer_tab:
    report_analytics.consumers(db, actor, by, top, _downloads)

with staff_tab:
    report_analytics.staff(db, actor, month, _downloads)  # the bill month chosen on the Collection tab
