"""The database itself holds the coverage, re-issue and credit rules (database/billing_triggers.py),
so a direct SQL write cannot break them either: on SQLite and PostgreSQL."""
import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.factories import admin_user, engineer_user, make_service, make_society

d = dt.date
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request, tmp_path):
    from tests.backends import FACTORIES

    st = FACTORIES[request.param](request, tmp_path)
    make_society(st)
    yield st
    st.dispose()


@pytest.fixture
def billed(sql_storage):
    """B17-FF: a baseline and an October reading, billed; then re-issued once after a part payment."""
    db = make_service(sql_storage, d(2026, 11, 22))
    eng, admin = engineer_user(sql_storage), admin_user(sql_storage)
    ids = []
    for value, day in (("1000", d(2026, 9, 20)), ("1100", d(2026, 10, 20))):
        r = db.insert_meter_reading(meter_number="19152159", reading_value=value, reading_date=day, actor=eng).reading
        ids.append(db.approve_reading(r.id, actor=admin).id)
    first = db.bill_reading(ids[1], *OCT, actor=admin)
    db.record_payment(first.id, "500", actor=admin)
    second = db.bill_reading(ids[1], *OCT, actor=admin)
    pending = db.insert_meter_reading(meter_number="19152159", reading_value="1200", reading_date=d(2026, 11, 20),
                                      actor=eng).reading
    return {"db": db, "readings": ids, "first": first.id, "second": second.id, "pending": pending.id}


def refused(st, sql, params, word):
    with pytest.raises(sa.exc.DBAPIError) as e:
        with st.engine.begin() as c:
            c.execute(sa.text(sql), params)
    assert any(w in str(e.value) for w in word.split("|")), str(e.value)


def test_a_reading_is_never_covered_by_two_current_bills(sql_storage, billed):
    st = sql_storage
    with st.engine.begin() as c:
        other = c.execute(sa.text(
            "INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, "
            "due_date, units, motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount) "
            "SELECT account_id, area_id, tariff_plan_version_id, '2026-08-01', '2026-08-31', '2026-09-15', 100, 0, 100, 12, 1474, 0, 2674 FROM bills "
            "WHERE id = :b RETURNING id"), {"b": billed["second"]}).scalar_one()
    # SQLite's trigger words it; PostgreSQL's partial unique index refuses it first.
    refused(st, "INSERT INTO bill_readings (bill_id, reading_id, units) VALUES (:b, :r, 100)",
            {"b": other, "r": billed["readings"][1]}, "BILL_READING_TAKEN|uq_bill_readings_current_reading")
    refused(st, "INSERT INTO bill_readings (bill_id, reading_id, units) VALUES (:b, :r, 100)",
            {"b": other, "r": billed["pending"]}, "BILL_READING_INVALID")  # not approved
    refused(st, "INSERT INTO bill_readings (bill_id, reading_id, units) VALUES (:b, :r, 0)",
            {"b": billed["first"], "r": billed["pending"]}, "BILL_READING_INVALID")  # a superseded bill


def test_coverage_is_append_only_and_moves_with_the_reissue(sql_storage, billed):
    st = sql_storage
    with st.engine.connect() as c:
        rows = c.execute(sa.text("SELECT bill_id, superseded_by FROM bill_readings WHERE reading_id = :r ORDER BY id"),
                         {"r": billed["readings"][1]}).all()
    assert [tuple(x) for x in rows] == [(billed["first"], billed["second"]), (billed["second"], None)]
    refused(st, "UPDATE bill_readings SET units = 1 WHERE bill_id = :b", {"b": billed["second"]}, "APPEND_ONLY")
    refused(st, "UPDATE bill_readings SET superseded_by = NULL WHERE bill_id = :b", {"b": billed["first"]}, "APPEND_ONLY")
    refused(st, "DELETE FROM bill_readings WHERE bill_id = :b", {"b": billed["second"]}, "APPEND_ONLY")


def test_superseded_is_terminal(sql_storage, billed):
    st = sql_storage
    for sql in ("UPDATE bills SET status = 'pending' WHERE id = :b", "UPDATE bills SET amount_paid = 0 WHERE id = :b",
                "UPDATE bills SET superseded_by = NULL WHERE id = :b"):
        refused(st, sql, {"b": billed["first"]}, "BILL_SUPERSEDED")
    # Only a re-issue naming the replacement supersedes a bill, and never a bill carried forward.
    refused(st, "UPDATE bills SET status = 'superseded' WHERE id = :b", {"b": billed["second"]}, "BILL_SUPERSEDED")
    refused(st, "INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, "
                "billing_period_end, due_date, units, motor_units, total_units, rate_per_unit, fixed_charge, "
                "previous_outstanding, total_amount, status) SELECT account_id, area_id, tariff_plan_version_id, '2026-07-01', '2026-07-31', '2026-08-15', 1, 0, 1, 12, 0, 0, 12, 'superseded' "
                "FROM bills WHERE id = :b", {"b": billed["second"]}, "BILL_SUPERSEDED")
    first = billed["db"].get_bill(billed["first"])
    assert (first.status, first.amount_paid) == ("superseded", D("500.00"))


def test_a_credit_is_exactly_what_was_paid_on_the_replaced_bill(sql_storage, billed):
    st = sql_storage
    insert = ("INSERT INTO payments (bill_id, amount, paid_on, method, credit_from_bill) "
              "VALUES (:b, :a, '2026-11-22', :m, :f)")
    refused(st, insert, {"b": billed["second"], "a": 500, "m": "credit", "f": billed["first"]}, "CREDIT_INVALID|UNIQUE constraint|unique constraint")
    refused(st, insert, {"b": billed["second"], "a": 1, "m": "cash", "f": billed["first"]}, "CREDIT_INVALID")
    refused(st, insert, {"b": billed["second"], "a": 1, "m": "credit", "f": None}, "CREDIT_INVALID")
    with st.engine.connect() as c:
        credits = c.execute(sa.text("SELECT amount, credit_from_bill FROM payments WHERE method = 'credit'")).all()
    assert [(D(str(a)).quantize(D("0.01")), f) for a, f in credits] == [(D("500.00"), billed["first"])]
