"""How long the upgrade to schema version 3 (database/upgrade_v3.py) takes on a big society.

    python -m scripts.bench_upgrade_v3                      # SQLite, 20,000 flats
    python -m scripts.bench_upgrade_v3 --postgres --flats 20000
    python -m scripts.bench_upgrade_v3 --version 1          # from the version-1 fixture (steps 2 and 3)

A database of the old version cannot be seeded any more (the seeding code is version 3's), so the
version-2 fixture (tests/fixtures/schema_v2: 24 flats, 6 months of readings and bills, a re-issue,
payments, a meter change) is loaded and copied with INSERT ... SELECT until it holds --flats flats:
each copy shifts every id and every reference to a copied table, and suffixes the codes that must
stay unique. Then it is opened with SqlStorage (apply_schema: the upgrade, then version 3's
triggers, indexes and seeds), and the time of that open is printed. --postgres starts a throwaway
server (scripts/pg_throwaway.py) and loads the fixture with psql. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import math
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from database.legacy import schema_v2 as v2

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = {1: ROOT / "tests" / "fixtures" / "schema_v1" / "society_v1",
           2: ROOT / "tests" / "fixtures" / "schema_v2" / "society_v2"}
# Copied per flat; users, sessions, runs, locks and jobs are the society's, not copied.
COPIED = ("owners", "flats", "flat_owners", "motors", "flat_motors", "meters", "readings", "meter_changes", "bills",
          "payments", "bill_readings", "notifications", "payment_events", "audit_log")
UNIQUE_TEXT = {("flats", "code"), ("motors", "code"), ("meters", "meter_number"), ("payments", "external_id"),
               ("payment_events", "stripe_event_id")}


def scale_statements(columns, scalar) -> list[str]:
    """INSERT ... SELECT per copied table (`columns(name)`: the columns it has, none when it does
    not exist): its original rows once per row of the table `copies`."""
    present = {t: columns(t) for t in COPIED if columns(t)}
    offset = {t: int(scalar(f"SELECT COALESCE(max(id), 0) FROM {t}")) for t in present}
    out = []
    for table in v2.metadata.sorted_tables:
        if table.name not in present:
            continue
        cols, exprs = [], []
        for c in table.columns:
            if c.name not in present[table.name]:  # a version-1 table
                continue
            cols.append(c.name)
            refs = [fk.column.table.name for fk in c.foreign_keys if fk.column.table.name in present]
            if c.name == "id":
                exprs.append(f"t.id + k.k * {offset[table.name]}")
            elif refs:
                exprs.append(f"t.{c.name} + k.k * {offset[refs[0]]}")
            elif (table.name, c.name) in UNIQUE_TEXT:
                exprs.append(f"t.{c.name} || '-' || k.k")
            else:
                exprs.append(f"t.{c.name}")
        out.append(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(exprs)} "
                   f"FROM {table.name} t, copies k WHERE t.id <= {offset[table.name]}")
    return out


def scale_sqlite(path: Path, copies: int) -> None:
    with closing(sqlite3.connect(path)) as c:
        triggers = c.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            c.execute(f'DROP TRIGGER "{name}"')  # a copy of a superseded bill is refused by version 2's rules
        c.execute("CREATE TEMP TABLE copies (k INTEGER PRIMARY KEY)")
        c.executemany("INSERT INTO copies VALUES (?)", [(k,) for k in range(1, copies)])

        def columns(name):
            return {r[1] for r in c.execute(f"PRAGMA table_info({name})").fetchall()}

        for stmt in scale_statements(columns, lambda sql: c.execute(sql).fetchone()[0]):
            c.execute(stmt)
        for (sql,) in triggers:
            c.execute(sql)
        c.commit()


def scale_postgres(dsn: str, copies: int) -> None:
    import psycopg

    with psycopg.connect(dsn) as c:
        c.execute("SET session_replication_role = replica")  # no triggers while copying (see scale_sqlite)
        c.execute("CREATE TEMP TABLE copies (k bigint PRIMARY KEY)")
        c.execute("INSERT INTO copies SELECT generate_series(1, %s)", [copies - 1])

        def columns(name):
            return {r[0] for r in c.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                                            "AND table_schema = current_schema()", [name]).fetchall()}

        for stmt in scale_statements(columns, lambda sql: c.execute(sql).fetchone()[0]):
            c.execute(stmt)
        for t in COPIED:
            if columns(t):
                c.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
        c.execute("ANALYZE")


def counts(storage) -> str:
    c = storage.table_counts(["accounts", "readings", "bills", "bill_lines", "payments", "audit_log"])
    return ", ".join(f"{k} {v:,}" for k, v in c.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_upgrade_v3", description=__doc__.split("\n\n")[0])
    ap.add_argument("--flats", type=int, default=20_000, help="flats in the scaled database (default 20000)")
    ap.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL server instead of SQLite")
    ap.add_argument("--version", type=int, choices=(1, 2), default=2, help="the fixture to start from (default 2)")
    args = ap.parse_args(argv)
    from services.storage.sql_backend import SqlStorage

    copies = max(1, math.ceil(args.flats / 24))
    with tempfile.TemporaryDirectory(prefix="bench-upgrade-") as tmp:
        t0 = time.perf_counter()
        if args.postgres:
            from scripts.pg_throwaway import start

            pg = start()
            try:
                url = pg.create_database("bench_upgrade")
                subprocess.run([str(pg.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                                "-d", "bench_upgrade", "-q", "-v", "ON_ERROR_STOP=1", "-f",
                                str(FIXTURE[args.version].with_suffix(".postgresql.sql"))], check=True, capture_output=True)
                scale_postgres(f"host=127.0.0.1 port={pg.port} user=postgres dbname=bench_upgrade", copies)
                return _time_open(SqlStorage, url, t0, args)
            finally:
                pg.stop()
        path = Path(tmp) / "legacy.db"
        with closing(sqlite3.connect(path)) as c:
            c.executescript(FIXTURE[args.version].with_suffix(".sqlite.sql").read_text())
        scale_sqlite(path, copies)
        return _time_open(SqlStorage, f"sqlite:///{path}", t0, args)


def _time_open(SqlStorage, url: str, t0: float, args) -> int:
    print(f"version-{args.version} society of {args.flats:,} flats made in {time.perf_counter() - t0:,.1f} s", flush=True)
    t1 = time.perf_counter()
    storage = SqlStorage(url)
    took = time.perf_counter() - t1
    print(f"{storage.backend_name}: opened (upgraded to version 3) in {took:,.1f} s: {counts(storage)}")
    storage.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
