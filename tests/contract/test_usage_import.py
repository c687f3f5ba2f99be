"""Usage ingestion on every backend (services/readings/usage_import.py): a usage file is stored all
or nothing with every problem named by row and column; the same file again stores nothing and says
so; a different value for a stored day is refused, naming the row; register values become readings
and the days they measured; detection runs for the months touched."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import MasterDataError, PermissionDeniedError
from services.models import AnomalyFilter, NewUsage, UsageBatch
from tests.factories import ADMIN, ENGINEER, make_service, make_water

d = dt.date
OPS = ADMIN.__class__(None, "test-ops", "operations", "pytest")


@pytest.fixture
def setup(storage, today):
    made = make_water(storage)  # July 2026: 0.5 / 1.0 / 0.25 CCF a day
    return make_service(storage, today), made["accounts"]


def write(tmp_path, text, name="aug.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_file_is_stored_once_and_a_repeat_stores_nothing(setup, tmp_path):
    db, acc = setup
    f = write(tmp_path, "Customer,Date,Usage (CCF)\nHS0000001,2026-08-01,0.50\nHS0000001,2026-08-02,0.75\n"
                        "HS0000002,2026-08-01,1.00\n")
    first = db.import_usage_file(f, actor=OPS)
    assert (first.stored, first.unchanged, first.accounts) == (3, 0, 2)
    assert "stored 3 day(s)" in first.message
    again = db.import_usage_file(f, actor=OPS)
    assert (again.stored, again.unchanged) == (0, 3) and "nothing new" in again.message
    assert {x.usage_date: x.quantity for x in db.storage.list_daily_usage(acc["HS0000001"], d(2026, 8, 1), d(2026, 8, 31))
            } == {d(2026, 8, 1): D("0.50"), d(2026, 8, 2): D("0.75")}
    # the same file with one more day stores only that day
    more = write(tmp_path, f.read_text() + "HS0000003,2026-08-01,0.25\n", "aug2.csv")
    r = db.import_usage_file(more, actor=OPS)
    assert (r.stored, r.unchanged) == (1, 3)


def test_a_conflicting_value_refuses_the_whole_file_naming_the_row(setup, tmp_path):
    db, acc = setup
    f = write(tmp_path, "customer,date,usage_ccf\nHS0000002,2026-08-01,1.00\nHS0000001,2026-07-15,0.60\n")
    with pytest.raises(MasterDataError) as e:
        db.import_usage_file(f, actor=OPS)
    (p,) = e.value.problems
    assert (p.row, p.column) == (3, "usage_ccf") and "0.50" in p.message and "0.60" in p.message
    assert db.storage.list_daily_usage(acc["HS0000002"], d(2026, 8, 1), d(2026, 8, 31)) == []  # nothing partial


def test_every_problem_is_listed_with_its_row_and_column(setup, tmp_path):
    db, acc = setup
    f = write(tmp_path, "customer,meter,date,usage_ccf\nHS9999999,,2026-08-01,1\nHS0000001,,2026-13-01,1\n"
                        "HS0000001,6100001,2026-08-03,1\nHS0000002,,2026-08-04,-2\nHS0000003,,2026-08-01,1\n"
                        "HS0000003,,2026-08-01,1\n")
    with pytest.raises(MasterDataError) as e:
        db.import_usage_file(f, actor=OPS)
    got = {(p.row, p.column) for p in e.value.problems}
    assert {(2, "customer"), (3, "date"), (4, "meter"), (5, "usage_ccf"), (7, "date")} <= got
    assert db.storage.usage_days_present(list(acc.values()), d(2026, 8, 1), d(2026, 8, 31)) == set()


def test_meter_values_become_readings_and_the_days_they_measured(setup, tmp_path):
    db, acc = setup
    f = write(tmp_path, "meter,date,meter_value\n6100000,2026-08-01,100\n6100000,2026-08-04,103.00\n")
    r = db.import_usage_file(f, actor=OPS)
    assert (r.readings, r.stored) == (2, 3)
    assert {x.usage_date: x.quantity for x in db.storage.list_daily_usage(acc["HS0000001"], d(2026, 8, 1), d(2026, 8, 31))
            } == {d(2026, 8, 2): D("1.00"), d(2026, 8, 3): D("1.00"), d(2026, 8, 4): D("1.00")}
    again = db.import_usage_file(f, actor=OPS)
    assert (again.readings, again.stored, again.unchanged) == (0, 0, 2)
    lower = write(tmp_path, "meter,date,meter_value\n6100000,2026-08-06,101\n", "low.csv")
    with pytest.raises(MasterDataError) as e:
        db.import_usage_file(lower, actor=OPS)
    assert [(p.row, p.column) for p in e.value.problems] == [(2, "meter_value")]


def test_detection_runs_for_the_months_an_import_touched(setup, tmp_path):
    db, acc = setup
    days = "".join(f"HS0000001,2026-08-{i:02d},{'9.00' if i == 20 else '0.50'}\n" for i in range(1, 32))
    r = db.import_usage_file(write(tmp_path, "customer,date,usage_ccf\n" + days), actor=OPS)
    assert r.anomalies.get("high_read") == 1
    found = db.list_anomalies(AnomalyFilter(method="high_read"), actor=ADMIN).items
    assert [(a.account_id, a.usage_date) for a in found] == [(acc["HS0000001"], d(2026, 8, 20))]


def test_phone_and_webhook_rows_share_the_rules_and_the_permissions(setup, tmp_path):
    db, acc = setup
    r = db.submit_usage([{"customer": "hs0000003", "date": d(2026, 8, 1), "usage_ccf": "0.30"}], label="phone",
                        actor=ENGINEER)
    assert r.stored == 1
    with pytest.raises(MasterDataError) as e:
        db.submit_usage([{"customer": "HS0000003", "date": "2026-08-02", "usage_ccf": "abc"}], label="phone",
                        actor=ENGINEER)
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "usage_ccf")]
    with pytest.raises(PermissionDeniedError):
        db.import_usage_file(write(tmp_path, "customer,date,usage_ccf\n"), actor=ENGINEER)


def test_the_month_run_detects_the_months_anomalies(setup):
    db, acc = setup
    db.storage.store_usage(UsageBatch(tuple(
        NewUsage(acc["HS0000002"], d(2026, 8, i),
                                                                      D("9.00") if i == 9 else D("1.00"))
        for i in range(1, 32))), ADMIN)
    assert db.list_anomalies(AnomalyFilter(), actor=ADMIN).items == []
    db.generate_bills_for_month(d(2026, 8, 1), d(2026, 8, 31), d(2026, 9, 21), actor=ADMIN)
    found = db.list_anomalies(AnomalyFilter(method="high_read"), actor=ADMIN).items
    assert [(a.account_id, a.usage_date) for a in found] == [(acc["HS0000002"], d(2026, 8, 9))]


def test_detection_after_an_import_looks_only_at_the_customers_it_touched(setup, tmp_path):
    """Another customer's spike, stored meanwhile by another path, waits for the whole detection
    (the daily job, the month run): the import's detection is as small as the import."""
    db, acc = setup
    db.storage.store_usage(UsageBatch(tuple(
        NewUsage(acc["HS0000002"], d(2026, 8, i), D("9.00") if i == 9 else D("1.00")) for i in range(1, 32))), ADMIN)
    days = "".join(f"HS0000001,2026-08-{i:02d},{'9.00' if i == 20 else '0.50'}\n" for i in range(1, 32))
    r = db.import_usage_file(write(tmp_path, "customer,date,usage_ccf\n" + days), actor=OPS)
    assert r.anomalies.get("high_read") == 1
    found = db.list_anomalies(AnomalyFilter(method="high_read"), actor=ADMIN).items
    assert [a.account_id for a in found] == [acc["HS0000001"]]
    (audit,) = db.storage.list_audit(action_prefix="usage.detect").items
    assert audit.details["accounts"] == 1
    db.detect_month_anomalies(d(2026, 8, 1), actor=ADMIN)
    found = db.list_anomalies(AnomalyFilter(method="high_read"), actor=ADMIN).items
    assert sorted(a.account_id for a in found) == sorted([acc["HS0000001"], acc["HS0000002"]])
