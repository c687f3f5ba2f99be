"""python -m scripts.verify_billing: exits 0 on the demo database and non-zero after a planted
defect of each kind (an uncovered approved reading, a reading on two bills, a bill that does not
recompute, units that differ from the readings', a balance that does not add up)."""
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from scripts import seed_demo, verify_billing
from services.storage.sql_backend import SqlStorage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("pg_server").fresh_url(with_schema=False)
    assert seed_demo.main(["--accounts", "24", "--database-url", url, "--today", "2026-11-22"]) == 0
    st = SqlStorage(url)
    yield url, st
    st.dispose()


def one(st, sql, **params):
    with st.engine.connect() as c:
        return c.execute(sa.text(sql), params).first()


def plant(st, *statements, **params):
    with st.engine.begin() as c:
        for sql in statements:
            c.execute(sa.text(sql), params)


def test_exits_0_on_the_demo_database_as_a_command(demo):
    url, _ = demo
    out = subprocess.run([sys.executable, "-m", "scripts.verify_billing", "--database-url", url], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("ok   0 ") == 8 and "bill chain OK" in out.stdout and "RESULT: OK" in out.stdout


def test_an_approved_reading_no_bill_covers(demo, capsys):
    url, st = demo
    meter, day = one(st, "SELECT r.meter_id, r.reading_date FROM bill_readings c JOIN readings r ON r.id = c.reading_id "
                         "ORDER BY r.reading_date DESC, r.id LIMIT 1")
    plant(st, "INSERT INTO readings (meter_id, reading_value, reading_date, consumption, status, source) "
              "VALUES (:m, 1, :d, 4, 'approved', 'ui')", m=meter, d=str(day)[:8] + "01")  # before its last billed one
    assert verify_billing.main(["--database-url", url]) == 1
    out = capsys.readouterr().out
    assert "FAIL 1 approved readings older than their meter's last billed reading" in out and "RESULT: FAILED" in out


def test_a_reading_on_two_bills_with_the_triggers_dropped(demo, capsys):
    url, st = demo
    bill, reading = one(st, "SELECT bill_id, reading_id FROM bill_readings ORDER BY id DESC LIMIT 1")
    other = one(st, "SELECT b.id FROM bills b WHERE b.account_id = (SELECT account_id FROM bills WHERE id = :b) "
                    "AND b.id <> :b AND b.status <> 'superseded' ORDER BY b.id LIMIT 1", b=bill)[0]
    if st.dialect == "sqlite":
        plant(st, "DROP TRIGGER trg_bill_readings_insert", "DROP INDEX uq_bill_readings_current_reading")
    else:
        plant(st, "DROP TRIGGER trg_bill_readings_inserted ON bill_readings",
              "DROP INDEX uq_bill_readings_current_reading")
    plant(st, "INSERT INTO bill_readings (bill_id, reading_id, units) VALUES (:b, :r, 0)", b=other, r=reading)
    assert verify_billing.main(["--database-url", url]) == 1
    out = capsys.readouterr().out
    assert "FAIL 1 readings covered by more than one bill" in out and f'"reading_id": {reading}' in out
    assert "units differ" in out  # the other bill's units no longer add up either


def test_a_bill_that_does_not_recompute_and_a_balance_that_does_not_add_up(demo, capsys):
    url, st = demo
    flat, area = one(st, "SELECT id, area_id FROM accounts ORDER BY id LIMIT 1")
    version = one(st, "SELECT id FROM tariff_plan_versions ORDER BY id LIMIT 1")[0]
    plant(st, "INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, "
              "due_date, units, motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount) "
              "VALUES (:f, :a, :v, '2025-01-01', '2025-01-31', '2025-02-15', 10, 0, 10, 12, 0, 0, 125)",
          f=flat, a=area, v=version)
    assert verify_billing.main(["--database-url", url, "--limit", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL 1 bills whose total does not recompute" in out and '"recomputed": "120.00"' in out
    assert "FAIL" not in out.split("bills whose total")[1].split("\n", 1)[1].split("accounts whose")[0]
    bill = one(st, "SELECT id FROM bills WHERE status = 'pending' ORDER BY id LIMIT 1")[0]
    plant(st, "INSERT INTO payments (bill_id, amount, paid_on, method) VALUES (:b, 1, '2026-11-20', 'cash')", b=bill)
    assert verify_billing.main(["--database-url", url]) == 1
    assert "FAIL 1 accounts whose outstanding balance" in capsys.readouterr().out


def test_help_and_an_unusable_database(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        verify_billing.main(["--help"])
    assert e.value.code == 0 and "uncovered readings" in capsys.readouterr().out
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert verify_billing.main(["--database-url", url]) == 2  # no schema: said, not a traceback
    assert "could not check the database" in capsys.readouterr().out


def test_a_bill_whose_lines_do_not_add_up_is_reported(demo, capsys):
    """A line lost (planted with the append-only trigger dropped for a moment): the check finds it."""
    url, st = demo
    bill_id = one(st, "SELECT bill_id FROM bill_lines ORDER BY bill_id DESC LIMIT 1")[0]
    with st.engine.begin() as c:
        if st.dialect == "sqlite":
            c.execute(sa.text("DROP TRIGGER trg_bill_lines_no_delete"))
        else:
            c.execute(sa.text("ALTER TABLE bill_lines DISABLE TRIGGER trg_bill_lines_append_only"))
        c.execute(sa.text("DELETE FROM bill_lines WHERE bill_id = :b AND seq = 1"), {"b": bill_id})
    assert verify_billing.main(["--database-url", url, "--limit", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL 1 bills whose lines do not add up to their total" in out and f'"bill_id": {bill_id}' in out
