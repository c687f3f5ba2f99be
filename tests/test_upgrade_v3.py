"""Schema step 3 (database/upgrade_v3.py) on SQLite and PostgreSQL: a database made by the old code
(tests/fixtures/schema_v1: version 1, before bill coverage; tests/fixtures/schema_v2: version 2, as
main holds it) opens at version 3 with every row there under its id, every flat an account in its
block and floor, every bill with lines that add up to its total and recompute, what each flat owes
unchanged; then it takes a new bill and a month run; opening it again changes nothing, and its
schema is exactly a new database's. A failing check of the upgrade rolls all of it back."""
import sqlite3
from contextlib import closing
from decimal import Decimal as D

import psycopg
import pytest

from database import schema as s
from services.storage.sql_backend import SqlStorage
from tests.supabase.test_schema_sql import catalog
from tests.upgrade_v3_checks import V1, V2, bill_and_run_a_month, check_upgraded, legacy_snapshot, psql

FIXTURES = {"v1": V1 / "society_v1", "v2": V2 / "society_v2"}


# ---- SQLite ----------------------------------------------------------------------------------------
def sqlite_legacy(tmp_path, which: str, name: str = "legacy.db"):
    path = tmp_path / name
    with closing(sqlite3.connect(path)) as c:
        c.executescript(FIXTURES[which].with_suffix(".sqlite.sql").read_text())
    return path


def sqlite_schema(path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as c:
        return sorted(c.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))


@pytest.mark.parametrize("which", ["v1", "v2"])
def test_a_sqlite_database_is_upgraded_with_nothing_lost(tmp_path, which):
    path = sqlite_legacy(tmp_path, which)
    with closing(sqlite3.connect(path)) as c:
        before = legacy_snapshot(c)
    url = f"sqlite:///{path}"
    st = SqlStorage(url)
    with closing(sqlite3.connect(path)) as c:
        check_upgraded(st, c, before)
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        dump = sorted(c.iterdump())
    fresh = tmp_path / "fresh.db"
    SqlStorage(f"sqlite:///{fresh}").dispose()
    assert sqlite_schema(path) == sqlite_schema(fresh)  # no v2_ table, index or trigger left; nothing missing
    SqlStorage(url).dispose()  # opened again: nothing changes
    with closing(sqlite3.connect(path)) as c:
        assert sorted(c.iterdump()) == dump
    bill_and_run_a_month(st)
    st.dispose()


def test_the_old_style_reissue_keeps_what_version_1_charged(tmp_path):
    """The v1 fixture's #121 re-issued #120 the old way (create_bill colliding on the period start):
    #120 was carried forward into #121, which charges October's units again on top of #120's unpaid
    part. The upgrade keeps it as it was (an issued bill never changes): its lines show the double
    charge plainly, B2-TF owes what version 1 said, and verify_billing reports nothing (#121 was made
    without a reading, so it covers none, and its arrears are #120's exact balance)."""
    path = sqlite_legacy(tmp_path, "v1")
    st = SqlStorage(f"sqlite:///{path}")
    assert [(x.code, x.amount) for x in st.list_bill_lines(120)] == [("energy", D("3996.96")), ("fixed", D("1680.00"))]
    assert [(x.code, x.amount) for x in st.list_bill_lines(121)] == [
        ("energy", D("3996.96")), ("fixed", D("1680.00")), ("arrears", D("2838.48"))]
    bill = st.get_bill(121)
    assert (bill.reissue_of, bill.status, bill.last_reading_id, st.get_bill(120).status) == (
        120, "partially_paid", None, "carried_forward")
    from scripts import verify_billing
    from tests.upgrade_v3_checks import TODAY, make_service

    assert make_service(st, TODAY).flat_outstanding("B2-TF") == D("8414.94")
    assert verify_billing.verify(st)[0]
    st.dispose()


def test_flats_without_block_floor_type_or_owner_get_an_area(tmp_path):
    path = sqlite_legacy(tmp_path, "v1")
    with closing(sqlite3.connect(path)) as c, c:
        c.execute("INSERT INTO flats (id, code, block, floor_id, type_id) VALUES (901, 'X1', '', NULL, NULL)")
        c.execute("INSERT INTO flats (id, code, block, floor_id, type_id) VALUES (902, 'A9', 'A', NULL, 1)")
        c.execute("INSERT INTO flats (id, code, block, floor_id, type_id) VALUES (903, 'Q1-GF', ' ', 1, NULL)")
        # Bills the fixture has none of: the special rate's (no fixed charge), an energy charge on a half paisa.
        c.execute("INSERT INTO bills (id, flat_id, billing_period_start, billing_period_end, due_date, pricing_rule, "
                  "flat_units, motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, "
                  "total_amount) VALUES (901, 901, '2026-09-01', '2026-09-30', '2026-10-15', 'special_9', "
                  "100, 0, 100, 9, 0, 0, 900), (902, 902, '2026-10-01', '2026-10-31', '2026-11-15', 'master_data', "
                  "10.05, 0, 10.05, 11.5, 1680, 0, 1795.58)")
    st = SqlStorage(f"sqlite:///{path}")
    assert [(x.code, x.label, x.amount) for x in st.list_bill_lines(901)] == [
        ("energy", "Energy: 100.00 kWh", D("900.00")), ("fixed", "Fixed charge (none at the special rate)", D("0.00"))]
    assert [(x.code, x.amount) for x in st.list_bill_lines(902)] == [("energy", D("115.58")), ("fixed", D("1680.00"))]
    got = {a: st.get_account(code=a) for a in ("X1", "A9", "Q1-GF", "A1-GF")}
    assert {c: (a.area_path, a.category, a.name) for c, a in got.items()} == {
        "X1": ("UNASSIGNED/UNASSIGNED", None, ""), "A9": ("A/UNASSIGNED", "2BHK", ""),
        "Q1-GF": ("UNASSIGNED/GF", None, ""), "A1-GF": ("A/GF", "3BHK", "Karan Menon")}
    names = {x.path: (x.name, x.level) for x in st.list_areas()}
    assert names["UNASSIGNED"] == ("Block not recorded", 1) and names["A/UNASSIGNED"] == ("Floor not recorded", 2)
    assert names["A"] == ("Block A", 1) and names["UNASSIGNED/GF"] == ("Ground Floor", 2)
    assert [x.path for x in st.list_areas(level=1)] == ["A", "B", "C", "D", "UNASSIGNED"]
    st.dispose()


def test_a_failing_check_rolls_the_whole_upgrade_back_sqlite(tmp_path):
    path = sqlite_legacy(tmp_path, "v1")
    with closing(sqlite3.connect(path)) as c, c:  # a bill whose total is not its inputs' (made by hand)
        c.execute("DROP TRIGGER trg_bills_immutable")
        c.execute("UPDATE bills SET total_amount = total_amount + 0.01 WHERE id = 5")
    schema = sqlite_schema(path)
    with pytest.raises(RuntimeError, match=r"UPGRADE_V3: the lines of 1 bills \(the first: #5\)"):
        SqlStorage(f"sqlite:///{path}")
    assert sqlite_schema(path) == schema
    with closing(sqlite3.connect(path)) as c:
        assert c.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone() == ("1",)
        assert c.execute("SELECT count(*) FROM bills").fetchone() == (121,)


# ---- PostgreSQL --------------------------------------------------------------------------------------
def pg_legacy(pg_server, which: str) -> tuple[str, str]:
    url = pg_server.fresh_url(with_schema=False)
    name = url.rsplit("/", 1)[1]
    psql(pg_server, name, FIXTURES[which].with_suffix(".postgresql.sql"))
    return url, f"host=127.0.0.1 port={pg_server.pg.port} user=postgres dbname={name}"


def pg_data(dsn: str) -> dict:
    with psycopg.connect(dsn) as c:
        return {t.name: c.execute(f"SELECT count(*), md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) "
                                  f"FROM {t.name} x").fetchone() for t in s.metadata.sorted_tables}


@pytest.mark.parametrize("which", ["v1", "v2"])
def test_a_postgresql_database_is_upgraded_with_nothing_lost(pg_server, which):
    url, dsn = pg_legacy(pg_server, which)
    with psycopg.connect(dsn) as c:
        before = legacy_snapshot(c)
    st = SqlStorage(url)
    with psycopg.connect(dsn) as c:
        check_upgraded(st, c, before)
        # Sequences continue after the highest id kept.
        assert c.execute("SELECT nextval('bills_id_seq') > max(id) FROM bills").fetchone()[0]
        c.rollback()
    fresh = pg_server.fresh_url()
    assert catalog(dsn) == catalog(f"host=127.0.0.1 port={pg_server.pg.port} user=postgres "
                                   f"dbname={fresh.rsplit('/', 1)[1]}")  # tables, columns, indexes, triggers, sequences
    schema, data = catalog(dsn), pg_data(dsn)
    SqlStorage(url).dispose()  # opened again: nothing changes
    assert (catalog(dsn), pg_data(dsn)) == (schema, data)
    bill_and_run_a_month(st)
    st.dispose()


def test_a_failing_check_rolls_the_whole_upgrade_back_postgresql(pg_server):
    url, dsn = pg_legacy(pg_server, "v1")
    with psycopg.connect(dsn) as c:
        c.execute("ALTER TABLE bills DISABLE TRIGGER trg_bills_immutable")
        c.execute("UPDATE bills SET total_amount = total_amount + 0.01 WHERE id = 5")
        c.execute("ALTER TABLE bills ENABLE TRIGGER trg_bills_immutable")
    schema = catalog(dsn)
    with pytest.raises(Exception, match=r"UPGRADE_V3: the lines of 1 bills \(the first: #5\)"):
        SqlStorage(url)
    assert catalog(dsn) == schema
    with psycopg.connect(dsn) as c:
        assert c.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone() == ("1",)
        assert c.execute("SELECT count(*) FROM bills").fetchone() == (121,)
