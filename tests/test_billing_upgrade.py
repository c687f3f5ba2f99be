"""Schema step 2 on a database made before bill coverage (database/billing_upgrade.py), as part of
opening it with this version (steps 2 and 3): the status check learns `superseded`, bill_readings is
filled from the bills' readings, and a legacy bill can be re-issued; verify_billing passes on the
upgraded demo database. The version-1 fixtures are tests/fixtures/schema_v1 (SQLite .dump and
pg_dump of the same demo); tests/test_upgrade_v3.py checks the rest of the upgrade."""
import datetime as dt
import sqlite3
from contextlib import closing

import pytest
import sqlalchemy as sa

from database.schema import SCHEMA_VERSION
from scripts import verify_billing
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.factories import ADMIN, make_service
from tests.upgrade_v3_checks import V1, psql


def scalar(st, sql, **params):
    with st.engine.connect() as c:
        return c.execute(sa.text(sql), params).scalar()


@pytest.fixture(params=["sqlite", "postgresql"])
def v1_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "v1.db"
        with closing(sqlite3.connect(path)) as c:
            c.executescript((V1 / "society_v1.sqlite.sql").read_text())
        return f"sqlite:///{path}"
    pg_server = request.getfixturevalue("pg_server")
    url = pg_server.fresh_url(with_schema=False)
    psql(pg_server, url.rsplit("/", 1)[1], V1 / "society_v1.postgresql.sql")
    return url


def test_a_version_1_database_is_upgraded(v1_url):
    st = SqlStorage(v1_url)
    assert scalar(st, "SELECT value FROM schema_info WHERE key = 'version'") == str(SCHEMA_VERSION)
    if st.dialect == "sqlite":
        assert "'superseded'" in scalar(st, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bills'")
        assert scalar(st, "PRAGMA integrity_check") == "ok"
    else:
        assert "superseded" in scalar(st, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                          "WHERE conname = 'ck_bills_status_valid'")
    # Each reading a bill referenced is covered by the newest such bill, at that bill's units; a
    # meter's first reading (no consumption) by the bill after it, at 0.
    referenced = scalar(st, "SELECT count(DISTINCT last_reading_id) FROM bills")
    first_readings = scalar(st, "SELECT count(*) FROM readings WHERE status = 'approved' AND consumption IS NULL "
                                "AND meter_id IN (SELECT id FROM meters WHERE account_id IS NOT NULL)")
    assert scalar(st, "SELECT count(*) FROM bill_readings") == referenced + first_readings
    assert scalar(st, "SELECT count(*) FROM bill_readings x JOIN bills b ON b.id = x.bill_id "
                      "WHERE x.reading_id = b.last_reading_id AND x.units <> b.units") == 0
    ok, lines = verify_billing.verify(st)
    assert ok, lines
    # A legacy bill is re-issued like a new one: superseded, its reading covered by the replacement.
    db = make_service(st, dt.date(2026, 11, 22))
    legacy = next(b for b in db.list_bills(BillFilter(statuses=("pending", "paid", "overdue")), limit=200).items
                  if b.last_reading_id)
    again = db.bill_reading(legacy.last_reading_id, legacy.billing_period_start, legacy.billing_period_end,
                            legacy.due_date, actor=ADMIN)
    assert again.reissue_of == legacy.id and db.get_bill(legacy.id).status == "superseded"
    assert again.total_amount == legacy.total_amount and again.amount_paid == legacy.amount_paid
    assert scalar(st, "SELECT bill_id FROM bill_readings WHERE reading_id = :r AND superseded_by IS NULL",
                  r=legacy.last_reading_id) == again.id
    assert SqlStorage(v1_url).ensure_schema() is None  # applies again, changes nothing
    ok, lines = verify_billing.verify(st)
    assert ok, lines
    st.dispose()
