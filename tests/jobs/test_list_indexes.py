"""The indexes added for the admin lists at 300,000 accounts reach databases created before them."""
import pytest
import sqlalchemy as sa

from database.migrations import index_names
from scripts import bench_data
from scripts.benchmark_reports import query_plans
from services.database_service import DatabaseService
from services.models import AccountFilter, BillFilter, ReadingFilter
from services.storage import sql_bill_counts, sql_bills
from services.storage.sql_backend import SqlStorage
from tests.backends import FACTORIES

ADDED = {"readings": {"ix_readings_status_reading_date_id", "ix_readings_flagged_queue"},
         "bills": {"ix_bills_status_billing_period_start_id", "ix_bills_period_status_amounts",
                   "ix_bills_status_balances", "ix_bills_billing_period_start_id"},
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


def _plans(storage, call, table: str = "readings") -> list[str]:
    """The plans of the statements `call` sends that read `table`, one text each. On PostgreSQL with
    sequential scans off: a test's few thousand rows make a scan as cheap as any index, so this asks
    whether the index can serve."""
    setup = ("SET enable_seqscan = off",) if storage.dialect == "postgresql" else ()
    return ["\n".join(str(row) for row in plan)
            for statement, plan in query_plans(storage, call, setup) if f"FROM {table}" in statement]


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


def test_postgresql_searches_by_code_prefix_and_name_part_through_indexes(request, tmp_path):
    """The bills list's search: accounts whose code starts with the term (a pattern-opclass index: the
    throwaway server's C.UTF-8 collation, like en_US.UTF-8, gives LIKE no range of the plain index)
    or whose contact's name contains it (pg_trgm's trigram index): 373 ms to 50 ms at 300,000 flats."""
    st = FACTORIES["postgresql"](request, tmp_path)
    bench_data.build(st, 3000, "society", say=lambda *_: None)
    db = DatabaseService(st)
    flt = BillFilter(period_month="2026-09", search="B17")
    page = db.list_bills(flt, 0, 50)
    assert page.items and all(x.account_code.startswith("B17") for x in page.items)
    plans = "\n".join(_plans(st, lambda: db.list_bills(flt, 0, 50), table="bills"))
    assert "ix_accounts_code_pattern" in plans and "ILIKE '%B17%'" in plans.replace("~~*", "ILIKE"), plans
    # At 3,000 names a GIN index costs more than reading them; that it serves the search's test:
    with st.engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))
        for table in ("contacts", "accounts"):
            plan = "\n".join(conn.execute(sa.text(f"EXPLAIN SELECT id FROM {table} WHERE name ILIKE '%B17%'")).scalars())
            assert f"ix_{table}_name_trgm" in plan, plan
    st.dispose()


def test_without_pg_trgm_the_schema_applies_and_names_are_still_searched(request, tmp_path, monkeypatch, caplog):
    """The trigram index is optional: where the extension cannot be created (here: a statement that
    fails as a missing extension would), the schema is applied, a warning says so, and a search by
    a part of a name finds the account by a scan."""
    from database import migrations

    url = request.getfixturevalue("pg_server").fresh_url()
    first = SqlStorage(url)
    with first.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_contacts_name_trgm"))
        conn.execute(sa.text("DROP INDEX ix_accounts_name_trgm"))
    first.dispose()
    monkeypatch.setattr(migrations, "NAME_SEARCH_INDEXES",
                        ("CREATE INDEX ix_contacts_name_trgm ON contacts USING gin (name no_such_trgm_ops)",))
    st = SqlStorage(url)  # applies the schema again, as every start does
    with st.engine.connect() as conn:
        assert "ix_contacts_name_trgm" not in index_names(conn, "contacts")
    assert "searched without an index" in caplog.text
    bench_data.build(st, 200, "society", say=lambda *_: None)
    db = DatabaseService(st)
    some = db.list_bills(BillFilter(period_month="2026-09"), 0, 1).items[0]
    part = some.contact_name.split()[-1][1:5]  # a part from inside the surname
    found = db.list_bills(BillFilter(period_month="2026-09", search=part), 0, 500).items
    assert some.id in [b.id for b in found]
    st.dispose()


def test_supabase_creates_the_same_name_search_index():
    from database import migrations

    sql = open("database/supabase_schema.sql", encoding="utf-8").read()
    assert all(stmt + ";" in sql for stmt in migrations.NAME_SEARCH_INDEXES)
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in sql


def test_sqlite_counts_a_months_bills_by_status_and_area_from_the_months_covering_index(tmp_path, request,
                                                                                      monkeypatch):
    """A month's bills by status and area are counted from the summary rows (sql_bill_counts); when the
    rows cannot say (an archived month under a filter) the count reads the month's covering index: without
    statistics SQLite counted a block's pending bills through the status index, a row lookup each (100 ms
    for 75,000 at 300,000 flats); the covering index: 33 ms."""
    st = FACTORIES["sqlite"](request, tmp_path)
    bench_data.build(st, 3000, "society", say=lambda *_: None)
    db = DatabaseService(st)
    block = db.list_areas(level=1)[1]
    flt = BillFilter(period_month="2026-09", statuses=("pending",), area_id=block.id)
    every = list(db.iter_bills(BillFilter(period_month="2026-09")))
    want = [x for x in every if x.status == "pending" and x.area_path.startswith(block.path)]
    assert db.list_bills(flt, 0, 20).total == len(want) > 0
    sent = [statement for statement, _ in query_plans(st, lambda: db.list_bills(flt, 0, 20))]
    assert any("FROM bill_month_totals" in x for x in sent)
    assert not [x for x in sent if "count(" in x.lower() and "FROM bills" in x], sent
    monkeypatch.setattr(sql_bill_counts, "count_bills", lambda *a: None)
    assert db.list_bills(flt, 0, 20).total == len(want)
    counts = [p for p in _plans(st, lambda: db.list_bills(flt, 0, 20), table="bills") if "SCAN" in p or "SEARCH" in p]
    assert any("COVERING INDEX ix_bills_month_area_amounts" in p for p in counts), counts
    # A filter the index does not hold (a search) is counted as before, and right.
    searched = BillFilter(period_month="2026-09", statuses=("pending",), area_id=block.id, search=want[0].account_code)
    assert db.list_bills(searched, 0, 20).total == sum(x.account_code == want[0].account_code for x in want)
    st.dispose()


def test_sqlite_meter_search_starts_from_the_matching_meters(tmp_path, request):
    """The engineer's meter search: SQLite used to start from every active account and probe each
    for every match (300,000 accounts x 4,444 matches for "B17": minutes); the matches lead now."""
    st = FACTORIES["sqlite"](request, tmp_path)
    bench_data.build(st, 3000, "society", say=lambda *_: None)
    found = st.list_meter_choices("B17", 0, 50).items
    assert found and all(x.account_code.startswith("B17") for x in found)
    plan = _plans(st, lambda: st.list_meter_choices("B17", 0, 50), table="accounts JOIN meters")[0]
    first = next(line for line in plan.splitlines() if "SEARCH" in line or "SCAN" in line)
    assert "SEARCH meters USING INTEGER PRIMARY KEY" in first, plan
    st.dispose()


def test_sqlite_finds_names_by_part_through_the_trigram_tables_and_an_upgraded_database_gets_them(tmp_path, request):
    """Names by any part on SQLite: the FTS5 trigram tables (database/name_search.py), not a scan of
    every name; a database made before them has its names indexed on its next start."""
    st = FACTORIES["sqlite"](request, tmp_path)
    bench_data.build(st, 3000, "society", say=lambda *_: None)
    db = DatabaseService(st)
    name = st.list_accounts(AccountFilter(search="B17"), 0, 1).items[0].contact_name
    part = name[2:8]
    found = db.list_bills(BillFilter(search=part.upper())).items
    assert found and all(part.lower() in (b.contact_name or "").lower() for b in found)
    plans = [p for _, p in query_plans(st, lambda: db.list_bills(BillFilter(search=part)))]
    assert any("VIRTUAL TABLE INDEX" in str(row) for plan in plans for row in plan), plans
    # an older database: no name indexes, nothing recorded; the next start indexes the names
    with st.engine.begin() as conn:
        for fts in ("contacts_name_fts", "accounts_name_fts"):
            conn.execute(sa.text(f"DROP TABLE {fts}"))
        conn.execute(sa.text("DELETE FROM schema_info WHERE key = 'name_search'"))
    url = st.engine.url.render_as_string(hide_password=False)
    st.dispose()
    again = SqlStorage(url)
    assert [b.id for b in DatabaseService(again).list_bills(BillFilter(search=part.upper())).items] == [b.id for b in found]
    again.dispose()


def test_a_bills_search_on_postgresql_matches_first_then_orders(tmp_path, request, monkeypatch):
    """The bills list's default order is an index (billing_period_start, id); walking it for a search
    checked each bill against every matching account (1.1 s for "B17" over 3.6 million bills). A search
    orders its matches instead: the same page, and no walk of that index."""
    st = FACTORIES["postgresql"](request, tmp_path)
    bench_data.build(st, 3000, "society", say=lambda *_: None)
    db = DatabaseService(st)
    with st.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    first_page = [x.id for x in db.list_bills(BillFilter(search="B17"), 0, 20).items]
    for sort, descending in (("period", True), ("total", False), ("account", False)):
        flt = BillFilter(search="B17", sort=sort, descending=descending)
        page = db.list_bills(flt, 0, 20)
        every = sorted(db.iter_bills(BillFilter(search="B17")), key=lambda x: x.id, reverse=descending)
        key = {"period": lambda x: x.billing_period_start, "total": lambda x: x.total_amount,
               "account": lambda x: x.account_code}[sort]
        every.sort(key=key, reverse=descending)
        assert [x.id for x in page.items] == [x.id for x in every[:20]] and page.total == len(every) > 20
    # A few thousand bills do not make PostgreSQL walk the index (3.6 million did): the page's statement
    # is checked instead: ordered by an expression of the key, which no index holds.
    sent = [s for s, _ in query_plans(st, lambda: db.list_bills(BillFilter(search="B17"), 0, 20))
            if s.lstrip().startswith("SELECT bills.id") and "ORDER BY" in s]
    assert sent and all("ORDER BY coalesce(bills.billing_period_start" in s for s in sent), sent
    # Many matches (a common surname): the index walk finds a page soonest, and the page is the same.
    monkeypatch.setattr(sql_bills, "MATCHES_FIRST_UP_TO", 10)
    walked = [s for s, _ in query_plans(st, lambda: db.list_bills(BillFilter(search="B17"), 0, 20))
              if s.lstrip().startswith("SELECT bills.id") and "ORDER BY" in s]
    assert walked and not any("coalesce" in s for s in walked), walked
    assert [x.id for x in db.list_bills(BillFilter(search="B17"), 0, 20).items] == first_page
    st.dispose()
