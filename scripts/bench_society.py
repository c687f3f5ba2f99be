"""A synthetic society for the benchmark, loaded by the database's fastest plain path
(sqlite3 executemany / psycopg COPY) so the benchmark's time goes to what it measures.

Per flat: a floor and BHK type, an owner (primary), one meter, three readings (a baseline on
BASE_DAY, the billed month's reading approved with its consumption and a water-motor share,
next month's reading pending review, 2% of them flagged) and last month's bill, covering the
baseline (80% paid with a payment row, 8% partly paid, 12% unpaid: the bill run carries those
forward). Values are what
SQLAlchemy itself would store (on SQLite: ISO dates, UTC timestamps as text, NUMERIC as REAL).
Everything follows from the flat's index, so it is built a chunk at a time.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from services.billing.periods import BillingPeriod

BLOCKS = ("A", "B", "C", "D")
FLOORS = (("GF", "Ground Floor"), ("FF", "First Floor"), ("SF", "Second Floor"), ("TF", "Third Floor"))
TYPES = (("2BHK", 2), ("3BHK", 3), ("4BHK", 4), ("5BHK", 5))
RATES = {"A": Decimal("11.50"), "B": Decimal("12.00"), "C": Decimal("12.50"), "D": Decimal("11.00")}
FIXED = {"2BHK": Decimal("1474"), "3BHK": Decimal("1680"), "4BHK": Decimal("1890"), "5BHK": Decimal("2311")}
NAMES = ("Aarav Sharma", "Diya Iyer", "Rohan Nair", "Saanvi Reddy", "Arjun Gupta", "Priya Singh", "Farhan Khan",
         "Meera Das", "Vikram Patel", "Neha Mehta", "Tenzin Rao", "Mary Fernandes")
CHUNK = 20000
MONTH = "2026-10"  # the month the benchmark bills
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.timezone.utc)


def account_code(i: int) -> tuple[str, str, int, str]:
    """(code, block, floor index, type) of the i-th flat: A1-GF, A1-FF, ..., D1-TF, A2-GF, ..."""
    number, block, floor = i // 16 + 1, BLOCKS[(i // 4) % 4], i % 4
    return f"{block}{number}-{FLOORS[floor][0]}", block, floor, TYPES[(number + i) % 4][0]


def price_table(n_flats: int) -> dict[str, tuple[Decimal, Decimal]]:
    """Master data for the society: every flat but those numbered 20, 40, ... (default-rate rule)."""
    out = {}
    for i in range(n_flats):
        code, block, _, kind = account_code(i)
        if (i // 16 + 1) % 20:
            out[code] = (RATES[block], FIXED[kind])
    return out


class Encoder:
    """Python values as the driver gets them from SQLAlchemy on this backend."""

    def __init__(self, sqlite: bool):
        self.sqlite = sqlite

    def money(self, d: Decimal):
        return float(d) if self.sqlite else d

    def day(self, d: dt.date):
        return d.isoformat() if self.sqlite else d

    def ts(self, t: dt.datetime):
        return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else t

    def flag(self, b: bool):
        return int(b) if self.sqlite else b

    def json(self, v):
        return None if v is None else json.dumps(v)


def dates(month: str = MONTH) -> tuple[dt.date, dt.date, dt.date]:
    p = BillingPeriod.for_month(month)
    base = (p.start - dt.timedelta(days=1)).replace(day=20)
    nxt = (p.end + dt.timedelta(days=1)).replace(day=20)
    return base, p.start.replace(day=20), nxt


def chunk_rows(lo: int, hi: int, n_flats: int, e: Encoder, month: str = MONTH) -> dict[str, list[tuple]]:
    """Rows of accounts [lo, hi) for every table, ids = position + 1. Reading ids follow time, as in a
    real database: every baseline reading, then every reading of the billed month, then next month's."""
    base, billed, nxt = dates(month)
    prev = BillingPeriod.for_month((dt.date.fromisoformat(month + "-01") - dt.timedelta(days=1)))
    ts = e.ts(NOW)
    out = {t: [] for t in ("accounts", "contacts", "account_contacts", "meters", "readings", "bills", "bill_readings",
                           "payments")}
    for i in range(lo, hi):
        fid = i + 1
        code, block, floor, kind = account_code(i)
        out["accounts"].append((fid, code, block, floor + 1, [n for n, _ in TYPES].index(kind) + 1, e.flag(True), ts))
        out["contacts"].append((fid, NAMES[i % len(NAMES)], f"+91{9000000000 + i:010d}", ts))
        out["account_contacts"].append((fid, fid, fid, e.flag(True)))
        out["meters"].append((fid, f"{20000000 + i:08d}", fid, "active", e.flag(False), ts))
        v0 = Decimal(1000 + (i * 7717) % 40000)
        c1 = Decimal(150 + (i * 37) % 250) + Decimal(i % 10) / 10
        c2 = Decimal(140 + (i * 53) % 260) + Decimal(i % 7) / 10
        share = Decimal(8 + i % 5) + Decimal(i % 4) / 4
        r0, r1, r2 = i + 1, n_flats + i + 1, 2 * n_flats + i + 1
        flags = [{"code": "spike", "reason": "far above this meter's usual"}] if i % 50 == 7 else None
        for rid, day, value, cons, prev_id, share_, status, fl in (
                (r0, base, v0, None, None, None, "approved", None),
                (r1, billed, v0 + c1, c1, r0, share, "approved", None),
                (r2, nxt, v0 + c1 + c2, c2, r1, share, "pending", flags)):
            out["readings"].append((
                rid, fid, e.money(value), e.day(day), None if cons is None else e.money(cons), prev_id,
                None if share_ is None else e.money(share_), "ui", status, e.json(fl),
                ts if status == "approved" else None, ts, ts))
        total = FIXED[kind] + Decimal(200 + i % 300) * RATES[block]
        roll = (i * 2654435761) % 100
        status, paid = ("paid", total) if roll < 80 else ("partially_paid", (total / 2).quantize(Decimal("0.01"))) \
            if roll < 88 else ("pending", Decimal("0"))
        out["bills"].append((
            fid, fid, e.day(prev.start), e.day(prev.end), e.day(prev.end + dt.timedelta(days=15)), "flat_rate",
            "master_data", e.money(Decimal(200 + i % 300)), e.money(Decimal(0)), e.money(Decimal(200 + i % 300)),
            e.money(RATES[block]), e.money(FIXED[kind]), e.money(Decimal(0)), e.money(total), status, e.money(paid),
            r0, "bench", ts, ts))
        out["bill_readings"].append((fid, fid, r0, e.money(Decimal(200 + i % 300)), e.money(Decimal(0))))
        if paid:
            out["payments"].append((fid, fid, e.money(paid), e.day(prev.end + dt.timedelta(days=10)), "upi", "bench", ts))
    return out


COLUMNS = {
    "accounts": "id, code, block, floor_id, type_id, is_active, created_at",
    "contacts": "id, name, phone, created_at",
    "account_contacts": "id, account_id, contact_id, is_primary",
    "meters": "id, meter_number, account_id, status, is_smart, created_at",
    "readings": "id, meter_id, reading_value, reading_date, consumption, previous_reading_id, motor_share, source, "
                "status, flags, reviewed_at, created_at, updated_at",
    "bills": "id, account_id, billing_period_start, billing_period_end, due_date, tariff_kind, pricing_rule, units, "
             "motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount, status, "
             "amount_paid, last_reading_id, created_by_name, created_at, updated_at",
    "bill_readings": "id, bill_id, reading_id, units, motor_units",  # last month's bill covers the baseline
    "payments": "id, bill_id, amount, paid_on, method, recorded_by_name, created_at",
}


def build(storage, n_flats: int, say=print) -> None:
    """Load the society into an empty, schema-ready SqlStorage."""
    sqlite = storage.dialect == "sqlite"
    e = Encoder(sqlite)
    raw = storage.engine.raw_connection()
    try:
        drv = raw.driver_connection
        cur = drv.cursor()
        if sqlite:
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute("BEGIN")
        _load(cur, sqlite, "floors", "id, code, name, sort_order", [(i + 1, c, n, i) for i, (c, n) in enumerate(FLOORS)])
        _load(cur, sqlite, "flat_types", "id, name, bhk", [(i + 1, n, b) for i, (n, b) in enumerate(TYPES)])
        for lo in range(0, n_flats, CHUNK):
            rows = chunk_rows(lo, min(lo + CHUNK, n_flats), n_flats, e)
            for table, cols in COLUMNS.items():
                _load(cur, sqlite, table, cols, rows[table])
            if n_flats > CHUNK:
                say(f"    built {min(lo + CHUNK, n_flats):,}/{n_flats:,} accounts")
        if not sqlite:
            for table in ("floors", "flat_types", *COLUMNS):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
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


def _load(cur, sqlite: bool, table: str, cols: str, rows: list[tuple]) -> None:
    if sqlite:
        marks = ", ".join("?" * len(cols.split(",")))
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        return
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import sys

    from services.storage.sql_backend import SqlStorage

    ap = argparse.ArgumentParser(
        prog="python -m scripts.bench_society",
        description="Load a synthetic society of N accounts (the benchmark's data: readings, last month's bills "
                    "and payments) into an empty database, by its fastest plain bulk path.")
    ap.add_argument("--accounts", type=int, default=10000, help="number of accounts (default 10000)")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                    help="SQLAlchemy URL of an empty database (default: $DATABASE_URL)")
    args = ap.parse_args(argv)
    if not args.database_url:
        ap.error("--database-url (or DATABASE_URL) is required: this loads into an empty database, never the demo one")
    if args.accounts < 1:
        ap.error("--accounts must be at least 1")
    storage = SqlStorage(args.database_url)
    try:
        if storage.table_counts(["accounts"])["accounts"]:
            print("The database already has accounts: give an empty database (nothing was loaded).", file=sys.stderr)
            return 1
        build(storage, args.accounts, say=lambda m: print(m, file=sys.stderr))
        print(f"Loaded a synthetic society of {args.accounts:,} accounts ({MONTH} billed readings, last month's bills).")
    finally:
        storage.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
