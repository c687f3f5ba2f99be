"""The indexes added for the admin lists at 300,000 accounts reach databases created before them."""
import pytest
import sqlalchemy as sa

from database.migrations import index_names
from scripts import bench_data
from services.database_service import DatabaseService
from services.models import ReadingFilter
from services.storage.sql_backend import SqlStorage
from tests.backends import FACTORIES

ADDED = {"readings": {"ix_readings_status_reading_date_id", "ix_readings_flagged_queue"},
         "bills": {"ix_bills_status_billing_period_start_id", "ix_bills_period_status_amounts",
                   "ix_bills_status_balances"},
         "payments": {"ix_payments_paid_on_amount"},
         "users": {"uq_users_username_lower"}}  # issue 18: usernames are case-insensitive


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_opening_an_older_database_creates_the_missing_indexes(backend, request, tmp_path):
    st = FACTORIES[backend](request, tmp_path)
    url = st.engine.url.render_as_string(hide_password=False)
    with st.engine.begin() as conn:
        for names in ADDED.values():
            for name in names:
                conn.execute(sa.text(f"DROP INDEX {name}"))
    st.dispose()
    again = SqlStorage(url)
    for table, names in ADDED.items():
        with again.engine.connect() as conn:
            assert names <= index_names(conn, table), table
    again.dispose()


def _plans(storage, call) -> list[str]:
    """The plan of every statement `call` sends (EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite)."""
    sent = []

    def record(conn, cursor, statement, params, context, executemany):
        sent.append((statement, params))

    sa.event.listen(storage.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(storage.engine, "before_cursor_execute", record)
    prefix = "EXPLAIN QUERY PLAN " if storage.dialect == "sqlite" else "EXPLAIN "
    raw = storage.engine.raw_connection()
    try:
        cur = raw.cursor()
        plans = []
        for statement, params in sent:
            if "FROM readings" in statement:
                cur.execute(prefix + statement, params)
                plans.append("\n".join(str(row) for row in cur.fetchall()))
        return plans
    finally:
        raw.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_blocks_flagged_review_queue_walks_the_flagged_index(backend, request, tmp_path):
    """The reviewer's "flagged only" queue of one block reads the few flagged pending readings (a
    partial index) and finds the block's meters by the ids of its areas: 818 ms on PostgreSQL at
    300,000 flats before, when it sorted every flagged reading after guessing the block's size."""
    st = FACTORIES[backend](request, tmp_path)
    bench_data.build(st, 3000, "society", say=lambda *_: None)  # 2% of the pending readings are flagged
    db = DatabaseService(st)
    block = db.list_areas(level=1)[2]
    flt = ReadingFilter(area_id=block.id, flagged_only=True)
    page = db.list_pending_readings(flt, 0, 50)
    assert page.total == len(page.items) > 0 and all(x.flags for x in page.items)
    assert all(x.area_path.startswith(block.path) for x in page.items)
    plans = _plans(st, lambda: db.list_pending_readings(flt, 0, 50))
    assert plans and "ix_readings_flagged_queue" in plans[0], plans[0]
    st.dispose()
