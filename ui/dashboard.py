"""Admin dashboard: one bill month's billing and collection, what is outstanding by age, pending
work, and charts by month, in the utility's currency and unit. Every figure comes from one service
function (services/reports/dashboard.py dashboard_figures), read when the page is drawn (no cache:
a bill run or a payment shows at once), and links to the list behind it."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from services.accounts.roles import Permission
from services.billing.periods import month_key
from services.reports import dashboard as report
from services.reports.models import AGING_BUCKETS, AGING_LABELS
from ui import widgets as w
from ui.common import page_guard, services, utility

MONTHS = 12

actor = page_guard(Permission.VIEW_REPORTS)
svc = services()
db = svc.db
u = utility()
today = db.today()

st.title(":material/monitoring: Dashboard")
latest = report.last_billed_month(db, actor=actor) or month_key(today)
options = list(reversed(report.months_before(max(latest, month_key(today)), MONTHS + 1)))
wanted = st.query_params.get("month")  # not "period": that is the bills list's filter, which the links set
if "dash_month" not in st.session_state:  # opens on the newest month with bills (or the linked one)
    st.session_state["dash_month"] = wanted if wanted in options else latest
month = st.selectbox("Bill month", options, key="dash_month",
                     help="The bills whose period starts in this month. Opens on the newest month that has bills.")
if month != latest or "month" in st.query_params:
    st.query_params["month"] = month
fig = report.dashboard_figures(db, month, actor=actor, chart_months=MONTHS)
p = fig.period

st.caption(f"**Billed**: what the {w.count(p.bills)} bills of {month} charge for the month. **Due**: their totals, with "
           "arrears carried into them. **Collected**: paid on those same bills so far, whenever it was paid. "
           "**Collection rate** = collected / due, so never above 100%. Outstanding and aging: every open bill "
           "today.")
c = st.columns(2) + st.columns(2)  # two to a row: a whole amount (Rs 9,00,00,000.00) is never cut short
c[0].metric(f"Billed for {month}", w.money(p.billed))
c[0].page_link("ui/bills.py", label=f"{w.count(p.bills)} bills", icon=":material/list:", query_params={"period": month})
c[1].metric(f"Due on {month}'s bills", w.money(p.due))
c[2].metric(f"Collected on {month}'s bills", w.money(p.collected))
c[2].page_link("ui/bills.py", label="Paid bills", icon=":material/list:",
               query_params={"period": month, "status": "paid"})
rate = p.collection_rate
c[3].metric("Collection rate", "-" if rate is None else f"{rate}%", help="Collected / due, on the month's bills.")
c[3].page_link("ui/bills.py", label="Unpaid bills", icon=":material/list:",
               query_params={"period": month, "status": "pending,partially_paid,overdue"})

c = st.columns(2) + st.columns(2)
c[0].metric("Outstanding now", w.money(fig.outstanding), help="Unpaid balance of every open bill, each amount once.")
c[0].page_link("ui/bills.py", label="Open bills", icon=":material/list:",
               query_params={"status": "pending,partially_paid,overdue"})
c[1].metric("Overdue bills", f"{w.count(fig.overdue_count)}")
c[1].page_link("ui/bills.py", label="Overdue bills", icon=":material/list:", query_params={"overdue": "1"})
if u.quantity_unit:
    c[2].metric("Readings pending review", f"{w.count(fig.pending_readings)}")
    c[2].page_link("ui/review_readings.py", label="Review them", icon=":material/fact_check:")

st.markdown("**Outstanding by age** (days past the due date)")
st.dataframe([{"age": AGING_LABELS[k], "outstanding": w.money(fig.aging[k])} for k in AGING_BUCKETS]
             + [{"age": "total", "outstanding": w.money(fig.outstanding)}], hide_index=True,
             height=35 * (len(AGING_BUCKETS) + 2) + 3, key="dash_aging")

# Charts only: plotly draws floats. Every figure shown as text above stays a Decimal; the chart's
# bars are the same PeriodFigures, so the selected month's bars equal the figures above.
labels = [m.period for m in fig.months]
left, right = st.columns(2)
with left:
    if u.quantity_unit:
        chart = go.Figure(go.Bar(x=labels, y=[float(fig.consumption.get(k, 0)) for k in labels],
                                 name=f"{u.quantity_unit} billed", marker_color="#1f77b4"))
        title = f"Consumption billed by month ({u.quantity_unit})"
    else:  # a fixed fee: nothing is metered, so the bills issued stand for the work done
        chart = go.Figure(go.Bar(x=labels, y=[m.bills for m in fig.months], name="Bills", marker_color="#1f77b4"))
        title = "Bills issued by month"
    chart.update_layout(title=title, height=360, margin=dict(t=50, b=30, l=10, r=10))
    st.plotly_chart(chart, key="chart_consumption")
with right:
    chart = go.Figure([
        go.Bar(x=labels, y=[float(m.due) for m in fig.months], name="Due", marker_color="#9ecae1"),
        go.Bar(x=labels, y=[float(m.collected) for m in fig.months], name="Collected", marker_color="#2ca02c"),
    ])
    chart.update_layout(title=f"Due and collected on each month's bills ({w.currency_symbol()})", barmode="group",
                        height=360, margin=dict(t=50, b=30, l=10, r=10), legend=dict(orientation="h", y=-0.15))
    st.plotly_chart(chart, key="chart_collections")
