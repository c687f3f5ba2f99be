"""Rules the database itself holds: a direct SQL insert into a locked month fails on both databases."""
import pytest
import sqlalchemy as sa

from tests.factories import make_society

INSERT_NOV = sa.text(
    "INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, due_date, units, motor_units, "
    "total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount) "
    "VALUES (:flat, (SELECT area_id FROM accounts WHERE id = :flat), (SELECT min(id) FROM tariff_plan_versions), :start, :end, '2025-12-15', 10, 0, 10, 12, 0, 0, 120)")


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request, tmp_path):
    from tests.backends import FACTORIES

    st = FACTORIES[request.param](request, tmp_path)
    make_society(st)
    yield st
    st.dispose()


def _flat(st):
    with st.engine.connect() as c:
        return c.execute(sa.text("SELECT id FROM accounts ORDER BY id LIMIT 1")).scalar()


@pytest.mark.parametrize("start,end", [("2025-11-01", "2025-11-01"), ("2025-10-15", "2025-11-30")])
def test_direct_insert_into_locked_month_fails(sql_storage, start, end):
    with pytest.raises(sa.exc.DBAPIError) as e:
        with sql_storage.engine.begin() as c:
            c.execute(INSERT_NOV, {"flat": _flat(sql_storage), "start": start, "end": end})
    assert "PERIOD_LOCKED" in str(e.value)
    if sql_storage.dialect == "postgresql":
        assert "2025-11" in str(e.value) and e.value.orig.sqlstate == "P0001"


@pytest.mark.parametrize("start,end", [("2025-10-01", "2025-10-31"), ("2025-12-01", "2025-12-01")])
def test_direct_insert_next_to_locked_month_succeeds(sql_storage, start, end):
    with sql_storage.engine.begin() as c:
        c.execute(INSERT_NOV, {"flat": _flat(sql_storage), "start": start, "end": end})


def test_new_lock_row_is_enforced_without_code_changes(sql_storage):
    with sql_storage.engine.begin() as c:
        c.execute(sa.text("INSERT INTO period_locks (month, reason) VALUES ('2026-01', 'closed books')"))
    with pytest.raises(sa.exc.DBAPIError):
        with sql_storage.engine.begin() as c:
            c.execute(INSERT_NOV, {"flat": _flat(sql_storage), "start": "2026-01-01", "end": "2026-01-31"})


def test_negative_amounts_refused_by_check(sql_storage):
    with pytest.raises(sa.exc.IntegrityError):
        with sql_storage.engine.begin() as c:
            c.execute(sa.text(
                "INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, due_date, units, "
                "motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount) "
                "VALUES (:f, (SELECT area_id FROM accounts WHERE id = :f), (SELECT min(id) FROM tariff_plan_versions), '2026-10-01', '2026-10-31', '2026-11-15', -5, 0, 0, 12, 0, 0, 0)"), {"f": _flat(sql_storage)})


def test_audit_log_is_append_only(sql_storage):
    with sql_storage.engine.begin() as c:
        c.execute(sa.text("INSERT INTO audit_log (actor_name, action, occurred_at) VALUES ('x', 'test', CURRENT_TIMESTAMP)"))
    for stmt in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError) as e:
            with sql_storage.engine.begin() as c:
                c.execute(sa.text(stmt))
        assert "APPEND_ONLY" in str(e.value)


def test_schema_applies_twice(sql_storage):
    from database.migrations import apply_schema
    from database.schema import SCHEMA_VERSION

    assert apply_schema(sql_storage.engine) == apply_schema(sql_storage.engine) == SCHEMA_VERSION
    assert sql_storage.locked_months() == ["2025-11"]
