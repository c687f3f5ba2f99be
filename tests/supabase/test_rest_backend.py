"""What is particular to the REST backend: request shapes, error translation, retries only when
safe, paging across the 1,000-row cap, exact Decimals, and nothing half-loaded."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import (
    BillCollisionError, BillImmutableError, ConfigurationError, ConflictError, DuplicateError, NotFoundError,
    PeriodLockedError, StorageError, ValidationError,
)
from services.models import AccountFilter, BillFilter, NewBill, ReadingFilter
from tests.factories import ADMIN, admin_user, make_service, make_society, raw_bill
from tests.supabase.harness import ANON_KEY, SERVICE_KEY, start_fake, start_supabase

d = dt.date
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))
TODAY = d(2026, 11, 22)


@pytest.fixture
def rest(request):
    storage, fake = start_supabase(request)
    yield storage, fake
    storage.dispose()


@pytest.fixture
def society_rest(rest):
    storage, fake = rest
    make_society(storage)
    fake.requests.clear()
    return storage, fake, make_service(storage, TODAY)


def new_bill(storage, account="B17-FF", start=d(2026, 10, 1), end=d(2026, 10, 31), total="2674.00"):
    return raw_bill(storage, account, start, end, units=D("100"), total=D(total), pricing_rule="bhk_override",
                    fixed_charge=D("1474"))


def area_id(storage, path):
    return storage.get_area(path=path).id


# ---- request shapes ---------------------------------------------------------------------------
def test_list_request_shape(society_rest):
    storage, fake, db = society_rest
    db.create_bill("B17-FF", *OCT, flat_units=150, motor_units=10)
    fake.requests.clear()
    page = storage.list_bills(BillFilter(period_month="2026-10", search="test own"), offset=0, limit=20)
    assert page.total == 1 and page.items[0].total_amount == D("3394.00")
    (req,) = fake.calls("GET", "/rest/v1/bill_details")
    params = dict(req.params)
    assert req.headers["apikey"] == SERVICE_KEY and req.headers["authorization"] == f"Bearer {SERVICE_KEY}"
    assert "total_amount::text" in params["select"] and "rate_per_unit::text" in params["select"]
    assert params["order"] == "billing_period_start.desc,id.desc"
    assert (params["offset"], params["limit"]) == ("0", "20")
    assert params["or"] == '(account_code.like."TEST OWN*",contact_name.ilike."*test own*")'
    assert [v for k, v in req.params if k == "billing_period_start"] == ["gte.2026-10-01", "lte.2026-10-31"]
    assert "count=exact" in req.headers["prefer"]


def test_area_filters_are_one_filter_on_the_views(society_rest):
    """"Under an area" is a filter on the view's area_path (the area itself or a path below it),
    beside the search's own or=(...): PostgREST ANDs the two."""
    storage, fake, db = society_rest
    db.create_bill("B17-FF", *OCT, flat_units=150)
    fake.requests.clear()
    assert storage.list_bills(BillFilter(area_id=area_id(storage, "B"), search="B17")).total == 1
    (req,) = fake.calls("GET", "/rest/v1/bill_details")
    assert [v for k, v in req.params if k == "or"] == ['(area_path.eq."B",area_path.like."B/*")',
                                                       '(account_code.like."B17*",contact_name.ilike."*B17*")']
    assert storage.list_bills(BillFilter(area_id=area_id(storage, "A"))).total == 0
    assert storage.list_bills(BillFilter(area_id=987654)).total == 0  # no such area: nothing
    fake.requests.clear()
    page = storage.list_accounts(AccountFilter(area_id=area_id(storage, "B/FF"), search="test_"))
    assert page.total == 0  # the underscore is a character here, not LIKE's wildcard
    (req,) = fake.calls("GET", "/rest/v1/account_details")
    assert [v for k, v in req.params if k == "or"][1] == \
        '(code.like."TEST\\\\_*",name.ilike."*test\\\\_*",contact_name.ilike."*test\\\\_*")'
    assert [a.code for a in storage.list_accounts(AccountFilter(area_id=area_id(storage, "B"), search="test")).items] \
        == ["B17-FF"]
    assert storage.list_readings(ReadingFilter(status=None, area_id=987654)).total == 0


def test_rpc_sends_decimals_as_exact_strings(society_rest):
    storage, fake, db = society_rest
    db.create_bill("C14-SF", *OCT, flat_units=D("210.55"))
    (call,) = fake.calls("POST", "/rest/v1/rpc/meterline_insert_bill")
    bill = call.body["p_bill"]
    assert bill["units"] == "210.55" and bill["total_amount"] == "1894.95" and bill["rate_per_unit"] == "9"
    assert call.headers["content-type"].startswith("application/json")
    assert call.body["p_actor"] == {"user_id": None, "username": "system", "client": None}


def test_big_amounts_round_trip_exactly(society_rest):
    storage, fake, db = society_rest
    flat = storage.get_account(code="B17-FF").id
    nb = new_bill(storage, total="987654321012.34")
    bill = storage.insert_bill(NewBill(**{**nb.__dict__, "rate_per_unit": D("12.3457")}), ADMIN)
    assert bill.total_amount == D("987654321012.34") and bill.rate_per_unit == D("12.3457")
    assert storage.open_balance(flat) == (D("987654321012.34"), (bill.id,))


# ---- error translation ---------------------------------------------------------------------------
def test_unique_violation_23505(society_rest):
    storage, fake, db = society_rest
    storage.create_user(username="asha", role="admin", password_hash=None, actor=ADMIN)
    with pytest.raises(DuplicateError) as e:
        storage.create_user(username="asha", role="admin", password_hash=None, actor=ADMIN)
    assert "asha" in str(e.value)
    assert fake.calls("POST", "/rpc/meterline_create_user")[-1].status == 409
    with pytest.raises(DuplicateError) as e:
        storage.bulk_insert("accounts", [{"code": "B17-FF", "area_id": area_id(storage, "B/FF")}])
    assert "B17-FF" in str(e.value)


def test_lock_p0001_names_the_month(society_rest):
    storage, fake, _ = society_rest
    with pytest.raises(PeriodLockedError) as e:
        storage.insert_bill(new_bill(storage, start=d(2025, 11, 1), end=d(2025, 11, 30)), ADMIN)
    assert e.value.month == "2025-11" and "2025-11" in str(e.value)
    assert fake.calls("POST", "/rpc/meterline_insert_bill")[-1].status == 400
    with pytest.raises(PeriodLockedError):
        storage.insert_bill_batch([new_bill(storage, start=d(2025, 11, 1), end=d(2025, 11, 30))], ADMIN)
    assert storage.count_bills_ending_in("2025-11") == 0


def test_immutable_and_append_only_messages(society_rest):
    storage, fake, db = society_rest
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    with pytest.raises(BillImmutableError):
        storage.rest.update("bills", {"total_amount": D("1.00")}, [("eq", "id", bill.id)], what="editing a bill")
    with pytest.raises(ConflictError) as e:
        storage.rest.delete("audit_log", [("gt", "id", 0)], what="deleting the audit log")
    assert "append-only" in str(e.value)
    assert db.get_bill(bill.id).total_amount == bill.total_amount


def test_not_found_conflict_and_validation_from_functions(society_rest):
    storage, fake, db = society_rest
    with pytest.raises(NotFoundError):
        storage.review_reading(987654, approve=True, actor=ADMIN)
    with pytest.raises(NotFoundError):
        storage.set_payment_link(987654, "plink_1", "https://example.invalid/p", ADMIN)
    with pytest.raises(ValidationError) as e:
        storage.rest.rpc("meterline_review_reading", {"p_id": 1, "p_approve": False, "p_actor": None, "p_reason": " ",
                                                      "p_approved_units": None, "p_details": None}, what="rejecting")
    assert e.value.field == "reason" and e.value.fix
    one_day = (d(2026, 10, 31), d(2026, 10, 31), d(2026, 11, 15))
    first = db.create_bill("B17-FF", *one_day, flat_units=10)
    with pytest.raises(BillCollisionError) as e:
        db.create_bill("B17-FF", *one_day, flat_units=11)
    assert e.value.existing_bill_id == first.id


def test_check_and_foreign_key_violations(society_rest):
    storage, fake, db = society_rest
    with pytest.raises(ValidationError) as e:
        storage.create_user(username="plain", role="admin", password_hash="hunter2hunter2", actor=ADMIN)
    assert e.value.field == "password_hash"
    with pytest.raises(ConflictError):
        storage.bulk_insert("accounts", [{"code": "Z1-GF", "area_id": 987654}])


def test_wrong_key_401_and_anon_key_sees_nothing(request):
    fake = start_fake(request)
    from services.storage.rest_backend import SupabaseStorage

    bad = SupabaseStorage(fake.url, "not-a-key", backoff=0)
    with pytest.raises(ConfigurationError) as e:
        bad.list_period_locks()
    assert "SUPABASE_KEY" in str(e.value) and "service_role" in str(e.value)
    assert fake.requests[-1].status == 401
    anon = SupabaseStorage(fake.url, ANON_KEY, backoff=0)
    with pytest.raises(ConfigurationError) as e:
        anon.list_period_locks()
    assert "service_role" in str(e.value) and fake.requests[-1].status == 401  # 42501 for the anon role
    with pytest.raises(ConfigurationError):
        anon.rest.rpc("meterline_schema_version", {}, what="checking")
    fake.keys["auth-key"] = "authenticated"
    with pytest.raises(ConfigurationError):
        SupabaseStorage(fake.url, "auth-key", backoff=0).list_period_locks()
    assert fake.requests[-1].status == 403
    for st in (bad, anon):
        st.dispose()


def test_schema_missing_says_run_the_sql(request):
    from services.storage.rest_backend import SupabaseStorage
    from tests.supabase.fake_postgrest import FakePostgrest
    from tests.supabase.pgutil import dsn, fresh_supabase_db

    pg_server = request.getfixturevalue("pg_server")
    fake = FakePostgrest(dsn(pg_server, fresh_supabase_db(pg_server, with_schema=False)), {SERVICE_KEY: "postgres"})
    fake.start()
    request.addfinalizer(fake.stop)
    st = SupabaseStorage(fake.url, SERVICE_KEY, backoff=0)
    for call in (st.ensure_schema, st.list_period_locks):
        with pytest.raises(ConfigurationError) as e:
            call()
        assert "supabase_schema.sql" in str(e.value)
    st.dispose()


def test_ensure_schema_passes_on_the_schema(rest):
    storage, _ = rest
    storage.ensure_schema()
    storage.ping()


def test_unreachable_server_is_a_storage_error():
    from scripts.pg_throwaway import free_port
    from services.storage.rest_backend import SupabaseStorage

    st = SupabaseStorage(f"http://127.0.0.1:{free_port()}", SERVICE_KEY, backoff=0)
    with pytest.raises(StorageError) as e:
        st.ping()
    assert "Cannot" in str(e.value)
    st.dispose()


# ---- retries -----------------------------------------------------------------------------------------
def test_idempotent_read_retried_after_a_dropped_connection(society_rest):
    storage, fake, _ = society_rest
    fake.fail("drop", method="GET", path="/rest/v1/period_locks", times=2)
    assert [lk.month for lk in storage.list_period_locks()] == ["2025-11"]
    assert len(fake.calls("GET", "/rest/v1/period_locks")) == 3


def test_read_gives_up_after_max_attempts(society_rest):
    storage, fake, _ = society_rest
    fake.fail("status", method="GET", path="/rest/v1/period_locks", times=5, status=503)
    with pytest.raises(StorageError) as e:
        storage.list_period_locks()
    assert "503" in str(e.value)
    assert len(fake.calls("GET", "/rest/v1/period_locks")) == 3


def test_write_not_retried_after_a_dropped_connection(society_rest):
    storage, fake, db = society_rest
    fake.fail("drop", method="POST", path="/rpc/meterline_insert_bill", phase="after")
    with pytest.raises(StorageError) as e:
        db.create_bill("B17-FF", *OCT, flat_units=100)
    assert "may or may not have been saved" in str(e.value)
    assert len(fake.calls("POST", "/rpc/meterline_insert_bill")) == 1  # never sent twice
    assert storage.list_bills(BillFilter()).total == 1  # it was committed whole before the drop
    fake.fail("drop", method="POST", path="/rpc/meterline_insert_bill", phase="before")
    with pytest.raises(StorageError):
        db.create_bill("A1-GF", *OCT, flat_units=100)
    assert storage.list_bills(BillFilter()).total == 1  # dropped before the database: nothing stored


def test_write_timeout_is_reported_not_retried(request):
    storage, fake = start_supabase(request, timeout=0.5)
    make_society(storage)
    fake.fail("delay", method="POST", path="/rpc/meterline_create_user", seconds=1.5)
    with pytest.raises(StorageError) as e:
        storage.create_user(username="slow", role="admin", password_hash=None, actor=ADMIN)
    assert "did not answer" in str(e.value) and "may or may not" in str(e.value)
    assert len(fake.calls("POST", "/rpc/meterline_create_user")) == 1
    fake.fail("delay", method="GET", path="/rest/v1/period_locks", seconds=1.5)
    assert storage.locked_months() == ["2025-11"]  # a read is retried after its timeout
    storage.dispose()


def test_payment_with_external_id_is_retried_and_applied_once(society_rest):
    storage, fake, db = society_rest
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    fake.fail("drop", method="POST", path="/rpc/meterline_apply_payment", phase="after")
    result = db.record_payment(bill.id, "500", method="stripe", external_id="evt_drop")
    assert len(fake.calls("POST", "/rpc/meterline_apply_payment")) == 2
    assert not result.applied and result.payment.amount == D("500.00")  # the replay found the first
    assert db.get_bill(bill.id).amount_paid == D("500.00") and len(storage.list_payments(bill.id)) == 1


def test_concurrent_payment_is_priced_again(society_rest):
    """A payment that lands between the read and the write makes the first write stale."""
    storage, fake, db = society_rest
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)  # 2674.00
    real = storage.rest.rpc
    sneaked = []

    def rpc(fn, params, **kw):
        if fn == "meterline_apply_payment" and not sneaked:
            sneaked.append(1)
            real(fn, {**params, "p_amount": D("100"), "p_new_paid": D("100"), "p_new_status": "partially_paid",
                      "p_reference": "other desk"}, **kw)
        return real(fn, params, **kw)

    storage.rest.rpc = rpc
    out = db.record_payment(bill.id, "2574", method="cash")
    assert out.applied and out.bill.status == "paid" and out.bill.amount_paid == D("2674.00")
    assert [p.amount for p in storage.list_payments(bill.id)] == [D("100.00"), D("2574.00")]


def test_batch_refused_by_a_unique_key_is_sent_again_whole(society_rest):
    """A bill stored by another writer between the batch function's check and its insert makes
    PostgreSQL refuse the insert (23505) and roll the whole call back; the batch is sent again and
    the function then skips that account. (The refusal is made here by sending each bill twice.)"""
    storage, fake, db = society_rest
    real = storage.rest.rpc
    refused = []

    def rpc(fn, params, **kw):
        if fn == "meterline_insert_bill_batch" and not refused:
            refused.append(storage.insert_bill(new_bill(storage, "A1-GF"), ADMIN))  # the other writer
            return real(fn, {**params, "p_bills": params["p_bills"] * 2}, **kw)
        return real(fn, params, **kw)

    storage.rest.rpc = rpc
    out = storage.insert_bill_batch([new_bill(storage, "A1-GF"), new_bill(storage, "C14-SF")], ADMIN)
    assert (out.created, out.skipped) == (1, 1)  # A1-GF's bill is the other writer's
    assert [c.status for c in fake.calls("POST", "/rpc/meterline_insert_bill_batch")] == [409, 200]
    bills = storage.list_bills(BillFilter()).items
    assert sorted(b.account_code for b in bills) == ["A1-GF", "C14-SF"] and refused[0].id in {b.id for b in bills}
    assert [len(storage.list_bill_lines(b.id)) for b in bills] == [1, 1]


# ---- paging and bulk loads --------------------------------------------------------------------------
def test_reads_page_across_the_1000_row_cap(rest):
    storage, fake = rest
    floor = storage.ensure_areas([{"path": "A/GF", "name": "Ground Floor"}], ADMIN)["A/GF"]
    storage.bulk_insert("accounts", [{"code": f"A{i}-GF", "area_id": floor} for i in range(2100)])
    assert len(fake.calls("POST", "/rest/v1/accounts")) == 3
    ids = storage.lookup_ids("accounts", "code", [f"A{i}-GF" for i in range(2100)])
    storage.bulk_insert("meters", [{"meter_number": f"M{i}", "account_id": ids[f"A{i}-GF"], "status": "active"}
                                   for i in range(2100)])
    fake.requests.clear()
    page = storage.list_meter_choices(offset=50, limit=2000)
    assert len(page.items) == 2000 and len({c.meter_id for c in page.items}) == 2000
    limits = [dict(r.params)["limit"] for r in fake.calls("GET", "/rest/v1/meter_choices")]
    assert limits == ["1000", "1000"]
    codes = [c.account_code for c in page.items]
    assert codes == sorted(codes)
    import psycopg

    with psycopg.connect(fake.conninfo, autocommit=True) as c:
        c.execute("ANALYZE accounts")  # above 1,000 rows the count is the planner's estimate
    assert storage.table_counts(["accounts"])["accounts"] == 2100
    assert "count=estimated" in fake.calls("HEAD", "/rest/v1/accounts")[-1].headers["prefer"]


def test_fake_refuses_a_request_over_the_cap(rest):
    storage, fake = rest
    with pytest.raises(StorageError):
        storage.rest.execute("reading too much", lambda: storage.rest.client.table("accounts").select("id").limit(5000),
                             idempotent=True)
    assert fake.violations and "db-max-rows" in fake.violations[-1]
    fake.violations.clear()


def test_bulk_insert_failing_late_leaves_nothing(rest):
    storage, fake = rest
    rows = [{"name": f"Owner {i}", "phone": f"+91{i:010d}"} for i in range(2500)]
    storage.bulk_insert("contacts", rows[:1])
    floor = storage.ensure_areas([{"path": "F/GF"}], ADMIN)["F/GF"]
    bad = [{"code": f"F{i}", "area_id": floor} for i in range(2500)]
    bad[2100] = {"code": "F5", "area_id": floor}  # a duplicate in the third chunk
    with pytest.raises(DuplicateError):
        storage.bulk_insert("accounts", bad)
    assert storage.table_counts(["accounts"])["accounts"] == 0
    assert len(fake.calls("DELETE", "/rest/v1/accounts")) == 10  # the 2,000 stored rows, 200 ids a request


def test_bulk_rows_with_different_keys_keep_column_defaults(rest):
    storage, fake = rest
    floor = storage.ensure_areas([{"path": "A/GF"}], ADMIN)["A/GF"]
    storage.bulk_insert("accounts", [{"code": "A1-GF", "area_id": floor, "name": "Asha", "category": "2BHK"},
                                     {"code": "A2-GF", "area_id": floor}])
    rows, _ = storage.rest.select("accounts", order=(("id", False),))
    assert [(r["name"], r["category"], r["is_active"]) for r in rows] == [("Asha", "2BHK", True), ("", None, True)]


def test_audit_written_with_each_change(society_rest):
    storage, fake, db = society_rest
    admin = admin_user(storage)
    bill = db.create_bill("B17-FF", *OCT, flat_units=100, actor=admin)
    db.record_payment(bill.id, "100", method="cash", actor=admin)
    actions = [a.action for a in storage.list_audit(entity_type="bill", entity_id=str(bill.id)).items]
    assert actions == ["payment.record", "bill.create"]
    entry = storage.list_audit(action_prefix="payment.").items[0]
    assert entry.actor_id == admin.user_id and entry.details["amount"] == "100.00" and entry.client == "pytest"


def test_inactive_meter_refused_and_paid_bill_status_only(society_rest):
    """The two contract tests that change rows with direct SQL, done through the REST API instead."""
    storage, fake, db = society_rest
    storage.rest.update("meters", {"status": "inactive"}, [("eq", "meter_number", "19150001")], what="deactivating")
    with pytest.raises(ValidationError) as e:
        db.insert_meter_reading(meter_number="19150001", reading_value="10", reading_date=d(2026, 11, 1),
                                actor=admin_user(storage))
    assert "inactive" in str(e.value)
    bill = db.create_bill("B17-FF", *OCT, flat_units=100)
    storage.rest.update("bills", {"status": "overdue"}, [("eq", "id", bill.id)], what="changing the status")
    assert db.get_bill(bill.id).status == "overdue" and db.get_bill(bill.id).total_amount == bill.total_amount
    with pytest.raises(BillImmutableError):
        storage.rest.delete("bills", [("eq", "id", bill.id)], what="deleting a bill")
