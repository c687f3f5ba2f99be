"""The ops scripts in Supabase REST mode (SUPABASE_URL + SUPABASE_KEY set), against the fake
PostgREST: the demo society seeds through the REST backend, and both verify scripts pass."""
import datetime as dt

import pytest

from scripts import seed_demo, verify_migration, verify_supabase_november
from services.config import Settings, open_storage
from services.models import BillFilter, ReadingFilter
from services.pricing_service import PricingService
from services.storage.rest_backend import SupabaseStorage
from services.tariff_rules import TariffRules
from tests.factories import make_society
from tests.supabase.harness import ANON_KEY, SERVICE_KEY, start_fake

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def fake(request, monkeypatch):
    fake = start_fake(request)
    monkeypatch.setenv("SUPABASE_URL", fake.url)
    monkeypatch.setenv("SUPABASE_KEY", SERVICE_KEY)
    return fake


def test_configuration_selects_rest_mode(fake):
    st = open_storage(Settings.from_env())
    assert isinstance(st, SupabaseStorage) and st.backend_name == "supabase" and SERVICE_KEY not in repr(st)
    st.dispose()


def test_verify_scripts_pass_in_rest_mode(fake, capsys):
    st = open_storage(Settings.from_env())
    make_society(st)
    audited = st.list_audit(limit=500).items
    assert verify_migration.main([]) == 0
    out = capsys.readouterr().out
    assert "backend: supabase" in out and "ok   connectivity" in out and "locked months: 2025-11" in out
    assert "accounts" in out and "RESULT: OK" in out
    assert verify_supabase_november.main([]) == 0
    out = capsys.readouterr().out
    assert "direct insert refused by the database: PERIOD_LOCKED: billing period 2025-11 is locked" in out
    assert "0 bill(s) end in 2025-11" in out and "RESULT: OK" in out
    assert st.count_bills_ending_in("2025-11") == 0  # the probe wrote nothing
    # The probe and the counts are reads: nothing in the audit log either.
    assert st.list_audit(limit=500).items == audited
    st.dispose()


def test_verify_scripts_fail_clearly(fake, monkeypatch, capsys):
    assert verify_supabase_november.main([]) == 1  # no account to probe with yet
    assert "no account or tariff plan exists to probe with" in capsys.readouterr().out
    assert verify_supabase_november.main(["--month", "2026-02"]) == 1
    assert "2026-02 is not in period_locks" in capsys.readouterr().out
    monkeypatch.setenv("SUPABASE_KEY", ANON_KEY)
    assert verify_migration.main([]) == 1
    out = capsys.readouterr().out
    assert "FAIL connectivity" in out and "service_role" in out


def test_seed_demo_society_through_rest(fake):
    st = open_storage(Settings.from_env())
    st.rest.backoff = 0
    assert seed_demo.seed(st, 32, TODAY, PricingService(), quiet=True)
    counts = st.table_counts(["accounts", "meters", "readings", "bills", "users"])
    assert counts["accounts"] == 32 and counts["users"] == 4  # with the demo customer
    assert counts["bills"] == 32 * 5  # five months billed by the real bill run, batch by batch over /rpc
    for bill in st.list_bills(BillFilter(), limit=500).items:
        assert TariffRules.recompute(bill) == bill.total_amount
    assert not seed_demo.seed(st, 32, TODAY, PricingService(), quiet=True)  # idempotent through REST too
    assert st.table_counts(["bills"])["bills"] == counts["bills"]
    ok, lines = verify_migration.verify(st)
    assert ok, lines
    ok, lines = verify_supabase_november.verify(st, "2025-11")
    assert ok, lines
    st.dispose()


def test_verify_billing_in_rest_mode(fake, capsys):
    """The billing checks run in the database (/rpc) and the recomputation pages through the bills."""
    from scripts import verify_billing

    st = open_storage(Settings.from_env())
    st.rest.backoff = 0
    seed_demo.seed(st, 16, TODAY, PricingService(), quiet=True)
    assert verify_billing.main([]) == 0
    out = capsys.readouterr().out
    assert "backend: supabase" in out and out.count("ok   0 ") == 7 and "RESULT: OK" in out
    meter = st.list_readings(ReadingFilter(status="approved", account_meters_only=True), 0, 1).items[0].meter_id
    import psycopg

    with psycopg.connect(fake.conninfo, autocommit=True) as c:  # planted below the app: approved, older, never billed
        c.execute("INSERT INTO readings (meter_id, reading_value, reading_date, consumption, status, source) "
                  "VALUES (%s, 1, '2026-06-02', 4, 'approved', 'ui')", [meter])
    assert verify_billing.main([]) == 1
    assert "FAIL 1 approved readings older than their meter's last billed reading" in capsys.readouterr().out
    st.dispose()


def test_import_master_data_cli_in_rest_mode(fake, tmp_path, capsys):
    from scripts import import_master_data
    from scripts.generate_master_data import write_csv
    from services.demo import society as demo

    st = open_storage(Settings.from_env())  # an empty project: the import sets the society up
    path = tmp_path / "master.csv"
    n = write_csv(path, 48)
    assert import_master_data.main([str(path), "--dry-run"]) == 0
    assert "DRY RUN" in capsys.readouterr().out and st.table_counts(["accounts"])["accounts"] == 0
    assert import_master_data.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "backend: supabase" in out and f"accounts:  {n} created" in out
    assert st.utility_settings_row()["template"] == "society" and len(st.list_areas(level=1)) == len(demo.BLOCKS)
    assert import_master_data.main([str(path)]) == 0
    assert f"accounts:  0 created, 0 updated, {n} unchanged" in capsys.readouterr().out
    assert st.table_counts(["accounts", "service_connections"]) == {"accounts": n, "service_connections": n}
    st.dispose()


def test_verify_chain_head_and_seal_unsealed_in_rest_mode(fake, capsys):
    """verify_chain --seal-unsealed and --head go through the storage contract, so they run in REST mode
    (issue 20); the walk itself needs the database: it says so and exits 2."""
    import psycopg

    from database import bill_chain
    from scripts import verify_chain
    from tests.factories import ADMIN, raw_bill

    st = open_storage(Settings.from_env())
    make_society(st)
    with psycopg.connect(fake.conninfo, autocommit=True) as c:  # a bill stored before sealing existed
        c.execute("INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, "
                  "billing_period_end, due_date, units, motor_units, total_units, rate_per_unit, fixed_charge, "
                  "previous_outstanding, total_amount, created_by_name) SELECT id, area_id, "
                  "(SELECT min(id) FROM tariff_plan_versions), '2026-09-01', '2026-09-30', '2026-10-15', 1, 0, 1, "
                  "12, 0, 0, 12, 'old' FROM accounts WHERE code = 'A1-GF'")
    st.insert_bill(raw_bill(st, "B17-FF", dt.date(2026, 10, 1), dt.date(2026, 10, 31)), ADMIN)
    assert verify_chain.main(["--head"]) == 0
    assert capsys.readouterr().out.strip() == "meterline-bill-chain seq=1 hash=" + st.bill_chain_head().hash
    assert verify_chain.main(["--seal-unsealed", "--head"]) == 0
    head = st.bill_chain_head()
    assert head.seq == 2 and f"sealed; head {head.export()}" in capsys.readouterr().out
    assert verify_chain.main([]) == 2
    assert "check the PostgreSQL database behind it with --database-url" in capsys.readouterr().out
    import sqlalchemy as sa

    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(fake.conninfo),
                              poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert bill_chain.verify(conn).ok
    engine.dispose()
    st.dispose()
