"""The app as a PostgreSQL role that does not own the tables (scripts/grant_app_role.py): the
normal operations work, and the role can neither remove protected rows nor switch off the rules."""
import datetime as dt
import itertools
import os
from decimal import Decimal as D

import psycopg
import pytest
import sqlalchemy as sa

from scripts import grant_app_role
from services.errors import ConfigurationError
from services.accounts.roles import Actor
from services.storage.sql_backend import SqlStorage
from tests.factories import make_service, make_society

_n = itertools.count(1)


@pytest.fixture
def app_role(pg_server):
    """(owner URL, app URL, role name) on a fresh database; the role is dropped afterwards."""
    owner_url = pg_server.fresh_url()
    role = f"meterline_app_{os.getpid()}_{next(_n)}"
    admin = f"host=127.0.0.1 port={pg_server.pg.port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE ROLE "{role}" LOGIN')
    app_url = owner_url.replace("postgres@", f"{role}@", 1)
    yield owner_url, app_url, role
    dbname = sa.engine.make_url(owner_url).database
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        c.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        grant_app_role.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--database-url" in out and "--print" in out and "does not own the tables" in out


def test_privileges_policy_covers_every_table():
    from database import schema as s

    for t in s.metadata.sorted_tables:
        privs = grant_app_role.table_privileges(t.name)
        assert "TRUNCATE" not in privs and "SELECT" in privs
        if t.name in ("bills", "payments", "audit_log", "period_locks", "payment_events", "readings"):
            assert "DELETE" not in privs, t.name
    assert "UPDATE" not in grant_app_role.table_privileges("payments")


def test_app_runs_as_a_role_that_does_not_own_the_tables(app_role, today, tmp_path, capsys):
    owner_url, app_url, role = app_role
    assert grant_app_role.main([role, "--database-url", owner_url]) == 0
    assert f"GRANT SELECT, INSERT, UPDATE ON bills TO {role}" in capsys.readouterr().out

    storage = SqlStorage(app_url)  # checks the schema is current; runs no DDL
    try:
        society = make_society(storage)
        db = make_service(storage, today)
        admin_row = storage.create_user(username="admin1", role="admin", password_hash=None,
                                        actor=Actor(None, "test", "system"))
        admin = Actor(admin_row.id, admin_row.username, admin_row.role, "pytest")
        first = db.insert_meter_reading(meter_id=society["meters"]["19152159"], reading_value="1000",
                                        reading_date=dt.date(2026, 9, 30), actor=admin)
        second = db.insert_meter_reading(meter_id=society["meters"]["19152159"], reading_value="1150",
                                         reading_date=dt.date(2026, 10, 31), actor=admin)
        for r in (first, second):
            db.approve_reading(r.reading.id, actor=admin)
        bill = db.create_bill("B17-FF", dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 15),
                              flat_units=150, last_reading_id=second.reading.id, actor=admin)
        db.record_payment(bill.id, "100.00", paid_on=dt.date(2026, 11, 2), method="cash", actor=admin)
        again = db.create_bill("B17-FF", dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 15),
                               flat_units=140, last_reading_id=second.reading.id, actor=admin)  # a re-issue
        assert again.reissue_of == bill.id and db.get_bill(bill.id).status == "superseded"
        assert again.amount_paid == D("100.00")  # the credit of what was paid on the bill it replaces
        for day, value in ((dt.date(2026, 8, 31), "500"), (dt.date(2026, 9, 29), "600")):
            out = db.insert_meter_reading(meter_id=society["meters"]["19150001"], reading_value=value, reading_date=day,
                                          actor=admin)
            db.approve_reading(out.reading.id, actor=admin)
        run = db.generate_bills_for_month(dt.date(2026, 9, 1), dt.date(2026, 9, 30), dt.date(2026, 10, 15),
                                          actor=admin)  # the set-based path: COPY and the bills' sequence
        assert run.status == "completed" and run.created == 1
        assert db.lock_month("2026-08", "books audited", actor=admin) is True
        from services.master_data.importer import import_master_data

        csv = tmp_path / "m.csv"
        csv.write_text("Flat Code,Block,Floor,Flat Type,Owner Name,Owner Phone,Meter Number,Motor,Motor Meter Number\n"
                       "B17-FF,B,FF,2BHK,Test Owner,+910000000000,19152159,,\n")  # leaves MOTOR-B1: a DELETE
        import_master_data(storage, csv, actor=admin)
        assert storage.master_data_state(["B17-FF"], [], []).account_motors.get("B17-FF") is None
        assert db.flat_outstanding("B17-FF") > D("0") and first.created
    finally:
        storage.dispose()

    engine = sa.create_engine(app_url.replace("postgresql://", "postgresql+psycopg://"))
    refused = [
        "TRUNCATE audit_log", "TRUNCATE payments", "TRUNCATE bills CASCADE", "TRUNCATE period_locks",
        "DELETE FROM audit_log", "DELETE FROM payments", "DELETE FROM bills", "DELETE FROM period_locks",
        "DELETE FROM readings", "DELETE FROM payment_events", "UPDATE payments SET amount = 1",
        "DROP TRIGGER trg_bills_immutable ON bills", "ALTER TABLE bills DISABLE TRIGGER ALL",
        "DROP TRIGGER trg_period_locks_append_only ON period_locks", "DROP TABLE audit_log",
        "SET session_replication_role = replica", "CREATE TABLE audit_copy (id int)",
        "UPDATE schema_info SET value = '0'",
    ]
    try:
        for stmt in refused:
            with pytest.raises(sa.exc.DBAPIError) as e:
                with engine.begin() as c:
                    c.execute(sa.text(stmt))
            msg = str(e.value.orig)
            assert "permission denied" in msg or "must be owner" in msg, (stmt, msg)
    finally:
        engine.dispose()
    owner = SqlStorage(owner_url)
    try:
        counts = owner.table_counts(["bills", "payments", "audit_log", "period_locks", "readings"])
        assert counts["payments"] == 2 and counts["period_locks"] == 2 and counts["bills"] == 3  # a payment and its credit
    finally:
        owner.dispose()


def test_outdated_schema_is_reported_to_the_app_role(app_role):
    owner_url, app_url, role = app_role
    assert grant_app_role.main([role, "--database-url", owner_url]) == 0
    eng = sa.create_engine(owner_url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE schema_info SET value = 'from-an-older-release' WHERE key = 'fingerprint'"))
    eng.dispose()
    with pytest.raises(ConfigurationError) as e:
        SqlStorage(app_url)
    assert "grant_app_role" in str(e.value) and role in str(e.value)
    assert grant_app_role.main([role, "--database-url", owner_url]) == 0  # the owner upgrades it
    SqlStorage(app_url).dispose()


def test_refuses_superusers_missing_roles_and_sqlite(app_role, tmp_path):
    owner_url, _, _ = app_role
    for args, text in (([["postgres"], "superuser"]), ([["no_such_role_x"], "does not exist"])):
        with pytest.raises(SystemExit) as e:
            grant_app_role.main(args + ["--database-url", owner_url])
        assert text in str(e.value)
    with pytest.raises(SystemExit):
        grant_app_role.main(["x", "--database-url", f"sqlite:///{tmp_path / 'a.db'}"])
