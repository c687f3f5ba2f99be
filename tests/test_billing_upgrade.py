"""Schema step 2 on a database made before bill coverage (database/billing_upgrade.py): the status
check learns `superseded`, bill_readings is filled from the bills' readings, and a legacy bill can
be re-issued; verify_billing passes on the upgraded demo database."""
import datetime as dt
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import sqlalchemy as sa

from database.schema import SCHEMA_VERSION
from scripts import verify_billing
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.factories import ADMIN, make_service, make_society

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "schema_v1"


def scalar(st, sql, **params):
    with st.engine.connect() as c:
        return c.execute(sa.text(sql), params).scalar()


def test_a_version_1_sqlite_database_is_upgraded(tmp_path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as c:
        c.executescript((FIXTURES / "society_v1.sqlite.sql").read_text())
    st = SqlStorage(f"sqlite:///{path}")
    assert scalar(st, "SELECT value FROM schema_info WHERE key = 'version'") == str(SCHEMA_VERSION)
    assert "'superseded'" in scalar(st, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bills'")
    assert scalar(st, "PRAGMA integrity_check") == "ok"
    referenced = scalar(st, "SELECT count(DISTINCT flat_reading_id) FROM bills")
    first_readings = scalar(st, "SELECT count(*) FROM readings WHERE status = 'approved' AND consumption IS NULL "
                                "AND meter_id IN (SELECT id FROM meters WHERE flat_id IS NOT NULL)")
    assert scalar(st, "SELECT count(*) FROM bill_readings") == referenced + first_readings
    ok, lines = verify_billing.verify(st)
    assert ok, lines
    # A legacy bill is re-issued like a new one: superseded, its reading covered by the replacement.
    db = make_service(st, dt.date(2026, 11, 22))
    legacy = next(b for b in db.list_bills(BillFilter(statuses=("pending", "paid", "overdue")), limit=200).items
                  if b.flat_reading_id)
    again = db.bill_reading(legacy.flat_reading_id, legacy.billing_period_start, legacy.billing_period_end,
                            legacy.due_date, actor=ADMIN)
    assert again.reissue_of == legacy.id and db.get_bill(legacy.id).status == "superseded"
    assert again.total_amount == legacy.total_amount and again.amount_paid == legacy.amount_paid
    assert SqlStorage(f"sqlite:///{path}").ensure_schema() is None  # applies again, changes nothing
    ok, lines = verify_billing.verify(st)
    assert ok, lines


def test_a_version_1_postgresql_database_is_upgraded(pg_server):
    """Today's schema taken back to version 1's shape (no coverage table or columns, the old status
    check), with a bill of the old kind, then opened by this version."""
    url = pg_server.fresh_url()
    st = SqlStorage(url)
    society = make_society(st)
    db = make_service(st, dt.date(2026, 11, 22))
    reading = db.insert_meter_reading(meter_number="19152159", reading_value="1000", reading_date="2026-10-20").reading
    db.approve_reading(reading.id)
    with st.engine.begin() as c:
        for stmt in (
                "DROP TABLE bill_readings CASCADE",
                "ALTER TABLE bills DROP COLUMN first_reading_id CASCADE, DROP COLUMN superseded_by CASCADE",
                "ALTER TABLE payments DROP COLUMN credit_from_bill CASCADE",
                "ALTER TABLE bills DROP CONSTRAINT ck_bills_status_valid",
                "ALTER TABLE bills ADD CONSTRAINT ck_bills_status_valid CHECK (status IN ('pending', 'partially_paid', "
                "'paid', 'overdue', 'carried_forward', 'cancelled'))",
                "UPDATE schema_info SET value = '1' WHERE key = 'version'"):
            c.execute(sa.text(stmt))
        c.execute(sa.text(
            "INSERT INTO bills (flat_id, billing_period_start, billing_period_end, due_date, flat_units, motor_units, "
            "total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount, flat_reading_id) "
            "VALUES (:f, '2026-10-01', '2026-10-31', '2026-11-15', 100, 0, 100, 12, 1474, 0, 2674, :r)"),
            {"f": society["flats"]["B17-FF"], "r": reading.id})
    st.dispose()
    st = SqlStorage(url)
    assert scalar(st, "SELECT value FROM schema_info WHERE key = 'version'") == str(SCHEMA_VERSION)
    assert "superseded" in scalar(st, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE conname = 'ck_bills_status_valid'")
    assert scalar(st, "SELECT units FROM bill_readings WHERE reading_id = :r", r=reading.id) == D("100.00")
    db = make_service(st, dt.date(2026, 11, 22))
    again = db.bill_reading(reading.id, "2026-10-01", "2026-10-31", "2026-11-15", flat_units="100", actor=ADMIN)
    assert db.get_bill(again.reissue_of).status == "superseded" and again.total_amount == D("2674.00")
    ok, lines = verify_billing.verify(st)
    assert ok, lines
    st.dispose()
