"""The /rpc functions of database/supabase_schema.sql, called for real on PostgreSQL as the
service role (what PostgREST does with the service key): lock, no-overwrite retry, bill batch with
lines, payment replay, carry-forward, claims, the lock probe, the utility's settings, areas, tariff
plans, daily usage and the run's quantity sources."""
import datetime as dt
import json
from decimal import Decimal as D

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.supabase.pgutil import dsn, fresh_supabase_db

ACTOR = Jsonb({"user_id": None, "username": "sql-test", "client": "pytest"})
# Filled by the `conn` fixture: the plan version every bill here is priced by, each account's area.
IDS: dict = {}


@pytest.fixture
def conn(pg_server):
    """Three accounts (B17-FF, A1-GF, C14-SF, in that id order) in areas B, A, C, each connected to a
    flat-rate electricity plan; stored with plain SQL, so the audit log starts empty."""
    name = fresh_supabase_db(pg_server)
    with psycopg.connect(dsn(pg_server, name), autocommit=True) as c:
        c.execute("SET ROLE service_role")
        c.execute("INSERT INTO areas (level, code, name, path) VALUES (1, 'B', 'Block B', 'B'), (1, 'A', 'Block A', 'A'), "
                  "(1, 'C', 'Block C', 'C')")
        plan = call(c, "INSERT INTO tariff_plans (code, name, kind, service, unit, currency) VALUES "
                       "('society-electricity', 'Society', 'flat_rate', 'electricity', 'kWh', 'INR') RETURNING id")
        IDS["version"] = call(c, "INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params) "
                                 "VALUES (%s, 1, '2020-01-01', '{}') RETURNING id", plan)
        IDS["plan"] = plan
        for code in ("B17-FF", "A1-GF", "C14-SF"):
            c.execute("INSERT INTO accounts (code, area_id) SELECT %s, id FROM areas WHERE path = %s", [code, code[0]])
        c.execute("INSERT INTO service_connections (account_id, service, tariff_plan_id) "
                  "SELECT id, 'electricity', %s FROM accounts ORDER BY id", [plan])
        IDS["area"] = dict(c.execute("SELECT id, area_id FROM accounts").fetchall())
        yield c


def flat(c, code):
    return c.execute("SELECT id FROM accounts WHERE code = %s", [code]).fetchone()[0]


def bill_json(account_id, start="2026-10-01", end="2026-10-31", total="2674.00", **extra):
    row = {"account_id": account_id, "area_id": IDS["area"][account_id], "service": "electricity",
           "tariff_plan_version_id": IDS["version"], "billing_period_start": start, "billing_period_end": end,
           "due_date": "2026-11-15", "tariff_kind": "flat_rate", "pricing_rule": "bhk_override", "units": "100",
           "motor_units": "0", "total_units": "100", "rate_per_unit": "12", "fixed_charge": "1474",
           "previous_outstanding": "0", "total_amount": total}
    row.update(extra)
    return row


def call(c, sql, *args):
    return c.execute(sql, list(args)).fetchone()[0]


def insert_bill(c, row, carry=()):
    return call(c, "SELECT meterline_insert_bill(%s, %s, %s, %s)", Jsonb(row), list(carry), ACTOR,
                Jsonb({"account_id": row["account_id"]}))


def test_insert_bill_no_overwrite_retry_and_audit(conn):
    f = flat(conn, "B17-FF")
    first = insert_bill(conn, bill_json(f))
    with pytest.raises(psycopg.Error) as e:  # a collision not priced as a re-issue: price it again
        insert_bill(conn, bill_json(f, total="3000.00"))
    assert e.value.sqlstate == "PT409" and "re-issue" in str(e.value)
    second = insert_bill(conn, bill_json(f, total="3000.00", reissue_of=first["id"], replaced_paid="0"))
    assert first["reissue_of"] is None and first["billing_period_start"] == "2026-10-01"
    assert second["reissue_of"] == first["id"] and second["billing_period_start"] == "2026-10-02"
    assert call(conn, "SELECT total_amount FROM bills WHERE id = %s", first["id"]) == D("2674.00")
    assert conn.execute("SELECT status, superseded_by FROM bills WHERE id = %s", [first["id"]]).fetchone() == \
        ("superseded", second["id"])
    actions = conn.execute("SELECT action, details->>'reissue_of' FROM audit_log ORDER BY id").fetchall()
    assert actions == [("bill.create", None), ("bill.reissue", str(first["id"]))]


def test_insert_bill_no_room_left_names_the_bill(conn):
    f = flat(conn, "B17-FF")
    first = insert_bill(conn, bill_json(f, start="2026-10-31", end="2026-10-31"))
    with pytest.raises(psycopg.Error) as e:
        insert_bill(conn, bill_json(f, start="2026-10-31", end="2026-10-31", reissue_of=first["id"]))
    assert e.value.sqlstate == "PT409" and f"#{first['id']}" in str(e.value)
    assert e.value.diag.message_detail == f"bill_collision existing_bill_id={first['id']}"


def test_insert_bill_refused_by_lock(conn):
    with pytest.raises(psycopg.errors.RaiseException) as e:
        insert_bill(conn, bill_json(flat(conn, "B17-FF"), start="2025-11-01", end="2025-11-30"))
    assert "PERIOD_LOCKED: billing period 2025-11 is locked" in str(e.value)
    assert call(conn, "SELECT count(*) FROM bills") == 0 and call(conn, "SELECT count(*) FROM audit_log") == 0


def test_carry_forward_and_stale_open_bill(conn):
    f = flat(conn, "B17-FF")
    sep = insert_bill(conn, bill_json(f, start="2026-09-01", end="2026-09-30"))
    octb = insert_bill(conn, bill_json(f, previous_outstanding="2674.00", total="5348.00"), carry=[sep["id"]])
    assert conn.execute("SELECT status, carried_forward_to FROM bills WHERE id = %s", [sep["id"]]).fetchone() == \
        ("carried_forward", octb["id"])
    with pytest.raises(psycopg.Error) as e:  # already carried: nothing of the new bill is kept
        insert_bill(conn, bill_json(f, start="2026-11-01", end="2026-11-30"), carry=[sep["id"]])
    assert e.value.sqlstate == "PT409"
    assert call(conn, "SELECT count(*) FROM bills") == 2


def test_bill_batch_skips_billed_flats_and_lock_refuses_whole(conn):
    b17, a1, c14 = flat(conn, "B17-FF"), flat(conn, "A1-GF"), flat(conn, "C14-SF")
    insert_bill(conn, bill_json(a1))
    out = call(conn, "SELECT meterline_insert_bill_batch(%s, %s)",
               Jsonb([bill_json(b17, total="1.10"), bill_json(a1), bill_json(c14, total="2.25")]), ACTOR)
    assert out.pop("ids") == [r[0] for r in conn.execute(  # the bills stored, to be sealed next (issue 20)
        "SELECT id FROM bills WHERE account_id IN (%s, %s) ORDER BY id", [b17, c14]).fetchall()]
    assert out == {"created": 2, "skipped": 1, "total_amount": "3.35", "stale": []}
    again = call(conn, "SELECT meterline_insert_bill_batch(%s, %s)", Jsonb([bill_json(b17)]), ACTOR)
    assert again == {"created": 0, "skipped": 1, "total_amount": "0.00", "stale": [], "ids": []}
    with pytest.raises(psycopg.errors.RaiseException):
        call(conn, "SELECT meterline_insert_bill_batch(%s, %s)",
             Jsonb([bill_json(b17, start="2026-12-01", end="2026-12-31"),
                    bill_json(a1, start="2025-11-01", end="2025-11-30")]), ACTOR)
    assert call(conn, "SELECT count(*) FROM bills") == 3  # the December bill was not kept either


def test_bill_batch_carries_forward(conn):
    b17 = flat(conn, "B17-FF")
    sep = insert_bill(conn, bill_json(b17, start="2026-09-01", end="2026-09-30"))
    # Carries 0.00, but September's 2674.00 is open: that flat is left out (stale), to be priced again.
    out = call(conn, "SELECT meterline_insert_bill_batch(%s, %s)",
               Jsonb([bill_json(b17, carry_forward_bill_ids=[sep["id"]])]), ACTOR)
    assert out == {"created": 0, "skipped": 0, "total_amount": "0.00", "stale": [b17], "ids": []}
    assert call(conn, "SELECT count(*) FROM bills WHERE billing_period_start = '2026-10-01'") == 0
    call(conn, "SELECT meterline_insert_bill_batch(%s, %s)",
         Jsonb([bill_json(b17, carry_forward_bill_ids=[sep["id"]], previous_outstanding="2674.00",
                          total="5348.00")]), ACTOR)
    new_id = call(conn, "SELECT id FROM bills WHERE billing_period_start = '2026-10-01'")
    assert conn.execute("SELECT status, carried_forward_to FROM bills WHERE id = %s", [sep["id"]]).fetchone() == \
        ("carried_forward", new_id)


def pay(c, bill_id, amount, expected_paid, expected_status, new_paid, new_status, external_id=None):
    return call(c, "SELECT meterline_apply_payment(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                bill_id, D(amount), D(expected_paid), expected_status, D(new_paid), new_status, dt.date(2026, 11, 5),
                "upi", None, external_id, ACTOR, Jsonb({"amount": amount}))


def test_payment_compare_and_set_and_replay(conn):
    bill = insert_bill(conn, bill_json(flat(conn, "B17-FF")))["id"]
    first = pay(conn, bill, "500", "0", "pending", "500", "partially_paid", external_id="evt_1")
    assert first["applied"]
    replay = pay(conn, bill, "500", "0", "pending", "500", "partially_paid", external_id="evt_1")
    assert replay == {"payment_id": first["payment_id"], "applied": False}
    with pytest.raises(psycopg.Error) as e:  # priced against a stale amount_paid
        pay(conn, bill, "100", "0", "pending", "100", "partially_paid")
    assert e.value.sqlstate == "PT409" and e.value.diag.message_detail == "stale"
    with pytest.raises(psycopg.Error) as e:  # more than is due, even if the caller skipped Python's check
        pay(conn, bill, "3000", "500", "partially_paid", "3500", "paid")
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "amount"
    done = pay(conn, bill, "2174", "500", "partially_paid", "2674", "paid")
    assert done["applied"]
    assert conn.execute("SELECT status, amount_paid FROM bills WHERE id = %s", [bill]).fetchone() == ("paid", D("2674"))
    with pytest.raises(psycopg.Error) as e:
        pay(conn, bill, "1", "2674", "paid", "2675", "paid")
    assert e.value.sqlstate == "PT409"
    assert call(conn, "SELECT count(*) FROM payments") == 2
    assert call(conn, "SELECT count(*) FROM audit_log WHERE action = 'payment.record'") == 2


def test_settle_in_full_and_mark_overdue(conn):
    a = insert_bill(conn, bill_json(flat(conn, "B17-FF")))["id"]
    b = insert_bill(conn, bill_json(flat(conn, "A1-GF")))["id"]
    assert call(conn, "SELECT meterline_mark_overdue(%s, %s)", dt.date(2026, 11, 16), ACTOR) == [a, b]
    assert call(conn, "SELECT meterline_mark_overdue(%s, %s)", dt.date(2026, 11, 16), ACTOR) == []
    n = call(conn, "SELECT meterline_settle_in_full(%s, %s, %s, %s, %s)", [a, b, a], dt.date(2026, 11, 20), "upi",
             "file-1", ACTOR)
    assert n == 2 and call(conn, "SELECT sum(amount) FROM payments") == D("5348.00")


def test_probe_lock_is_read_only(conn):
    before = call(conn, "SELECT count(*) FROM bills")
    out = call(conn, "SELECT meterline_probe_lock(%s, %s)", dt.date(2025, 11, 1), dt.date(2025, 11, 30))
    assert out["refused"] and "PERIOD_LOCKED" in out["detail"]
    out = call(conn, "SELECT meterline_probe_lock(%s, %s)", dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert not out["refused"] and "ACCEPTED" in out["detail"]
    assert call(conn, "SELECT count(*) FROM bills") == before


def test_review_reading_and_reading_double_tap(conn):
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) SELECT '19152159', id FROM accounts "
                       "WHERE code = 'B17-FF' RETURNING id")
    reading = {"meter_id": meter, "reading_value": "1000", "reading_date": "2026-11-20", "consumption": None,
               "flags": [{"code": "no_history", "reason": "first"}]}
    a = call(conn, "SELECT meterline_insert_reading(%s, %s, %s)", Jsonb(reading), ACTOR, Jsonb({}))
    b = call(conn, "SELECT meterline_insert_reading(%s, %s, %s)", Jsonb(reading), ACTOR, Jsonb({}))
    assert a["created"] and b == {"id": a["id"], "created": False}
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_review_reading(%s, false, %s, '  ', NULL, NULL)", a["id"], ACTOR)
    assert e.value.sqlstate == "PT422"
    call(conn, "SELECT meterline_review_reading(%s, true, %s, NULL, 12.5, NULL)", a["id"], ACTOR)
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_review_reading(%s, true, %s, NULL, NULL, NULL)", a["id"], ACTOR)
    assert e.value.sqlstate == "PT409" and "already approved" in str(e.value)
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_review_reading(%s, true, %s, NULL, NULL, NULL)", 999999, ACTOR)
    assert e.value.sqlstate == "PT404"


def test_claim_job_run_once(conn):
    now = dt.datetime(2026, 11, 22, 10, tzinfo=dt.timezone.utc)
    run = call(conn, "SELECT meterline_claim_job_run('monthly', '2026-11', 'a', %s)", now)
    assert run["status"] == "running" and run["host"] == "a"
    assert call(conn, "SELECT meterline_claim_job_run('monthly', '2026-11', 'b', %s)", now) is None
    conn.execute("UPDATE job_runs SET status = 'failed'")
    again = call(conn, "SELECT meterline_claim_job_run('monthly', '2026-11', 'b', %s)", now)
    assert again["id"] == run["id"] and again["host"] == "b"


def test_lock_month_and_dashboard(conn):
    insert_bill(conn, bill_json(flat(conn, "B17-FF"), start="2026-01-01", end="2026-01-31", due_date="2026-02-15"))
    assert call(conn, "SELECT meterline_add_period_lock('2026-01', '2026-01-01', '2026-01-31', 'audit', %s)", ACTOR)
    assert not call(conn, "SELECT meterline_add_period_lock('2026-01', '2026-01-01', '2026-01-31', 'audit', %s)", ACTOR)
    assert call(conn, "SELECT bill_count_at_lock FROM period_locks WHERE month = '2026-01'") == 1
    fig = call(conn, "SELECT meterline_dashboard('2026-01-01', '2026-01-31', '2026-11-22')")
    assert fig["billed"] == "2674.00" and fig["bill_count"] == 1 and fig["overdue_count"] == 1
    series = call(conn, "SELECT meterline_monthly_series('2025-12-01', '2026-01-31')")
    assert series["billed"] == [{"month": "2026-01", "units": "100.00", "billed": "2674.00", "n": 1}]
    _ = json


def test_reading_admin_functions(conn):
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) SELECT '19152159', id FROM accounts "
                       "WHERE code = 'B17-FF' RETURNING id")
    ids = [call(conn, "SELECT meterline_insert_reading(%s, %s, NULL)",
                Jsonb({"meter_id": meter, "reading_value": str(v), "reading_date": f"2026-{m:02d}-20",
                       "flags": [{"code": "x"}] if m == 11 else None}), ACTOR)["id"]
           for v, m in ((1000, 9), (1100, 10), (1200, 11))]
    assert call(conn, "SELECT meterline_approve_readings(%s, %s, true)", ids, ACTOR) == 2  # the flagged one stays
    assert call(conn, "SELECT meterline_set_reading_photo_url(%s, 'https://img.example/1.jpg', %s)", ids[0], ACTOR) == 1
    call(conn, "SELECT meterline_set_reading_ai_opinion(%s, %s, %s, %s)", ids[2], Jsonb({"verdict": "plausible"}),
         ACTOR, Jsonb({"verdict": "plausible"}))
    assert conn.execute("SELECT ai_opinion, flags, status FROM readings WHERE id = %s", [ids[2]]).fetchone() == \
        ({"verdict": "plausible"}, [{"code": "x"}], "pending")
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_set_reading_ai_opinion(987654, NULL, %s, NULL)", ACTOR)
    assert e.value.sqlstate == "PT404"
    with pytest.raises(psycopg.errors.RaiseException):  # the reading's value never changes
        conn.execute("UPDATE readings SET reading_value = 1 WHERE id = %s", [ids[0]])


def test_bill_admin_and_run_functions(conn):
    f = flat(conn, "B17-FF")
    conn.execute("INSERT INTO meters (meter_number, account_id) VALUES ('19152159', %s)", [f])
    run = call(conn, "SELECT meterline_start_bill_run('2026-10-01', '2026-10-31', '2026-11-15', %s)", ACTOR)
    assert call(conn, "SELECT status FROM bill_runs WHERE id = %s", run) == "running"
    meter = call(conn, "SELECT id FROM meters")
    # consumption is computed by the function from the previous reading (the rule holds in SQL)
    first = call(conn, "SELECT meterline_insert_reading(%s, %s, NULL)", Jsonb(
        {"meter_id": meter, "reading_value": "1000", "reading_date": "2026-09-20", "status": "approved"}), ACTOR)["id"]
    reading = call(conn, "SELECT meterline_insert_reading(%s, %s, NULL)", Jsonb(
        {"meter_id": meter, "reading_value": "1100", "reading_date": "2026-10-20", "status": "approved"}), ACTOR)["id"]
    sep = insert_bill(conn, bill_json(f, start="2026-09-01", end="2026-09-30"))
    candidates = "SELECT meterline_bill_run_candidates('2026-10-01', '2026-10-31', 'electricity', 'readings', NULL, %s, 10)"
    cands = call(conn, candidates, 0)
    assert cands["upper"] == flat(conn, "C14-SF")
    assert cands["candidates"] == [{
        "account_id": f, "account_code": "B17-FF", "category": None, "account_type": None, "area_id": IDS["area"][f],
        "tariff_plan_id": IDS["plan"], "usage": None, "tail": [{
        "reading_id": first, "meter_id": call(conn, "SELECT id FROM meters"), "reading_date": "2026-09-20",
        "status": "approved", "approved_units": None, "consumption": None, "motor_share": None,
        "motor_reading_id": None}, {
        "reading_id": reading, "meter_id": call(conn, "SELECT id FROM meters"), "reading_date": "2026-10-20",
        "status": "approved", "approved_units": None, "consumption": "100.00", "motor_share": None,
        "motor_reading_id": None}]}]
    assert cands["open_bills"] == [{"account_id": f, "id": sep["id"], "total_amount": "2674.00", "amount_paid": "0.00"}]
    assert call(conn, candidates, cands["upper"]) == {"upper": None, "candidates": [], "open_bills": []}
    assert call(conn, "SELECT meterline_count_run_skips('2026-10-01', '2026-10-31')") == 0
    insert_bill(conn, bill_json(f, last_reading_id=reading))
    assert call(conn, "SELECT meterline_count_run_skips('2026-10-01', '2026-10-31')") == 1
    assert call(conn, "SELECT meterline_set_bill_status(%s, 'cancelled', 'duplicate', %s)", sep["id"], ACTOR) == "pending"
    call(conn, "SELECT meterline_set_payment_link(%s, 'plink_1', 'https://pay.example/1', %s)", sep["id"], ACTOR)
    assert conn.execute("SELECT status, payment_link_id FROM bills WHERE id = %s", [sep["id"]]).fetchone() == \
        ("cancelled", "plink_1")
    details = call(conn, "SELECT details FROM audit_log WHERE action = 'bill.status'")
    assert details == {"from": "pending", "to": "cancelled", "reason": "duplicate"}
    with pytest.raises(psycopg.Error) as e:  # expected status no longer true: nothing changes
        call(conn, "SELECT meterline_set_bill_status(%s, 'pending', 'reopen', %s, 'paid')", sep["id"], ACTOR)
    assert e.value.sqlstate == "PT409"
    assert call(conn, "SELECT status FROM bills WHERE id = %s", sep["id"]) == "cancelled"


def test_user_functions(conn):
    uid = call(conn, "SELECT meterline_create_user('asha', 'admin', NULL, '', 'a@example.com', 'local', %s)", ACTOR)
    with pytest.raises(psycopg.errors.UniqueViolation):
        call(conn, "SELECT meterline_create_user('asha', 'admin', NULL, '', NULL, 'local', %s)", ACTOR)
    call(conn, "SELECT meterline_update_user(%s, %s, %s, 'user.role', %s)", uid,
         Jsonb({"role": "field_engineer", "locked_until": "2026-11-22T10:00:00+00:00", "failed_login_count": 5}),
         ACTOR, Jsonb({"role": "field_engineer"}))
    row = conn.execute("SELECT role, failed_login_count, locked_until, display_name FROM users").fetchone()
    assert row[:2] == ("field_engineer", 5) and row[2] == dt.datetime(2026, 11, 22, 10, tzinfo=dt.timezone.utc)
    assert row[3] == "asha"
    call(conn, "SELECT meterline_update_user(%s, %s, NULL, 'login.failed', NULL)", uid, Jsonb({"failed_login_count": 6}))
    assert [a for (a,) in conn.execute("SELECT action FROM audit_log ORDER BY id")] == ["user.create", "user.role"]
    call(conn, "SELECT meterline_update_user(%s, %s, NULL, '', NULL)", uid,
         Jsonb({"failed_login_count": 3, "locked_until": None}))
    until = "2026-11-22T10:15:00+00:00"
    fail = "SELECT meterline_record_login_failure(%s, 5, %s, '2026-11-22T10:00:00+00:00')"
    assert call(conn, fail, uid, until) == {"failed_login_count": 4, "locked": False}
    assert call(conn, fail, uid, until) == {"failed_login_count": 0, "locked": True}
    assert conn.execute("SELECT locked_until FROM users").fetchone()[0] == dt.datetime(2026, 11, 22, 10, 15, tzinfo=dt.timezone.utc)
    now, stale = "2026-11-22T10:20:00+00:00", "2026-11-22T10:19:00+00:00"
    reserve = "SELECT meterline_reserve_login_attempt(%s, 2, %s, %s)"
    assert call(conn, reserve, uid, now, stale) == {"reserved": True, "locked_until": None}  # the lock is over
    assert call(conn, reserve, uid, now, stale) == {"reserved": True, "locked_until": None}
    assert call(conn, reserve, uid, now, stale) == {"reserved": False, "locked_until": None}
    assert call(conn, "SELECT meterline_record_login_success(%s, %s)", uid, now) == {"locked_until": None}
    assert conn.execute("SELECT login_attempts_in_flight, failed_login_count, locked_until FROM users").fetchone() \
        == (1, 0, None)


def test_master_data_functions(conn):
    changes = {"areas": [{"path": "B", "name": "Block B"}, {"path": "B/FF", "name": "First Floor", "sort_order": 1}],
               "motors": [{"code": "MOTOR-B2", "name": ""}],
               "flats_new": [{"code": "B18-FF", "area_path": "B/FF", "category": "2BHK"}],
               "flats_changed": [{"id": flat(conn, "A1-GF"), "area_path": "B/FF", "category": "3BHK"}],
               "owners_new": [{"account_code": "B18-FF", "name": "Asha", "phone": "+919800000001"}],
               "meters_new": [{"meter_number": "19152160", "account_code": "B18-FF", "motor_code": None},
                              {"meter_number": "82000002", "account_code": None, "motor_code": "MOTOR-B2"}],
               "links_new": [{"account_code": "B18-FF", "motor_code": "MOTOR-B2"}]}
    out = call(conn, "SELECT meterline_apply_master_data(%s, %s)", Jsonb(changes), ACTOR)
    assert out == {"areas": 2, "motors": 1, "flats_new": 1, "flats_changed": 1, "owners_new": 1, "meters_new": 2,
                   "links_new": 1}
    # B existed (the fixture's), B/FF is new: created under it, audited as the system's
    assert conn.execute("SELECT p.path, a.level, a.code, a.sort_order FROM areas a JOIN areas p ON p.id = a.parent_id "
                        "WHERE a.path = 'B/FF'").fetchone() == ("B", 2, "FF", 1)
    assert conn.execute("SELECT actor_name, details FROM audit_log WHERE action = 'area.create'").fetchall() == \
        [("system", {"created": 1})]
    # a new flat is an account of type flat in its area, connected to the stored electricity plan
    assert conn.execute("SELECT a.account_type, a.name, sc.service, sc.tariff_plan_id FROM accounts a "
                        "JOIN service_connections sc ON sc.account_id = a.id WHERE a.code = 'B18-FF'").fetchone() == \
        ("flat", "", "electricity", IDS["plan"])
    state = call(conn, "SELECT meterline_master_data_state(%s, %s, %s)", ["B18-FF", "A1-GF"], ["19152160", "82000002"],
                 ["MOTOR-B2"])
    by_code = {a["code"]: a for a in state["accounts"]}
    assert (by_code["B18-FF"]["category"], by_code["B18-FF"]["area_path"], by_code["B18-FF"]["contact_name"]) == \
        ("2BHK", "B/FF", "Asha")
    assert (by_code["A1-GF"]["category"], by_code["A1-GF"]["area_path"], by_code["A1-GF"]["contact_id"]) == \
        ("3BHK", "B/FF", None)
    assert state["account_motors"] == [["B18-FF", "MOTOR-B2"]]
    assert [row[0] for row in state["flat_meters"]] == ["B18-FF"]
    assert {m["meter_number"]: m["motor_code"] for m in state["meters"]} == {"19152160": None, "82000002": "MOTOR-B2"}
    assert [row[2] for row in state["motor_meters"]] == ["82000002"]
    audit = conn.execute("SELECT details FROM audit_log WHERE action = 'master_data.import'").fetchone()[0]
    assert audit == out
    with pytest.raises(psycopg.errors.NotNullViolation):  # an area path nobody created: nothing is stored
        call(conn, "SELECT meterline_apply_master_data(%s, %s)",
             Jsonb({"flats_new": [{"code": "Q1-GF", "area_path": "Q/GF", "category": "2BHK"}]}), ACTOR)
    assert call(conn, "SELECT count(*) FROM accounts WHERE code = 'Q1-GF'") == 0


def test_master_data_needs_an_electricity_plan_for_new_flats(conn):
    conn.execute("UPDATE tariff_plans SET service = 'water'")
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_apply_master_data(%s, %s)", Jsonb({
            "areas": [{"path": "Q/GF"}], "flats_new": [{"code": "Q1-GF", "area_path": "Q/GF", "category": "2BHK"}]}),
            ACTOR)
    assert e.value.sqlstate == "PT409" and "No electricity tariff plan" in str(e.value)
    assert call(conn, "SELECT count(*) FROM areas WHERE path LIKE 'Q%%'") == 0  # nothing of the chunk is kept


def _reading(conn, meter, value, date, **extra):
    return call(conn, "SELECT meterline_insert_reading(%s, %s, NULL, %s)", Jsonb(
        {"meter_id": meter, "reading_value": value, "reading_date": date, **extra}), ACTOR,
        Jsonb(extra.pop("expect")) if "expect" in extra else None)


def _chain(conn, meter):
    return conn.execute("SELECT reading_value::text, previous_reading_id, consumption::text, status FROM readings "
                        "WHERE meter_id = %s ORDER BY reading_date, id", [meter]).fetchall()


def test_insert_reading_applies_the_chain_rules_under_the_meter_lock(conn):
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) SELECT '19152159', id FROM accounts "
                       "WHERE code = 'B17-FF' RETURNING id")
    a = _reading(conn, meter, "2300", "2026-11-10")["id"]
    b = _reading(conn, meter, "2340", "2026-11-20", consumption="999")["id"]  # consumption is computed here
    c = _reading(conn, meter, "2400", "2026-11-20")["id"]
    assert _chain(conn, meter) == [("2300.00", None, None, "pending"), ("2340.00", a, "40.00", "pending"),
                                   ("2400.00", b, "60.00", "pending")]
    with pytest.raises(psycopg.Error) as e:  # same day, below the day's last reading
        _reading(conn, meter, "2310", "2026-11-20")
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "reading_value"
    assert "below the previous reading 2400.00 kWh of 2026-11-20 (stored earlier the same day)" in str(e.value)
    with pytest.raises(psycopg.Error) as e:  # Python saw another chain: stale, read again
        _reading(conn, meter, "2500", "2026-11-21", expect={"previous_id": b, "following_id": None})
    assert e.value.sqlstate == "PT409" and e.value.diag.message_detail == "stale"
    mid = _reading(conn, meter, "2320", "2026-11-15", expect={"previous_id": a, "following_id": b})["id"]
    assert _chain(conn, meter)[1:3] == [("2320.00", a, "20.00", "pending"), ("2340.00", mid, "20.00", "pending")]
    relink = conn.execute("SELECT details FROM audit_log WHERE action = 'reading.relink'").fetchone()[0]
    assert relink == {"because": f"reading #{mid} of 2026-11-15 was stored before it", "cause_reading_id": mid,
                      "old_previous_reading_id": a, "new_previous_reading_id": mid, "old_consumption": "40.00",
                      "new_consumption": "20.00"}
    call(conn, "SELECT meterline_review_reading(%s, true, %s, NULL, NULL, NULL)", b, ACTOR)
    insert_bill(conn, bill_json(flat(conn, "B17-FF"), last_reading_id=b,
                                covered=[{"reading_id": b, "units": "20", "motor_units": "0"}]))
    with pytest.raises(psycopg.Error) as e:  # before a billed reading
        _reading(conn, meter, "2330", "2026-11-18")
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "reading_date"
    assert f"before reading #{b} of 2026-11-20 (2340.00 kWh), which is already billed" in str(e.value)
    with pytest.raises(psycopg.errors.RaiseException) as e:  # the trigger: a billed consumption never changes
        conn.execute("UPDATE readings SET previous_reading_id = %s, consumption = 40 WHERE id = %s", [a, b])
    assert "READING_BILLED" in str(e.value)
    assert _reading(conn, meter, "2450", "2026-11-21")["created"] and c
    with pytest.raises(psycopg.errors.RaiseException) as e:
        conn.execute("UPDATE readings SET consumption = 21 WHERE id = %s", [mid])
    assert "READING_RELINK" in str(e.value)


def test_rejecting_relinks_the_follower_or_is_refused(conn):
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) SELECT '19152159', id FROM accounts "
                       "WHERE code = 'B17-FF' RETURNING id")
    a, b, c, e_ = (_reading(conn, meter, v, dte)["id"] for v, dte in (
        ("1000", "2026-08-20"), ("1100", "2026-09-20"), ("1250", "2026-10-20"), ("1400", "2026-11-20")))
    call(conn, "SELECT meterline_review_reading(%s, false, %s, 'misread', NULL, NULL)", b, ACTOR)
    assert _chain(conn, meter)[2] == ("1250.00", a, "250.00", "pending")
    call(conn, "SELECT meterline_review_reading(%s, true, %s, NULL, NULL, NULL)", e_, ACTOR)
    insert_bill(conn, bill_json(flat(conn, "B17-FF"), last_reading_id=e_,
                                covered=[{"reading_id": e_, "units": "150", "motor_units": "0"}]))
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_review_reading(%s, false, %s, 'misread', NULL, NULL)", c, ACTOR)
    assert e.value.sqlstate == "PT409"
    assert f"Reading #{c} cannot be rejected: reading #{e_} of 2026-11-20 (1400.00 kWh) is measured from it and " \
           "is already billed" in str(e.value)
    assert _chain(conn, meter)[2][3] == "pending"
    call(conn, "SELECT meterline_review_reading(%s, false, %s, 'not ours', NULL, NULL)", a, ACTOR)
    assert _chain(conn, meter)[2] == ("1250.00", None, None, "pending")  # now the first of the chain


def test_record_and_list_meter_changes(conn):
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) SELECT '19152159', id FROM accounts "
                       "WHERE code = 'B17-FF' RETURNING id")
    _reading(conn, meter, "99950", "2026-10-20")
    change = {"kind": "rollover", "meter_id": meter, "change_date": "2026-11-01", "final_value": "100000",
              "start_value": "0", "new_meter_number": None, "reason": "wrapped"}
    rid = call(conn, "SELECT meterline_record_meter_change(%s, %s, 2000, %s)", Jsonb(change), ACTOR, Jsonb({"kind": "rollover"}))
    assert _chain(conn, meter)[1:] == [("100000.00", 1, "50.00", "approved"), ("0.00", None, None, "approved")]
    assert _reading(conn, meter, "120", "2026-11-20")["created"]
    assert _chain(conn, meter)[3][1:3] == (3, "120.00")
    out = call(conn, "SELECT meterline_list_meter_changes(NULL, 0, 10)")
    assert out["total"] == 1 and out["items"][0]["id"] == rid and out["items"][0]["final_value"] == "100000.00"
    details = call(conn, "SELECT details FROM audit_log WHERE action = 'meter.change'")
    assert details == {"kind": "rollover", "final_reading_id": 2, "start_reading_id": 3, "meter_change_id": rid}
    replace = dict(change, kind="replacement", change_date="2026-11-21", final_value="150", start_value="5",
                   new_meter_number="19159999")
    with pytest.raises(psycopg.Error) as e:  # the meter has a reading after that day: refused
        call(conn, "SELECT meterline_record_meter_change(%s, %s, 2000, NULL)", Jsonb(dict(replace, change_date="2026-11-19")), ACTOR)
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "change_date"
    cid = call(conn, "SELECT meterline_record_meter_change(%s, %s, 2000, NULL)", Jsonb(replace), ACTOR)
    new_meter = call(conn, "SELECT new_meter_id FROM meter_changes WHERE id = %s", cid)
    assert call(conn, "SELECT status FROM meters WHERE id = %s", meter) == "replaced"
    assert _chain(conn, new_meter) == [("5.00", None, None, "approved")]
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_record_meter_change(%s, %s, 2000, NULL)", Jsonb(dict(replace, meter_id=new_meter)), ACTOR)
    assert e.value.diag.message_detail == "new_meter_number"  # 19159999 exists now
    assert call(conn, "SELECT meterline_list_meter_changes(%s, 0, 10)", new_meter)["total"] == 1
    with pytest.raises(psycopg.errors.RaiseException):  # append-only
        conn.execute("DELETE FROM meter_changes")


def _approved(c, meter_id, value, date, consumption):
    return call(c, "SELECT meterline_insert_reading(%s, %s, NULL)", Jsonb(
        {"meter_id": meter_id, "reading_value": value, "reading_date": date, "consumption": consumption,
         "status": "approved"}), ACTOR)["id"]


def test_coverage_reissue_credit_and_their_triggers(conn):
    """A bill covers readings (bill_readings); a re-issue supersedes it, takes over its coverage, and
    credits what was paid on it once; the triggers refuse doubled coverage, changing a superseded bill,
    a made-up credit and editing coverage."""
    f = flat(conn, "B17-FF")
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) VALUES ('19152159', %s) RETURNING id", f)
    r1 = _approved(conn, meter, "1000", "2026-09-20", None)
    r2 = _approved(conn, meter, "1100", "2026-10-20", "100")
    pending = call(conn, "SELECT meterline_insert_reading(%s, %s, NULL)", Jsonb(
        {"meter_id": meter, "reading_value": "1200", "reading_date": "2026-11-20", "consumption": "100"}), ACTOR)["id"]
    chain = call(conn, "SELECT meterline_coverage_chain(%s, %s, NULL)", f, r2)
    assert [(c["reading_id"], c["covered_by"]) for c in chain] == [(r1, None), (r2, None)]
    covered = [{"reading_id": r1, "units": "0", "motor_units": "0"}, {"reading_id": r2, "units": "100", "motor_units": "0"}]
    first = insert_bill(conn, bill_json(f, last_reading_id=r2, first_reading_id=r1, covered=covered))
    # r1 is billed now: the chain of r2 starts after it (r2 itself is the bill's too).
    assert [(c["reading_id"], c["covered_by"]) for c in call(conn, "SELECT meterline_coverage_chain(%s, %s, NULL)",
                                                             f, r2)] == [(r2, first["id"])]
    assert [c["reading_id"] for c in call(conn, "SELECT meterline_coverage_chain(%s, %s, %s)", f, r2, first["id"])] \
        == [r1, r2]  # as a re-issue of that bill would see it
    pay(conn, first["id"], "674", "0", "pending", "674", "partially_paid")
    second = insert_bill(conn, bill_json(f, reissue_of=first["id"], replaced_paid="674.00", last_reading_id=r2,
                                         first_reading_id=r1, covered=covered, credit_paid_on="2026-11-22"))
    assert conn.execute("SELECT status, superseded_by, amount_paid FROM bills WHERE id = %s", [first["id"]]).fetchone() \
        == ("superseded", second["id"], D("674.00"))
    assert conn.execute("SELECT status, amount_paid FROM bills WHERE id = %s", [second["id"]]).fetchone() == \
        ("partially_paid", D("674.00"))
    assert conn.execute("SELECT amount, method, credit_from_bill FROM payments WHERE bill_id = %s",
                        [second["id"]]).fetchall() == [(D("674.00"), "credit", first["id"])]
    assert conn.execute("SELECT bill_id, superseded_by FROM bill_readings WHERE reading_id = %s ORDER BY id",
                        [r2]).fetchall() == [(first["id"], second["id"]), (second["id"], None)]
    third = insert_bill(conn, bill_json(f, start="2026-08-01", end="2026-08-31"))["id"]
    for sql, args, word in [
        # A second current cover: the partial unique index refuses it first on PostgreSQL.
        ("INSERT INTO bill_readings (bill_id, reading_id, units) VALUES (%s, %s, 0)", [third, r2],
         "uq_bill_readings_current_reading"),
        ("INSERT INTO bill_readings (bill_id, reading_id, units) VALUES (%s, %s, 0)", [third, pending],
         "BILL_READING_INVALID"),
        ("UPDATE bills SET status = 'pending' WHERE id = %s", [first["id"]], "BILL_SUPERSEDED"),
        ("UPDATE bills SET status = 'superseded' WHERE id = %s", [third], "BILL_SUPERSEDED"),
        ("INSERT INTO payments (bill_id, amount, paid_on, method, credit_from_bill) VALUES (%s, 1, '2026-11-22', "
         "'credit', %s)", [third, first["id"]], "CREDIT_INVALID"),
        ("DELETE FROM bill_readings WHERE bill_id = %s", [second["id"]], "APPEND_ONLY"),
        ("UPDATE bill_readings SET units = 1 WHERE bill_id = %s", [second["id"]], "APPEND_ONLY"),
    ]:
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql, args)
        assert word in str(e.value), sql
    checks = call(conn, "SELECT meterline_billing_checks(5)")
    assert {k: v["count"] for k, v in checks.items()} == {
        "uncovered_readings": 0, "double_covered": 0, "units_mismatch": 0, "balance_mismatch": 0,
        "lines_mismatch": 3, "totals_mismatch": 0}  # the three bills made by hand here carry no lines: the check sees that
    assert {x["bill_id"] for x in checks["lines_mismatch"]["first"]} == {first["id"], second["id"], third}


def test_run_record_counts_the_bills_it_stored(conn):
    f = flat(conn, "B17-FF")
    run = call(conn, "SELECT meterline_start_bill_run('2026-10-01', '2026-10-31', '2026-11-15', %s)", ACTOR)
    call(conn, "SELECT meterline_insert_bill_batch(%s, %s)", Jsonb([bill_json(f, bill_run_id=run)]), ACTOR)
    assert call(conn, "SELECT meterline_bill_run_totals(%s)", run) == {"created": 1, "total_amount": "2674.00"}
    call(conn, "SELECT meterline_finish_bill_run(%s, 'failed', 0, 0, 'killed')", run)
    assert conn.execute("SELECT status, created_count, total_amount FROM bill_runs WHERE id = %s", [run]).fetchone() \
        == ("failed", 1, D("2674.00"))


def test_bill_numbers_are_taken_in_order_given_back_on_rollback_and_fixed(conn):
    """meterline_take_bill_numbers reserves N at once (returns the last), a rolled-back transaction
    gives its numbers back, the format pads to six digits, the default series is the utility's short
    code and this year; a bill's number never changes and a counter never goes down."""
    year = dt.datetime.now(dt.timezone.utc).year
    assert call(conn, "SELECT meterline_default_bill_series()") == f"BC-{year}"
    assert call(conn, "SELECT meterline_take_bill_numbers('T-2026', 1)") == 1
    assert call(conn, "SELECT meterline_take_bill_numbers('T-2026', 5)") == 6  # 2..6 reserved in one statement
    conn.execute("BEGIN")
    assert call(conn, "SELECT meterline_take_bill_numbers('T-2026', 3)") == 9
    conn.execute("ROLLBACK")  # a failed run: its numbers go back, no gap
    assert call(conn, "SELECT meterline_take_bill_numbers('T-2026', 1)") == 7
    assert call(conn, "SELECT meterline_format_bill_number('T-2026', 7)") == "T-2026-000007"
    assert call(conn, "SELECT meterline_format_bill_number('T-2026', 1234567)") == "T-2026-1234567"
    with pytest.raises(psycopg.Error, match="BILL_NUMBER_SERIES"):
        conn.execute("UPDATE bill_number_series SET last_number = 2 WHERE series = 'T-2026'")
    with pytest.raises(psycopg.Error, match="BILL_NUMBER_SERIES"):
        conn.execute("DELETE FROM bill_number_series WHERE series = 'T-2026'")
    bill = insert_bill(conn, bill_json(flat(conn, "B17-FF")))
    number = call(conn, "SELECT bill_number FROM bills WHERE id = %s", bill["id"])
    assert number == f"BC-{year}-000001"
    with pytest.raises(psycopg.Error, match="BILL_NUMBER_FIXED"):
        conn.execute("UPDATE bills SET bill_number = 'X-1' WHERE id = %s", [bill["id"]])


def test_psid_in_sql_is_the_python_psid(conn):
    from services.billing.psid import make_psid

    for bill_id, end in ((1, "2026-10-31"), (123456, "2026-01-31"), (9_999_999_999, "2030-12-31")):
        assert call(conn, "SELECT meterline_psid(%s, %s::date)", bill_id, end) == make_psid(
            bill_id, dt.date.fromisoformat(end))


def test_staff_scope_header_switches_only_the_service_role_to_meterline_staff(conn):
    """meterline_pre_request: with the header, a service-role request reads as meterline_staff (row level
    security then shows only the scope's areas); another role sending the header is refused; the
    scope's areas are the paths' subtrees ("B" takes "B" and "B/...")."""
    conn.execute("SELECT set_config('request.headers', %s, false)", [json.dumps({"x-meterline-scope": '["B"]'})])
    ids = call(conn, "SELECT meterline_scope_area_ids()")
    assert ids == [call(conn, "SELECT id FROM areas WHERE path = 'B'")]
    conn.execute("BEGIN")
    conn.execute("SELECT meterline_pre_request()")
    assert call(conn, "SELECT current_user") == "meterline_staff"
    assert call(conn, "SELECT meterline_scope_probe()->>'role'") == "meterline_staff"
    assert [r[0] for r in conn.execute("SELECT code FROM accounts ORDER BY code").fetchall()] == ["B17-FF"]
    conn.execute("ROLLBACK")
    conn.execute("RESET ROLE")
    conn.execute("SET ROLE meterline_staff")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT meterline_pre_request()")
    conn.execute("SET ROLE service_role")
    conn.execute("SELECT set_config('request.headers', '{}', false)")


def test_user_areas_bank_files_reports_and_bulk_functions(conn):
    """The municipal functions' SQL (their behaviour is the contract suite's, on the supabase backend:
    tests/contract/test_scopes.py, test_bank_files.py, test_reports.py, test_bulk.py)."""
    actor = Jsonb({"user_id": None, "username": "sql-test", "client": None})
    uid = call(conn, "INSERT INTO users (username, role) VALUES ('agent9', 'agent') RETURNING id")
    area_b = call(conn, "SELECT id FROM areas WHERE path = 'B'")
    conn.execute("SELECT meterline_set_user_areas(%s, %s, %s)", [uid, [area_b, area_b], actor])
    assert [a["path"] for a in call(conn, "SELECT meterline_user_areas(%s)", uid)] == ["B"]
    with pytest.raises(psycopg.Error, match="Area 999999 does not exist"):
        conn.execute("SELECT meterline_set_user_areas(%s, %s, %s)", [uid, [999_999], actor])
    row = {"row_no": 2, "psid": "14261000000000017", "transaction_id": "T1", "amount": "10.00", "fine": "0",
           "paid_on": "2026-11-10", "paid_time": "10:00:00", "outcome": "refused_unknown", "reason": "no bill",
           "dedupe_key": "k"}
    file_ = {"file_name": "f.csv", "sha256": "ab" * 32, "row_count": 1, "matched_count": 0, "duplicate_count": 0,
             "refused_count": 1, "matched_amount": "0", "duplicate_amount": "0", "refused_amount": "10.00"}
    fid = call(conn, "SELECT meterline_record_bank_file(%s, %s, %s)", Jsonb(file_), Jsonb([row]), actor)
    assert call(conn, "SELECT count(*) FROM bank_payments WHERE bank_file_id = %s", fid) == 1
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("SELECT meterline_record_bank_file(%s, %s, %s)", [Jsonb(file_), Jsonb([row]), actor])
    assert call(conn, "SELECT meterline_collection_report('2026-10-01', '2026-10-31', true)") == []
    assert call(conn, "SELECT meterline_aging_report('2026-11-22', false)") == []
    ids = [flat(conn, "B17-FF"), flat(conn, "A1-GF")]
    assert call(conn, "SELECT meterline_set_accounts_active(%s, false, 'test', %s)", ids, actor) == 2
    assert call(conn, "SELECT meterline_set_accounts_active(%s, false, 'test', %s)", ids, actor) == 0


def test_survey_and_analytics_functions(conn):
    """The survey import and analytics functions' SQL (their behaviour is the contract suite's, on the
    supabase backend: tests/contract/test_survey_import.py, test_analytics.py)."""
    area_b = call(conn, "SELECT id FROM areas WHERE path = 'B'")
    unit = {"code": "SP-9", "area_id": area_b, "billing_name": "Ali", "category": "Small", "account_type": "Bakery",
            "is_active": True, "billing_address": "Bazar", "gps_lat": "31.1", "gps_lon": "74.4",
            "billing_mobile": "+923001234567", "surveyor_name": "Asif", "surveyed_at": "2026-03-14T05:32:00+00:00",
            "survey_name": "Ali", "survey_mobile": None, "survey_address": None, "house_type": None,
            "water_connection": None, "size_marla": "3.5", "photo_ref": None, "gps_text": None, "unit_type": "Bakery",
            "size_category": "Small", "connect_plan_id": IDS["plan"], "connect_from": "2026-03-01",
            "service": "electricity"}
    plan = {"inserts": [unit], "updates": [], "history": [], "counts": {"created": 1, "updated": 0, "unchanged": 0,
                                                                          "history": 0}}
    assert call(conn, "SELECT meterline_apply_survey(%s, 'f.csv', %s)", Jsonb(plan), ACTOR)["created"] == 1
    (state,) = call(conn, "SELECT meterline_survey_state(%s)", ["SP-9"])
    assert (state["billing_mobile"], state["size_marla"], state["unit_type"]) == ("+923001234567", "3.50", "Bakery")
    update = {**unit, "account_id": state["account_id"], "contact_id": state["contact_id"], "billing_name": "Bilal"}
    plan = {"inserts": [], "updates": [update], "counts": {"created": 0, "updated": 1, "unchanged": 0, "history": 1},
            "history": [{"account_id": state["account_id"], "field": "billing_name", "old_value": "Ali",
                         "new_value": "Bilal"}]}
    conn.execute("SELECT meterline_apply_survey(%s, 'g.csv', %s)", [Jsonb(plan), ACTOR])
    assert call(conn, "SELECT name FROM contacts WHERE id = %s", state["contact_id"]) == "Bilal"
    assert call(conn, "SELECT new_value FROM account_history WHERE account_id = %s", state["account_id"]) == "Bilal"
    rows = call(conn, "SELECT meterline_consumer_analytics('2025-12-01', '2026-11-22', true)")
    assert {r["area_path"]: r["active"] for r in rows} == {"A": 1, "B": 2, "C": 1}
    uid = call(conn, "INSERT INTO users (username, role) VALUES ('agent8', 'agent') RETURNING id")
    conn.execute("INSERT INTO user_areas (user_id, area_id) VALUES (%s, %s)", [uid, area_b])
    assert call(conn, "SELECT meterline_staff_performance('2026-10-01', '2026-10-31')") == []  # no bills yet
    assert call(conn, "SELECT count(*) FROM meterline_staff_area_map()") == 1
    assert call(conn, "SELECT paths FROM meterline_staff_area_paths()") == ["B"]


def test_the_archive_keeps_a_bill_in_one_place(conn):
    """Issue 14's guards in the Supabase schema: a bill leaves the live table only with its copy in the
    archive, the copy is never changed and leaves only once the bill is back, a restored bill is not a new
    one (no lock, no summary row twice), and a new bill for an archived period is refused."""
    f = flat(conn, "B17-FF")
    bill = insert_bill(conn, bill_json(f))["id"]
    with pytest.raises(psycopg.Error, match="BILL_IMMUTABLE"):
        conn.execute("DELETE FROM bills WHERE id = %s", [bill])
    with pytest.raises(psycopg.Error, match="ARCHIVE_COPY"):  # a copy of a row that is not live
        conn.execute("INSERT INTO archived_bill_lines (id, bill_id, seq, code, label, amount) "
                     "VALUES (999999, %s, 99, 'x', 'x', 1)", [bill])
    totals = conn.execute("SELECT bills, due FROM bill_month_totals WHERE bill_month = '2026-10'").fetchall()
    with conn.transaction():
        conn.execute("INSERT INTO archived_bill_lines SELECT * FROM bill_lines WHERE bill_id = %s", [bill])
        conn.execute("INSERT INTO archived_bill_seals SELECT * FROM bill_seals WHERE bill_id = %s", [bill])
        conn.execute("INSERT INTO archived_bills SELECT * FROM bills WHERE id = %s", [bill])
        assert call(conn, "SELECT meterline_in_archive('bills', %s)", bill) is True
        conn.execute("DELETE FROM bill_seals WHERE bill_id = %s", [bill])
        conn.execute("DELETE FROM bill_lines WHERE bill_id = %s", [bill])
        conn.execute("DELETE FROM bills WHERE id = %s", [bill])
    assert conn.execute("SELECT bills, due FROM bill_month_totals WHERE bill_month = '2026-10'").fetchall() == totals
    with pytest.raises(psycopg.Error, match="BILL_ARCHIVED"):
        insert_bill(conn, bill_json(f))
    with pytest.raises(psycopg.Error, match="ARCHIVE_COPY"):
        conn.execute("UPDATE archived_bills SET total_amount = 1 WHERE id = %s", [bill])
    with pytest.raises(psycopg.Error, match="ARCHIVE_COPY"):  # its live row is not back
        conn.execute("DELETE FROM archived_bills WHERE id = %s", [bill])
    conn.execute("INSERT INTO period_locks (month, reason, locked_by) VALUES ('2026-10', 'closed', 'test')")
    with conn.transaction():  # the restore: the bill as issued, in a locked month, counted once
        conn.execute("INSERT INTO bills SELECT * FROM archived_bills WHERE id = %s", [bill])
        conn.execute("INSERT INTO bill_lines SELECT * FROM archived_bill_lines WHERE bill_id = %s", [bill])
        conn.execute("INSERT INTO bill_seals SELECT * FROM archived_bill_seals WHERE bill_id = %s", [bill])
        conn.execute("DELETE FROM archived_bill_seals WHERE bill_id = %s", [bill])
        conn.execute("DELETE FROM archived_bill_lines WHERE bill_id = %s", [bill])
        conn.execute("DELETE FROM archived_bills WHERE id = %s", [bill])
    assert conn.execute("SELECT bills, due FROM bill_month_totals WHERE bill_month = '2026-10'").fetchall() == totals
    assert call(conn, "SELECT count(*) FROM archived_bills") == 0


def test_every_function_is_tested_here():
    """A new /rpc function needs a test in this file (the list below is checked against the schema)."""
    import re

    from tests.supabase.pgutil import SCHEMA_SQL

    tested = {
        "insert_bill", "insert_bill_batch", "apply_payment", "settle_in_full", "mark_overdue", "probe_lock",
        "insert_reading", "review_reading", "claim_job_run", "add_period_lock", "dashboard", "monthly_series",
        "approve_readings", "set_reading_photo_url", "set_reading_ai_opinion", "start_bill_run", "bill_run_candidates",
        "count_run_skips", "set_bill_status", "set_payment_link", "create_user", "update_user", "apply_master_data",
        "master_data_state", "schema_version", "record_login_failure", "reserve_login_attempt",
        "record_login_success", "record_meter_change", "list_meter_changes",
        "coverage_chain", "bill_run_totals", "finish_bill_run", "billing_checks",
    }
    tested |= {"stage_master_data", "apply_staged_master_data"}
    tested |= {"save_utility_settings", "ensure_areas", "save_tariff_plan", "usage_totals"}
    tested |= {"take_bill_numbers", "format_bill_number", "default_bill_series"}
    tested |= {"psid", "pre_request", "scope_area_ids", "scope_probe", "set_user_areas", "user_areas",
               "record_bank_file", "collection_report", "aging_report", "set_accounts_active"}
    tested |= {"store_usage", "usage_billed_to", "usage_months", "anomaly_counts", "review_anomaly", "update_contact",
               "detect_usage_anomalies"}
    tested |= {"survey_state", "apply_survey", "consumer_analytics", "staff_performance", "staff_area_map",
               "staff_area_paths"}
    # issue 15's rpcs: exercised through the REST backend by tests/contract/test_field_ops.py (every backend)
    tested |= {"create_visit", "review_visit", "visits_per_agent", "create_ticket", "review_ticket", "ticket_counts",
               "add_ticket_comment", "area_staff"}
    tested |= {"record_photo_print", "photo_candidates"}  # issue 20 (also through tests/contract/test_photo_findings.py)
    # issue 20's chain: called by the REST backend and checked by bill_chain.verify on the database behind it
    # (tests/supabase/test_chain_rest.py, tests/contract/test_bill_chain_contract.py)
    tested |= {"seal_bills", "unsealed_bills", "bill_chain_head"}
    tested |= {"undo_review"}  # test_undo_review_checks_a_legacy_reading_by_value_and_relinks_its_follower
    helpers = {"audit", "check_not_locked", "not_found", "conflict", "invalid", "view_names",
               "reading_is_billed", "relink_reading", "check_reading_value"}
    helpers |= {"apply_master_changes", "wanted_areas", "area_subtree"}
    helpers |= {"verhoeff", "scope_paths", "scope_shown_area_ids", "scope_account_ids", "field_decide"}
    helpers |= {"bill_totals_in_scope", "hundredths"}  # the reports' summary rows (through dashboard and the reports)
    defined = set(re.findall(r"CREATE OR REPLACE FUNCTION meterline_([a-z_]+)\(", SCHEMA_SQL.read_text()))
    trigger_functions = {"bills_period_lock", "bills_immutable", "readings_immutable", "append_only",
                         "bills_superseded", "bills_release_coverage", "bill_readings_guard", "bill_readings_inserted",
                         "payments_credit"}
    trigger_functions |= {"no_truncate", "period_locks_month_format"}
    trigger_functions |= {"bills_number_fixed", "bill_number_series_up"}
    trigger_functions |= {"field_visits_review_only", "tickets_review_only"}
    trigger_functions |= {"readings_undo_review"}  # the review-undo guard (tests/contract/test_review_undo.py)
    trigger_functions |= {"bill_totals"}  # the summary rows (tests/test_bill_totals.py)
    trigger_functions |= {"archive_copy", "bills_not_archived"}  # the bill archive (issue 14)
    helpers |= {"in_archive"}  # test_the_archive_keeps_a_bill_in_one_place
    assert defined - trigger_functions - helpers == tested


def test_staged_master_data_applies_all_parts_in_one_transaction_or_none(conn):
    """A big import: parts staged (nothing changes), then applied in order by one call; a missing
    part or a failing part applies nothing."""
    import uuid

    part1 = {"areas": [{"path": "Q", "name": "Block Q"}, {"path": "Q/GF", "name": "Ground Floor"}],
             "flats_new": [{"code": "Q1-GF", "area_path": "Q/GF", "category": "2BHK"}]}
    part2 = {"flats_new": [{"code": "Q2-GF", "area_path": "Q/GF", "category": "2BHK"}],
             "meters_new": [{"meter_number": "M-1", "account_code": "Q1-GF", "motor_code": None}]}
    accounts = "SELECT count(*) FROM accounts WHERE code LIKE 'Q%%'"
    imp = str(uuid.uuid4())
    call(conn, "SELECT meterline_stage_master_data(%s, 1, %s)", imp, Jsonb(part1))
    assert call(conn, accounts) == 0  # staged: nothing imported yet
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_apply_staged_master_data(%s, 2, %s)", imp, ACTOR)
    assert "Only 1 of the 2 parts" in str(e.value) and call(conn, accounts) == 0
    call(conn, "SELECT meterline_stage_master_data(%s, 2, %s)", imp, Jsonb(part2))
    out = call(conn, "SELECT meterline_apply_staged_master_data(%s, 2, %s)", imp, ACTOR)
    assert out == {"areas": 2, "flats_new": 2, "meters_new": 1}
    assert call(conn, accounts) == 2 and call(conn, "SELECT count(*) FROM master_data_staging") == 0
    assert call(conn, "SELECT count(*) FROM service_connections WHERE account_id IN (SELECT id FROM accounts "
                      "WHERE code LIKE 'Q%%')") == 2
    assert call(conn, "SELECT count(*) FROM audit_log WHERE action = 'master_data.import'") == 1
    bad = str(uuid.uuid4())  # part 2 takes a meter number that exists: part 1 is not kept either
    call(conn, "SELECT meterline_stage_master_data(%s, 1, %s)", bad,
         Jsonb({"areas": [{"path": "R/GF"}], "flats_new": [{"code": "Q3-GF", "area_path": "R/GF", "category": "2BHK"}]}))
    call(conn, "SELECT meterline_stage_master_data(%s, 2, %s)", bad,
         Jsonb({"meters_new": [{"meter_number": "M-1", "account_code": "Q3-GF", "motor_code": None}]}))
    with pytest.raises(psycopg.errors.UniqueViolation):
        call(conn, "SELECT meterline_apply_staged_master_data(%s, 2, %s)", bad, ACTOR)
    assert call(conn, accounts) == 2 and call(conn, "SELECT count(*) FROM areas WHERE path LIKE 'R%%'") == 0


# ---- the three-utility core: settings, areas, plans, usage, bill lines, quantity sources ----------

def test_save_utility_settings_inserts_then_updates_what_changed(conn):
    from services.accounts.utility import TEMPLATES

    row = TEMPLATES["society"].as_row()
    first = call(conn, "SELECT meterline_save_utility_settings(%s, %s)", Jsonb(row | {"id": 7, "bogus": 1}), ACTOR)
    assert set(first) == set(row) | {"updated_by"} and first["updated_by"] == "sql-test"
    stored = conn.execute("SELECT id, template, name, area_levels, billing_day FROM utility_settings").fetchall()
    assert stored == [(1, "society", row["name"], list(row["area_levels"]), row["billing_day"])]
    changed = call(conn, "SELECT meterline_save_utility_settings(%s, %s)",
                   Jsonb(row | {"name": "Blessings City Phase 2", "due_days": 20}), ACTOR)
    assert changed == {"name": "Blessings City Phase 2", "due_days": 20}  # updated_by is the same actor
    assert call(conn, "SELECT name FROM utility_settings") == "Blessings City Phase 2"
    with pytest.raises(psycopg.errors.CheckViolation):  # the table's rules hold: billing_day 1..28
        call(conn, "SELECT meterline_save_utility_settings(%s, %s)", Jsonb(row | {"billing_day": 31}), ACTOR)
    audit = conn.execute("SELECT entity_type, entity_id, details FROM audit_log WHERE action = 'utility.settings' "
                         "ORDER BY id").fetchall()
    assert [a[:2] for a in audit] == [("utility", "1"), ("utility", "1")] and audit[1][2] == changed


def test_ensure_areas_creates_missing_areas_and_their_parents_once(conn):
    ids = call(conn, "SELECT meterline_ensure_areas(%s, %s)", Jsonb([
        {"path": "LHR/UC_12", "name": "Union Council 12", "kind": "urban", "sort_order": 3},
        {"path": "LHR", "name": "Lahore"}, {"path": "B/FF"}]), ACTOR)
    assert set(ids) == {"LHR", "LHR/UC_12", "B", "B/FF"} and ids["B"] == call(conn, "SELECT id FROM areas WHERE path = 'B'")
    rows = conn.execute("SELECT path, parent_id, level, code, name, kind, sort_order FROM areas "
                        "WHERE path IN ('LHR', 'LHR/UC_12', 'B/FF') ORDER BY path").fetchall()
    assert rows == [("B/FF", ids["B"], 2, "FF", "FF", None, 0), ("LHR", None, 1, "LHR", "Lahore", None, 0),
                    ("LHR/UC_12", ids["LHR"], 2, "UC_12", "Union Council 12", "urban", 3)]
    again = call(conn, "SELECT meterline_ensure_areas(%s, %s)", Jsonb([{"path": "LHR/UC_12", "name": "renamed"}]), ACTOR)
    assert again == {"LHR": ids["LHR"], "LHR/UC_12": ids["LHR/UC_12"]}
    assert call(conn, "SELECT name FROM areas WHERE path = 'LHR/UC_12'") == "Union Council 12"  # existing: untouched
    assert conn.execute("SELECT details FROM audit_log WHERE action = 'area.create'").fetchall() == [({"created": 3},)]
    # The subtree helper is an exact prefix test: UC_12's underscore is not a wildcard, LHRX is not under LHR.
    call(conn, "SELECT meterline_ensure_areas(%s, %s)", Jsonb([{"path": "LHRX/UCX12"}, {"path": "LHR/UC_12/W1"}]), ACTOR)
    under = conn.execute("SELECT a.path FROM areas a WHERE a.id IN (SELECT meterline_area_subtree(%s)) ORDER BY 1",
                         [ids["LHR"]]).fetchall()
    assert under == [("LHR",), ("LHR/UC_12",), ("LHR/UC_12/W1",)]


def test_save_tariff_plan_appends_versions_and_refuses_changed_terms(conn):
    from services.config import ROOT
    from services.tariffs import TariffPlan

    plan = TariffPlan.load(ROOT / "data" / "tariffs" / "water.toml").to_dict()
    pid = call(conn, "SELECT meterline_save_tariff_plan(%s, %s)", Jsonb(plan), ACTOR)
    versions = conn.execute("SELECT version, effective_from::text, params, created_by_name FROM tariff_plan_versions "
                            "WHERE plan_id = %s ORDER BY version", [pid]).fetchall()
    assert [(v[0], v[1], v[3]) for v in versions] == [(x["version"], x["effective_from"], "sql-test")
                                                      for x in plan["versions"]]
    assert [v[2] for v in versions] == [x["params"] for x in plan["versions"]]
    assert call(conn, "SELECT meterline_save_tariff_plan(%s, %s)", Jsonb(plan), ACTOR) == pid  # nothing new
    later = dict(plan["versions"][-1], version=plan["versions"][-1]["version"] + 1, effective_from="2030-01-01")
    assert call(conn, "SELECT meterline_save_tariff_plan(%s, %s)", Jsonb(dict(plan, versions=plan["versions"] + [later])),
                ACTOR) == pid
    changed = [dict(plan["versions"][0], effective_from="2019-01-01")] + [later | {"version": later["version"] + 1,
                                                                                  "effective_from": "2031-01-01"}]
    with pytest.raises(psycopg.Error) as e:  # a stored version with other terms: refused, the new one not kept
        call(conn, "SELECT meterline_save_tariff_plan(%s, %s)", Jsonb(dict(plan, versions=changed)), ACTOR)
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "version"
    assert call(conn, "SELECT count(*) FROM tariff_plan_versions WHERE plan_id = %s", pid) == len(plan["versions"]) + 1
    actions = conn.execute("SELECT action, details->>'version' FROM audit_log WHERE entity_id = %s ORDER BY id",
                           [str(pid)]).fetchall()
    assert actions == [("tariff_plan.create", None)] + [("tariff_plan.version", str(v["version"]))
                                                        for v in plan["versions"] + [later]]


def test_usage_totals_sum_in_the_database(conn):
    b17, a1 = flat(conn, "B17-FF"), flat(conn, "A1-GF")
    conn.execute("INSERT INTO daily_usage (account_id, usage_date, quantity) SELECT %s, d, 1.25 "
                 "FROM generate_series('2026-09-28'::date, '2026-10-31'::date, interval '1 day') AS d", [b17])
    conn.execute("INSERT INTO daily_usage (account_id, usage_date, quantity) VALUES (%s, '2026-10-05', 3.10)", [a1])
    out = call(conn, "SELECT meterline_usage_totals(%s, '2026-10-01', '2026-10-31')", [b17, a1, flat(conn, "C14-SF")])
    assert out == [{"account_id": b17, "first_date": "2026-10-01", "last_date": "2026-10-31", "days": 31,
                    "quantity": "38.75"},
                   {"account_id": a1, "first_date": "2026-10-05", "last_date": "2026-10-05", "days": 1,
                    "quantity": "3.10"}]


def test_water_functions_store_usage_once_detect_review_and_edit_contacts(conn):
    """As the service role: usage stored all or nothing (a day twice is refused, nothing stored),
    summed per month, detection adds each anomaly once, the review is recorded once, a contact edit
    is audited with old and new values (the contract suite covers the rules through REST)."""
    b17, a1 = flat(conn, "B17-FF"), flat(conn, "A1-GF")
    now = "2026-11-22T10:00:00+00:00"

    def store(rows):
        batch = {"rows": [{"account_id": a, "usage_date": d, "quantity": q} for a, d, q in rows], "readings": []}
        return call(conn, "SELECT meterline_store_usage(%s, %s, %s, %s, %s)", Jsonb(batch), ACTOR,
                    Jsonb({"rows": len(rows)}), Jsonb([]), now)

    history = [(b17, (dt.date(2026, 9, 1) + dt.timedelta(days=i)).isoformat(), "1.00") for i in range(30)]
    assert store(history + [(b17, "2026-10-01", "9.00"), (a1, "2026-10-01", "0.50")]) == 32
    with pytest.raises(psycopg.Error) as e:
        store([(a1, "2026-10-02", "1.00"), (b17, "2026-10-01", "1.00")])
    assert e.value.sqlstate == "PT409" and "B17-FF already has usage for 2026-10-01" in str(e.value)
    assert call(conn, "SELECT count(*) FROM daily_usage WHERE account_id = %s", a1) == 1
    assert call(conn, "SELECT meterline_usage_months(%s, '2026-09-01', '2026-10-31')", b17) == [
        {"month": "2026-09", "days": 30, "quantity": "30.00", "peak": "1.00", "zero_days": 0},
        {"month": "2026-10", "days": 1, "quantity": "9.00", "peak": "9.00", "zero_days": 0}]
    assert call(conn, "SELECT meterline_usage_billed_to(%s)", [b17]) == []
    binds = {"baseline_days": 365, "min_history_days": 28, "k": "2", "robust_threshold": "3.5", "high_factor": "2",
             "high_floor": "1.00", "flow_days": 7, "flow_factor": "1.5", "flow_floor": "0.10", "zero_min_days": 7,
             "zero_min_mean": "0.05", "methods": ["high_read"]}
    found = call(conn, "SELECT meterline_detect_usage_anomalies('2026-10-01', '2026-10-31', %s, %s, %s, %s)",
                 Jsonb(binds), Jsonb({"k": "2"}), ACTOR, now)
    assert found == {"high_read": 1}
    assert call(conn, "SELECT meterline_detect_usage_anomalies('2026-10-01', '2026-10-31', %s, %s, %s, %s)",
                Jsonb(binds), Jsonb({"k": "2"}), ACTOR, now) == {"high_read": 0}
    anomaly = call(conn, "SELECT id FROM usage_anomalies WHERE account_id = %s", b17)
    assert call(conn, "SELECT meterline_anomaly_counts('2026-10-01', '2026-10-31')") == [
        {"period_start": "2026-10-01", "method": "high_read", "accounts": 1, "reviewed": 0}]
    conn.execute("SELECT meterline_review_anomaly(%s, 'leak_confirmed', 'fixed', %s, %s)", [anomaly, ACTOR, now])
    with pytest.raises(psycopg.Error) as e:
        conn.execute("SELECT meterline_review_anomaly(%s, 'genuine', NULL, %s, %s)", [anomaly, ACTOR, now])
    assert e.value.sqlstate == "PT409"
    contact = call(conn, "INSERT INTO contacts (name, phone) VALUES ('R. Rao', '555-0100') RETURNING id")
    conn.execute("SELECT meterline_update_contact(%s, %s, %s)", [contact, Jsonb({"phone": "555-0199"}), ACTOR])
    assert call(conn, "SELECT phone FROM contacts WHERE id = %s", contact) == "555-0199"
    assert call(conn, "SELECT details FROM audit_log WHERE action = 'contact.update'") == {
        "phone": {"old": "555-0100", "new": "555-0199"}}


LINES = [{"seq": 1, "code": "energy", "label": "Energy", "quantity": "100", "unit": "kWh", "rate": "12",
          "amount": "1200.00"},
         {"seq": 2, "code": "fixed", "label": "Fixed charge", "quantity": None, "unit": None, "rate": None,
          "amount": "1474.00"}]


def _lines(c, bill_id):
    return c.execute("SELECT seq, code, label, quantity::text, unit, rate::text, amount::text FROM bill_lines "
                     "WHERE bill_id = %s ORDER BY seq", [bill_id]).fetchall()


def test_bill_lines_are_stored_with_their_bill_single_and_batch(conn):
    b17, a1, c14 = flat(conn, "B17-FF"), flat(conn, "A1-GF"), flat(conn, "C14-SF")
    expect = [(1, "energy", "Energy", "100.00", "kWh", "12.0000", "1200.00"),
              (2, "fixed", "Fixed charge", None, None, None, "1474.00")]
    single = insert_bill(conn, bill_json(b17, lines=LINES))["id"]
    assert _lines(conn, single) == expect
    with pytest.raises(psycopg.Error):  # a line refused (seq taken twice): the bill is not kept either
        insert_bill(conn, bill_json(a1, lines=LINES + [LINES[0]]))
    assert call(conn, "SELECT count(*) FROM bills WHERE account_id = %s", a1) == 0
    # The batch: lines follow their own bill; the stale and the skipped store none.
    sep = insert_bill(conn, bill_json(a1, start="2026-09-01", end="2026-09-30"))["id"]
    out = call(conn, "SELECT meterline_insert_bill_batch(%s, %s)", Jsonb([
        bill_json(b17, lines=LINES),  # billed already: skipped
        bill_json(a1, lines=LINES, carry_forward_bill_ids=[sep]),  # carries 0.00 of 2674.00 open: stale
        bill_json(c14, lines=LINES[:1], total="1200.00"),
        bill_json(c14, start="2026-11-01", end="2026-11-30", lines=LINES[1:], total="1474.00")]), ACTOR)
    assert out.pop("ids") == [r[0] for r in conn.execute("SELECT id FROM bills WHERE account_id = %s ORDER BY id",
                                                          [c14]).fetchall()]
    assert out == {"created": 2, "skipped": 1, "total_amount": "2674.00", "stale": [a1]}
    by_start = dict(conn.execute("SELECT billing_period_start::text, id FROM bills WHERE account_id = %s", [c14]).fetchall())
    assert _lines(conn, by_start["2026-10-01"]) == expect[:1] and _lines(conn, by_start["2026-11-01"]) == expect[1:]
    assert call(conn, "SELECT count(*) FROM bill_lines") == 4


def test_run_candidates_by_quantity_source_service_and_area(conn):
    b17, a1, c14 = flat(conn, "B17-FF"), flat(conn, "A1-GF"), flat(conn, "C14-SF")
    water = call(conn, "INSERT INTO tariff_plans (code, name, kind, service, unit, currency) VALUES "
                       "('water', 'Water', 'tiered_seasonal', 'water', 'CCF', 'USD') RETURNING id")
    conn.execute("INSERT INTO service_connections (account_id, service, tariff_plan_id) VALUES (%s, 'water', %s), "
                 "(%s, 'water', %s), (%s, 'water', %s)", [b17, water, a1, water, c14, water])
    conn.execute("UPDATE accounts SET category = 'residential', account_type = 'residential'")
    conn.execute("UPDATE accounts SET is_active = false WHERE id = %s", [c14])
    conn.execute("INSERT INTO daily_usage (account_id, usage_date, quantity) VALUES (%s, '2026-10-03', 2.5), "
                 "(%s, '2026-10-09', 4), (%s, '2026-09-30', 9), (%s, '2026-10-04', 1)", [b17, b17, a1, c14])
    q = "SELECT meterline_bill_run_candidates('2026-10-01', '2026-10-31', %s, %s, %s, 0, 10)"

    def picked(service, source, area=None):
        out = call(conn, q, service, source, area)
        return [(c["account_code"], c["tariff_plan_id"], c["usage"]) for c in out["candidates"]]

    usage = {"first_date": "2026-10-03", "last_date": "2026-10-09", "days": 2, "quantity": "6.50", "since": "2026-10-01"}
    assert picked("water", "usage") == [("B17-FF", water, usage)]  # A1-GF: Sept 30 only, never billed
    assert picked("water", "none") == [("B17-FF", water, None), ("A1-GF", water, None)]
    assert picked("electricity", "none") == [("B17-FF", IDS["plan"], None), ("A1-GF", IDS["plan"], None)]
    assert picked("water", "none", IDS["area"][a1]) == [("A1-GF", water, None)]
    assert call(conn, q, "water", "none", IDS["area"][a1])["upper"] == a1  # the window is the area's accounts
    conn.execute("UPDATE service_connections SET is_active = false WHERE account_id = %s AND service = 'water'", [a1])
    assert picked("water", "none") == [("B17-FF", water, None)]
    wb = insert_bill(conn, bill_json(b17, service="water", usage_from="2026-10-01", usage_to="2026-10-31"))["id"]
    assert picked("water", "usage") == [] and picked("electricity", "none")[0][0] == "B17-FF"  # per service
    skips = "SELECT meterline_count_run_skips('2026-10-01', '2026-10-31', %s, %s, %s)"
    assert call(conn, skips, "water", "usage", None) == 1 and call(conn, skips, "electricity", "none", None) == 0
    assert call(conn, skips, "water", "usage", IDS["area"][a1]) == 0
    out = call(conn, q, "electricity", "none", None)
    assert out["open_bills"] == []  # the water bill is another service's
    assert call(conn, "SELECT service, usage_from::text FROM bills WHERE id = %s", wb) == "water"
    with pytest.raises(psycopg.Error) as e:
        call(conn, q, "water", "meters", None)
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "source"
    run = call(conn, "SELECT meterline_start_bill_run('2026-10-01', '2026-10-31', '2026-11-15', %s, 'water', %s)",
               ACTOR, IDS["area"][a1])
    assert conn.execute("SELECT service, area_id FROM bill_runs WHERE id = %s", [run]).fetchone() == \
        ("water", IDS["area"][a1])
    assert call(conn, "SELECT details FROM audit_log WHERE action = 'bill_run.start'") == {
        "start": "2026-10-01", "end": "2026-10-31", "due": "2026-11-15", "service": "water", "area_id": IDS["area"][a1]}


def test_photo_prints_are_banded_in_sql_and_the_lookup_applies_the_readers_scope(conn):
    """meterline_record_photo_print cuts the same four bands as services/photo_checks.py and keeps the first
    print of a reading; meterline_photo_candidates finds a near photo by its bands, returns a match on a
    meter outside the scope without its meter, account, reading or photo, nothing for a reading outside
    the scope, and nothing for a customer."""
    from services import photo_checks as pc

    meters = {code: call(conn, "INSERT INTO meters (meter_number, account_id) SELECT %s, id FROM accounts "
                               "WHERE code = %s RETURNING id", num, code)
              for code, num in (("B17-FF", "19152159"), ("A1-GF", "19150001"))}
    first = _reading(conn, meters["B17-FF"], "1000", "2026-10-20")["id"]
    copied = _reading(conn, meters["A1-GF"], "620", "2026-11-20")["id"]
    record = "SELECT meterline_record_photo_print(%s, %s, %s::date, %s, %s::timestamp, %s)"
    conn.execute(record, [first, meters["B17-FF"], "2026-10-20", "c3a5e1f00f1e5a3c", None, "b17.jpg"])
    conn.execute(record, [copied, meters["A1-GF"], "2026-11-20", "c3a5e1f00f1e5a3d", "2026-08-01T09:00:00", "a1.jpg"])
    conn.execute(record, [copied, meters["A1-GF"], "2026-11-20", "0123456789abcdef", None, "again.jpg"])  # kept the first
    assert conn.execute("SELECT band0, band1, band2, band3 FROM photo_hashes WHERE reading_id = %s",
                        [first]).fetchone() == pc.bands("c3a5e1f00f1e5a3c")
    with pytest.raises(psycopg.Error) as e:
        conn.execute(record, [first, meters["B17-FF"], "2026-10-20", "not-a-hash", None, None])
    assert e.value.sqlstate == "PT422" and e.value.diag.message_detail == "phash"

    everything = call(conn, "SELECT meterline_photo_candidates(%s)", copied)
    assert everything["taken_at"] == "2026-08-01T09:00:00" and everything["phash"] == "c3a5e1f00f1e5a3d"
    assert everything["candidates"] == [{"reading_id": first, "meter_id": meters["B17-FF"], "reading_date": "2026-10-20",
                                         "phash": "c3a5e1f00f1e5a3c", "photo_ref": "b17.jpg",
                                         "meter_number": "19152159", "account_code": "B17-FF"}]
    assert call(conn, "SELECT meterline_photo_candidates(%s, 0)", copied)["candidates"] == []  # 1 bit apart

    def as_staff(headers, reading_id):
        conn.execute("BEGIN")
        conn.execute("SELECT set_config('request.headers', %s, true)", [json.dumps(headers)])
        conn.execute("SELECT meterline_pre_request()")
        try:
            return call(conn, "SELECT meterline_photo_candidates(%s)", reading_id)
        finally:
            conn.execute("ROLLBACK")

    block_a = as_staff({"x-meterline-scope": '["A"]'}, copied)
    assert block_a["candidates"] == [{"reading_date": "2026-10-20", "phash": "c3a5e1f00f1e5a3c"}]
    assert as_staff({"x-meterline-scope": '["A"]'}, first) is None  # B17-FF's reading: not block A's
    assert as_staff({"x-meterline-scope": '["B"]'}, first)["candidates"] == [
        {"reading_date": "2026-11-20", "phash": "c3a5e1f00f1e5a3d"}]
    a1 = flat(conn, "A1-GF")
    assert as_staff({"x-meterline-scope": '["A"]', "x-meterline-accounts": f"[{a1}]"}, copied) is None


def test_undo_review_checks_a_legacy_reading_by_value_and_relinks_its_follower(conn):
    """meterline_undo_review (issue 18) on readings stored before readings named their previous one
    (previous_reading_id empty, consumption set): back in place when the last reading before it has
    the value it was measured from; refused (PT409, nothing changed) once one was slotted in."""
    meter = call(conn, "INSERT INTO meters (meter_number, account_id) SELECT '19152159', id FROM accounts "
                       "WHERE code = 'B17-FF' RETURNING id")

    def legacy(value, date, consumption, status, **extra):
        cols = {"meter_id": meter, "reading_value": value, "reading_date": date, "consumption": consumption,
                "status": status, "source": "import", "created_at": f"{date} 10:00+00", **extra}
        return call(conn, f"INSERT INTO readings ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                          "RETURNING id", *cols.values())

    legacy("1000", "2026-08-20", None, "approved")
    b = legacy("1100", "2026-09-20", "100", "rejected", reviewed_at="2026-11-01 10:00+00", rejection_reason="x")
    c = legacy("1250", "2026-10-20", "250", "pending")  # re-measured from the first when b was rejected
    call(conn, "SELECT meterline_undo_review(%s, %s)", b, ACTOR)
    assert _chain(conn, meter)[1:] == [("1100.00", None, "100.00", "pending"), ("1250.00", b, "150.00", "pending")]
    action = conn.execute("SELECT details->>'was' FROM audit_log WHERE action = 'reading.undo_review'").fetchone()[0]
    assert action == "rejected"

    call(conn, "SELECT meterline_review_reading(%s, false, %s, 'misread', NULL, NULL)", b, ACTOR)
    legacy("1050", "2026-09-10", "50", "approved")  # slotted in before it since
    with pytest.raises(psycopg.Error) as e:
        call(conn, "SELECT meterline_undo_review(%s, %s)", b, ACTOR)
    assert e.value.sqlstate == "PT409" and "the meter's readings changed since it was rejected" in str(e.value)
    assert conn.execute("SELECT status FROM readings WHERE id = %s", [b]).fetchone()[0] == "rejected"
    assert c


def test_the_detection_function_builds_baselines_with_the_sql_backends_statement():
    """meterline_detect_usage_anomalies is the SQL backend's detection in PL/pgSQL: its baseline
    statement is services/storage/sql_anomalies._BASELINE_PG with positional parameters, so the two
    cannot drift apart (the contract suite compares both with the reference on a few customers)."""
    import re
    from pathlib import Path

    from services.storage.sql_anomalies import _BASELINE_PG

    text = (Path(__file__).resolve().parents[2] / "database/supabase/80_functions_water.sql").read_text()
    body = text[text.index("FUNCTION meterline_detect_usage_anomalies"):]
    stmt = body[body.index("INSERT INTO usage_baselines"):body.index("$q$ USING v_start, v_end, v_window")]
    want = _BASELINE_PG.replace("{only}", " AND ($6::bigint[] IS NULL OR u.account_id = ANY ($6))")
    for name, n in (("start", 1), ("end", 2), ("window", 3), ("h0", 4), ("h1", 5)):
        want = want.replace(f":{name}", f"${n}")
    assert " ".join(stmt.split()) == " ".join(want.split())
    assert "WITH p AS (SELECT * FROM meterline_detect_period)" in body and not re.search(r"WITH p AS \(\s*SELECT u\.", body)
