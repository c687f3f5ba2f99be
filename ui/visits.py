"""Visits (issue 15): supervisors approve or reject agents' visits (flagged ones first to look at),
visit history per unit and per agent (paged, exportable), visits per agent over a period, and a
map of a day's visits drawn with pydeck without map tiles (works offline). Staff see only their
areas' visits (the storage layer filters them)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from services.field import exports as fx
from services.field import service as field
from services.field.models import VisitFilter
from ui import field_work as fw
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.LOG_VISIT)
svc = services()
db = svc.db
view = db.for_actor(actor).storage
u = utility()
today = db.today()
reviewer = actor.can(Permission.REVIEW_VISITS)

st.title(":material/where_to_vote: Visits")
tabs = st.tabs(["Approvals", "History", "Map of a day", "Per agent"] if reviewer else ["History", "Map of a day"])
tab = dict(zip(["Approvals", "History", "Map", "Per agent"] if reviewer else ["History", "Map"], tabs))

if reviewer:
    with tab["Approvals"]:
        flagged_only = st.toggle("Flagged only (farther than the radius)", key="vv_flagged")
        key = "vv_pending"
        size = w.page_size(key, 10)
        flt = VisitFilter(status="pending", flagged=True if flagged_only else None, newest_first=False)
        page = view.list_visits(flt, w.offset_for(key, (flt, size)), size)
        if not page.items:
            st.info("No visits waiting for approval.")
        else:
            st.dataframe(fw.visit_rows(page.items), hide_index=True, width="stretch")
            w.pager(key, page, "visits")
            visit = st.selectbox("Decide a visit", page.items, key="vv_pick",
                                 format_func=lambda v: f"#{v.id} · {v.account_code} · {v.agent_name} · "
                                                       f"{fw.distance_text(v)}")
            fw.show_photo(visit.photo_ref, f"visit #{visit.id}", visit.photo_url)
            reason = st.text_input("Reason (required to reject)", key=f"vv_reason_{visit.id}")
            b1, b2 = st.columns(2)
            decided = None
            if b1.button("Approve visit", type="primary", icon=":material/check:", key=f"vv_approve_{visit.id}",
                         width="stretch"):
                decided = True
            if b2.button("Reject visit", icon=":material/close:", key=f"vv_reject_{visit.id}", width="stretch"):
                decided = False
            if decided is not None:
                try:
                    field.review_visit(db, visit.id, approve=decided, reason=reason or None, actor=actor)
                    st.toast(f"Visit #{visit.id} {'approved' if decided else 'rejected'}.")
                    st.rerun()
                except MeterlineError as exc:
                    show_error(exc)

with tab["History"]:
    c1, c2, c3 = st.columns(3)
    code = c1.text_input(f"{u.label(capital=True)} code", key="vh_code")
    mine = c2.toggle("Only my visits", value=not reviewer, key="vh_mine")
    status = c3.selectbox("Status", [None, "pending", "approved", "rejected"], key="vh_status",
                          format_func=lambda s: s or "any")
    d1, d2 = st.columns(2)
    start = d1.date_input("From", value=today - dt.timedelta(days=30), key="vh_from")
    end = d2.date_input("To", value=today, key="vh_to")
    account_id = None
    if code.strip():
        found = view.get_account(code=code.strip())
        if found is None:
            st.warning(f"No {u.account_label} {w.esc(code.strip())} in your areas.")
        account_id = found.id if found is not None else 0  # 0: no account, nothing matches
    flt = VisitFilter(status=status, account_id=account_id, agent_id=actor.user_id if mine else None,
                      date_from=start, date_to=end)
    key = "vh"
    size = w.page_size(key)
    page = view.list_visits(flt, w.offset_for(key, (flt, size)), size)
    if not page.items:
        st.info("No visits match.")
    else:
        st.dataframe(fw.visit_rows(page.items), hide_index=True, width="stretch")
        w.pager(key, page, "visits")
        fw.export_buttons("visits", lambda: fx.iter_visits(view, flt), fx.visit_columns(u.account_label), "Visits")

with tab["Map"]:
    day = st.date_input("Day", value=today, key="vm_day")
    visits = view.list_visits(VisitFilter(date_from=day, date_to=day, newest_first=False), 0, 1000,
                              with_total=False).items
    points = [v for v in visits if v.gps_lat is not None]
    st.caption(f"{w.plural(len(visits), 'visit')} on {day}; {len(points)} with a position "
               "(red: flagged; grey squares: the units' surveyed positions).")
    if points:
        import pydeck as pdk

        frame = pd.DataFrame([{"lat": float(v.gps_lat), "lon": float(v.gps_lon), "visit": v.id,
                               "unit": v.account_code, "agent": v.agent_name, "distance": fw.distance_text(v),
                               "color": [220, 40, 40] if v.flagged else [30, 120, 220]} for v in points])
        units = pd.DataFrame([{"lat": float(v.unit_lat), "lon": float(v.unit_lon), "unit": v.account_code}
                              for v in points if v.unit_lat is not None])
        layers = [pdk.Layer("ScatterplotLayer", frame, get_position="[lon, lat]", get_fill_color="color",
                            get_radius=12, radius_min_pixels=6, pickable=True)]
        if not units.empty:
            layers.append(pdk.Layer("ScatterplotLayer", units, get_position="[lon, lat]",
                                    get_fill_color=[120, 120, 120], get_radius=8, radius_min_pixels=4, stroked=True))
        view_state = pdk.ViewState(latitude=float(frame.lat.mean()), longitude=float(frame.lon.mean()), zoom=14)
        # map_style=None: no base map tiles are fetched, so the map works offline.
        st.pydeck_chart(pdk.Deck(layers=layers, initial_view_state=view_state, map_style=None,
                                 tooltip={"text": "visit {visit} · {unit} · {agent} · {distance}"}), height=360)
        st.dataframe(frame.drop(columns=["color"]), hide_index=True, width="stretch")

if reviewer:
    with tab["Per agent"]:
        p1, p2 = st.columns(2)
        first = p1.date_input("From", value=today.replace(day=1), key="va_from")
        last = p2.date_input("To", value=today, key="va_to")
        try:
            rows = field.visits_per_agent(db, first, last, actor)
        except MeterlineError as exc:
            show_error(exc)
            rows = []
        if rows:
            st.dataframe([{"agent": r.agent_name, "visits": r.visits, "units": r.units, "approved": r.approved,
                           "rejected": r.rejected, "pending": r.pending, "flagged": r.flagged} for r in rows],
                         hide_index=True, width="stretch")
        else:
            st.info("No visits in this period.")
