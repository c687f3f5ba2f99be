"""Benchmark the month-end bill run against the database's plain bulk insert and the per-bill path.

    python -m scripts.benchmark                          # the society, 300,000 accounts, SQLite and PostgreSQL
    python -m scripts.benchmark --utility water --accounts 50000 --json
    python -m scripts.benchmark --utility municipal --backends sqlite --repeat 1

For each backend a synthetic utility of the kind asked for (scripts/bench_data.py: N accounts
ready to bill 2026-10 by the kind's plan: the society's approved readings, the municipal fixed
fee, the water customers' daily usage, detected as its imports leave it; last month's bills with
20% still open) is loaded by the fast plain path into a temporary SQLite file and a throwaway
PostgreSQL server (scripts/pg_throwaway.py), then copied for each measurement so every one starts
from the same data:
  (a) the bill run (DatabaseService.generate_bills_for_month) in a fresh process, whose peak
      resident set size (VmHWM: interpreter, libraries and, for the society, the master-data price
      table included) is reported as its peak memory; for water the period's anomaly detection
      (after the bills on SQLite, alongside them on PostgreSQL) is part of it and also timed on its own;
  (b) a plain bulk insert of the very rows the run wrote (the bills, their lines and the readings
      they cover), no business logic: sqlite3 executemany in one transaction / psycopg COPY in one
      transaction;
  (c) create_bill in a loop on a sample of accounts (for water with each account's usage summed
      first, as a single bill needs it), extrapolated to N;
and the median of the admin list queries (pending readings pages for the society, bills pages with
filters, dashboard figures) on the billed data (on PostgreSQL after VACUUM ANALYZE, which autovacuum
does within about a minute of the run). (a) and (b) are repeated --repeat times on fresh copies and
the medians reported (other work on the machine makes single timings noisy).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PERIOD = ("2026-10-01", "2026-10-31", "2026-11-15")
TODAY = dt.date(2026, 11, 22)
LIST_QUERY_RUNS = 7
UTILITIES = ("society", "municipal", "water")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _service(url: str, n: int, utility: str):
    from scripts.bench_society import price_table
    from services.database_service import DatabaseService
    from services.pricing_service import PricingService
    from services.storage.sql_backend import SqlStorage

    # Only the society's flat-rate plan prices from the master data; the others need no price table.
    table = price_table(n) if utility == "society" else {}
    return DatabaseService(SqlStorage(url, create=False), PricingService(table=table), today=lambda: TODAY)


# ---- (a) the bill run, in its own process ---------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident set size. VmHWM belongs to the process image, so it starts
    afresh at exec; ru_maxrss (the fallback off Linux) would carry the parent's size over."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def phase_run(url: str, n: int, utility: str) -> dict:
    """Runs in the child process: the bill run alone, timed, with its peak RSS."""
    db = _service(url, n, utility)
    # The water run detects the period's anomalies (issue 13): after the bills on SQLite, alongside
    # them on PostgreSQL (services/billing/bill_run.detect_alongside). Part of the run, and timed on
    # its own too, so the figures show what the detection took.
    detection = [0.0]
    detect = db.detect_after_run

    def timed_detection(*args, **kw):
        t = time.perf_counter()
        try:
            return detect(*args, **kw)
        finally:
            detection[0] += time.perf_counter() - t

    db.detect_after_run = timed_detection
    before = peak_rss_mb()
    os.sync()
    c0, t0 = time.process_time(), time.perf_counter()
    s = db.generate_bills_for_month(*PERIOD)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = peak_rss_mb()
    db.storage.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu, "created": s.created, "total_amount": str(s.total_amount),
            "run_id": s.run_id, "rss_before_run_mb": before, "peak_rss_mb": peak, "detection_seconds": detection[0],
            "detection_alongside": db.storage.dialect == "postgresql"}


def bill_run(url: str, n: int, utility: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--phase-run", url, "--accounts", str(n),
                          "--utility", utility], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if out.returncode != 0:
        raise RuntimeError(f"the bill run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- (b) the plain bulk insert of the same rows -----------------------------------------------------
COVERAGE_COLUMNS = ("bill_id", "reading_id", "units", "motor_units")


def _bill_rows(storage, run_id: int) -> tuple[list[tuple], list[tuple], list[tuple], tuple]:
    """The rows the run wrote (bills with their ids, their lines, the readings they cover), as the
    driver returns them (on SQLite: as stored)."""
    from services.storage.sql_bill_runs import COLUMNS, LINE_COLUMNS

    raw = storage.engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        ph = "?" if storage.dialect == "sqlite" else "%s"
        cur.execute(f"SELECT id, {', '.join(COLUMNS)} FROM bills WHERE bill_run_id = {ph} ORDER BY id", (run_id,))
        rows = cur.fetchall()
        cur.execute(f"SELECT {', '.join('l.' + x for x in LINE_COLUMNS)} FROM bill_lines l JOIN bills b "
                    f"ON b.id = l.bill_id WHERE b.bill_run_id = {ph} ORDER BY l.id", (run_id,))
        lines = cur.fetchall()
        cur.execute(f"SELECT {', '.join('c.' + x for x in COVERAGE_COLUMNS)} FROM bill_readings c JOIN bills b "
                    f"ON b.id = c.bill_id WHERE b.bill_run_id = {ph} ORDER BY c.id", (run_id,))
        covered = cur.fetchall()
        cur.execute(f"SELECT id, billing_period_start, billing_period_end, due_date FROM bill_runs WHERE id = {ph}",
                    (run_id,))
        return rows, lines, covered, cur.fetchone()
    finally:
        raw.close()


def plain_insert(storage, rows: list[tuple], lines: list[tuple], covered: list[tuple],
                 run_row: tuple) -> tuple[float, float]:
    """(seconds, CPU seconds of this process) of the timed insert."""
    c0 = time.process_time()
    seconds = _plain_insert(storage, rows, lines, covered, run_row)
    return seconds, time.process_time() - c0


def _plain_insert(storage, rows: list[tuple], lines: list[tuple], covered: list[tuple], run_row: tuple) -> float:
    from services.storage.sql_bill_runs import COLUMNS, LINE_COLUMNS

    cols = ", ".join(("id",) + COLUMNS)
    line_cols = ", ".join(LINE_COLUMNS)
    cover_cols = ", ".join(COVERAGE_COLUMNS)
    raw = storage.engine.raw_connection()
    try:
        drv = raw.driver_connection
        cur = drv.cursor()
        if storage.dialect == "sqlite":  # the bill_runs row the bills point at, then the timed insert
            cur.execute("INSERT INTO bill_runs (id, billing_period_start, billing_period_end, due_date) "
                        "VALUES (?, ?, ?, ?)", run_row)
            os.sync()
            t0 = time.perf_counter()
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(f"INSERT INTO bills ({cols}) VALUES ({', '.join(['?'] * (len(COLUMNS) + 1))})", rows)
            cur.executemany(f"INSERT INTO bill_lines ({line_cols}) VALUES ({', '.join(['?'] * len(LINE_COLUMNS))})",
                            lines)
            cur.executemany(f"INSERT INTO bill_readings ({cover_cols}) VALUES (?, ?, ?, ?)", covered)
            cur.execute("COMMIT")
            return time.perf_counter() - t0
        from psycopg.types.json import Jsonb

        details = COLUMNS.index("tariff_details") + 1  # psycopg reads JSONB as a dict; COPY writes it back as JSONB
        rows = [row[:details] + (None if row[details] is None else Jsonb(row[details]),) + row[details + 1:]
                for row in rows]
        cur.execute("INSERT INTO bill_runs (id, billing_period_start, billing_period_end, due_date) "
                    "VALUES (%s, %s, %s, %s)", run_row)
        drv.commit()
        os.sync()
        t0 = time.perf_counter()
        for table, columns, values in (("bills", cols, rows), ("bill_lines", line_cols, lines),
                                       ("bill_readings", cover_cols, covered)):
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        drv.commit()
        return time.perf_counter() - t0
    finally:
        raw.close()


# ---- (c) the per-bill path ---------------------------------------------------------------------
def per_bill(url: str, n: int, sample: int, utility: str) -> tuple[int, float]:
    """create_bill for `sample` accounts the run would bill, each as a single bill is made: the
    society's from its reading (every reading since the last billed one), the water customer's from
    its usage of the period summed, the municipal unit's fee from its category."""
    db = _service(url, n, utility)
    start, end, due = (dt.date.fromisoformat(x) for x in PERIOD)
    from services.billing.coverage import run_chain
    from services.billing.pricing import QUANTITY_SOURCE

    book = db.plan_book()
    plan = next(sp for sp in book.plans.values() if sp.plan.service == db.utility().service)
    source = QUANTITY_SOURCE[plan.plan.kind]
    todo, after = [], 0
    while len(todo) < sample:
        batch, after = db.storage.bill_run_candidates(start, end, service=plan.plan.service, source=source,
                                                      after_account_id=after, limit=sample)
        if after is None:
            break
        for c in batch:
            if source == "readings":
                cov, _ = run_chain(list(c.tail), start, end)
                if cov is not None:
                    todo.append((c.account_id, cov.last.reading_id))
            else:
                todo.append((c.account_id, None))
    todo = todo[:sample]
    t0 = time.perf_counter()
    for account_id, reading_id in todo:  # the same bill as the run's
        if source == "readings":
            db.create_bill(account_id, start, end, due, last_reading_id=reading_id)
        elif source == "usage":
            usage = db.storage.usage_totals([account_id], start, end)[account_id]
            db.create_bill(account_id, start, end, due, usage.quantity)
        else:
            db.create_bill(account_id, start, end, due)
    seconds = time.perf_counter() - t0
    db.storage.dispose()
    return len(todo), seconds


# ---- admin list queries ----------------------------------------------------------------------------
SEARCH = {"society": "B17", "municipal": "SP-LHC-1", "water": "HS00012"}


def list_queries(url: str, n: int, utility: str) -> dict[str, float]:
    from services.models import BillFilter, ReadingFilter

    db = _service(url, n, utility)
    tops = db.list_areas(level=1)
    top, second = tops[min(2, len(tops) - 1)], tops[min(1, len(tops) - 1)]  # block C / B, a tehsil, a service area
    leaf = db.list_areas(parent_id=second.id)[0]
    queries = {
        "bills_page_filtered": lambda: db.list_bills(BillFilter(period_month="2026-10", statuses=("pending",),
                                                                area_id=second.id), 0, 50),
        "bills_page_leaf_area": lambda: db.list_bills(BillFilter(period_month="2026-10", area_id=leaf.id), 0, 50),
        "bills_page_search": lambda: db.list_bills(BillFilter(period_month="2026-10", search=SEARCH[utility]), 0, 50),
        "dashboard": lambda: db.dashboard("2026-10"),
    }
    if utility == "society":
        queries = {
            "pending_readings_page": lambda: db.list_pending_readings(ReadingFilter(), 0, 50),
            "pending_readings_block_page": lambda: db.list_pending_readings(
                ReadingFilter(area_id=top.id, flagged_only=True), 0, 50),
            **queries}
    out = {}
    for name, q in queries.items():
        q()  # warm the connection and the page cache, as a page in use would be
        times = []
        for _ in range(LIST_QUERY_RUNS):
            t0 = time.perf_counter()
            q()
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = round(statistics.median(times), 1)
    db.storage.dispose()
    return out


# ---- one backend ---------------------------------------------------------------------------------
class SqliteSite:
    name = "sqlite"

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="meterline-bench-"))

    def url(self, db: str) -> str:
        return f"sqlite:///{self.dir / db}.db"

    def copy(self, db: str) -> str:
        shutil.copyfile(self.dir / "base.db", self.dir / f"{db}.db")
        return self.url(db)

    def settle(self, db: str) -> None:
        """Meterline never runs ANALYZE on SQLite: nothing to do."""

    def drop(self, db: str) -> None:
        for suffix in (".db", ".db-wal", ".db-shm"):
            (self.dir / f"{db}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresSite:
    name = "postgresql"

    def __init__(self):
        from scripts.pg_throwaway import start

        self.pg = start()
        try:
            self.pg.create_database("base")
        except BaseException:  # the caller never gets this site to close: stop the server here
            self.pg.stop()
            raise

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pg.port}/{db}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(sql)

    def copy(self, db: str) -> str:
        self._admin(f'CREATE DATABASE "{db}" TEMPLATE base')
        return self.url(db)

    def settle(self, db: str) -> None:
        """What autovacuum does within about a minute of the run's 300,000 new rows: statistics and
        the visibility map, which the list queries' plans and index-only scans rely on."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname={db}", autocommit=True) as c:
            c.execute("VACUUM ANALYZE")

    def drop(self, db: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{db}"')

    def close(self) -> None:
        self.pg.stop()


def measure(site, n: int, repeat: int, sample: int, utility: str) -> dict:
    from scripts.bench_data import build
    from services.storage.sql_backend import SqlStorage

    say(f"[{site.name}] building a {utility} of {n:,} accounts (plain bulk path, not measured) ...")
    t0 = time.perf_counter()
    base = SqlStorage(site.url("base"))
    build(base, n, utility, say=say)
    base.dispose()
    say(f"[{site.name}] built in {time.perf_counter() - t0:.1f} s")
    runs, plains, plain_cpus, line_count = [], [], [], 0
    for k in range(repeat):
        run = bill_run(site.copy(f"run{k}"), n, utility)
        runs.append(run)
        st = SqlStorage(site.url(f"run{k}"), create=False)
        rows, lines, covered, run_row = _bill_rows(st, run["run_id"])
        st.dispose()
        st = SqlStorage(site.copy(f"plain{k}"), create=False)
        seconds, cpu = plain_insert(st, rows, lines, covered, run_row)
        plains.append(seconds)
        plain_cpus.append(cpu)
        st.dispose()
        line_count = len(lines)
        del rows, lines, covered
        site.drop(f"plain{k}")
        if k + 1 < repeat:
            site.drop(f"run{k}")
        say(f"[{site.name}] {k + 1}/{repeat}: bill run {run['seconds']:.2f} s ({run['created']:,} bills), "
            f"plain insert {plains[-1]:.2f} s")
    site.settle(f"run{repeat - 1}")
    lists = list_queries(site.url(f"run{repeat - 1}"), n, utility)
    n_sample, sample_s = per_bill(site.copy("perbill"), n, sample, utility)
    site.drop("perbill")
    created = runs[-1]["created"]
    run_s = statistics.median(r["seconds"] for r in runs)
    plain_s = statistics.median(plains)
    per_bill_rate = n_sample / sample_s if sample_s else 0.0
    per_bill_s = created / per_bill_rate if per_bill_rate else None
    return {
        "bill_run_rows_per_s": round(created / run_s) if run_s else None,
        "plain_insert_rows_per_s": round(created / plain_s) if plain_s else None,
        "per_bill_rows_per_s": round(per_bill_rate, 1),
        "run_vs_plain": round(run_s / plain_s, 2) if plain_s else None,
        # Of the run: the water run's anomaly detection (about 0 for the other kinds); after the bills
        # (SQLite: the run without it is also compared) or alongside them (PostgreSQL: null).
        "detection_seconds": round(statistics.median(r["detection_seconds"] for r in runs), 3),
        "detection_alongside": runs[-1]["detection_alongside"],
        "run_without_detection_vs_plain": None if runs[-1]["detection_alongside"] or not plain_s else round(
            statistics.median(r["seconds"] - r["detection_seconds"] for r in runs) / plain_s, 2),
        "run_vs_per_bill": round(per_bill_s / run_s, 1) if per_bill_s and run_s else None,
        "peak_memory_mb": max(r["peak_rss_mb"] for r in runs),
        "list_query_ms": lists,
        "bills": created,
        "bill_lines": line_count,
        "total_amount": runs[-1]["total_amount"],
        "bill_run_seconds": round(run_s, 3),
        "bill_run_seconds_each": [round(r["seconds"], 3) for r in runs],
        "plain_insert_seconds": round(plain_s, 3),
        "plain_insert_seconds_each": [round(x, 3) for x in plains],
        # CPU seconds of the process that ran each (on SQLite the database works in that process, so
        # their ratio holds when other work on the machine stretches the wall-clock times; on
        # PostgreSQL the server's work is not in them).
        "bill_run_cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 3),
        "plain_insert_cpu_seconds": round(statistics.median(plain_cpus), 3),
        "per_bill_sample": n_sample,
        "per_bill_sample_seconds": round(sample_s, 3),
        "per_bill_seconds_extrapolated": round(per_bill_s, 1) if per_bill_s else None,
        "rss_before_run_mb": runs[-1]["rss_before_run_mb"],
        "memory_measure": "peak resident set size (VmHWM) of the process that ran the bill run, "
                          "interpreter and libraries (and the society's master-data price table) included",
    }


def report(result: dict) -> str:
    lines = [f"Bill run benchmark: {result['utility']}, {result['accounts']:,} accounts (medians of "
             f"{result['repeat']} runs)"]
    for backend in ("sqlite", "postgresql"):
        r = result.get(backend)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"\n{backend}: not measured: {r['error']}")
            continue
        lines += [
            f"\n{backend}",
            f"  (a) bill run        {r['bill_run_seconds']:8.2f} s  {r['bill_run_rows_per_s']:>9,} bills/s  "
            f"({r['bills']:,} bills, {r['bill_lines']:,} lines)  "
            f"peak memory {r['peak_memory_mb']:,.0f} MB (peak RSS of the run's process; {r['rss_before_run_mb']:,.0f} "
            "MB before it started)",
            f"  (b) plain insert    {r['plain_insert_seconds']:8.2f} s  {r['plain_insert_rows_per_s']:>9,} rows/s  "
            f"({'sqlite3 executemany' if backend == 'sqlite' else 'psycopg COPY'}, one transaction)",
            f"  (c) per-bill path   {r['per_bill_seconds_extrapolated']:8.1f} s  {r['per_bill_rows_per_s']:>9,} bills/s  "
            f"(create_bill x {r['per_bill_sample']:,}, extrapolated)",
            f"  run / plain insert  {r['run_vs_plain']:.2f} x   (target: at most 2; CPU seconds of the two processes "
            f"{r['bill_run_cpu_seconds']:.2f} / {r['plain_insert_cpu_seconds']:.2f})",
            *([f"  of the run: anomaly detection {r['detection_seconds']:.2f} s, " + (
                "alongside the bills (its own thread)" if r["detection_alongside"] else
                f"after the bills; the bills alone / plain insert {r['run_without_detection_vs_plain']:.2f} x")]
              if r.get("detection_seconds", 0) >= 0.1 else []),
            f"  per-bill / run      {r['run_vs_per_bill']:.1f} x   (target: at least 10)",
            "  list queries (median ms): " + ", ".join(f"{k} {v}" for k, v in r["list_query_ms"].items()),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.benchmark", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--utility", choices=UTILITIES, default="society",
                    help="the kind of utility (and tariff plan) to bill (default society)")
    ap.add_argument("--accounts", type=int, default=300000, help="size of the synthetic utility (default 300000)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    ap.add_argument("--repeat", type=int, default=3, help="bill runs and plain inserts per backend (default 3)")
    ap.add_argument("--per-bill-sample", type=int, default=1000, help="bills made by create_bill (default 1000)")
    ap.add_argument("--phase-run", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.accounts < 1 or args.repeat < 1 or args.per_bill_sample < 1:
        ap.error("--accounts, --repeat and --per-bill-sample must be at least 1")
    if args.phase_run:
        print(json.dumps(phase_run(args.phase_run, args.accounts, args.utility)))
        return 0
    os.environ.setdefault("METERLINE_DOTENV", "0")  # never the developer's .env database
    result: dict = {"utility": args.utility, "accounts": args.accounts, "repeat": args.repeat}
    failed = False
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        site = None
        try:
            site = {"sqlite": SqliteSite, "postgresql": PostgresSite}[name]()
            result[name] = measure(site, args.accounts, args.repeat, min(args.per_bill_sample, args.accounts),
                                   args.utility)
        except KeyError:
            ap.error(f"unknown backend {name!r}: use sqlite and/or postgresql")
        except Exception as exc:  # report the backend as not measured, keep the other
            failed = True
            result[name] = {"error": f"{exc.__class__.__name__}: {exc}"}
            say(f"[{name}] failed: {exc}")
        finally:
            if site is not None:
                site.close()
    print(json.dumps(result) if args.json else report(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
