"""A database made before visits and ticket attachments kept their photo's remote URL (issue 15) gets
the photo_url columns on the next start, and the database holds a visit's photo_url fixed once logged
(the SQLite trigger is rebuilt with the new column, not kept as it was)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from database.migrations import apply_schema
from database.schema_field import VISIT_FIXED_COLUMNS
from services.field.models import NewTicket, NewVisit
from tests.factories import ADMIN, make_municipal

URL = "https://res.cloudinary.com/demo/image/upload/v1/meterline/meter_photos/2026-11/v.jpg"


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request, tmp_path):
    from tests.backends import FACTORIES

    st = FACTORIES[request.param](request, tmp_path)
    made = make_municipal(st)
    yield st, made
    st.dispose()


def _as_before(conn) -> None:
    """The two tables as issue 15 first made them: no photo_url, and SQLite's fixed-columns trigger
    listing the columns of then."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER trg_field_visits_fixed")
        conn.exec_driver_sql("ALTER TABLE field_visits DROP COLUMN photo_url")
        conn.exec_driver_sql("ALTER TABLE ticket_attachments DROP COLUMN photo_url")
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in VISIT_FIXED_COLUMNS if c != "photo_url")
        conn.exec_driver_sql(f"CREATE TRIGGER trg_field_visits_fixed BEFORE UPDATE ON field_visits WHEN {changed} "
                             "BEGIN SELECT RAISE(ABORT, 'FIELD_FIXED: old'); END")
    else:
        conn.exec_driver_sql("ALTER TABLE field_visits DROP COLUMN photo_url")
        conn.exec_driver_sql("ALTER TABLE ticket_attachments DROP COLUMN photo_url")


def test_an_older_database_gets_the_photo_url_columns_and_the_rule(sql_storage):
    st, made = sql_storage
    with st.engine.begin() as conn:
        _as_before(conn)
    assert "photo_url" not in {c["name"] for c in sa.inspect(st.engine).get_columns("field_visits")}
    apply_schema(st.engine)
    for table in ("field_visits", "ticket_attachments"):
        assert "photo_url" in {c["name"] for c in sa.inspect(st.engine).get_columns(table)}
    account_id = next(iter(made["accounts"].values()))
    now = dt.datetime(2026, 11, 22, 9, tzinfo=dt.timezone.utc)
    visit = st.create_visit(NewVisit(account_id=account_id, outcome="paid", visited_at=now, visit_date=now.date(),
                                     photo_ref="2026-11/v.jpg", photo_url=URL), ADMIN)
    ticket = st.create_ticket(NewTicket(account_id=account_id, kind="other", description="Seen on the visit",
                                        raised_at=now, photo_refs=("2026-11/v.jpg",), photo_urls=(URL,)), ADMIN)
    assert st.get_visit(visit.id).photo_url == URL
    assert [n.photo_url for n in st.list_ticket_notes(ticket.id)] == [URL]
    with pytest.raises(sa.exc.DBAPIError, match="FIELD_FIXED"):
        with st.engine.begin() as conn:
            conn.execute(sa.text("UPDATE field_visits SET photo_url = 'https://elsewhere' WHERE id = :i"),
                         {"i": visit.id})
    assert st.get_visit(visit.id).photo_url == URL
