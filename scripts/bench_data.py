"""Synthetic utilities for the benchmark, loaded by the database's fastest plain path (sqlite3
executemany / psycopg COPY) so the benchmark's time goes to what it measures.

    python -m scripts.bench_data --utility water --accounts 50000 --database-url sqlite:////tmp/w.db

One utility per database, N accounts, ready for the month run of MONTH (2026-10) on TODAY:
- society (scripts/bench_society.py): flats with a meter, a baseline reading, the month's approved
  reading and next month's pending one, and last month's bills (covering the baseline);
- municipal and water (scripts/bench_utilities.py): consumer units with a sanitation connection
  to the category_fee plan; customers with a water connection to the tiered_seasonal plan, a CCF
  meter and daily usage from the month's first day up to the day before TODAY, each month's
  anomalies detected as the usage import and the daily job leave them (not timed by the benchmark);
and for every kind last month's bills with their lines, 80% paid, 8% paid in part and 12% unpaid
(the run carries those forward), with their payments. The utility's settings and plan are stored
through the storage contract (set_up_utility); everything else by the plain path, a chunk of
accounts at a time, ids = position + 1. Values are what SQLAlchemy itself would store (on SQLite:
ISO dates, UTC timestamps as text, NUMERIC as REAL).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

from services.billing.periods import BillingPeriod

CHUNK = 20000
MONTH = "2026-10"  # the month the benchmark bills
TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.timezone.utc)
UTILITIES = ("society", "municipal", "water")


class Encoder:
    """Python values as the driver gets them from SQLAlchemy on this backend."""

    def __init__(self, sqlite: bool):
        self.sqlite = sqlite

    def money(self, d: Decimal | None):
        return None if d is None else float(d) if self.sqlite else d

    def day(self, d: dt.date | None):
        return None if d is None else d.isoformat() if self.sqlite else d

    def ts(self, t: dt.datetime):
        return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else t

    def flag(self, b: bool):
        return int(b) if self.sqlite else b

    def json(self, v):
        return None if v is None else json.dumps(v)


@dataclass(frozen=True)
class Context:
    """What every chunk of rows refers to."""

    n: int
    e: Encoder
    plan_id: int
    version_id: int
    plan: object  # services.tariffs.TariffPlan
    areas: dict[str, int]  # path -> id of the areas loaded first
    leaves: tuple[str, ...]  # leaf paths, in order
    month: str = MONTH

    @property
    def period(self) -> BillingPeriod:
        return BillingPeriod.for_month(self.month)

    @property
    def previous(self) -> BillingPeriod:
        return BillingPeriod.for_month(self.period.start - dt.timedelta(days=1))

    @property
    def ts(self):
        return self.e.ts(NOW)


def paid_share(i: int) -> tuple[str, Decimal]:
    """Last month's bill of account i: 80% paid, 8% half paid, 12% unpaid."""
    roll = (i * 2654435761) % 100
    return ("paid", Decimal(1)) if roll < 80 else ("partially_paid", Decimal("0.5")) if roll < 88 else ("pending", Decimal(0))


def last_months_bill(ctx: Context, i: int, q, *, account_area: int, category: str | None, units: Decimal,
                     motor_units: Decimal = Decimal(0), rate: Decimal = Decimal(0), fixed: Decimal | None = None,
                     last_reading_id: int | None = None, usage: bool = False, tariff_details: bool = True) -> dict:
    """Rows of account i's bill of the previous month priced as quote `q`: the bill, its lines, its
    payment. Bill id = i + 1."""
    e, prev, bid = ctx.e, ctx.previous, i + 1
    status, share = paid_share(i)
    total = q.total_amount
    paid = (total * share).quantize(Decimal("0.01"))
    if fixed is None:
        fixed = sum((ln.amount for ln in q.lines if ln.code.startswith("fee") or ln.code == "fixed"), Decimal(0))
    bill = (bid, i + 1, ctx.plan.service, account_area,
            e.day(prev.start), e.day(prev.end), e.day(prev.end + dt.timedelta(days=15)), q.kind,
            q.inputs.pricing_rule or q.kind, ctx.version_id, category, e.money(units), e.money(motor_units),
            e.money(units + motor_units), e.money(rate), e.money(fixed), e.money(Decimal(0)), e.money(total),
            e.json(q.inputs.to_dict()) if tariff_details else None, status, e.money(paid), last_reading_id,
            last_reading_id, e.day(prev.start) if usage else None, e.day(prev.end) if usage else None, "bench",
            ctx.ts, ctx.ts)
    lines = [(bid, k + 1, ln.code, ln.label, e.money(ln.quantity), ln.unit, e.money(ln.rate), e.money(ln.amount))
             for k, ln in enumerate(q.lines)]
    payment = [(bid, bid, e.money(paid), e.day(prev.end + dt.timedelta(days=10)), "upi", "bench", ctx.ts)] if paid else []
    return {"bills": [bill], "bill_lines": lines, "payments": payment}


BILL_COLUMNS = ("id, account_id, service, area_id, billing_period_start, billing_period_end, due_date, tariff_kind, "
                "pricing_rule, tariff_plan_version_id, category, units, motor_units, total_units, rate_per_unit, "
                "fixed_charge, previous_outstanding, total_amount, tariff_details, status, amount_paid, "
                "last_reading_id, first_reading_id, usage_from, usage_to, created_by_name, created_at, updated_at")
COMMON_COLUMNS = {
    "accounts": "id, code, name, area_id, category, account_type, is_active, created_at, updated_at",
    "contacts": "id, name, phone, created_at",
    "account_contacts": "id, account_id, contact_id, role, is_primary",
    "service_connections": "id, account_id, service, tariff_plan_id, is_active, started_on, created_at",
    "bills": BILL_COLUMNS,
    "bill_lines": "bill_id, seq, code, label, quantity, unit, rate, amount",
    "payments": "id, bill_id, amount, paid_on, method, recorded_by_name, created_at",
}


# Parents before children (the foreign keys are checked as rows go in).
LOAD_ORDER = ("accounts", "contacts", "account_contacts", "service_connections", "meters", "readings", "daily_usage",
              "bills", "bill_lines", "bill_readings", "payments")


def account_rows(ctx: Context, i: int, code: str, name: str, area: int, category: str, account_type: str,
                 phone: str | None, active: bool = True, connected: bool = True) -> dict:
    """Rows of account i (id i + 1): the account, its primary contact, its connection to the plan's service."""
    e, aid = ctx.e, i + 1
    rows = {"accounts": [(aid, code, name, area, category, account_type, e.flag(active), ctx.ts, ctx.ts)],
            "contacts": [(aid, name, phone, ctx.ts)],
            "account_contacts": [(aid, aid, aid, "owner", e.flag(True))]}
    if connected:
        rows["service_connections"] = [(aid, aid, ctx.plan.service, ctx.plan_id, e.flag(active),
                                        e.day(ctx.previous.start), ctx.ts)]
    return rows


def merge(into: dict[str, list], rows: dict[str, list]) -> None:
    for table, values in rows.items():
        into.setdefault(table, []).extend(values)


def kind_module(utility: str):
    if utility == "society":
        from scripts import bench_society as mod
    elif utility in ("municipal", "water"):
        from scripts import bench_utilities as mod
    else:
        raise ValueError(f"unknown utility {utility!r}: use one of {', '.join(UTILITIES)}")
    return mod


def set_up(storage, utility: str):
    """The utility's settings and tariff plan, through the storage contract. Returns (plan id, plan
    version id of MONTH, plan)."""
    from services.accounts.roles import Actor
    from services.database_service import DatabaseService

    db = DatabaseService(storage, today=lambda: TODAY)
    db.set_up_utility(utility, actor=Actor(None, "bench", "system"))
    stored = next(sp for sp in storage.list_tariff_plans() if sp.plan.service == db.utility().service)
    version = stored.plan.version_for(BillingPeriod.for_month(MONTH).end)
    return stored.id, stored.version_id(version.version), stored.plan


def build(storage, n: int, utility: str = "society", say=print) -> None:
    """Load a synthetic utility of n accounts into an empty, schema-ready SqlStorage."""
    mod = kind_module(utility)
    plan_id, version_id, plan = set_up(storage, utility)
    sqlite = storage.dialect == "sqlite"
    e = Encoder(sqlite)
    areas = mod.areas(utility)  # [(path, name, kind)], parents first
    area_ids = {path: k + 1 for k, (path, _, _) in enumerate(areas)}
    leaves = tuple(p for p, _, _ in areas if p.count("/") == max(x.count("/") for x, _, _ in areas))
    ctx = Context(n, e, plan_id, version_id, plan, area_ids, leaves)
    raw = storage.engine.raw_connection()
    try:
        drv = raw.driver_connection
        cur = drv.cursor()
        if sqlite:
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute("BEGIN")
        load(cur, sqlite, "areas", "id, parent_id, level, code, name, path, kind, sort_order, created_at", [
            (area_ids[p], area_ids.get(p.rpartition("/")[0]), p.count("/") + 1, p.rpartition("/")[2], name, p, kind,
             k, ctx.ts) for k, (p, name, kind) in enumerate(areas)])
        every = {**COMMON_COLUMNS, **mod.COLUMNS}
        columns = {t: every[t] for t in LOAD_ORDER if t in every}
        for lo in range(0, n, CHUNK):
            rows = mod.chunk_rows(utility, ctx, lo, min(lo + CHUNK, n))
            for table, cols in columns.items():
                if rows.get(table):
                    load(cur, sqlite, table, cols, rows[table])
            if n > CHUNK:
                say(f"    built {min(lo + CHUNK, n):,}/{n:,} accounts")
        if not sqlite:
            for table in ("areas", *columns):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        drv.commit()
        if sqlite:
            # Meterline never runs ANALYZE on SQLite, so the benchmark does not either (statistics
            # would change the plans the app really gets).
            cur.execute("PRAGMA synchronous = NORMAL")
        else:
            cur.execute("ANALYZE")  # what autovacuum does within a minute of a load this size
            drv.commit()
    finally:
        raw.close()
    from database import bill_chain

    with storage.engine.begin() as conn:  # last month's bills join the bills' chain, as stored bills do
        bill_chain.seal_unsealed(conn)
    if utility == "water":
        detect_as_imported(storage, ctx, say)


def detect_as_imported(storage, ctx: Context, say=print) -> None:
    """The usage as its imports leave it: each imported month's anomalies detected (and the day index
    they keep built), as the usage import and the daily job do, so the month run's own detection
    finds only what is new, as it would in use."""
    import time

    from scripts import bench_utilities
    from services.accounts.roles import Actor
    from services.readings.anomalies import DetectionParams
    from services.readings.usage_import import detection_actor, months_of

    last, days = bench_utilities.usage_days(ctx)
    first = last - dt.timedelta(days=days - 1)
    for month in months_of(first + dt.timedelta(days=k) for k in range(days)):
        start, end = max(first, month), min(last, BillingPeriod.for_month(f"{month:%Y-%m}").end)
        t0 = time.perf_counter()
        storage.detect_anomalies(start, end, DetectionParams(), detection_actor(Actor(None, "bench", "system")))
        say(f"    detected {start:%Y-%m} as its imports would ({time.perf_counter() - t0:.1f} s)")


def load(cur, sqlite: bool, table: str, cols: str, rows: list[tuple]) -> None:
    if sqlite:
        marks = ", ".join("?" * len(cols.split(",")))
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        return
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def main(argv: list[str] | None = None, *, prog: str = "python -m scripts.bench_data",
         fixed_utility: str | None = None) -> int:
    import argparse
    import os
    import sys

    from services.storage.sql_backend import SqlStorage

    ap = argparse.ArgumentParser(
        prog=prog, description="Load a synthetic utility of N accounts (the benchmark's data: what the month run "
                               f"of {MONTH} bills, last month's bills and payments) into an empty database, by its "
                               "fastest plain bulk path.")
    if fixed_utility is None:
        ap.add_argument("--utility", choices=UTILITIES, default="society", help="the kind of utility (default society)")
    ap.add_argument("--accounts", type=int, default=10000, help="number of accounts (default 10000)")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                    help="SQLAlchemy URL of an empty database (default: $DATABASE_URL)")
    args = ap.parse_args(argv)
    utility = fixed_utility or args.utility
    if not args.database_url:
        ap.error("--database-url (or DATABASE_URL) is required: this loads into an empty database, never the demo one")
    if args.accounts < 1:
        ap.error("--accounts must be at least 1")
    storage = SqlStorage(args.database_url)
    try:
        if storage.table_counts(["accounts"])["accounts"]:
            print("The database already has accounts: give an empty database (nothing was loaded).", file=sys.stderr)
            return 1
        build(storage, args.accounts, utility, say=lambda msg: print(msg, file=sys.stderr))
        print(f"Loaded a synthetic {utility} of {args.accounts:,} accounts (ready to bill {MONTH}; last month's bills).")
    finally:
        storage.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
