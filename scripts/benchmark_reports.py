"""Time the municipal reports and staff-scoped reads on a seeded database (issue 14: each report
answers in under 1 s at 300,000 units and 12 months of bills).

    python -m scripts.seed_demo --utility municipal --accounts 300000 --database-url sqlite:////tmp/m300k.db
    python -m scripts.benchmark_reports --database-url sqlite:////tmp/m300k.db [--repeat 5] [--json]

For the newest complete bill month it times, as the head office (everything) and as the demo
`agent` (their union councils, through Storage.scoped): the collection report per city/tehsil and
per union council, the arrears-aging report per city/tehsil and per union council, the bills page
(the month, first page with its count) and the dashboard figures. Medians of --repeat runs (the
first run warms the cache and is not counted). The database is only read."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time

from services.accounts.scopes import actor_for
from services.billing.periods import month_key
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def measure(storage, today: dt.date, repeat: int) -> dict:
    month = month_key((today.replace(day=1) - dt.timedelta(days=1)).replace(day=1))
    agent = storage.get_user(username="agent")
    views = {"head office": storage}
    if agent is not None:
        views["agent"] = storage.scoped(actor_for(storage, agent).scope)
    out: dict = {"month": month, "bills": storage.table_counts(["bills"])["bills"],
                 "accounts": storage.table_counts(["accounts"])["accounts"]}
    for who, st in views.items():
        out[who] = {
            "collection per city/tehsil": _median_ms(lambda: st.collection_report(month, True), repeat),
            "collection per union council": _median_ms(lambda: st.collection_report(month, False), repeat),
            "arrears aging per city/tehsil": _median_ms(lambda: st.aging_report(today, True), repeat),
            "arrears aging per union council": _median_ms(lambda: st.aging_report(today, False), repeat),
            "bills page (month, with count)": _median_ms(
                lambda: st.list_bills(BillFilter(period_month=month), 0, 20), repeat),
            "dashboard figures": _median_ms(lambda: st.dashboard_figures(month, today), repeat),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.benchmark_reports", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--database-url", required=True, help="SQLAlchemy URL of a seeded municipal database")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=None, help="the as-of date (default: today)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    storage = SqlStorage(args.database_url, create=False)
    try:
        out = measure(storage, args.today or dt.date.today(), max(1, args.repeat))
    finally:
        storage.dispose()
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{storage.dialect}: {out['accounts']:,} accounts, {out['bills']:,} bills; bill month {out['month']}; "
          f"medians of {args.repeat} (ms)")
    whos = [w for w in ("head office", "agent") if w in out]
    print(f"{'':34s}" + "".join(f"{w:>14s}" for w in whos))
    for k in out[whos[0]]:
        print(f"{k:34s}" + "".join(f"{out[w][k]:14.1f}" for w in whos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
