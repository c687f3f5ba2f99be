"""Triggers that hold business rules inside the database, per dialect.

- Period locks: no bill may be inserted whose billing_period_end falls in a month listed in
  period_locks (error text starts with PERIOD_LOCKED; on PostgreSQL it names the month and is
  SQLSTATE P0001).
- Issued bills are never updated in place except their payment status, and never deleted.
- audit_log and payments are append-only.
- A reading's measured value, date, meter and computed consumption never change after insert.

Every statement is idempotent so the same list can be applied to an existing database.
"""
from __future__ import annotations

from database import billing_triggers
from database.schema import BILL_IMMUTABLE_COLUMNS

READING_IMMUTABLE_COLUMNS = (
    "meter_id", "reading_value", "reading_date", "consumption", "previous_reading_id",
    "motor_reading_value", "motor_share", "motor_reading_id", "submitted_by", "created_at", "source",
)

LOCK_MESSAGE_SQLITE = "PERIOD_LOCKED: billing_period_end falls in a locked month (see period_locks)"
BILL_IMMUTABLE_MESSAGE = "BILL_IMMUTABLE: an issued bill cannot be changed or deleted; only its payment status may be updated"
APPEND_ONLY_MESSAGE = "APPEND_ONLY: rows of this table are never changed or deleted"
READING_IMMUTABLE_MESSAGE = "READING_IMMUTABLE: the value, date and meter of a stored reading never change; reject it and submit a new one"


def _sqlite_changed(cols) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in cols)


def _pg_changed(cols) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in cols)


def sqlite_statements() -> list[str]:
    stmts = [
        f"""CREATE TRIGGER IF NOT EXISTS trg_bills_period_lock BEFORE INSERT ON bills
            WHEN EXISTS (SELECT 1 FROM period_locks WHERE month = substr(NEW.billing_period_end, 1, 7))
            BEGIN SELECT RAISE(ABORT, '{LOCK_MESSAGE_SQLITE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bills_immutable BEFORE UPDATE ON bills
            WHEN {_sqlite_changed(BILL_IMMUTABLE_COLUMNS)}
            BEGIN SELECT RAISE(ABORT, '{BILL_IMMUTABLE_MESSAGE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bills_no_delete BEFORE DELETE ON bills
            BEGIN SELECT RAISE(ABORT, '{BILL_IMMUTABLE_MESSAGE}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_readings_immutable BEFORE UPDATE ON readings
            WHEN {_sqlite_changed(READING_IMMUTABLE_COLUMNS)}
            BEGIN SELECT RAISE(ABORT, '{READING_IMMUTABLE_MESSAGE}'); END""",
    ]
    for table in ("audit_log", "payments", "payment_events"):
        for op in ("UPDATE", "DELETE"):
            stmts.append(
                f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_no_{op.lower()} BEFORE {op} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""
            )
    return stmts + billing_triggers.sqlite_statements()  # coverage, re-issues, credits


def postgresql_statements() -> list[str]:
    return [
        """CREATE OR REPLACE FUNCTION meterline_bills_period_lock() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF EXISTS (SELECT 1 FROM period_locks WHERE month = to_char(NEW.billing_period_end, 'YYYY-MM')) THEN
               RAISE EXCEPTION 'PERIOD_LOCKED: billing period % is locked; no bill may end in it',
                 to_char(NEW.billing_period_end, 'YYYY-MM')
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
             IF TG_OP = 'DELETE' OR {_pg_changed(BILL_IMMUTABLE_COLUMNS)} THEN
               RAISE EXCEPTION '{BILL_IMMUTABLE_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_immutable ON bills",
        """CREATE TRIGGER trg_bills_immutable BEFORE UPDATE OR DELETE ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_immutable()""",
        f"""CREATE OR REPLACE FUNCTION meterline_readings_immutable() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF {_pg_changed(READING_IMMUTABLE_COLUMNS)} THEN
               RAISE EXCEPTION '{READING_IMMUTABLE_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_readings_immutable ON readings",
        """CREATE TRIGGER trg_readings_immutable BEFORE UPDATE ON readings
           FOR EACH ROW EXECUTE FUNCTION meterline_readings_immutable()""",
        f"""CREATE OR REPLACE FUNCTION meterline_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'P0001';
           END $$""",
        *[
            stmt
            for table in ("audit_log", "payments", "payment_events")
            for stmt in (
                f"DROP TRIGGER IF EXISTS trg_{table}_append_only ON {table}",
                f"""CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only()""",
            )
        ],
    ] + billing_triggers.postgresql_statements()  # coverage, re-issues, credits


def statements_for(dialect_name: str) -> list[str]:
    if dialect_name == "sqlite":
        return sqlite_statements()
    if dialect_name == "postgresql":
        return postgresql_statements()
    raise ValueError(f"no triggers defined for dialect {dialect_name!r}")
