"""My usage (customer portal, issue 16): monthly usage, this year against last year; for water also
the daily usage of the last 90 days, with the plan's tiers shaded on the monthly chart. Only the
customer's own accounts (CustomerPortal.view)."""
from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from services.customers import insights
from ui import widgets as w
from ui.portal_common import guard, pick_account, portal

actor = guard()
p = portal()
db = p.view(actor)
u = db.utility()
st.title("My usage")
acct = pick_account(actor)
if acct is None:
    st.stop()
st.caption(f"{w.word(capital=True)} **{w.esc(acct.code)}**")
months = insights.monthly_use(db, acct, actor)
metered = u.quantity_unit is not None
measure = "quantity" if metered else "amount"
label = u.quantity_unit if metered else u.currency
if not months:
    st.info("No usage recorded yet.")
    st.stop()
frame = pd.DataFrame({"month": [int(m.month[5:]) for m in months], "year": [m.month[:4] for m in months],
                      "value": [float(getattr(m, measure)) for m in months]})
this_year = str(db.today().year)
frame = frame[frame["year"].isin([this_year, str(int(this_year) - 1)])]
st.subheader("This year and last year, by month")
bars = alt.Chart(frame).mark_bar().encode(
    x=alt.X("month:O", title="month", axis=alt.Axis(labelExpr="['','Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'][datum.value]")),
    xOffset="year:N", y=alt.Y("value:Q", title=label), color=alt.Color("year:N", legend=alt.Legend(orient="top")),
    tooltip=["year", "month", "value"])
layers = [bars]
plan = insights._plan_for(db, acct)
if plan is not None and plan.kind == "tiered_seasonal":
    params = plan.version_for(db.today()).params
    bands, lower = [], 0.0
    for i, tier in enumerate(params.tiers, 1):
        upper = float(tier.up_to) if tier.up_to is not None else max(float(frame["value"].max() or 0), lower) * 1.1
        bands.append({"tier": f"Tier {i}", "lo": lower, "hi": upper})
        lower = upper
    tint = ["#e3f2e5", "#fff1d6", "#fde0dc", "#ead9f5"]
    shade = alt.Chart(pd.DataFrame(bands)).mark_rect(opacity=0.7).encode(
        y="lo:Q", y2="hi:Q", color=alt.Color("tier:N", scale=alt.Scale(range=tint[:len(bands)]),
                                             legend=alt.Legend(orient="top", title="price tier")))
    layers = [shade, bars]
    seasons = ", ".join(f"{s.name}: x{s.multiplier}" for s in params.seasons if s.multiplier != 1)
    st.caption("Shaded: the price tiers of a month's usage (each tier's units cost more)"
               + (f"; seasons: {w.esc(seasons)}" if seasons else "") + ".")
st.altair_chart(alt.layer(*layers).resolve_scale(color="independent").properties(height=280), width="stretch")
if u.template == "water":
    today = db.today()
    rows = db.daily_usage(acct.id, today - dt.timedelta(days=89), today, actor=actor)
    if rows:
        st.subheader("Daily, last 90 days")
        daily = pd.DataFrame({"day": [r.usage_date for r in rows], label: [float(r.quantity) for r in rows]})
        st.line_chart(daily, x="day", y=label, height=220)
st.dataframe([{"month": m.month, "usage": w.qty(m.quantity) if metered else "-", "charges": w.money(m.amount)}
              for m in reversed(months)], hide_index=True, width="stretch")
