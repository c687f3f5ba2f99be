"""Admin: generate the month's bills, by the utility's plan: every account with an approved,
unbilled reading in the month (a metered plan billed by readings: the society), every account's
daily usage in the month (water), or every active account (a fixed fee: municipal). An area
picked limits the run to the accounts under it (one block, one union council, one billing cycle).

A metered plan's run may estimate the accounts with no reading (or daily usage) in the month
(services/billing/estimates.py).

A dry run comes first (how many bills, the total, how many accounts are skipped as already billed
or refused by a locked month); the real run is offered only for the period and due date that
were previewed, and shows a progress bar and a summary. Running again finishes a run that
stopped half-way and creates no duplicates (the service skips accounts already billed).
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from services.errors import MeterlineError
from services.billing.periods import BillingPeriod, month_key
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import billing_source, page_guard, services, show_error, utility

PREVIEW = "run_preview"
SUMMARY = "run_summary"
MANIFEST = "run_manifest"

actor = page_guard(Permission.RUN_BILLING)
db = services().db


def _customer_alerts(run_id) -> None:
    """The portal's bill-ready alert to customers who opted in (services/customers/alerts.py); the bills
    stand whatever happens here."""
    from services.customers.alerts import CustomerAlerts

    try:
        CustomerAlerts.of(services()).run_bills_ready(db, run_id, actor)
    except Exception:  # noqa: BLE001 - logged; the run is stored
        import logging

        logging.getLogger(__name__).exception("bill-ready alerts after run %s failed", run_id)
u = utility()
source = billing_source()
today = db.today()
WHAT = {
    "readings": f"Bills every {u.account_label} whose approved, unbilled reading is dated in this month (a bill covers "
                "every approved reading since its last bill).",
    "usage": f"Bills every {u.account_label}'s unbilled daily usage up to the month's end: this month's, and any that "
             "came after an earlier month was run.",
    "none": f"Bills every active {u.account_label} the month's fixed fee: nothing is metered.",
}

st.title(":material/calendar_month: Generate monthly bills")

months = []
cur = today.replace(day=1)
for _ in range(13):
    months.append(month_key(cur))
    cur = (cur - dt.timedelta(days=1)).replace(day=1)
st.caption(WHAT[source])
c1, c2 = st.columns(2)
month = c1.selectbox("Billing month", months, key="run_month")
period = BillingPeriod.for_month(month)
due = c2.date_input("Due date", value=period.end + dt.timedelta(days=u.due_days), min_value=period.start,
                    format="YYYY-MM-DD", key=f"run_due_{month}")
area_id = w.area_picker("run_area")
area = db.get_area(area_id) if area_id is not None else None
ESTIMATE_HELP = {
    "readings": "Each is billed its average daily use over its last readings times the month's days, marked estimated "
                "on the bill. Its next actual reading trues it up: that bill charges the actual units less the "
                "estimated ones (never less than zero).",
    "usage": "Each is billed its average daily usage over the last 90 days, scaled by last year's step into this "
             "month, times the month's days, marked estimated on the bill. Its usage for the month is still taken "
             "when it comes: the next bill charges it less the estimated units (never less than zero).",
}
estimate = source in ESTIMATE_HELP and st.checkbox(
    f"Estimate {u.account_label_plural} with no {'reading' if source == 'readings' else 'usage'} this month",
    key="run_estimate", help=ESTIMATE_HELP.get(source))
params = (period.start, period.end, due)
run_key = (params, area_id, estimate)  # the run offered is the one previewed: same period, due date, area, estimating
where = f" in {w.esc(area.name)}" if area else ""
locked = month in db.locked_months()
if locked:
    st.warning(f"{month} is a locked month: a run for it is refused whole and writes nothing.", icon=":material/lock:")


def _summary_table(s) -> None:
    c = st.columns(2) + st.columns(4 if source == "readings" else 2)  # the amount on a row of two: never cut short
    c[0].metric("Bills" if not s.dry_run else "Bills to create", f"{w.count(s.created)}")
    c[1].metric("Total amount", w.money(s.total_amount))
    c[2].metric("Skipped: already billed", f"{w.count(s.skipped)}")
    c[3].metric("Refused: locked month", f"{w.count(s.refused)}")
    if source == "readings":
        c[4].metric("No units (first reading)", f"{w.count(s.missing_units)}")
        c[5].metric("Waiting for review", f"{w.count(s.waiting)}", help="An approved reading in the month comes after one still "
                    "pending review: review it, then run again (a bill covers every reading since the last one billed).")
    if s.estimated or s.no_basis:
        e = st.columns(2)
        missing = "reading" if source == "readings" else "usage"
        e[0].metric(f"Estimated (no {missing})", f"{w.count(s.estimated)}", help="Of the bills above.")
        e[1].metric("Too little history to estimate", f"{w.count(s.no_basis)}",
                    help="No reading this month and fewer than two earlier readings: not billed." if missing == "reading"
                    else "No usage this month and fewer than 28 days of usage in the 90 days before: not billed.")


def _manifest(manifest, manifest_id, key: str) -> None:
    """The run's manifest (docs/trust.md): per area and category, what was skipped, the chain head
    after a real run, and for a dry run the diff against last month; downloadable as JSON and CSV."""
    data = manifest.data
    head = data.get("chain_head")
    if head:
        st.markdown("Bills' chain head after this run (keep it outside Meterline to check the history later):")
        st.code(head, language=None, wrap_lines=True)
    diff = data.get("diff") or {}
    if data.get("dry_run") and diff:
        prev = data.get("previous_period_start", "")
        st.markdown(f"**Compared with last month's bills** ({str(prev)[:7]}): {w.plural(diff.get('new_accounts', 0), 'new ' + u.account_label)}, "
                    f"{w.count(diff.get('missing_accounts', 0))} billed last month but not in this run"
                    + (f" ({w.esc(', '.join(diff['missing_sample'][:10]))}{' ...' if diff.get('missing_accounts', 0) > 10 else ''})"
                       if diff.get("missing_sample") else ""))
        if diff.get("movers"):
            st.markdown(f"**The {len(diff['movers'])} biggest changes** per {u.account_label}, and why")
            st.dataframe(w.amounts_table([{u.account_label: mv["account"], "area": mv["area"], "last month": mv["previous"],
                                           "now": mv["now"], "change": mv["change"], "why": mv["reason"]}
                                          for mv in diff["movers"]], money_columns=("last month", "now", "change")),
                         hide_index=True, width="stretch", column_config=w.amount_columns("last month", "now", "change"))
    if diff.get("areas"):
        with st.expander("Totals per area, against last month"):
            st.dataframe([{"area": a["area"], "last month": w.money(a["previous"]), "now": w.money(a["now"]),
                           "change": ("up " if a["change"] > 0 else "down " if a["change"] < 0 else "") + w.money(abs(a["change"]))}
                          for a in diff["areas"]], hide_index=True, width="stretch")
    with st.expander("Manifest: bills per area and category, skipped and why"):
        st.dataframe(w.amounts_table([{"area": g["area"], "category": g["category"], "bills": g["bills"],
                                       "units": u.number(g["units"]), "amount": g["amount"]} for g in data.get("groups", [])],
                                     money_columns=("amount",)), hide_index=True, width="stretch",
                     column_config=w.amount_columns("amount"))
        st.caption(" · ".join(f"{k.replace('_', ' ')}: {w.count(v)}" for k, v in data.get("skipped", {}).items()))
    name = f"manifest_{str(data.get('period_start'))[:7]}_{'dry' if data.get('dry_run') else 'run'}{manifest_id or ''}"
    c1, c2 = st.columns(2)
    c1.download_button("Download manifest (JSON)", manifest.to_json(), f"{name}.json", "application/json",
                       key=f"mf_json_{key}", icon=":material/download:")
    c2.download_button("Download manifest (CSV)", manifest.to_csv(), f"{name}.csv", "text/csv", key=f"mf_csv_{key}",
                       icon=":material/download:")


if st.button("Preview (dry run)", icon=":material/preview:", key="run_preview_btn"):
    st.session_state.pop(SUMMARY, None)
    try:
        with st.spinner("Counting the bills this run would create ..."):
            s_, manifest, manifest_id = db.month_run(*params, dry_run=True, actor=actor, area_id=area_id,
                                                     estimate=estimate)
            st.session_state[PREVIEW] = (run_key, s_)
            st.session_state[MANIFEST] = (run_key, manifest, manifest_id)
    except MeterlineError as exc:
        show_error(exc)

preview = st.session_state.get(PREVIEW)
if preview and preview[0] == run_key:
    s = preview[1]
    with st.container(border=True):
        st.markdown(f"**Dry run for {period.start} to {period.end}{where}, due {due}** (nothing was written)")
        _summary_table(s)
        if s.status == "refused":
            st.error(f"Refused: {s.message}", icon=":material/lock:")
        else:
            st.caption(s.message)
        shown = st.session_state.get(MANIFEST)
        if shown and shown[0] == run_key:
            _manifest(shown[1], shown[2], "preview")
    if s.status != "refused" and s.created:
        if st.button(f"Create {w.plural(s.created, 'bill')}", type="primary", icon=":material/play_arrow:", key="run_go"):
            bar = st.progress(0.0, text="Starting ...")
            expected = max(s.created + s.missing_units, 1)

            def progress(done: int, created: int) -> None:
                bar.progress(min(done / expected, 1.0),
                             text=f"{w.count(done)} of about {w.accounts(expected)} · {w.count(created)} bills")

            try:
                result, manifest, manifest_id = db.month_run(*params, actor=actor, progress=progress, area_id=area_id,
                                                             estimate=estimate)
            except MeterlineError as exc:
                show_error(exc)
            else:
                bar.progress(1.0, text="Done")
                _customer_alerts(result.run_id)
                st.session_state[SUMMARY] = result
                st.session_state[MANIFEST] = ("run", manifest, manifest_id)
                st.session_state.pop(PREVIEW, None)
                st.rerun()
    elif s.status != "refused":
        st.info({"readings": "Nothing to bill for this month: approve readings first, or the month is already billed.",
                 "usage": "Nothing to bill for this month: no daily usage is stored for it, or it is already billed.",
                 "none": f"Nothing to bill for this month: every active {u.account_label} is already billed."}[source])
elif preview:
    st.caption("The month, due date or area changed: preview again before running.")

summary = st.session_state.get(SUMMARY)
if summary:
    with st.container(border=True):
        st.markdown(f"**Run #{summary.run_id} {summary.status}** for {summary.period_start} to {summary.period_end}")
        _summary_table(summary)
        st.success(summary.message, icon=":material/check_circle:")
        shown = st.session_state.get(MANIFEST)
        if shown and shown[0] == "run":
            _manifest(shown[1], shown[2], "run")
        if summary.run_id is not None and summary.created:
            st.page_link("ui/bills.py", label=f"Print or email the bills of run #{summary.run_id}",
                         icon=":material/print:", query_params={"run": summary.run_id})

runs = db.list_bill_runs(10, actor=actor)
if runs:
    st.subheader("Recent runs")
    area_names = {a: db.get_area(a).name for a in {r.area_id for r in runs if r.area_id is not None}}
    st.dataframe([{
        "run": r.id, "period": f"{r.billing_period_start} to {r.billing_period_end}",
        "area": area_names.get(r.area_id, "all"), "status": r.status,
        "created": r.created_count, "skipped": r.skipped_count, "refused": r.refused_count,
        "total": w.money(r.total_amount), "by": r.started_by, "started": w.date_text(r.started_at),
        "error": r.error or ""} for r in runs], hide_index=True, width="stretch")
