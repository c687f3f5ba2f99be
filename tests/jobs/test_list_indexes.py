"""The indexes added for the admin lists at 300,000 accounts reach databases created before them."""
import pytest
import sqlalchemy as sa

from database.migrations import index_names
from services.storage.sql_backend import SqlStorage
from tests.backends import FACTORIES

ADDED = {"readings": {"ix_readings_status_reading_date_id"},
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
