"""Print, for the water utility's usage anomalies, the share of customers each method flags per
month and how many of the demo's planted anomalies each finds, so a utility can choose its methods.

    python -m scripts.anomaly_report                       # the configured database
    python -m scripts.anomaly_report --database-url sqlite:////tmp/water.db
    python -m scripts.anomaly_report --detect              # detect the months first (idempotent)

Shares are of all customers (accounts), per month (period) detected. Planted anomalies are the
ground truth of the demo generator (services/demo/water.py: leaks, spikes, stuck meters, usage on
closed accounts) for the customers the database holds; a planted anomaly counts as found by a
method when the method flagged that customer in a period that overlaps the planted days. On a
database that is not the water demo, only the shares are printed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import defaultdict

from services.config import Settings, open_storage
from services.database_service import DatabaseService
from services.demo import water as demo
from services.models import AnomalyFilter
from services.readings.anomalies import METHODS
from services.seeding.common import SEEDER
from services.seeding.water import anomaly_months


def _all_anomalies(storage, method: str):
    offset = 0
    while True:
        page = storage.list_anomalies(AnomalyFilter(status=None, method=method), offset, 500, with_total=False)
        yield from page.items
        if len(page.items) < 500:
            return
        offset += 500


def _last_usage_day(storage, account_id: int, today: dt.date) -> dt.date | None:
    rows = storage.list_daily_usage(account_id, today - dt.timedelta(days=800), today)
    return rows[-1].usage_date if rows else None


def _detected_months(storage) -> set[dt.date]:
    """The period starts of the detections run (the audit log's usage.detect entries)."""
    out, offset = set(), 0
    while True:
        page = storage.list_audit(action_prefix="usage.detect", offset=offset, limit=200)
        for e in page.items:
            start = (e.details or {}).get("period_start")
            if start:
                out.add(dt.date.fromisoformat(str(start)[:10]))
        if len(page.items) < 200:
            return out
        offset += 200


def report(storage, *, detect: bool = False, out=print) -> dict:
    db = DatabaseService(storage)
    today = db.today()
    n = storage.table_counts(["accounts"])["accounts"]
    if detect:
        for first in anomaly_months(today):
            db.detect_month_anomalies(first, actor=SEEDER)
    counts = storage.anomaly_counts(dt.date(2000, 1, 1), today)
    by_month: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for month in _detected_months(storage):  # months detected that flagged nobody are shown too
        by_month.setdefault(month, {})
    for c in counts:
        by_month[c.period_start][c.method] = c.accounts
    if not by_month or not n:
        out("No anomalies detected yet: run with --detect (or seed the water demo).")
        return {}
    out(f"Share of customers flagged per month ({n:,} customers)")
    out(f"{'month':8s} " + " ".join(f"{m:>16s}" for m in METHODS))
    shares = {}
    for month in sorted(by_month):
        row = [100 * by_month[month].get(m, 0) / n for m in METHODS]
        shares[month] = dict(zip(METHODS, row))
        out(f"{month:%Y-%m}  " + " ".join(f"{s:15.1f}%" for s in row))
    mean = {m: sum(s[m] for s in shares.values()) / len(shares) for m in METHODS}
    out(f"{'mean':8s} " + " ".join(f"{mean[m]:15.1f}%" for m in METHODS))
    result = {"customers": n, "shares": shares, "mean_share": mean}

    first = storage.get_account(code=demo.customer_code(0))
    end = _last_usage_day(storage, first.id, today) if first else None
    if end is None:
        return result
    planted = demo.planted_anomalies(n, end=end)
    periods = (min(by_month), max(by_month))
    judged = [p for p in planted if p.last >= periods[0]]
    codes = {demo.customer_code(p.index): p for p in judged}
    found: dict[str, set[int]] = {m: set() for m in METHODS}
    flagged: dict[str, int] = {}
    for m in METHODS:
        hits = 0
        for x in _all_anomalies(storage, m):
            hits += 1
            p = codes.get(x.account_code)
            if p is not None and x.period_start <= p.last and x.period_end >= p.first:
                found[m].add(p.index)
        flagged[m] = hits
    out("")
    out(f"Planted anomalies found ({len(judged)} planted in the months detected; by kind: "
        + ", ".join(f"{k} {sum(1 for p in judged if p.kind == k)}" for k in demo.ANOMALY_KINDS) + ")")
    out(f"{'method':16s} {'found':>6s} " + " ".join(f"{k:>15s}" for k in demo.ANOMALY_KINDS) + f" {'flags':>7s}")
    for m in METHODS:
        per_kind = [sum(1 for p in judged if p.index in found[m] and p.kind == k) for k in demo.ANOMALY_KINDS]
        out(f"{m:16s} {len(found[m]):>3d}/{len(judged):<2d} " + " ".join(f"{c:>15d}" for c in per_kind)
            + f" {flagged[m]:>7,d}")
    any_found = set().union(*found.values())
    out(f"{'any method':16s} {len(any_found):>3d}/{len(judged):<2d}")
    result.update(planted=len(judged), found={m: len(v) for m, v in found.items()}, flags=flagged)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.anomaly_report", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--database-url", help="SQLAlchemy URL instead of the configured database")
    ap.add_argument("--detect", action="store_true", help="detect every month with enough history first")
    args = ap.parse_args(argv)
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url)
    else:
        storage = open_storage(Settings.from_env())
    report(storage, detect=args.detect)
    return 0


if __name__ == "__main__":
    sys.exit(main())
