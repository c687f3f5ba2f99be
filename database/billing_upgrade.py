"""Schema step 2 (database/migrations.py): bill coverage and re-issues on an existing database.

- The bills status check learns `superseded`. PostgreSQL: the constraint is dropped and added
  again. SQLite cannot alter a CHECK, so the table's stored definition is edited in place, the
  procedure SQLite documents for changes that leave the stored rows valid ("ALTER TABLE",
  section 7: writable_schema, then a new schema_version): a wider IN list accepts every row the
  old one did, so no row is rewritten.
- bill_readings is filled for the bills made before it existed: each reading a bill references
  (bills.flat_reading_id) is covered by the newest bill that references it, at the units that
  bill charged; an approved reading without units (a meter's first reading) before it is covered
  by the same bill at 0 units, as the new rule does. Older bills of the same reading (re-issues of
  the old kind) keep no coverage, and approved consumption the old rule never billed stays
  uncovered: `python -m scripts.verify_billing` lists both.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from database.legacy import schema_v2 as s  # the version-2 shape this step brings a database to


def status_check_sql() -> str:
    return s._in("status", s.BILL_STATUSES)


def _old_status_check_sql() -> str:
    return s._in("status", tuple(x for x in s.BILL_STATUSES if x != "superseded"))


def widen_bill_status_check(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        current = conn.execute(sa.text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_bills_status_valid'")).scalar()
        if current is None or "superseded" not in current:
            conn.execute(sa.text("ALTER TABLE bills DROP CONSTRAINT IF EXISTS ck_bills_status_valid"))
            conn.execute(sa.text(f"ALTER TABLE bills ADD CONSTRAINT ck_bills_status_valid CHECK ({status_check_sql()})"))
        return
    table_sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bills'")).scalar()
    if table_sql is None or "'superseded'" in table_sql:
        return
    old = _old_status_check_sql()
    if old not in table_sql:
        raise RuntimeError("bills has a status check this upgrade does not recognise; widen it by hand to "
                           f"{status_check_sql()}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'bills'",
                             (table_sql.replace(old, status_check_sql()),))
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")


BACKFILL_SQL = ("""
INSERT INTO bill_readings (bill_id, reading_id, units, motor_units)
SELECT b.id, b.flat_reading_id, b.flat_units, b.motor_units
  FROM bills b
  JOIN readings r ON r.id = b.flat_reading_id
  JOIN meters m ON m.id = r.meter_id AND m.flat_id = b.flat_id
 WHERE r.status = 'approved' AND b.status <> 'superseded'
   AND b.id = (SELECT max(b2.id) FROM bills b2 WHERE b2.flat_reading_id = b.flat_reading_id)
   AND b.id NOT IN (SELECT x.bill_id FROM bill_readings x)  -- hashed once: NOT EXISTS here was planned as a loop over the table it fills
   AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = b.flat_reading_id AND x.superseded_by IS NULL)
""", """
INSERT INTO bill_readings (bill_id, reading_id, units, motor_units)
SELECT (SELECT x.bill_id FROM bill_readings x JOIN readings r2 ON r2.id = x.reading_id
         WHERE r2.meter_id = r.meter_id AND x.superseded_by IS NULL
           AND (r2.reading_date > r.reading_date OR (r2.reading_date = r.reading_date AND r2.id > r.id))
         ORDER BY r2.reading_date, r2.id LIMIT 1), r.id, 0, 0
  FROM readings r
 WHERE r.status = 'approved' AND r.consumption IS NULL AND r.approved_units IS NULL
   AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
   AND EXISTS (SELECT 1 FROM bill_readings x JOIN readings r2 ON r2.id = x.reading_id
                WHERE r2.meter_id = r.meter_id AND x.superseded_by IS NULL
                  AND (r2.reading_date > r.reading_date OR (r2.reading_date = r.reading_date AND r2.id > r.id)))
""")


def upgrade(conn: Connection) -> None:
    s.bill_readings.create(conn, checkfirst=True)
    widen_bill_status_check(conn)
    if conn.dialect.name == "sqlite":
        # Made before bills.first_reading_id existed: recreated (after the steps) with today's columns.
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS trg_bills_immutable")
    for stmt in BACKFILL_SQL:
        conn.execute(sa.text(stmt))


def supabase_sql() -> list[str]:
    """The same step for a Supabase project, in database/supabase_schema.sql (run again after an
    upgrade): widen the status check, then fill bill_readings (both no-ops on a current database)."""
    return [
        "-- ---- bill coverage and re-issues on an existing project (database/billing_upgrade.py) ----",
        "DO $$\nBEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck_bills_status_valid'\n"
        "                   AND pg_get_constraintdef(oid) LIKE '%superseded%') THEN\n"
        "    ALTER TABLE bills DROP CONSTRAINT IF EXISTS ck_bills_status_valid;\n"
        f"    ALTER TABLE bills ADD CONSTRAINT ck_bills_status_valid CHECK ({status_check_sql()});\n"
        "  END IF;\nEND $$;",
        *(stmt.strip() + ";" for stmt in BACKFILL_SQL),
    ]
