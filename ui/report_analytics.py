"""The Reports page's consumer analytics and staff performance tabs (issue 14; definitions in
services/reports/analytics.py, stated on the page). Read through the signed-in user's scope."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from services.reports.analytics import PATTERN_LABELS, PATTERNS, WINDOWS, month_days, with_visits
from ui import widgets as w

PATTERN_COLOURS = ["#2e7d32", "#f9a825", "#ef6c00", "#c62828"]


def consumers(db, actor, by: str, top: bool, downloads) -> None:
    months = st.segmented_control("Over the last", list(WINDOWS), default=12, key="rp_cons_months",
                                  format_func=lambda n: f"{n} months") or 12
    as_of = db.today()
    rows = db.storage.consumer_analytics(as_of, months, top)
    counted = db.storage.consumer_patterns_computed_at(as_of, months)
    st.caption(f"Units by area, and the units billed in the last {months} bill months (bills due by {as_of}, replaced "
               "and cancelled ones left out) by how they pay: **always on time** (every bill paid in full by its due "
               "date, by the dates the payments were made), **late** (every bill settled, some after the due date; a "
               "balance carried into a newer bill counts as late), **partial** (something paid, not every bill settled), **never paid**."
               + (f" Payment patterns as counted at {w.date_text(counted)} by the daily consumer patterns job; "
                  "payments since then show tomorrow." if counted else ""))
    if not rows:
        st.info("No units" + ("." if actor.scope.is_everything else " in your areas."))
        return
    if counted and actor.scope.is_everything and st.button("Count again now", icon=":material/refresh:",
                                                            key="rp_cons_recount",
                                                            help="Count the payment patterns of today again (a few "
                                                                 "seconds at 300,000 units), with today's payments."):
        db.storage.refresh_consumer_patterns(as_of, months)
        st.rerun()
    billed = sum(r.billed for r in rows)
    m = st.columns(3) + st.columns(3)
    m[0].metric("Active units", f"{w.count(sum(r.active for r in rows))}")
    m[1].metric("Inactive units", f"{w.count(sum(r.inactive for r in rows))}")
    m[2].metric("Billed units", f"{w.count(billed)}")
    for col, k in zip(m[3:], ("on_time", "partial", "never_paid")):
        n = sum(getattr(r, k) for r in rows)
        col.metric(PATTERN_LABELS[k], f"{w.count(n)}", f"{n * 100 / billed:.1f}% of billed" if billed else None,
                   delta_color="off", delta_arrow="off")
    df = pd.DataFrame([{by: r.area_name, "code": r.area_path, "active": r.active, "inactive": r.inactive,
                        "billed": r.billed, **{PATTERN_LABELS[k]: getattr(r, k) for k in PATTERNS}} for r in rows])
    st.bar_chart(df.set_index(by)[[PATTERN_LABELS[k] for k in PATTERNS]], height=300, color=PATTERN_COLOURS)
    st.dataframe(df, hide_index=True, width="stretch")
    downloads(df, f"consumer-analytics-{as_of}-{'city' if top else 'uc'}", "rp_cons")


def staff(db, actor, month: str, downloads) -> None:
    rows = with_visits(db.storage.staff_performance(month), db.storage.visits_per_agent(*month_days(month)))
    st.caption(f"Each agent, supervisor and manager: the bills of {month} in the areas assigned to them (each area "
               "once), what they ask for (**due**), what was **collected** on them and how many are **paid** in full; "
               "**collection rate** = collected / due; **visits**: the field visits each logged in the month."
               + ("" if actor.scope.is_everything else " Only the bills of your areas count."))
    if not rows:
        st.info(f"No staff with bills of {month} in their areas.")
        return
    df = pd.DataFrame([{"staff": r.display_name or r.username, "username": r.username, "role": r.role,
                        "areas": r.areas, "bills": r.bills, "due": float(r.due), "collected": float(r.collected),
                        "rate %": float(r.rate) if r.rate is not None else None, "paid bills": r.paid,
                        "visits": r.visits} for r in rows])
    m = st.columns(2)
    m[0].metric("Staff with bills in their areas", f"{w.count(len(rows))}")
    m[1].metric("Collected in their areas", w.money(sum(r.collected for r in rows)))
    st.bar_chart(df.set_index("username")[["collected", "due"]], stack=False, height=300, horizontal=True)
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.2f") for k in ("due", "collected")})
    downloads(df, f"staff-performance-{month}", "rp_staff")
