"""Rules the database holds against direct SQL (issue 11, item 4): a bill touching a locked month,
a changed or removed lock, a non-canonical date on SQLite, TRUNCATE on PostgreSQL; on a new
database and on one made by schema version 1."""
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from database.triggers import NO_TRUNCATE_TABLES, date_columns
from tests.factories import make_society

V1_SQLITE = Path(__file__).parent / "fixtures" / "schema_v1" / "society_v1.sqlite.sql"
BILL = ("INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, due_date, units, motor_units, "
        "total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount) "
        "VALUES (:flat, (SELECT area_id FROM accounts WHERE id = :flat), (SELECT min(id) FROM tariff_plan_versions), :start, :end, :due, 10, 0, 10, 12, 0, 0, 120)")


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request, tmp_path):
    from tests.backends import FACTORIES

    st = FACTORIES[request.param](request, tmp_path)
    make_society(st)
    yield st
    st.dispose()


@pytest.fixture
def v1_sqlite(tmp_path):
    """A SQLite database made by schema version 1 (its dump), opened by today's code."""
    from services.storage.sql_backend import SqlStorage

    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as c:
        c.executescript(V1_SQLITE.read_text())
    st = SqlStorage(f"sqlite:///{path}")
    yield st
    st.dispose()


def _flat(st):
    with st.engine.connect() as c:
        return c.execute(sa.text("SELECT id FROM accounts ORDER BY id LIMIT 1")).scalar()


def _run(st, sql, **params):
    with st.engine.begin() as c:
        c.execute(sa.text(sql), params)


@pytest.mark.parametrize("start,end", [("2025-11-01", "2025-12-01"), ("2025-11-20", "2025-12-19"),
                                       ("2025-10-01", "2026-01-31")])
def test_direct_insert_touching_a_locked_month_fails(sql_storage, start, end):
    with pytest.raises(sa.exc.DBAPIError) as e:
        _run(sql_storage, BILL, flat=_flat(sql_storage), start=start, end=end, due="2026-02-15")
    assert "PERIOD_LOCKED" in str(e.value)
    if sql_storage.dialect == "postgresql":
        assert "billing period 2025-11 is locked" in str(e.value)


@pytest.mark.parametrize("stmt", ["UPDATE period_locks SET month = '2025-10'", "UPDATE period_locks SET reason = 'x'",
                                  "DELETE FROM period_locks"])
def test_period_locks_cannot_be_changed_or_removed(sql_storage, stmt):
    with pytest.raises(sa.exc.DBAPIError) as e:
        _run(sql_storage, stmt)
    assert "APPEND_ONLY" in str(e.value)
    assert sql_storage.locked_months() == ["2025-11"]


def test_a_lock_month_must_be_a_month(sql_storage):
    for bad in ("2025-13", "25-11-1", "2025/11"):
        with pytest.raises(sa.exc.DBAPIError) as e:
            _run(sql_storage, "INSERT INTO period_locks (month, reason) VALUES (:m, 'x')", m=bad)
        assert "BAD_MONTH" in str(e.value) or "month_format" in str(e.value)


def test_postgresql_refuses_truncate_of_protected_tables(sql_storage):
    if sql_storage.dialect != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with sql_storage.engine.begin() as c:
        c.execute(sa.text("INSERT INTO audit_log (actor_name, action) VALUES ('x', 'test')"))
    # CASCADE, so a foreign key cannot be what refuses it; accounts: the cascade would reach bills and readings.
    for table in NO_TRUNCATE_TABLES + ("accounts",):
        with pytest.raises(sa.exc.DBAPIError) as e:
            _run(sql_storage, f"TRUNCATE {table} CASCADE")
        assert "APPEND_ONLY" in str(e.value) and "TRUNCATE" in str(e.value), table
    assert set(NO_TRUNCATE_TABLES) >= {"bills", "payments", "audit_log", "period_locks", "payment_events"}
    counts = sql_storage.table_counts(["audit_log", "period_locks", "accounts"])
    assert counts["audit_log"] >= 1 and counts["period_locks"] == 1 and counts["accounts"] == 4


BAD_DATES = ["02025-11-01", "2025-11-1", "2025-02-30", "0000-01-01", "2025-11-01 00:00:00", "2025/11/01", "", " 2025-12-01", 20251201]


def _insert_dated(st, table, column, value):
    """Insert one row into `table` with `value` in its date column `column` (the others valid)."""
    flat = _flat(st)
    with st.engine.begin() as c:
        meter = c.execute(sa.text("SELECT id FROM meters WHERE account_id = :f"), {"f": flat}).scalar()
        dates = {"billing_period_start": "2026-10-01", "billing_period_end": "2026-10-31", "due_date": "2026-11-15",
                 "reading_date": "2026-10-31", "paid_on": "2026-11-01"}
        dates[column] = value
        if table == "bills" and column in ("usage_from", "usage_to"):
            c.execute(sa.text(BILL.replace("total_amount)", "total_amount, usage_from, usage_to)").replace(
                "0, 120)", "0, 120, :d, :d)")), {"flat": flat, "start": "2026-09-01", "end": "2026-09-30",
                                                 "due": "2026-10-15", "d": value})
        elif table == "bills":
            c.execute(sa.text(BILL), {"flat": flat, "start": dates["billing_period_start"],
                                      "end": dates["billing_period_end"], "due": dates["due_date"]})
        elif table == "tariff_plan_versions":
            c.execute(sa.text("INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params) "
                              "SELECT plan_id, 99, :d, params FROM tariff_plan_versions LIMIT 1"), {"d": value})
        elif table == "service_connections":
            c.execute(sa.text("UPDATE service_connections SET started_on = :d WHERE account_id = :f"),
                      {"d": value, "f": flat})
        elif table == "daily_usage":
            c.execute(sa.text("INSERT INTO daily_usage (account_id, usage_date, quantity) VALUES (:f, :d, 1)"),
                      {"f": flat, "d": value})
        elif table == "bill_runs":
            c.execute(sa.text("INSERT INTO bill_runs (billing_period_start, billing_period_end, due_date) "
                              "VALUES (:billing_period_start, :billing_period_end, :due_date)"), dates)
        elif table == "readings":
            c.execute(sa.text("INSERT INTO readings (meter_id, reading_value, reading_date) VALUES (:m, 100, :d)"),
                      {"m": meter, "d": dates["reading_date"]})
        elif table == "payments":
            bill = c.execute(sa.text(BILL + " RETURNING id"), {"flat": flat, "start": "2026-09-01",
                                                               "end": "2026-09-30", "due": "2026-10-15"}).scalar()
            c.execute(sa.text("INSERT INTO payments (bill_id, amount, paid_on, method) VALUES (:b, 1, :d, 'cash')"),
                      {"b": bill, "d": dates["paid_on"]})
        elif table == "bank_payments":
            f = c.execute(sa.text("INSERT INTO bank_files (file_name, sha256, row_count, matched_count, duplicate_count, "
                                  "refused_count, matched_amount, duplicate_amount, refused_amount) VALUES "
                                  "('f.csv', :h, 1, 0, 0, 1, 0, 0, 1) RETURNING id"), {"h": str(value)[:64]}).scalar()
            c.execute(sa.text("INSERT INTO bank_payments (bank_file_id, row_no, transaction_id, amount, paid_on, "
                              "paid_time, outcome, dedupe_key) VALUES (:f, 2, 'T', 1, :d, '10:00:00', "
                              "'refused_unknown', 'k')"), {"f": f, "d": dates["paid_on"]})
        elif table == "meter_changes":
            first, second = (c.execute(sa.text(
                "INSERT INTO readings (meter_id, reading_value, reading_date) VALUES (:m, :v, '2026-10-01') RETURNING id"),
                {"m": meter, "v": v}).scalar() for v in (100, 200))
            c.execute(sa.text("INSERT INTO meter_changes (kind, old_meter_id, new_meter_id, change_date, "
                              "final_reading_id, start_reading_id, reason) "
                              "VALUES ('rollover', :m, :m, :d, :f, :s, 'test')"),
                      {"m": meter, "d": value, "f": first, "s": second})
        elif table == "photo_hashes":  # issue 20 (docs/trust.md)
            reading = c.execute(sa.text("INSERT INTO readings (meter_id, reading_value, reading_date) "
                                        "VALUES (:m, 100, '2026-10-01') RETURNING id"), {"m": meter}).scalar()
            c.execute(sa.text("INSERT INTO photo_hashes (reading_id, meter_id, reading_date, phash, band0, band1, band2, "
                              "band3) VALUES (:r, :m, :d, '0000000000000000', 0, 0, 0, 0)"),
                      {"r": reading, "m": meter, "d": value})
        elif table == "bill_run_manifests":
            c.execute(sa.text("INSERT INTO bill_run_manifests (dry_run, service, billing_period_start, billing_period_end, "
                              "manifest) VALUES (true, 'electricity', :billing_period_start, :billing_period_end, '{}')"),
                      dates)
        elif table == "field_visits":  # issue 15
            c.execute(sa.text("INSERT INTO field_visits (account_id, area_id, agent_name, visited_at, visit_date, outcome) "
                              "SELECT id, area_id, 'agent', '2026-10-31 10:00:00', :d, 'paid' FROM accounts WHERE id = :f"),
                      {"f": flat, "d": value})
        elif table == "usage_day_index":
            c.execute(sa.text("INSERT INTO usage_day_index (account_type, usage_date, accounts, mean) "
                              "VALUES ('', :d, 1, 1)"), {"d": value})
        elif table == "usage_baselines":
            c.execute(sa.text("INSERT INTO usage_baselines (account_id, as_of, window_days, days, mean, sd, median, mad) "
                              "VALUES (:f, :d, 365, 30, 1, 0, 1, 0)"), {"f": flat, "d": value})
        elif table == "usage_anomalies":
            days = {"period_start": "2026-10-31", "period_end": "2026-10-31", "usage_date": "2026-10-31", column: value}
            c.execute(sa.text("INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, "
                              "usage_date, usage, score) SELECT id, area_id, 'zscore', :period_start, :period_end, "
                              ":usage_date, 1, 3 FROM accounts WHERE id = :f"), {**days, "f": flat})
        elif table == "consumer_pattern_totals":  # consumer analytics' snapshot (issue 14)
            c.execute(sa.text("INSERT INTO consumer_pattern_totals (as_of, months, area_id, billed, on_time, late, "
                              "partial, never_paid, computed_at) VALUES (:d, 12, (SELECT area_id FROM accounts "
                              "WHERE id = :f), 0, 0, 0, 0, 0, '2026-10-31 10:00:00')"), {"f": flat, "d": value})
        elif table == "bill_month_totals":  # the summary rows (database/bill_totals.py): triggers write them
            c.execute(sa.text("INSERT INTO bill_month_totals (bill_month, area_id, due_date, status, paid_any, arrears, "
                              "bills, units, billed, due, paid) VALUES ('2026-10', (SELECT area_id FROM accounts "
                              "WHERE id = :f), :d, 'pending', 0, 0, 0, 0, 0, 0, 0)"), {"f": flat, "d": value})
        elif table in ("archived_bills", "archived_payments"):  # the bill archive (issue 14): copies of live rows
            live = table.removeprefix("archived_")
            bill = c.execute(sa.text(BILL + " RETURNING id"), {"flat": flat, "start": "2026-08-01",
                                                               "end": "2026-08-31", "due": "2026-09-15"}).scalar()
            if live == "payments":
                c.execute(sa.text("INSERT INTO payments (bill_id, amount, paid_on, method) VALUES (:b, 1, '2026-09-01', "
                                  "'cash')"), {"b": bill})
            key = "id" if live == "bills" else "bill_id"
            cols = [x["name"] for x in sa.inspect(c).get_columns(live)]
            picked = ", ".join(":d" if x == column else x for x in cols)
            c.execute(sa.text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {picked} FROM {live} WHERE {key} = :b"),
                      {"b": bill, "d": value})
        else:
            raise AssertionError(f"no insert written for {table}: add one when a table gets a date column")


CASES = [(t, c) for t, cols in date_columns() for c in cols]


@pytest.mark.parametrize("table,column", CASES)
def test_sqlite_refuses_a_date_that_is_not_yyyy_mm_dd(tmp_path, request, table, column):
    from tests.backends import FACTORIES

    st = FACTORIES["sqlite"](request, tmp_path)
    make_society(st)
    for bad in BAD_DATES:
        with pytest.raises(sa.exc.DBAPIError) as e:
            _insert_dated(st, table, column, bad)
        assert "BAD_DATE" in str(e.value), (table, column, bad)
    _insert_dated(st, table, column, "2026-10-31" if column != "paid_on" else "2026-11-02")  # a real date passes
    st.dispose()


def test_every_date_column_is_covered():
    assert {t for t, _ in CASES} >= {"bills", "readings", "payments", "bill_runs"}


def test_sqlite_database_of_schema_v1_gets_the_new_rules(v1_sqlite):
    """An existing database (made by schema version 1) is brought up to date on open: the
    non-canonical date, the bill touching the lock and a removed lock are all refused."""
    st = v1_sqlite
    with st.engine.connect() as c:
        triggers = {n for (n,) in c.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    assert "trg_bills_period_lock" not in triggers and "trg_bills_period_lock_any_day" in triggers
    before = st.table_counts(["bills"])["bills"]
    for start, end in (("02025-11-01", "2025-11-30"), ("2025-11-01", "2025-12-01")):
        with pytest.raises(sa.exc.DBAPIError) as e:
            _run(st, BILL, flat=_flat(st), start=start, end=end, due="2025-12-15")
        assert "BAD_DATE" in str(e.value) or "PERIOD_LOCKED" in str(e.value)
    with pytest.raises(sa.exc.DBAPIError):
        _run(st, "DELETE FROM period_locks")
    assert st.table_counts(["bills"])["bills"] == before and st.locked_months() == ["2025-11"]
    bills = st.list_bills(__import__("services.models", fromlist=["BillFilter"]).BillFilter(), 0, 5)
    assert bills.total == before  # the flat's bills still read back


def test_supabase_schema_refuses_truncate_and_lock_changes(pg_server):
    """database/supabase_schema.sql carries the same triggers (generated from database/triggers.py)."""
    import psycopg

    from tests.supabase.pgutil import dsn, fresh_supabase_db

    with psycopg.connect(dsn(pg_server, fresh_supabase_db(pg_server)), autocommit=True) as c:
        for stmt in [f"TRUNCATE {t} CASCADE" for t in NO_TRUNCATE_TABLES] + [
                "DELETE FROM period_locks", "UPDATE period_locks SET month = '2025-10'"]:
            with pytest.raises(psycopg.Error) as e:
                c.execute(stmt)
            assert "APPEND_ONLY" in str(e.value), stmt
        c.execute("INSERT INTO areas (level, code, name, path) VALUES (1, 'B', 'Block B', 'B')")
        c.execute("INSERT INTO accounts (code, area_id) SELECT 'B17-FF', id FROM areas")
        c.execute("INSERT INTO tariff_plans (code, name, kind, service, currency) VALUES "
                  "('p', 'P', 'flat_rate', 'electricity', 'INR')")
        c.execute("INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params) "
                  "SELECT id, 1, '2020-01-01', '{}' FROM tariff_plans")
        with pytest.raises(psycopg.Error) as e:
            c.execute("INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, "
                      "billing_period_end, due_date, units, total_units, rate_per_unit, total_amount) "
                      "SELECT a.id, a.area_id, v.id, '2025-11-20', '2025-12-19', '2026-01-05', 1, 1, 12, 12 "
                      "FROM accounts a, tariff_plan_versions v")
        assert "billing period 2025-11 is locked" in str(e.value)
