"""Run Meterline's scheduled jobs on their schedules (APScheduler), or one job once.

    python -m scripts.run_scheduler                       # run until stopped (Ctrl-C / SIGTERM)
    python -m scripts.run_scheduler --list                # jobs, schedules, next and last runs
    python -m scripts.run_scheduler --run-now monthly_bills   # run one job now, for the current period

Jobs (times in SCHEDULER_TIMEZONE, default METERLINE_TIMEZONE): monthly_bills on the 1st at 02:00
(bills the previous month), payment_reminders daily at 10:00, overdue_marking daily at 11:00,
smart_meter_collection on Sundays at 08:00, usage_anomalies daily at 06:00, customer_due_reminders
daily at 09:00 and consumer_patterns daily at 03:00; each JOB_*_CRON variable changes one (.env.example).
Every run is claimed once per job and period in the database, so several schedulers (one per
replica) against one database do each run once. On start, a run whose time passed while no
scheduler was up (a deploy at 02:00 on the 1st) is caught up; --no-catch-up skips that.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import threading
import sys

from services.errors import MeterlineError, NotFoundError


def _services(database_url: str | None):
    from services.config import Settings
    from services.container import build_services

    settings = Settings.from_env()
    if database_url:
        settings = dataclasses.replace(settings, database_url=database_url, supabase_url=None, supabase_key=None)
    return build_services(settings)


def list_jobs(svc) -> str:
    from services.jobs.definitions import job_status

    lines = []
    for job in job_status(svc):
        last = job["last_run"]
        lines.append(f"{job['id']:24s} {job['schedule']:12s} ({job['timezone']})  next {job['next_run']}")
        lines.append(f"{'':24s} {job['name']}: " + (
            f"last run {last['run_key']} {last['status']}, started {last['started_at']}"
            + (f", error: {last['error']}" if last["error"] else "") if last else "never run"))
    return "\n".join(lines)


def run_now(svc, job_id: str) -> int:
    from services.jobs.definitions import run_job

    run = run_job(svc, job_id)
    if run is None:
        print(f"{job_id}: this period's run is already done or running (maybe on another replica); nothing to do.")
        return 0
    print(f"{job_id} {run.run_key}: {run.status}")
    for key, value in (run.counts or {}).items():
        print(f"  {key}: {value}")
    if run.error:
        print(f"  error: {run.error}")
    return 1 if run.status == "failed" else 0


def serve(svc, catch_up: bool) -> int:
    from services.jobs import scheduler

    log = logging.getLogger("meterline.scheduler")
    if catch_up:
        scheduler.catch_up(svc)
    sched = scheduler.build_scheduler(svc, blocking=True)
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    sched.add_listener(lambda _event: log.info("Scheduler started (%d jobs); Ctrl-C to stop", len(sched.get_jobs())),
                       EVENT_SCHEDULER_STARTED)

    # The handler only sets an event: it runs between two steps of whatever the main thread was doing,
    # which may be writing "Scheduler started" to stderr, and a log line from it then raised "reentrant
    # call" inside that write and the stop was lost (the suite saw it once, a run 30 s past SIGTERM).
    # Nor does it call shutdown(): it may have interrupted the main loop while it holds the wake-up
    # event's lock, which shutdown() sets (a self-deadlock). This thread does both.
    stopping = threading.Event()
    signals: list[int] = []

    def stop_when_asked() -> None:
        stopping.wait()
        log.info("signal %s: stopping the scheduler", signals[0] if signals else "?")
        if sched.running:
            sched.shutdown(wait=False)

    threading.Thread(target=stop_when_asked, daemon=True).start()

    def stop(signum, _frame):
        if not sched.running:
            raise SystemExit(0)  # not started yet: do not start
        signals.append(signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    print(list_jobs(svc), flush=True)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        if sched.running:
            sched.shutdown(wait=False)
    log.info("Scheduler stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.run_scheduler", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--list", action="store_true", help="list the jobs with their next and last runs, then exit")
    group.add_argument("--run-now", metavar="JOB", help="run one job once for the current period, then exit")
    ap.add_argument("--no-catch-up", action="store_true", help="on start, do not run jobs whose time passed")
    ap.add_argument("--database-url", help="SQLAlchemy URL to use instead of the configured database")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        svc = _services(args.database_url)
        if args.list:
            print(list_jobs(svc))
            return 0
        if args.run_now:
            return run_now(svc, args.run_now)
        return serve(svc, catch_up=not args.no_catch_up)
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MeterlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
