"""Triggers that hold business rules inside the database, per dialect.

- Period locks: no bill may be inserted whose period (billing_period_start to billing_period_end)
  touches a month listed in period_locks (error text starts with PERIOD_LOCKED; on PostgreSQL it
  names the month and is SQLSTATE P0001). period_locks itself is append-only: a lock, once
  written, can be neither changed nor removed (that would reopen the month).
- Issued bills are never updated in place except their payment status, and never deleted.
- audit_log, payments, payment_events and period_locks are append-only; so is meter_changes.
- PostgreSQL: TRUNCATE (which fires no row trigger) is refused on those tables, on bills and on
  readings, by statement-level BEFORE TRUNCATE triggers.
- A reading's measured value, date and meter never change after insert. Its consumption and
  previous_reading_id change only when the chain is relinked (a back-dated reading slotted in
  before it, or the reading it was measured from rejected): never on a billed reading, and only
  to a previous reading of the same meter that comes before it, with consumption = value - that
  reading's value (or both NULL: the first of a chain).
- SQLite: every Date column holds a canonical ISO date, 'YYYY-MM-DD' (SQLite would store any text,
  and '02025-11-01' slips past the lock trigger, then breaks reading the row back). Triggers, not
  CHECK constraints, so existing databases get the rule too (a CHECK needs a table rebuild).
  PostgreSQL's date type already refuses such values.

Every statement is idempotent so the same list can be applied to an existing database. A trigger
whose rule changes gets a new name (and the old name is dropped), so a database is brought up to
date without rewriting its schema at every start.
"""
from __future__ import annotations

import sqlalchemy as sa

from database import (archive_triggers, bill_chain, bill_numbers, bill_totals, billing_triggers, field_triggers, name_search,
                      review_undo_triggers)
from database.archive_triggers import in_archive
from database import schema as s
from database.schema import BILL_IMMUTABLE_COLUMNS

READING_IMMUTABLE_COLUMNS = (
    "meter_id", "reading_value", "reading_date",
    "motor_reading_value", "motor_share", "motor_reading_id", "submitted_by", "created_at", "source",
)
READING_LINK_COLUMNS = ("consumption", "previous_reading_id")

LOCK_MESSAGE_SQLITE = "PERIOD_LOCKED: the billing period touches a locked month (see period_locks)"
DATE_MESSAGE = "BAD_DATE: a date column must hold a date written YYYY-MM-DD"
LOCK_MONTH_MESSAGE = "BAD_MONTH: period_locks.month must be a month written YYYY-MM"
# Tables whose rows are never changed or deleted (UPDATE / DELETE refused by row triggers).
APPEND_ONLY_TABLES = ("audit_log", "payments", "payment_events", "period_locks", "bill_lines", "tariff_plan_versions")
# PostgreSQL: TRUNCATE fires no row trigger; these refuse it with a statement trigger.
NO_TRUNCATE_TABLES = ("bills", "payments", "audit_log", "period_locks", "payment_events", "readings", "meter_changes",
                      "bill_lines", "tariff_plan_versions")
BILL_IMMUTABLE_MESSAGE = "BILL_IMMUTABLE: an issued bill cannot be changed or deleted; only its payment status may be updated"
APPEND_ONLY_MESSAGE = "APPEND_ONLY: rows of this table are never changed or deleted"
READING_IMMUTABLE_MESSAGE = "READING_IMMUTABLE: the value, date and meter of a stored reading never change; reject it and submit a new one"
READING_BILLED_MESSAGE = "READING_BILLED: the consumption of a billed reading never changes"
READING_RELINK_MESSAGE = ("READING_RELINK: consumption must be this reading minus an earlier reading of the same meter "
                          "(previous_reading_id), or both empty")


def reading_billed_sql(reading_id: str) -> str:
    """THE database's test "this reading is billed": a bill that is not superseded covers it
    (bill_readings), or takes its motor share from it (a shared motor meter's reading). The relink
    trigger uses it, and on PostgreSQL the function meterline_reading_is_billed (used by the
    Supabase functions) is made from it."""
    return (f"(EXISTS (SELECT 1 FROM bill_readings WHERE reading_id = {reading_id} AND superseded_by IS NULL) "
            f"OR EXISTS (SELECT 1 FROM bills WHERE motor_reading_id = {reading_id} AND status <> 'superseded') "
            # a bill in the archive still covers what it covered (issue 14)
            f"OR EXISTS (SELECT 1 FROM archived_bill_readings WHERE reading_id = {reading_id} AND superseded_by IS NULL) "
            f"OR EXISTS (SELECT 1 FROM archived_bills WHERE motor_reading_id = {reading_id} AND status <> 'superseded'))")


def _reading_link_ok(dialect: str) -> str:
    """NEW's previous_reading_id and consumption agree with the chain. SQLite keeps NUMERIC as binary
    floating point, so there the difference is compared within half a paisa of a kWh."""
    diff = "NEW.consumption - (NEW.reading_value - p.reading_value)"
    same = f"ABS({diff}) < 0.005" if dialect == "sqlite" else f"{diff} = 0"
    return f"""((NEW.previous_reading_id IS NULL AND NEW.consumption IS NULL) OR EXISTS (
                SELECT 1 FROM readings p WHERE p.id = NEW.previous_reading_id AND p.meter_id = NEW.meter_id
                  AND p.status <> 'rejected' AND p.id <> NEW.id
                  AND (p.reading_date < NEW.reading_date OR (p.reading_date = NEW.reading_date AND p.id < NEW.id))
                  AND NEW.consumption IS NOT NULL AND {same}))"""


def _sqlite_changed(cols) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in cols)


def _pg_changed(cols) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in cols)


def date_columns() -> list[tuple[str, tuple[str, ...]]]:
    """(table, its Date columns) for every table of the schema that has any."""
    out = []
    for table in s.metadata.sorted_tables:
        cols = tuple(c.name for c in table.columns if isinstance(c.type, sa.Date))
        if cols:
            out.append((table.name, cols))
    return out


def _sqlite_date_checks() -> list[str]:
    """A value is canonical when SQLite's date arithmetic gives it back unchanged: '2025-11-01' is;
    '02025-11-01', '2025-11-1', '2025-02-30' (it becomes 03-02), '2025-11-01 10:00', the number
    20251101 and year 0 (Python has none) are not."""
    stmts = []
    for table, cols in date_columns():
        bad = " OR ".join(f"(NEW.{c} IS NOT NULL AND (typeof(NEW.{c}) <> 'text' OR NEW.{c} < '0001-01-01'"
                          f" OR date(NEW.{c}, '+0 days') IS NOT NEW.{c}))" for c in cols)
        for op, when in (("INSERT", "INSERT"), ("UPDATE", f"UPDATE OF {', '.join(cols)}")):
            stmts.append(f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_iso_dates_{op.lower()} BEFORE {when} ON {table}
                WHEN {bad}
                BEGIN SELECT RAISE(ABORT, '{DATE_MESSAGE}'); END""")
    stmts.append(f"""CREATE TRIGGER IF NOT EXISTS trg_period_locks_month_format BEFORE INSERT ON period_locks
        WHEN typeof(NEW.month) <> 'text' OR length(NEW.month) <> 7 OR NEW.month < '0001-01'
             OR date(NEW.month || '-01', '+0 days') IS NOT NEW.month || '-01'
        BEGIN SELECT RAISE(ABORT, '{LOCK_MONTH_MESSAGE}'); END""")
    return stmts


def sqlite_statements() -> list[str]:
    stmts = [
        # Until schema 1's rule "billing_period_end in a locked month" it was trg_bills_period_lock.
        "DROP TRIGGER IF EXISTS trg_bills_period_lock",
        # Recreated with the archive (issue 14): a restored bill is the bill that was issued, not a new one.
        "DROP TRIGGER IF EXISTS trg_bills_period_lock_any_day",
        f"""CREATE TRIGGER trg_bills_period_lock_any_day BEFORE INSERT ON bills
            WHEN EXISTS (SELECT 1 FROM period_locks
                          WHERE month BETWEEN substr(NEW.billing_period_start, 1, 7)
                                          AND substr(NEW.billing_period_end, 1, 7))
                 AND NOT {in_archive("bills", "NEW")}
            BEGIN SELECT RAISE(ABORT, '{LOCK_MESSAGE_SQLITE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bills_immutable BEFORE UPDATE ON bills
            WHEN {_sqlite_changed(BILL_IMMUTABLE_COLUMNS)}
            BEGIN SELECT RAISE(ABORT, '{BILL_IMMUTABLE_MESSAGE}'); END""",
        # Recreated with the archive: a bill leaves only when its copy is in the archive.
        "DROP TRIGGER IF EXISTS trg_bills_no_delete",
        f"""CREATE TRIGGER trg_bills_no_delete BEFORE DELETE ON bills WHEN NOT {in_archive("bills")}
            BEGIN SELECT RAISE(ABORT, '{BILL_IMMUTABLE_MESSAGE}'); END""",
        *_sqlite_reading_statements(),
    ]
    for table in APPEND_ONLY_TABLES:
        for op in ("UPDATE", "DELETE"):
            if op == "DELETE" and table in archive_triggers.KEYS:  # a bill's rows leave only for the archive
                stmts += [f"DROP TRIGGER IF EXISTS trg_{table}_no_delete",
                          f"""CREATE TRIGGER trg_{table}_no_delete BEFORE DELETE ON {table} WHEN NOT {in_archive(table)}
                              BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""]
                continue
            stmts.append(
                f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_no_{op.lower()} BEFORE {op} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""
            )
    stmts += _sqlite_date_checks()
    return (stmts + billing_triggers.sqlite_statements() + bill_numbers.sqlite_statements()  # coverage, re-issues, credits; numbers
            + bill_chain.sqlite_statements() + field_triggers.sqlite_statements()  # the chain (issue 20); tickets and visits (issue 15)
            + review_undo_triggers.sqlite_statements()  # undoing a review (issue 18)
            + bill_totals.sqlite_statements()  # the summary rows (issue 19)
            + archive_triggers.sqlite_statements()  # the bill archive (issue 14)
            + name_search.sqlite_statements())  # names searched by any part (issue 19)


def _sqlite_reading_statements() -> list[str]:
    return [
        # Recreated: databases made before relinking listed consumption among the fixed columns.
        "DROP TRIGGER IF EXISTS trg_readings_immutable",
        f"""CREATE TRIGGER trg_readings_immutable BEFORE UPDATE ON readings
            WHEN {_sqlite_changed(READING_IMMUTABLE_COLUMNS)}
            BEGIN SELECT RAISE(ABORT, '{READING_IMMUTABLE_MESSAGE}'); END""",
        "DROP TRIGGER IF EXISTS trg_readings_relink",
        f"""CREATE TRIGGER trg_readings_relink BEFORE UPDATE OF {", ".join(READING_LINK_COLUMNS)} ON readings
            WHEN {_sqlite_changed(READING_LINK_COLUMNS)}
            BEGIN
              SELECT RAISE(ABORT, '{READING_BILLED_MESSAGE}') WHERE {reading_billed_sql("OLD.id")};
              SELECT RAISE(ABORT, '{READING_RELINK_MESSAGE}') WHERE NOT {_reading_link_ok("sqlite")};
            END""",
        *[f"""CREATE TRIGGER IF NOT EXISTS trg_meter_changes_no_{op.lower()} BEFORE {op} ON meter_changes
              BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""" for op in ("UPDATE", "DELETE")],
    ]


def _postgresql_reading_statements() -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION meterline_reading_is_billed(p_id bigint) RETURNS boolean
           LANGUAGE sql STABLE AS $$ SELECT {reading_billed_sql("p_id")} $$""",
        f"""CREATE OR REPLACE FUNCTION meterline_readings_immutable() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF {_pg_changed(READING_IMMUTABLE_COLUMNS)} THEN
               RAISE EXCEPTION '{READING_IMMUTABLE_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             IF {_pg_changed(READING_LINK_COLUMNS)} THEN
               IF meterline_reading_is_billed(OLD.id) THEN
                 RAISE EXCEPTION '{READING_BILLED_MESSAGE}' USING ERRCODE = 'P0001';
               END IF;
               IF NOT {_reading_link_ok("postgresql")} THEN
                 RAISE EXCEPTION '{READING_RELINK_MESSAGE}' USING ERRCODE = 'P0001';
               END IF;
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_readings_immutable ON readings",
        """CREATE TRIGGER trg_readings_immutable BEFORE UPDATE ON readings
           FOR EACH ROW EXECUTE FUNCTION meterline_readings_immutable()""",
        "DROP TRIGGER IF EXISTS trg_meter_changes_append_only ON meter_changes",
        """CREATE TRIGGER trg_meter_changes_append_only BEFORE UPDATE OR DELETE ON meter_changes
           FOR EACH ROW EXECUTE FUNCTION meterline_append_only()""",
    ]


def postgresql_statements() -> list[str]:
    return archive_triggers.postgresql_statements() + [  # first: the guards below ask meterline_in_archive
        """CREATE OR REPLACE FUNCTION meterline_bills_period_lock() RETURNS trigger
           LANGUAGE plpgsql AS $$
           DECLARE
             v_month text;
           BEGIN
             IF EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = NEW.id) THEN
               RETURN NEW;  -- a restore from the archive (issue 14): the bill that was issued
             END IF;
             SELECT month INTO v_month FROM period_locks
              WHERE month BETWEEN to_char(NEW.billing_period_start, 'YYYY-MM')
                              AND to_char(NEW.billing_period_end, 'YYYY-MM')
              ORDER BY month LIMIT 1;
             IF v_month IS NOT NULL THEN
               RAISE EXCEPTION 'PERIOD_LOCKED: billing period % is locked; no bill may end in it or cover any day of it',
                 v_month
                 USING ERRCODE = 'P0001',
                       HINT = 'Choose a billing period outside the locked month, or ask an administrator.';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_period_lock ON bills",
        """CREATE TRIGGER trg_bills_period_lock BEFORE INSERT ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_period_lock()""",
        f"""CREATE OR REPLACE FUNCTION meterline_bills_immutable() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               IF {in_archive("bills")} THEN
                 RETURN OLD;  -- its copy is in the archive (issue 14)
               END IF;
               RAISE EXCEPTION '{BILL_IMMUTABLE_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             IF {_pg_changed(BILL_IMMUTABLE_COLUMNS)} THEN
               RAISE EXCEPTION '{BILL_IMMUTABLE_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_immutable ON bills",
        """CREATE TRIGGER trg_bills_immutable BEFORE UPDATE OR DELETE ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_immutable()""",
        f"""CREATE OR REPLACE FUNCTION meterline_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             -- A bill's rows leave only for the archive (issue 14), where their copies already are.
             IF TG_OP = 'DELETE' AND TG_TABLE_NAME IN ({", ".join(f"'{t}'" for t in archive_triggers.KEYS)}) THEN
               IF meterline_in_archive(TG_TABLE_NAME, (to_jsonb(OLD) ->> 'id')::bigint) THEN
                 RETURN OLD;
               END IF;
             END IF;
             RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'P0001';
           END $$""",
        *[
            stmt
            for table in APPEND_ONLY_TABLES
            for stmt in (
                f"DROP TRIGGER IF EXISTS trg_{table}_append_only ON {table}",
                f"""CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only()""",
            )
        ],
        f"""CREATE OR REPLACE FUNCTION meterline_no_truncate() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION 'APPEND_ONLY: TRUNCATE % is refused; rows of this table are never removed', TG_TABLE_NAME
               USING ERRCODE = 'P0001';
           END $$""",
        *[
            stmt
            for table in NO_TRUNCATE_TABLES
            for stmt in (
                f"DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON {table}",
                f"""CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table}
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate()""",
            )
        ],
        f"""CREATE OR REPLACE FUNCTION meterline_period_locks_month_format() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.month !~ '^[0-9]{{4}}-(0[1-9]|1[0-2])$' THEN
               RAISE EXCEPTION '{LOCK_MONTH_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_period_locks_month_format ON period_locks",
        """CREATE TRIGGER trg_period_locks_month_format BEFORE INSERT ON period_locks
           FOR EACH ROW EXECUTE FUNCTION meterline_period_locks_month_format()""",
        *_postgresql_reading_statements(),
    ] + billing_triggers.postgresql_statements() + bill_numbers.postgresql_statements() + \
        bill_chain.postgresql_statements() + field_triggers.postgresql_statements() + \
        review_undo_triggers.postgresql_statements() + \
        bill_totals.postgresql_statements()  # coverage ...; numbers; chain; tickets and visits; review undo; totals


def statements_for(dialect_name: str) -> list[str]:
    if dialect_name == "sqlite":
        return sqlite_statements()
    if dialect_name == "postgresql":
        return postgresql_statements()
    raise ValueError(f"no triggers defined for dialect {dialect_name!r}")
