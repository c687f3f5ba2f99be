"""Gapless bill numbers: `BC-2026-000123`, one series per utility and year.

A series ("BC-2026": the utility's short code and the year the bill is issued in, in the utility's
time zone) has one counter row in `bill_number_series`. A bill takes the next number of its series
in the same transaction that stores it: the counter is raised by one upsert that returns the new
last number (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), which on PostgreSQL holds the
counter row's lock until commit and on SQLite runs under the write lock (BEGIN IMMEDIATE). A month
run's batch reserves all its numbers in one such statement (raised by N) and hands them out in the
batch's order. A transaction that fails rolls its counter change back with its bills, so no number
is skipped; two writers queue on the counter row, so none is used twice.

The database holds the rest: bill numbers are unique (an index), a bill's number never changes once
set (it may only go from empty to a number: the backfill below), and a counter never goes down and
is never deleted (triggers), so a number is never handed out again.

Bills stored before numbers existed (an upgraded database) get theirs from `backfill`, run by
`apply_schema` on every start (a no-op when every bill has one): per series of the year they were
created in (UTC), in the order of their ids, continuing the series' counter.
"""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s

MIN_DIGITS = 6  # BC-2026-000123; a series past 999,999 bills goes on with 7 digits
FIXED_MESSAGE = "BILL_NUMBER_FIXED: the number of a bill never changes once it has one"
SERIES_MESSAGE = "BILL_NUMBER_SERIES: a bill number series only counts up; its numbers are never handed out again"


def series_for(short_code: str, year: int) -> str:
    return f"{short_code}-{year:04d}"


def format_number(series: str, n: int) -> str:
    return f"{series}-{n:0{MIN_DIGITS}d}"


_TAKE = sa.text(
    "INSERT INTO bill_number_series (series, last_number) VALUES (:series, :n) "
    "ON CONFLICT (series) DO UPDATE SET last_number = bill_number_series.last_number + excluded.last_number "
    "RETURNING last_number")


def take(conn, series: str, n: int) -> list[str]:
    """The next `n` numbers of `series`, in order, reserved in the caller's transaction."""
    if n <= 0:
        return []
    last = conn.execute(_TAKE, {"series": series, "n": n}).scalar_one()
    return [format_number(series, k) for k in range(last - n + 1, last + 1)]


def take_for(conn, series_list: list[str]) -> list[str]:
    """A number for each entry of `series_list` (a batch's bills, in order): one reservation per series."""
    wanted: dict[str, int] = {}
    for x in series_list:
        wanted[x] = wanted.get(x, 0) + 1
    pools = {x: iter(take(conn, x, n)) for x, n in wanted.items()}
    return [next(pools[x]) for x in series_list]


def default_series(conn, year: int) -> str:
    """The series of a bill stored without one (a caller that did not say): the utility's short code."""
    code = conn.execute(sa.select(s.utility_settings.c.short_code).where(s.utility_settings.c.id == 1)).scalar()
    return series_for(code or _fallback_code(), year)


def _fallback_code() -> str:
    from services.accounts.utility import TEMPLATES

    return TEMPLATES["society"].short_code  # what DatabaseService.utility() assumes without a settings row


# ---- triggers (database/triggers.py includes them) ------------------------------------------------
def sqlite_statements() -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS trg_bills_number_fixed BEFORE UPDATE OF bill_number ON bills
            WHEN OLD.bill_number IS NOT NULL AND NEW.bill_number IS NOT OLD.bill_number
            BEGIN SELECT RAISE(ABORT, '{FIXED_MESSAGE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bill_number_series_up BEFORE UPDATE ON bill_number_series
            WHEN NEW.last_number < OLD.last_number OR NEW.series IS NOT OLD.series
            BEGIN SELECT RAISE(ABORT, '{SERIES_MESSAGE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bill_number_series_no_delete BEFORE DELETE ON bill_number_series
            BEGIN SELECT RAISE(ABORT, '{SERIES_MESSAGE}'); END""",
    ]


def postgresql_statements() -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION meterline_bills_number_fixed() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.bill_number IS NOT NULL AND NEW.bill_number IS DISTINCT FROM OLD.bill_number THEN
               RAISE EXCEPTION '{FIXED_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_number_fixed ON bills",
        """CREATE TRIGGER trg_bills_number_fixed BEFORE UPDATE OF bill_number ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_number_fixed()""",
        f"""CREATE OR REPLACE FUNCTION meterline_bill_number_series_up() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP <> 'UPDATE' OR NEW.last_number < OLD.last_number OR NEW.series IS DISTINCT FROM OLD.series THEN
               RAISE EXCEPTION '{SERIES_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bill_number_series_up ON bill_number_series",
        """CREATE TRIGGER trg_bill_number_series_up BEFORE UPDATE OR DELETE ON bill_number_series
           FOR EACH ROW EXECUTE FUNCTION meterline_bill_number_series_up()""",
        "DROP TRIGGER IF EXISTS trg_bill_number_series_no_truncate ON bill_number_series",
        """CREATE TRIGGER trg_bill_number_series_no_truncate BEFORE TRUNCATE ON bill_number_series
           FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate()""",
    ]


# ---- backfill -------------------------------------------------------------------------------------
def _year_expr(dialect: str) -> str:
    return "strftime('%Y', created_at)" if dialect == "sqlite" else "to_char(created_at AT TIME ZONE 'UTC', 'YYYY')"


def _number_sql(dialect: str) -> str:
    if dialect == "sqlite":
        return f":series || '-' || printf('%0{MIN_DIGITS}d', x.n)"
    return (f"CAST(:series AS text) || '-' || CASE WHEN length(x.n::text) >= {MIN_DIGITS} THEN x.n::text "
            f"ELSE lpad(x.n::text, {MIN_DIGITS}, '0') END")


def backfill(conn) -> int:
    """Number every bill that has no number (stored before numbers existed): per year of creation
    (UTC), in id order, continuing that series. Set-based: one UPDATE per series. Returns how many."""
    b = s.bills
    if conn.execute(sa.select(b.c.id).where(b.c.bill_number.is_(None)).limit(1)).first() is None:
        return 0
    dialect = conn.dialect.name
    code = conn.execute(sa.select(s.utility_settings.c.short_code).where(s.utility_settings.c.id == 1)).scalar() \
        or _fallback_code()
    year = _year_expr(dialect)
    counts = conn.execute(sa.text(
        f"SELECT {year} AS y, count(*) FROM bills WHERE bill_number IS NULL GROUP BY {year} ORDER BY 1")).all()
    done = 0
    for y, n in counts:
        series = series_for(code, int(y))
        first = int(take(conn, series, n)[0].rsplit("-", 1)[1])
        done += conn.execute(sa.text(
            f"UPDATE bills SET bill_number = {_number_sql(dialect)} "
            f"FROM (SELECT id, :base + row_number() OVER (ORDER BY id) AS n FROM bills "
            f"      WHERE bill_number IS NULL AND {year} = :y) AS x WHERE bills.id = x.id"),
            {"series": series, "base": first - 1, "y": y}).rowcount
    return done
