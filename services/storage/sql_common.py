"""Engine setup and error translation shared by the SQLAlchemy backend's parts."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from database import schema as s
from services.errors import BillImmutableError, ConflictError, PeriodLockedError, StorageError, ValidationError
from services.money import from_minor_units

SQLITE_BUSY_TIMEOUT_MS = 15000


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs (Heroku/Supabase style) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                     "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is too late
        # and never IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock at BEGIN, so two writers queue instead of deadlocking.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("write", False) else "BEGIN")


@contextlib.contextmanager
def write_tx(engine: Engine):
    """A transaction that will write (BEGIN IMMEDIATE on SQLite)."""
    with engine.connect() as conn:
        conn.info["write"] = True
        with translate_errors(), conn.begin():
            yield conn


@contextlib.contextmanager
def read_tx(engine: Engine):
    with engine.connect() as conn:
        with translate_errors(), conn.begin():
            yield conn


_LOCK_MONTH = re.compile(r"billing period (\d{4}-\d{2}) is locked")


@contextlib.contextmanager
def translate_errors():
    """Turn the database's rule violations into the product's typed errors."""
    try:
        yield
    except DBAPIError as exc:
        msg = str(exc.orig) if exc.orig is not None else str(exc)
        if "PERIOD_LOCKED" in msg:
            m = _LOCK_MONTH.search(msg)
            raise PeriodLockedError(m.group(1) if m else "a locked month",
                                    None if m else "The database refused the bill: its billing period touches a "
                                    "locked month. Choose a period outside the locked month.") from None
        if "BAD_DATE" in msg or "BAD_MONTH" in msg:
            raise ValidationError("date", f"was refused by the database ({msg.splitlines()[0]}).",
                                  "Write dates as YYYY-MM-DD (months as YYYY-MM).") from None
        if "BILL_IMMUTABLE" in msg:
            raise BillImmutableError("An issued bill cannot be changed or deleted; only its payment status may be updated.") from None
        if "READING_IMMUTABLE" in msg:
            raise ConflictError("A stored reading's value, date and meter never change; reject it and submit a new one.") from None
        if "READING_UNDO" in msg:
            raise ConflictError("The database refused to send that reading back to pending: a bill covers it, or "
                                "its meter's readings changed since it was rejected. Nothing was changed.") from None
        if "BILL_ARCHIVED" in msg:
            raise ConflictError("That account's bill for the period is in the archive (bills older than the kept "
                                "months move there). Nothing was stored; restore the month from Bill archive first "
                                "if it must be billed again.") from None
        if "ARCHIVE_COPY" in msg:
            raise ConflictError("Archived bills are copies of the bills as issued: they are written and removed only "
                                "by an archive move or a restore, and never changed.") from None
        if "APPEND_ONLY" in msg:
            raise ConflictError("That record is append-only and cannot be changed or deleted.") from None
        billing = billing_refusal(msg)
        if billing is not None:
            raise billing from None
        if isinstance(exc, IntegrityError):
            raise
        if isinstance(exc, OperationalError):
            raise StorageError(f"The database could not complete the request ({msg.splitlines()[0]}). Try again.") from exc
        raise


class CoverageTakenError(ConflictError):
    """A reading was covered by another bill between pricing and storing (the batch retries)."""


def billing_refusal(msg: str) -> ConflictError | None:
    """The coverage, re-issue and credit triggers' refusals (database/billing_triggers.py) in words.
    Also a race lost on the one-current-bill-per-reading index."""
    if "BILL_SUPERSEDED" in msg:
        return ConflictError("That bill was replaced by a re-issue (superseded): it never changes again. Open the "
                             "bill that replaced it.")
    if "BILL_READING_TAKEN" in msg or "uq_bill_readings_current_reading" in msg or (
            "UNIQUE constraint failed: bill_readings.reading_id" in msg):
        return CoverageTakenError("A reading of this bill is already on another bill (billed meanwhile?). Nothing "
                                  "was stored; look at the account's bills and readings again.")
    if "BILL_READING_INVALID" in msg:
        return ConflictError("A bill covers only approved readings of its own account. Nothing was stored.")
    if "CREDIT_INVALID" in msg:
        return ConflictError("A credit moves exactly what was paid on a replaced bill to its replacement. Nothing was "
                             "stored.")
    return None


def is_unique_violation(exc: IntegrityError, *columns: str) -> bool:
    msg = str(exc.orig)
    code = getattr(exc.orig, "sqlstate", None)
    if code == "23505" or "UNIQUE constraint failed" in msg:
        return all(c in msg for c in columns) if columns else True
    return False


def money_sum(expr, dialect_name: str):
    """SUM of a money expression, exact on every backend.

    SQLite keeps NUMERIC as binary floating point, so its sum is taken in integer paise;
    PostgreSQL's NUMERIC sum is exact. Pass the result through `money_value`.
    """
    if dialect_name == "sqlite":
        return sa.func.coalesce(sa.func.sum(sa.cast(sa.func.round(expr * 100), sa.Integer)), 0)
    return sa.func.coalesce(sa.func.sum(expr), 0)


def money_value(raw, dialect_name: str) -> Decimal:
    if dialect_name == "sqlite":
        return from_minor_units(int(raw or 0))
    return Decimal(raw or 0).quantize(Decimal("0.01"))


def energy_value(raw) -> Decimal:
    return Decimal(str(raw or 0)).quantize(Decimal("0.01"))


def today_str(d: dt.date) -> str:
    return d.isoformat()


TABLES = {t.name: t for t in s.metadata.sorted_tables}


def as_date(v) -> dt.date | None:
    """A DATE column's value as a date: SQLite hands back the ISO text, PostgreSQL a date."""
    return dt.date.fromisoformat(v) if isinstance(v, str) else v
