"""Time the admin dashboard cold (every figure read from the database, nothing cached) on a big
database, with a year of bills (issue 19: under 0.5 s at 300,000 accounts and 3.6M bills).

    python -m scripts.bench_data --accounts 300000 --database-url sqlite:////tmp/big.db
    python -m scripts.bench_dashboard --database-url sqlite:////tmp/big.db --history-months 12 [--json]

--history-months N first gives the database N bill months: each missing month before the oldest
one is a copy of the oldest month's bills, paid in full by one payment each (set-based INSERT ...
SELECT, one month per statement, with progress; a locked month is skipped, as the database refuses
bills in it). The copies are plain rows, not billed by the service: they carry no bill numbers,
lines or seals, so use a throwaway database.

It then times, as the administrator, the whole dashboard (services/reports/dashboard.py) and each of
its reads: the period's figures, the arrears aging, the twelve months' collection and the consumption
series. Medians of --repeat runs after one warm-up run (the database's own cache is warm; the app
keeps none).
"""
from __future__ import annotations

import argparse
import json
import time

import sqlalchemy as sa

from scripts.benchmark_reports import median_ms
from services.billing.periods import month_bounds, month_key


def _months(conn) -> list[str]:
    return list(conn.execute(sa.text("SELECT DISTINCT bill_month FROM bill_month_totals WHERE bills <> 0 "
                                     "ORDER BY bill_month")).scalars())


def add_history(engine, months: int, say=print) -> None:
    """Copy the oldest month's bills into earlier months until the database has `months` bill months."""
    import datetime as dt

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        have = _months(conn)
    if not have:
        raise SystemExit("the database has no bills: load it first (python -m scripts.bench_data)")
    oldest = dt.date.fromisoformat(f"{have[0]}-01")
    a, b = month_bounds(oldest)
    cols = ("account_id, service, area_id, due_date, tariff_kind, pricing_rule, tariff_plan_version_id, category, units, "
            "motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount")
    k, added = 0, 0
    while len(have) + added < months:
        k += 1
        start = oldest
        for _ in range(k):
            start = (start - dt.timedelta(days=1)).replace(day=1)
        with engine.connect() as conn:  # a locked month takes no bills (the database refuses them)
            if conn.execute(sa.text("SELECT 1 FROM period_locks WHERE month = :m"), {"m": month_key(start)}).first():
                continue
        shift = f"'-{k} months'" if sqlite else f"interval '{k} months'"
        day = (lambda c: f"date({c}, {shift})") if sqlite else (lambda c: f"CAST({c} - {shift} AS date)")
        t0 = time.perf_counter()
        with engine.begin() as conn:
            copied = ", ".join(day(c) if c == "due_date" else c for c in cols.split(", "))
            conn.execute(sa.text(
                f"INSERT INTO bills ({cols}, billing_period_start, billing_period_end, status, amount_paid, "
                f"created_by_name) SELECT {copied}, {day('billing_period_start')}, {day('billing_period_end')}, "
                f"'paid', total_amount, 'bench_dashboard' FROM bills WHERE billing_period_start BETWEEN :a AND :b "
                f"AND status NOT IN ('cancelled', 'superseded')"), {"a": a.isoformat(), "b": b.isoformat()})
            conn.execute(sa.text(
                "INSERT INTO payments (bill_id, amount, paid_on, method, recorded_by_name) "
                "SELECT id, total_amount, due_date, 'cash', 'bench_dashboard' FROM bills "
                "WHERE billing_period_start = :s AND created_by_name = 'bench_dashboard' AND total_amount > 0"),
                {"s": start.isoformat()})
        added += 1
        say(f"  {month_key(start)}: copied in {time.perf_counter() - t0:.1f} s")


def measure(db, actor, repeat: int) -> dict:
    from services.reports import dashboard as report

    period = report.last_billed_month(db, actor)
    today = db.today()
    keys = report.months_before(period, 12)
    st = db.storage
    with st.engine.connect() as conn:
        bills = conn.execute(sa.text("SELECT count(*) FROM bills")).scalar_one()
        rows = conn.execute(sa.text("SELECT count(*) FROM bill_month_totals")).scalar_one()
        payments = conn.execute(sa.text("SELECT count(*) FROM payments")).scalar_one()
    return {
        "backend": st.backend_name, "period": period, "bills": bills, "payments": payments, "summary_rows": rows,
        "ms": {
            "whole dashboard": median_ms(lambda: report.dashboard_figures(db, period, actor=actor), repeat),
            "period figures (pending readings, overdue)": median_ms(lambda: st.dashboard_figures(period, today), repeat),
            "arrears aging": median_ms(lambda: st.aging_report(today, True), repeat),
            "12 months' collection": median_ms(lambda: [st.collection_report(k, True) for k in keys], repeat),
            # what the chart reads (before monthly_consumption: the whole monthly series, payments too)
            "consumption chart": median_ms(lambda: getattr(st, "monthly_consumption", st.monthly_series)(keys), repeat),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_dashboard", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="SQLAlchemy URL of a big (throwaway) database")
    ap.add_argument("--history-months", type=int, default=0, help="give the database this many bill months first")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per figure (default 7)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    from services.accounts.roles import Actor
    from services.database_service import DatabaseService
    from services.storage.sql_backend import SqlStorage

    storage = SqlStorage(args.database_url)
    if args.history_months:
        add_history(storage.engine, args.history_months, say=(lambda *_: None) if args.json else print)
    db = DatabaseService(storage=storage)
    out = measure(db, Actor(None, "bench_dashboard", "admin", "cli"), args.repeat)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['backend']}: {out['bills']:,} bills, {out['payments']:,} payments, {out['summary_rows']:,} "
              f"summary rows; period {out['period']}; medians of {args.repeat}, ms")
        for k, v in out["ms"].items():
            print(f"  {k:45} {v:>9,.1f}")
    storage.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
