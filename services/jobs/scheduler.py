"""APScheduler 3.x wiring of the jobs in services/jobs/definitions.py.

Each job gets a cron trigger in the configured zone. The scheduler only decides *when*;
services.jobs.definitions.run_job decides *whether*: it claims the period's run in job_runs first, so any
number of scheduler processes (one per replica) against one database do each run once. A run
missed while no scheduler was up (a deploy at 02:00 on the 1st) is caught up at start.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from services import clock
from services.errors import ConfigurationError
from services.jobs.definitions import JOBS, job_config, run_job

log = logging.getLogger(__name__)

# Standard crontab numbers Sunday 0 (or 7); APScheduler 3.x numbers Monday 0. Names mean the same
# in both, so numbers are turned into names before APScheduler sees them.
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATCH_UP_WINDOW = dt.timedelta(days=35)  # longer than the longest schedule (monthly)


def _dow_field(text: str) -> str:
    return re.sub(r"(?<![/\d])([0-7])(?!\d)", lambda m: _DOW_NAMES[int(m.group(1))], text)


def cron_trigger(expr: str, zone: ZoneInfo | str) -> CronTrigger:
    """A CronTrigger from a standard 5-field crontab line ("0 8 * * sun", "0 2 1 * *")."""
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigurationError(f"'{expr}' is not a crontab line: it needs 5 fields "
                                 "(minute hour day-of-month month day-of-week), e.g. '0 2 1 * *'.")
    fields[4] = _dow_field(fields[4])
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
    except ValueError as exc:
        raise ConfigurationError(f"'{expr}' is not a valid crontab line: {exc}.") from None


def previous_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest scheduled time at or before `now` (within CATCH_UP_WINDOW)."""
    t = trigger.get_next_fire_time(None, now - CATCH_UP_WINDOW)
    last = None
    while t is not None and t <= now:
        last = t
        t = trigger.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return last


def catch_up(svc, now: dt.datetime | None = None) -> dict[str, object]:
    """Run each job whose latest scheduled time has passed without a run of its period.
    A period already done (or running elsewhere) is left alone by run_job itself."""
    cfg = job_config()
    now = (now or clock.utcnow()).astimezone(cfg.zone)
    out = {}
    for job_id in JOBS:
        fired = previous_fire_time(cron_trigger(cfg.crons[job_id], cfg.zone), now)
        if fired is not None:
            run = run_job(svc, job_id, now=fired)
            out[job_id] = run
            if run is not None:
                log.info("caught up %s for %s: %s", job_id, run.run_key, run.status)
    return out


def _scheduled_run(svc, job_id: str) -> None:
    run = run_job(svc, job_id)
    if run is None:
        log.info("%s: this period's run is already done or running on another replica", job_id)
    else:
        log.info("%s %s: %s %s%s", job_id, run.run_key, run.status, run.counts or {},
                 f" error: {run.error}" if run.error else "")


def build_scheduler(svc, *, blocking: bool = False):
    """A Blocking- or BackgroundScheduler with one cron job per entry of services.jobs.definitions.JOBS."""
    if blocking:
        from apscheduler.schedulers.blocking import BlockingScheduler as Scheduler
    else:
        from apscheduler.schedulers.background import BackgroundScheduler as Scheduler
    cfg = job_config()
    sched = Scheduler(timezone=cfg.zone, job_defaults={"coalesce": True, "max_instances": 1,
                                                        "misfire_grace_time": 3600})
    for job_id, spec in JOBS.items():
        sched.add_job(_scheduled_run, cron_trigger(cfg.crons[job_id], cfg.zone), args=(svc, job_id), id=job_id,
                      name=spec.name, replace_existing=True)
    return sched
