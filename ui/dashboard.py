"""Admin dashboard: the month's billing and collection figures, pending work, and charts of
consumption (bills, for a utility that meters nothing) and collections by month, in the utility's
currency and unit. Figures are cached for a short time (the sums run over
every bill of the month; a few minutes' staleness is fine for a dashboard)."""
from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import streamlit as st

from services.billing.periods import month_key
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, services, utility

TTL_SECONDS = 120
# A month that has ended changes only when a late bill or payment lands in it: an hour is fine,
# and it keeps the one-pass-per-month sums (300,000 bills each at municipal size) off most opens.
CLOSED_MONTH_TTL_SECONDS = 3600
MONTHS = 12

actor = page_guard(Permission.VIEW_REPORTS)
svc = services()
db = svc.db
u = utility()
today = db.today()


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Adding up the month ...")
def figures(_db, _actor, database: str, month: str, day: dt.date):
    return _db.dashboard(month, actor=_actor)


@st.cache_data(ttl=CLOSED_MONTH_TTL_SECONDS, show_spinner="Adding up past months ...")
def closed_month(_db, _actor, database: str, month: str):
    return _db.monthly_points([month], actor=_actor)[0]


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def open_month(_db, _actor, database: str, month: str):
    return _db.monthly_points([month], actor=_actor)[0]


st.title(":material/monitoring: Dashboard")
options = []
cur = today.replace(day=1)
for _ in range(MONTHS + 1):
    options.append(month_key(cur))
    cur = (cur - dt.timedelta(days=1)).replace(day=1)
# Open on the latest month that has bills: early in a month nothing is billed yet, and a page of
# zeros says nothing.
where = svc.settings.sql_url if svc.settings.backend != "supabase" else svc.settings.supabase_url
start = 1 if figures(db, actor, where, options[0], today).bill_count == 0 else 0
month = st.selectbox("Month", options, index=start, key="dash_month",
                     help="Bills whose period starts in this month, and payments received in it.")
fig = figures(db, actor, where, month, today)

c = st.columns(3)
c[0].metric(f"Billed in {month}", w.money(fig.billed), help=f"{fig.bill_count:,} bills; this period's charges "
            "without arrears carried in.")
c[1].metric(f"Collected in {month}", w.money(fig.collected))
rate = fig.collection_rate
c[2].metric("Collection rate", "-" if rate is None else f"{rate}%", help="Collected in the month / billed in it.")
c = st.columns(3)
c[0].metric("Outstanding now", w.money(fig.outstanding), help="Unpaid balance of every open bill.")
c[1].metric("Overdue bills", f"{fig.overdue_count:,}")
if u.quantity_unit:
    c[2].metric("Readings pending review", f"{fig.pending_readings:,}")
st.caption(f"Figures are at most {TTL_SECONDS // 60} minutes old; past months in the charts at most an hour.")

current = month_key(today)
keys = sorted(options[:MONTHS])
points = [(open_month if k == current else closed_month)(db, actor, where, k) for k in keys]
# Charts only: plotly draws floats. Every figure shown as text above stays a Decimal.
labels = [p.month for p in points]
left, right = st.columns(2)
with left:
    if u.quantity_unit:
        chart = go.Figure(go.Bar(x=labels, y=[float(p.consumption) for p in points], name=f"{u.quantity_unit} billed",
                                 marker_color="#1f77b4"))
        title = f"Consumption billed by month ({u.quantity_unit})"
    else:  # a fixed fee: nothing is metered, so the bills issued stand for the work done
        chart = go.Figure(go.Bar(x=labels, y=[p.bill_count for p in points], name="Bills", marker_color="#1f77b4"))
        title = "Bills issued by month"
    chart.update_layout(title=title, height=360, margin=dict(t=50, b=30, l=10, r=10))
    st.plotly_chart(chart, key="chart_consumption")
with right:
    chart = go.Figure([
        go.Bar(x=labels, y=[float(p.billed) for p in points], name="Billed", marker_color="#9ecae1"),
        go.Bar(x=labels, y=[float(p.collected) for p in points], name="Collected", marker_color="#2ca02c"),
    ])
    chart.update_layout(title=f"Billed and collected by month ({w.currency_symbol()})", barmode="group", height=360,
                        margin=dict(t=50, b=30, l=10, r=10), legend=dict(orientation="h", y=-0.15))
    st.plotly_chart(chart, key="chart_collections")
