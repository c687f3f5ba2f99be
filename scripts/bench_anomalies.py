"""Time usage anomaly detection (set-based, every method) on a loaded water database, e.g. the
benchmark's synthetic utility:

    python -m scripts.bench_data --utility water --accounts 300000 --database-url URL
    python -m scripts.bench_anomalies --database-url URL --start 2026-11-01 --end 2026-11-21

Prints the customers and daily usage rows, the time of a first detection of the period (which
builds the day index and every customer's baseline), of a second one (nothing new to add), and of
the first page of the open anomalies list.
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
    args = ap.parse_args(argv)
    st = SqlStorage(args.database_url, create=False)
    counts = st.table_counts(["accounts", "daily_usage"])
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    print(f"{st.dialect}: {counts['accounts']:,} customers, {counts['daily_usage']:,} daily usage rows; "
          f"period {start} to {end}")
    t0 = time.perf_counter()
    found = st.detect_anomalies(start, end, DetectionParams(), SYSTEM)
    t1 = time.perf_counter()
    again = st.detect_anomalies(start, end, DetectionParams(), SYSTEM)
    t2 = time.perf_counter()
    page = st.list_anomalies(AnomalyFilter(), 0, 50)
    t3 = time.perf_counter()
    print(f"first detection: {t1 - t0:.1f} s, found {found}")
    print(f"second detection (nothing new): {t2 - t1:.1f} s, added {sum(again.values())}")
    print(f"open anomalies, first page of 50 of {page.total:,}: {(t3 - t2) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
