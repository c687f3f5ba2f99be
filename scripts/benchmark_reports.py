"""Time the municipal reports and staff-scoped reads on a seeded database (issue 14: each report
answers in under 1 s at 300,000 units and 12 months of bills).

    python -m scripts.seed_demo --utility municipal --accounts 300000 --database-url sqlite:////tmp/m300k.db
    python -m scripts.benchmark_reports --database-url sqlite:////tmp/m300k.db [--repeat 5] [--json]

For the newest complete bill month it times, as the head office (everything) and as the demo
`agent` (their union councils, through Storage.scoped): the collection report per city/tehsil and
per union council, the arrears-aging report per city/tehsil and per union council, the bills page
(the month, first page with its count), the dashboard figures, consumer analytics per city/tehsil and
per union council and staff performance. --explain prints the query plans instead. Medians of --repeat runs (the
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


def median_ms(fn, repeat: int) -> float:
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
            "collection per city/tehsil": median_ms(lambda: st.collection_report(month, True), repeat),
            "collection per union council": median_ms(lambda: st.collection_report(month, False), repeat),
            "arrears aging per city/tehsil": median_ms(lambda: st.aging_report(today, True), repeat),
            "arrears aging per union council": median_ms(lambda: st.aging_report(today, False), repeat),
            "bills page (month, with count)": median_ms(
                lambda: st.list_bills(BillFilter(period_month=month), 0, 20), repeat),
            "dashboard figures": median_ms(lambda: st.dashboard_figures(month, today), repeat),
            "consumer analytics per city/tehsil": median_ms(lambda: st.consumer_analytics(today, 12, True), repeat),
            "consumer analytics per union council": median_ms(lambda: st.consumer_analytics(today, 12, False),
                                                               repeat),
            "staff performance": median_ms(lambda: st.staff_performance(month), repeat),
        }
    return out


def explain(storage, today: dt.date) -> list[tuple[str, list[str]]]:
    """The query plans of the reports' statements (as the head office): each statement a report runs is
    captured as it executes, then explained with the same parameters (SQLite EXPLAIN QUERY PLAN,
    PostgreSQL EXPLAIN)."""
    month = month_key((today.replace(day=1) - dt.timedelta(days=1)).replace(day=1))
    reports = {"arrears aging per union council": lambda: storage.aging_report(today, False),
               "collection per city/tehsil": lambda: storage.collection_report(month, True),
               "consumer analytics per union council": lambda: storage.consumer_analytics(today, 12, False),
               "staff performance": lambda: storage.staff_performance(month),
               "agent dashboard": lambda: _agent(storage).dashboard_figures(month, today)}
    out = []
    for name, fn in reports.items():
        lines = []
        for statement, plan in query_plans(storage, fn):
            lines.append(" ".join(statement.split())[:100] + " ...")
            lines += ["    " + " | ".join(str(x) for x in row[-1:]) for row in plan]
        out.append((name, lines))
    return out


def query_plans(storage, call, setup: tuple[str, ...] = ()) -> list[tuple[str, list[tuple]]]:
    """Each SELECT `call` sends, captured as it executes, then explained with the same parameters
    (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN, after the `setup` statements): (statement, rows)."""
    import sqlalchemy as sa

    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sa.event.listen(storage.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        sa.event.remove(storage.engine, "before_cursor_execute", grab)
    prefix = "EXPLAIN QUERY PLAN " if storage.dialect == "sqlite" else "EXPLAIN "
    out = []
    with storage.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        for stmt in setup:
            cur.execute(stmt)
        for statement, params in seen:
            cur.execute(prefix + statement, params)
            out.append((statement, cur.fetchall()))
        cur.close()
    return out


def _agent(storage):
    agent = storage.get_user(username="agent")
    return storage.scoped(actor_for(storage, agent).scope) if agent else storage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.benchmark_reports", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--database-url", required=True, help="SQLAlchemy URL of a seeded municipal database")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=None, help="the as-of date (default: today)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--explain", action="store_true", help="print the reports' query plans instead of timing them")
    ap.add_argument("--upgrade", action="store_true",
                    help="bring the schema up to date first (creates indexes added since the database was seeded)")
    args = ap.parse_args(argv)
    storage = SqlStorage(args.database_url, create=args.upgrade)
    try:
        if args.explain:
            for name, lines in explain(storage, args.today or dt.date.today()):
                print(f"== {name}")
                print("\n".join(lines))
            return 0
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
