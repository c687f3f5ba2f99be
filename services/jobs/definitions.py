"""Scheduled jobs: what each does, when, and one run of it.

Four jobs (seed 001, section 3), each a cron schedule in the configured zone (see job_config):

| id                     | default          | does                                                            |
| monthly_bills          | 1st at 02:00     | bill run for the previous month; notify the new bills           |
| payment_reminders      | daily at 10:00   | remind bills due in REMINDER_DAYS_BEFORE (3) days (and email    |
|                        |                  | the bill's PDF when SMTP is configured, once per bill)          |
| overdue_marking        | daily at 11:00   | open bills past due -> overdue; overdue notice sent once a bill |
| smart_meter_collection | Sundays at 08:00 | read SMART_METER_URL, store each reading through validation    |
| usage_anomalies        | daily at 06:00   | water: detect usage anomalies of the month up to yesterday, then|
|                        |                  | alert the customers who opted in (high usage / possible leak)   |
| customer_due_reminders | daily at 09:00   | portal customers who opted in: a reminder CUSTOMER_REMINDER_    |
|                        |                  | DAYS_BEFORE (3) days before a bill is due, once per bill        |

Every run is claimed in job_runs under a unique (job_id, run_key), the key being the job's
period ("2026-10" for the month billed, "2026-11-22" for a day). A second call for the same
period, on this machine or another replica against the same database, gets None and does
nothing. A failed run may be run again; a run still `running` after JOB_STALE_AFTER_MINUTES
(its process died) is superseded by a new attempt keyed "KEY#2", "KEY#3", ... (the unique key
makes exactly one replica win each attempt). Every run ends with its status, counts and error.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services import clock
from services.errors import ConfigurationError, NotFoundError
from services.models import JobRun
from services.billing.periods import BillingPeriod, previous_month
from services.accounts.roles import Actor, Permission, require

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = Actor(None, "scheduler", "system", "scheduler")
PAGE = 500
MAX_PROBLEMS = 100  # bad rows listed in a run's counts (all are counted)


# ---- configuration --------------------------------------------------------------------------
def _env(name: str, default: str) -> str:
    return (os.environ.get(name) or "").strip() or default


def _number(name: str, default: str, kind=int):
    text = _env(name, default)
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(f"{name}={text!r} is not a number of zero or more; fix it in .env (default {default}).")
    return value


@dataclass(frozen=True)
class JobConfig:
    timezone: str
    crons: dict[str, str]
    bill_due_days: int  # due date = last day of the billed month + this many days
    reminder_days_before: int
    customer_reminder_days_before: int  # the portal's due-date reminder (services/customers/alerts.py)
    overdue_notice_lookback_days: int
    notify_new_bills: bool
    estimate_missing_readings: bool  # the monthly run bills an estimate where no reading came (estimates.py)
    stale_after_minutes: int
    smart_meter_url: str | None
    smart_meter_token: str | None
    smart_meter_timeout_s: float

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def job_config() -> JobConfig:
    """Read from the environment on every call, so a changed .env applies on restart and tests
    can set variables."""
    timezone = _env("SCHEDULER_TIMEZONE", _env("METERLINE_TIMEZONE", "Asia/Kolkata"))
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigurationError(f"SCHEDULER_TIMEZONE / METERLINE_TIMEZONE {timezone!r} is not a time zone; "
                                 "use a name like Asia/Kolkata or UTC.") from None
    return JobConfig(
        timezone=timezone,
        crons={job_id: _env(spec.cron_env, spec.default_cron) for job_id, spec in JOBS.items()},
        bill_due_days=_number("BILL_DUE_DAYS", "15"),
        reminder_days_before=_number("REMINDER_DAYS_BEFORE", "3"),
        customer_reminder_days_before=_number("CUSTOMER_REMINDER_DAYS_BEFORE", "3"),
        overdue_notice_lookback_days=_number("OVERDUE_NOTICE_LOOKBACK_DAYS", "90"),
        notify_new_bills=_env("JOB_NOTIFY_NEW_BILLS", "true").lower() in ("1", "true", "yes"),
        estimate_missing_readings=_env("JOB_ESTIMATE_MISSING_READINGS", "false").lower() in ("1", "true", "yes"),
        stale_after_minutes=_number("JOB_STALE_AFTER_MINUTES", "360"),
        smart_meter_url=os.environ.get("SMART_METER_URL") or None,
        smart_meter_token=os.environ.get("SMART_METER_TOKEN") or None,
        smart_meter_timeout_s=_number("SMART_METER_TIMEOUT_S", "30", float),
    )


# ---- one run ----------------------------------------------------------------------------------
@dataclass
class JobContext:
    svc: object  # services.container.Services
    actor: Actor
    now: dt.datetime  # aware, in the configured zone: the job's clock (decides its period)
    config: JobConfig
    counts: dict = field(default_factory=dict)  # filled as the job goes, so a failure shows how far it got

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def db(self):
        return self.svc.db

    @property
    def storage(self):
        return self.svc.db.storage

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass(frozen=True)
class JobSpec:
    id: str
    name: str
    description: str
    cron_env: str
    default_cron: str
    run_key: Callable[[dt.datetime], str]
    body: Callable[[JobContext], str]  # returns the final status: "completed" or "refused"


def _month_key(now: dt.datetime) -> str:
    return previous_month(now.date())


def _day_key(now: dt.datetime) -> str:
    return now.date().isoformat()


def _tally(ctx: JobContext, report) -> None:
    """Count what the notifications of one event did (no rows: notifications are not set up)."""
    rows = getattr(report, "notifications", None) or []
    if not rows:
        ctx.add("not_sent")
    for row in rows:
        ctx.add(row.status)


def monthly_bills(ctx: JobContext) -> str:
    period = BillingPeriod.for_month(_month_key(ctx.now))
    due = period.end + dt.timedelta(days=ctx.config.bill_due_days)
    # Bills of a run that died half-way are finished by this one; notify them too.
    interrupted = {r.id for r in ctx.storage.list_bill_runs(limit=100)
                   if r.status == "running" and (r.billing_period_start, r.billing_period_end) == (period.start, period.end)}
    ctx.counts.update(period=f"{period.start} to {period.end}", due_date=str(due))
    summary = ctx.db.generate_bills_for_month(period.start, period.end, due, actor=ctx.actor,
                                              estimate=ctx.config.estimate_missing_readings)
    if ctx.config.estimate_missing_readings:
        ctx.counts.update(estimated=summary.estimated, no_history_to_estimate=summary.no_basis)
    ctx.counts.update(created=summary.created, skipped=summary.skipped, refused=summary.refused,
                      missing_units=summary.missing_units, total_amount=str(summary.total_amount),
                      bill_run_id=summary.run_id, waiting_for_review=summary.waiting,
                      changed_while_billing=len(summary.changed))
    if summary.status == "refused":
        ctx.counts["message"] = summary.message
        return "refused"
    if ctx.config.notify_new_bills and summary.run_id is not None:
        runs = interrupted | {summary.run_id}
        for bill in _bills_due(ctx, due, due, ("pending",)):
            if bill.bill_run_id in runs:
                _tally(ctx, ctx.svc.events.bill_created(bill, ctx.actor))  # also the portal's bill-ready alert
                ctx.add("notified")
    elif summary.run_id is not None:
        # No notifications to the contacts, but the portal customers who asked for the bill-ready alert get it.
        from services.customers.alerts import CustomerAlerts

        runs, alerts, page = interrupted | {summary.run_id}, CustomerAlerts.of(ctx.svc), []
        for bill in _bills_due(ctx, due, due, ("pending",)):
            page += [bill] if bill.bill_run_id in runs else []
            if len(page) == PAGE:
                for key, n in alerts.bills_ready(page).items():
                    ctx.add(f"customer_{key}", n)
                page = []
        for key, n in alerts.bills_ready(page).items():
            ctx.add(f"customer_{key}", n)
    _alert_anomalies(ctx, period.start, period.end)  # the run detected the month's anomalies (water)
    return "completed"


def payment_reminders(ctx: JobContext) -> str:
    target = ctx.today + dt.timedelta(days=ctx.config.reminder_days_before)
    ctx.counts["due_date"] = str(target)
    ctx.counts.setdefault("reminded", 0)
    sender = ctx.svc.sender() if hasattr(ctx.svc, "sender") else None
    email = sender is not None and sender.missing() is None  # SMTP configured: the bill's PDF goes too
    for bill in _bills_due(ctx, target, target, ("pending", "partially_paid")):
        _tally(ctx, ctx.svc.events.payment_reminder(bill))
        ctx.add("reminded")
        if email:
            from services.documents.delivery import REMINDER

            out = sender.send_bill(bill.id, actor=ctx.actor, kind=REMINDER)  # once per bill, however often run
            ctx.add("emailed_already" if out.already_sent else f"emailed_{out.notification.status}")
    return "completed"


def overdue_marking(ctx: JobContext) -> str:
    ids = ctx.storage.mark_overdue(ctx.today, ctx.actor)
    ctx.counts.update(marked_overdue=len(ids), notices=0)
    start = ctx.today - dt.timedelta(days=ctx.config.overdue_notice_lookback_days)
    # Every overdue bill not yet noticed (also those marked by a run that died before noticing).
    for bill in _bills_due(ctx, start, ctx.today - dt.timedelta(days=1), ("overdue",)):
        if bill.overdue_notified_at is not None or bill.balance <= 0:
            continue
        _tally(ctx, ctx.svc.events.bill_overdue(bill))
        # Marked one at a time, right after sending: a crash re-sends at most one notice.
        ctx.storage.mark_overdue_notified([bill.id])
        ctx.add("notices")
    return "completed"


def smart_meter_collection(ctx: JobContext) -> str:
    from services.readings.smart_meters import collect

    collect(ctx)
    return "completed"


def usage_anomalies(ctx: JobContext) -> str:
    """The month of yesterday, up to yesterday (on the 1st: the whole previous month), set-based in
    the database; a period detected again adds only what is new. Nothing to do for a utility that
    does not bill daily usage."""
    from services.billing.pricing import QUANTITY_SOURCE

    kinds = {sp.plan.kind for sp in ctx.db.tariff_plans()}
    if not any(QUANTITY_SOURCE.get(k) == "usage" for k in kinds):
        ctx.counts["skipped"] = "this utility does not bill daily usage"
        return "completed"
    last = ctx.today - dt.timedelta(days=1)
    found = ctx.db.detect_usage_anomalies(last.replace(day=1), last, actor=ctx.actor)
    ctx.counts.update(period=f"{last.replace(day=1)} to {last}", **{f"found_{m}": n for m, n in found.items()})
    _alert_anomalies(ctx, last.replace(day=1), last)
    return "completed"


def _alert_anomalies(ctx: JobContext, start: dt.date, end: dt.date) -> None:
    """Alert the customers who opted in about the period's high-usage and leak anomalies (once each:
    services/customers/alerts.py), a page of anomalies at a time."""
    from services.customers.alerts import ANOMALY_ALERTS, CustomerAlerts
    from services.models import AnomalyFilter

    alerts = CustomerAlerts.of(ctx.svc)
    for method in ANOMALY_ALERTS:
        offset = 0
        while True:
            page = ctx.storage.list_anomalies(AnomalyFilter(status=None, method=method, date_from=start, date_to=end),
                                              offset, PAGE, with_total=False).items
            for key, n in alerts.anomalies(page).items():
                ctx.add(f"customer_{key}", n)
            if len(page) < PAGE:
                break
            offset += PAGE


def customer_due_reminders(ctx: JobContext) -> str:
    """The portal's due-date reminder: open bills due in CUSTOMER_REMINDER_DAYS_BEFORE days, to the
    customers linked to them who opted in; once per bill and customer (a unique key in the database)."""
    from services.customers.alerts import OPEN_STATUSES, CustomerAlerts

    target = ctx.today + dt.timedelta(days=ctx.config.customer_reminder_days_before)
    ctx.counts.update(due_date=str(target), bills=0)
    alerts = CustomerAlerts.of(ctx.svc)
    page: list = []
    for bill in _bills_due(ctx, target, target, OPEN_STATUSES):
        page.append(bill)
        if len(page) == PAGE:
            ctx.add("bills", len(page))
            for key, n in alerts.due_reminders(page).items():
                ctx.add(key, n)
            page = []
    ctx.add("bills", len(page))
    for key, n in alerts.due_reminders(page).items():
        ctx.add(key, n)
    return "completed"


def consumer_patterns(ctx: JobContext) -> str:
    """Consumer analytics' payment patterns as of today, for each window the report offers, counted per
    leaf area ahead (one grouping of the window's bills each), so the report reads a few rows."""
    from services.reports.analytics import WINDOWS

    ctx.counts.update(as_of=str(ctx.today))
    for months in WINDOWS:
        try:
            ctx.counts[f"areas_{months}_months"] = ctx.storage.refresh_consumer_patterns(ctx.today, months)
        except ConfigurationError as exc:  # the REST backend: nothing to do, the report counts live
            ctx.counts["message"] = str(exc)
            break
    return "completed"


def bill_archive(ctx: JobContext) -> str:
    """Settled bills older than ARCHIVE_AFTER_MONTHS (12) move to the archive, a month at a time
    (services/billing/archive.py); counted before and after, each month in one transaction."""
    from services.billing.archive import after_months_from_env
    from services.billing.archiving import archive_old_months

    months = after_months_from_env(os.environ)
    ctx.counts.update(after_months=months)

    def tally(i, n, outcome):
        ctx.add("months")
        ctx.add("bills_moved", outcome.moved.bills)
        ctx.add("bills_kept_live", outcome.kept_live)

    try:
        archive_old_months(ctx.storage, ctx.today, ctx.actor, after_months=months, progress=tally)
    except ConfigurationError as exc:  # the REST backend: the script runs it on the project's PostgreSQL
        ctx.counts["message"] = str(exc)
    return "completed"


def _bills_due(ctx: JobContext, start: dt.date, end: dt.date, statuses: tuple[str, ...]):
    after = 0
    while True:
        page = ctx.storage.bills_due_between(start, end, statuses, after_id=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id


JOBS: dict[str, JobSpec] = {s.id: s for s in (
    JobSpec("monthly_bills", "Monthly bill generation",
            "Bills the previous month by each account's tariff plan (the set-based bill run: approved "
            "readings, daily usage or a fixed fee), due BILL_DUE_DAYS after the month ends, then notifies "
            "the new bills.",
            "JOB_MONTHLY_BILLS_CRON", "0 2 1 * *", _month_key, monthly_bills),
    JobSpec("payment_reminders", "Payment reminders",
            "Reminds the contacts of unpaid bills due in REMINDER_DAYS_BEFORE days.",
            "JOB_PAYMENT_REMINDERS_CRON", "0 10 * * *", _day_key, payment_reminders),
    JobSpec("overdue_marking", "Overdue marking",
            "Marks open bills past their due date overdue and sends each one overdue notice, once.",
            "JOB_OVERDUE_MARKING_CRON", "0 11 * * *", _day_key, overdue_marking),
    JobSpec("smart_meter_collection", "Smart-meter collection",
            "Fetches readings from SMART_METER_URL and stores each through the same validation as any "
            "reading; duplicates are ignored, bad rows are counted with their reasons.",
            "JOB_SMART_METERS_CRON", "0 8 * * sun", _day_key, smart_meter_collection),
    JobSpec("usage_anomalies", "Usage anomaly detection",
            "Water: finds usage anomalies of the month so far (every method, set-based in the database) for "
            "Operations to review on the Usage anomalies page.",
            "JOB_USAGE_ANOMALIES_CRON", "0 6 * * *", _day_key, usage_anomalies),
    JobSpec("customer_due_reminders", "Customer due-date reminders",
            "Customer portal: reminds the customers who opted in a few days (3 unless set otherwise) before an "
            "open bill of their account is due; once per bill.",
            "JOB_CUSTOMER_REMINDERS_CRON", "0 9 * * *", _day_key, customer_due_reminders),
    JobSpec("consumer_patterns", "Consumer payment patterns",
            "Municipal reports: counts each area's units by how they pay (on time, late, partial, never) over the "
            "last 3, 6 and 12 months as of today, so consumer analytics reads a few rows instead of every bill "
            "of the year. SQL backends only (on Supabase the report counts live).",
            "JOB_CONSUMER_PATTERNS_CRON", "0 3 * * *", _day_key, consumer_patterns),
    JobSpec("bill_archive", "Bill archive",
            "Moves settled bills older than the kept months (12 unless set otherwise) to the bill archive, a month at "
            "a time, counted before and after; open bills and each account's latest bill stay live. SQL backends "
            "only (on Supabase the archive script runs against the project's PostgreSQL).",
            "JOB_BILL_ARCHIVE_CRON", "0 4 2 * *", _month_key, bill_archive),
)}


def get_job(job_id: str) -> JobSpec:
    try:
        return JOBS[job_id]
    except KeyError:
        raise NotFoundError(f"There is no job '{job_id}'. Jobs: {', '.join(JOBS)}.") from None


def host_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def _local(now: dt.datetime | None, zone: ZoneInfo) -> dt.datetime:
    now = now or clock.utcnow()
    return (now.replace(tzinfo=zone) if now.tzinfo is None else now).astimezone(zone)


def _attempts(storage, job_id: str, key: str) -> list[JobRun]:
    """The runs of one job period, newest attempt first ("KEY", "KEY#2", ...)."""
    runs = [r for r in storage.list_job_runs(job_id=job_id, limit=200)
            if r.run_key == key or r.run_key.startswith(key + "#")]
    return sorted(runs, key=lambda r: _attempt_no(r.run_key), reverse=True)


def _attempt_no(run_key: str) -> int:
    return int(run_key.rsplit("#", 1)[1]) if "#" in run_key else 1


def _claim(storage, job_id: str, key: str, stale_after: dt.timedelta) -> tuple[JobRun | None, JobRun | None]:
    """Claim this period's run. Returns (our run or None, a stale run we superseded)."""
    host, started = host_name(), clock.utcnow()
    runs = _attempts(storage, job_id, key)
    if not runs:
        return storage.claim_job_run(job_id, key, host, started), None
    latest = runs[0]
    if latest.status == "failed":
        return storage.claim_job_run(job_id, latest.run_key, host, started), None  # atomic: one replica wins
    if latest.status == "running" and started - latest.started_at > stale_after:
        n = _attempt_no(latest.run_key) + 1
        return storage.claim_job_run(job_id, f"{key}#{n}", host, started), latest
    return None, None  # completed, refused, or running now


def run_job(svc, job_id: str, *, actor: Actor | None = None, now: dt.datetime | None = None) -> JobRun | None:
    """Run one job for the period `now` falls in (default: now). Returns the finished run record
    (status completed / refused / failed, counts, error), or None when this period's run is
    already done or running. Unknown job: NotFoundError. Needs Permission.RUN_JOBS."""
    actor = require(actor or SCHEDULER_ACTOR, Permission.RUN_JOBS)
    spec = get_job(job_id)
    cfg = job_config()
    local_now = _local(now, cfg.zone)
    key = spec.run_key(local_now)
    storage = svc.db.storage
    run, stale = _claim(storage, spec.id, key, dt.timedelta(minutes=cfg.stale_after_minutes))
    if run is None:
        log.info("job %s %s: already done or running elsewhere; nothing to do", spec.id, key)
        return None
    if stale is not None:
        storage.finish_job_run(stale.id, status="failed", counts=stale.counts, now=clock.utcnow(),
                               error=f"abandoned: still running after {cfg.stale_after_minutes} min with no finish "
                                     f"recorded (process stopped?); superseded by run #{run.id} ({run.run_key})")
    ctx = JobContext(svc, actor, local_now, cfg, counts={"run_by": actor.username})
    status, error = "failed", None
    try:
        status = spec.body(ctx)
    except Exception as exc:  # recorded on the run, never lost in a log only
        log.exception("job %s %s failed", spec.id, run.run_key)
        error = f"{exc.__class__.__name__}: {exc}"
    storage.finish_job_run(run.id, status=status, counts=_jsonable(ctx.counts), error=error, now=clock.utcnow())
    return next((r for r in storage.list_job_runs(job_id=spec.id, limit=20) if r.id == run.id), run)


def _jsonable(counts: dict) -> dict:
    out = {}
    for k, v in counts.items():
        out[k] = v if isinstance(v, (int, float, str, bool, list, dict)) or v is None else str(v)
    return out


# ---- status -----------------------------------------------------------------------------------
def next_run_time(cron: str, zone: ZoneInfo, now: dt.datetime | None = None) -> dt.datetime | None:
    from services.jobs.scheduler import cron_trigger

    return cron_trigger(cron, zone).get_next_fire_time(None, _local(now, zone))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_as_dict(run: JobRun | None) -> dict | None:
    if run is None:
        return None
    return {"id": run.id, "run_key": run.run_key, "status": run.status, "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "counts": run.counts or {}, "error": run.error, "host": run.host}


def recent_runs(svc, job_id: str, *, actor: Actor | None = None, limit: int = 10) -> list[JobRun]:
    """The job's latest runs, newest first (for the admin page)."""
    require(actor or SCHEDULER_ACTOR, Permission.RUN_JOBS)
    return svc.db.storage.list_job_runs(job_id=get_job(job_id).id, limit=limit)


def job_status(svc, now: dt.datetime | None = None) -> list[dict]:
    """One dict per job: id, name, description, schedule (cron), timezone, next_run (ISO 8601 in the
    zone) and last_run (None, or id/run_key/status/started_at/finished_at/counts/error/host).
    Timestamps are ISO 8601 strings, so the list is JSON as it is."""
    cfg = job_config()
    out = []
    for spec in JOBS.values():
        cron = cfg.crons[spec.id]
        last = svc.db.storage.list_job_runs(job_id=spec.id, limit=1)
        out.append({
            "id": spec.id, "name": spec.name, "description": spec.description, "schedule": cron,
            "timezone": cfg.timezone, "next_run": _iso(next_run_time(cron, cfg.zone, now)),
            "last_run": run_as_dict(last[0] if last else None),
        })
    return out
