"""Admin: the scheduled jobs (services/jobs/definitions.py) with their schedule, next run and last runs, a
"run now" button each, and the month-end bill runs with their counts.

"Run now" runs the job for the current period as the signed-in admin; a period already done
(or running on another replica) is not run again, and the page says so.
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from services.jobs import definitions as jobs
from services.jobs.cron_words import counts_in_words, cron_in_words
from services.errors import MeterlineError
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

RESULT = "jobs_run_result"

actor = page_guard(Permission.RUN_JOBS)
svc = services()
cfg = jobs.job_config()
zone = utility().zone  # one time zone on every page: the utility's (the scheduler may run in another)


def when(value) -> str:
    if not value:
        return "-"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M")


def _in_words(description: str) -> str:
    """The job's description with its settings' values instead of their variable names (BILL_DUE_DAYS is
    '15 days'); the names themselves are on System status and in .env.example."""
    return (description.replace("due BILL_DUE_DAYS after", f"due {cfg.bill_due_days} days after")
            .replace("in REMINDER_DAYS_BEFORE days", f"in {cfg.reminder_days_before} days")
            .replace("from SMART_METER_URL", "from the smart-meter service"))


def run_now(job_id: str, name: str) -> None:
    """Button callback: runs before the page is drawn again, so the tables show the new run."""
    try:
        run = jobs.run_job(svc, job_id, actor=actor)
    except MeterlineError as exc:
        st.session_state[RESULT] = (job_id, "error", exc)
        return
    if run is None:
        st.session_state[RESULT] = (job_id, "info", f"{name}: this period's run already happened (or is running "
                                                    "on another replica); nothing was started.")
    else:
        st.session_state[RESULT] = (job_id, run.status, f"{name} ({run.run_key}): {run.status}"
                                    + (f". {run.error}" if run.error else "."))


def runs_table(job_id: str) -> None:
    runs = jobs.recent_runs(svc, job_id, actor=actor)
    if not runs:
        st.caption("Never run yet.")
        return
    st.dataframe([{
        "period": r.run_key, "status": r.status, "started": when(r.started_at), "finished": when(r.finished_at),
        "what it did": counts_in_words(r.counts),
        "error": r.error or "", "host": r.host or "",
    } for r in runs], hide_index=True, width="stretch", key=f"runs_{job_id}")
    problems = (runs[0].counts or {}).get("problems")
    if problems:
        with st.expander(f"Rows refused in the last run ({len(problems)})"):
            st.dataframe(problems, hide_index=True, width="stretch", key=f"problems_{job_id}")


st.title(":material/schedule: Scheduled jobs")
st.caption(f"Times in {utility().timezone}. Each job runs once per period, however many schedulers are "
           "running; the scheduler runs them on time (ops guide: docs/guide-ops.md).")

result = st.session_state.pop(RESULT, None)
for job in jobs.job_status(svc):
    with st.container(border=True):
        head, button = st.columns([4, 1])
        head.subheader(job["name"])
        head.caption(_in_words(job["description"]))
        other_zone = "" if cfg.timezone == utility().timezone else f" ({cfg.timezone} time)"
        head.markdown(f"Runs {cron_in_words(job['schedule'])}{other_zone} · next run **{when(job['next_run'])}**")
        button.button("Run now", key=f"run_{job['id']}", icon=":material/play_arrow:", on_click=run_now,
                      args=(job["id"], job["name"]), width="stretch")
        if result and result[0] == job["id"]:
            kind, message = result[1], result[2]
            if kind == "error":
                show_error(message)
            elif kind == "info":
                st.info(message, icon=":material/info:")
            elif kind == "failed":
                st.error(w.esc(message), icon=":material/error:")
            else:
                st.success(w.esc(message), icon=":material/check_circle:")
        runs_table(job["id"])

st.subheader("Bill runs")
bill_runs = svc.db.list_bill_runs(20, actor=actor)
if not bill_runs:
    st.caption("No bill run yet.")
else:
    st.dataframe([{
        "run": r.id, "period": f"{r.billing_period_start} to {r.billing_period_end}", "due": str(r.due_date),
        "status": r.status, "created": r.created_count, "skipped": r.skipped_count, "refused": r.refused_count,
        "total": w.money(r.total_amount), "started by": r.started_by, "started": when(r.started_at),
        "finished": when(r.finished_at), "error": r.error or "",
    } for r in bill_runs], hide_index=True, width="stretch", key="bill_runs")
