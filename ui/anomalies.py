"""Operations: open usage anomalies (filtered in the database by area, customer type, method and
size of the deviation), each with its usage chart and the band it was judged against, and the
review outcome recorded (audited). Detection runs after each import and month run, as a
scheduled job, and from the button here for the latest month (services/water_service.py)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import pandas as pd
import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from services.models import AnomalyFilter
from services.readings.anomalies import METHOD_LABELS, OUTCOME_LABELS, OUTCOMES
from services.water_service import band
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.REVIEW_ANOMALIES)
db = services().db
u = utility()
st.title(":material/troubleshoot: Usage anomalies")
st.caption("Usage that breaks a rule, per customer and month: the 2-sigma rule of seed 004, a robust rule "
           "(median and MAD, relative to the customer type's day), a high read (over 2x the average), "
           "continuous flow (a leak), zero usage on an active account and usage on a closed one. "
           "Review each: the outcome is kept with who and when.")

flash = st.session_state.pop("anomaly_flash", None)
if flash:
    st.success(flash)

with st.container(border=True):
    area_id = w.area_picker("an_area")
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    method = c1.selectbox("Method", [None, *METHOD_LABELS], key="an_method",
                          format_func=lambda m: "Any method" if m is None else METHOD_LABELS[m])
    kind = c2.selectbox("Customer type", [None, "residential", "commercial", "industrial"], key="an_type",
                        format_func=lambda t: "Any type" if t is None else t)
    min_score = c3.text_input("Score at least", key="an_score", help="The method's score: z, modified z, "
                              "times the average, days of zero, CCF on a closed account.")
    status = c4.selectbox("Status", ["open", "reviewed", None], key="an_status",
                          format_func=lambda s: "Open and reviewed" if s is None else s)

try:
    score = Decimal(min_score.strip()) if min_score.strip() else None
except InvalidOperation:
    st.error(f"**Score at least**: '{min_score}' is not a number. Type e.g. 3.5, or leave it empty.")
    st.stop()

flt = AnomalyFilter(status=status, area_id=area_id, method=method, account_type=kind, min_score=score)
key = "anomalies"
size = w.page_size(key)
offset = w.offset_for(key, (flt, size))
page = db.list_anomalies(flt, offset, size, actor=actor)

if not page.items:
    st.info("No anomalies match these filters.")
else:
    st.dataframe([{"#": x.id, "customer": x.account_code, "name": x.account_name or "", "type": x.account_type or "",
                   "area": x.area_path or "", "method": METHOD_LABELS.get(x.method, x.method),
                   "day": x.usage_date.isoformat(), "usage": w.qty(x.usage),
                   "usual": w.qty(x.baseline) if x.baseline is not None else "", "score": str(x.score),
                   "status": x.status if x.status == "open" else OUTCOME_LABELS.get(x.outcome or "", x.outcome)}
                  for x in page.items], hide_index=True, width="stretch")
    w.pager(key, page, "anomalies")

    chosen = st.selectbox("Open an anomaly", page.items, key="an_open",
                          format_func=lambda x: f"#{x.id} · {x.account_code} · {METHOD_LABELS.get(x.method, x.method)}"
                                                f" · {x.usage_date}")
    with st.container(border=True):
        st.markdown(f"**{w.esc(chosen.account_code)}** {w.esc(chosen.account_name or '')} · "
                    f"{w.esc(chosen.area_path or '')} · {w.esc(METHOD_LABELS.get(chosen.method, chosen.method))}")
        lo_hi = band(chosen)
        start = chosen.period_start - dt.timedelta(days=60)
        end = chosen.period_end
        rows = db.daily_usage(chosen.account_id, start, end, actor=actor)
        if rows:
            frame = pd.DataFrame({"day": [r.usage_date for r in rows], "usage": [float(r.quantity) for r in rows]})
            if lo_hi:
                frame["usual low"] = float(lo_hi[0])
                frame["usual high"] = float(lo_hi[1])
            st.line_chart(frame, x="day", y=[c for c in frame.columns if c != "day"], height=260)
        st.caption(f"{w.qty(chosen.usage)} on {chosen.usage_date}; usual "
                   + (f"{w.qty(chosen.baseline)}" if chosen.baseline is not None else "-")
                   + (f", band {w.qty(lo_hi[0])} to {w.qty(lo_hi[1])} (baseline +/- 2 x spread)" if lo_hi else "")
                   + f"; {chosen.history_days} days of history; score {chosen.score}.")
        if chosen.status == "reviewed":
            st.markdown(f"Reviewed by **{w.esc(chosen.reviewed_by_name or '')}** on "
                        f"{w.date_text(chosen.reviewed_at)}: **{OUTCOME_LABELS.get(chosen.outcome, chosen.outcome)}**"
                        + (f" · {w.esc(chosen.review_note)}" if chosen.review_note else ""))
        else:
            with st.form(f"review_{chosen.id}"):
                outcome = st.selectbox("Outcome", OUTCOMES, key="an_outcome", format_func=OUTCOME_LABELS.get)
                note = st.text_input("Note", key="an_note", max_chars=1000, placeholder="what was found")
                done = st.form_submit_button("Record review", icon=":material/task_alt:")
            if done:
                try:
                    db.review_anomaly(chosen.id, outcome, note, actor=actor)
                except MeterlineError as exc:
                    show_error(exc)
                else:
                    st.session_state["anomaly_flash"] = (f"Anomaly #{chosen.id} ({chosen.account_code}) reviewed: "
                                                         f"{OUTCOME_LABELS[outcome]}.")
                    st.rerun()

with st.expander("Run detection"):
    st.caption("Looks at every customer's usage of a month against their own history and adds what is new "
               "(a month detected again adds only new anomalies). It also runs after each import and month run.")
    month = st.date_input("Month", value=db.today().replace(day=1), key="an_detect_month")
    if st.button("Detect", icon=":material/search:", key="an_detect"):
        try:
            found = db.detect_month_anomalies(month, actor=actor)
        except MeterlineError as exc:
            show_error(exc)
        else:
            st.session_state["anomaly_flash"] = "Detection added " + (", ".join(
                f"{n} {METHOD_LABELS[m]}" for m, n in found.items() if n) or "nothing new") + "."
            st.rerun()
