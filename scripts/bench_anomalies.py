"""Time usage anomaly detection (set-based, every method) on a loaded water database, e.g. the
benchmark's synthetic utility:

    python -m scripts.bench_data --utility water --accounts 300000 --database-url URL
    python -m scripts.bench_anomalies --database-url URL --start 2026-11-01 --end 2026-11-21

Prints the customers and daily usage rows, then the times of: a detection limited to the customers
of an import (--import-accounts, spread over the utility; the first of the period, so it builds the
day index and their baselines), a whole first detection (everyone else's baselines, six methods),
a whole second one (nothing new to add), the import's again (baselines built), and the first page
of the open anomalies list.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from services.accounts.roles import SYSTEM
from services.models import AnomalyFilter
from services.readings.anomalies import DetectionParams
from services.storage.sql_backend import SqlStorage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_anomalies", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--start", default="2026-11-01")
    ap.add_argument("--end", default="2026-11-21")
    ap.add_argument("--import-accounts", type=int, default=1000,
                    help="customers in the simulated import whose detection is timed (default 1000)")
    ap.add_argument("--fresh", action="store_true",
                    help="first delete the period's anomalies, its baselines and its days' index rows (bench_data "
                         "detects its months as their imports would), so that the first detection is timed")
    args = ap.parse_args(argv)
    st = SqlStorage(args.database_url, create=False)
    counts = st.table_counts(["accounts", "daily_usage"])
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    print(f"{st.dialect}: {counts['accounts']:,} customers, {counts['daily_usage']:,} daily usage rows; "
          f"period {start} to {end}")
    if args.fresh:
        _forget(st, start, end)
    some = _spread_ids(st, args.import_accounts)
    params = DetectionParams()
    t0 = time.perf_counter()
    limited = st.detect_anomalies(start, end, params, SYSTEM, accounts=some)
    t1 = time.perf_counter()
    found = st.detect_anomalies(start, end, params, SYSTEM)
    t2 = time.perf_counter()
    again = st.detect_anomalies(start, end, params, SYSTEM)
    t3 = time.perf_counter()
    limited_again = st.detect_anomalies(start, end, params, SYSTEM, accounts=some)
    t4 = time.perf_counter()
    page = st.list_anomalies(AnomalyFilter(), 0, 50)
    t5 = time.perf_counter()
    print(f"after an import of {len(some):,} customers, first of the period (the utility's day index, "
          f"their baselines): {t1 - t0:.1f} s, found {sum(limited.values())}")
    print(f"whole detection, first (everyone else's baselines, six methods): {t2 - t1:.1f} s, found {found}")
    print(f"whole detection again (nothing new): {t3 - t2:.1f} s, added {sum(again.values())}")
    print(f"after an import of {len(some):,} customers, baselines built: {t4 - t3:.2f} s, "
          f"added {sum(limited_again.values())}")
    print(f"open anomalies, first page of 50 of {page.total:,}: {(t5 - t4) * 1000:.0f} ms")
    return 0


def _forget(st: SqlStorage, start: dt.date, end: dt.date) -> None:
    import sqlalchemy as sa

    with st.engine.begin() as conn:
        for sql in ("DELETE FROM usage_anomalies WHERE period_start = :start",
                    "DELETE FROM usage_baselines WHERE as_of = :start",
                    "DELETE FROM usage_day_index WHERE usage_date BETWEEN :start AND :end"):
            conn.execute(sa.text(sql), {"start": start, "end": end})


def _spread_ids(st: SqlStorage, n: int) -> list[int]:
    """n account ids spread over the whole table, as a day's import from across the utility is."""
    import sqlalchemy as sa

    with st.engine.connect() as conn:
        total = conn.execute(sa.text("SELECT COUNT(*) FROM accounts")).scalar_one()
        step = max(total // max(n, 1), 1)
        return list(conn.execute(sa.text("SELECT id FROM accounts WHERE id % :step = 0 ORDER BY id LIMIT :n"),
                                 {"step": step, "n": n}).scalars())


if __name__ == "__main__":
    sys.exit(main())
