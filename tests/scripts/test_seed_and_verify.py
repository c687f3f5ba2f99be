"""seed_demo builds a consistent society (idempotently); the verify scripts pass on it."""
import datetime as dt
from decimal import Decimal as D

import pytest

from scripts import seed_demo, verify_migration, verify_supabase_november
from services.models import BillFilter, ReadingFilter
from services.pricing_service import PricingService
from services.storage.sql_backend import SqlStorage
from services.tariff_rules import TariffRules

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'demo.db'}"
    return request.getfixturevalue("pg_server").fresh_url(with_schema=False)


def test_seed_demo_society(url):
    st = SqlStorage(url)
    assert seed_demo.seed(st, 64, TODAY, PricingService(), quiet=True)
    counts = st.table_counts(["accounts", "meters", "readings", "bills", "users"])
    assert counts["accounts"] == 64 and counts["meters"] == 64 + 4 and counts["users"] == 4  # 4 blocks x 1 motor; admin, 2 engineers, the demo customer
    assert counts["readings"] == 7 * counts["meters"]
    assert counts["bills"] == 64 * 5  # June..October billed by the real bill run
    b17 = st.get_account(code="B17-FF")
    assert b17 is None  # 64 accounts: numbers 1..4 only
    a1 = st.list_meter_choices("A1-GF").items[0]
    assert a1.area_name == "Ground Floor" and a1.area_path == "A/GF" and a1.contact_name and a1.motor_meter_number
    pending = st.list_readings(ReadingFilter(status="pending", account_meters_only=True), limit=100)
    assert pending.total == 64 and all(r.reading_date == dt.date(2026, 11, 20) for r in pending.items)
    for bill in st.list_bills(BillFilter(), limit=500).items:
        assert TariffRules.recompute(bill) == bill.total_amount
    statuses = {b.status for b in st.list_bills(BillFilter(), limit=500).items}
    assert {"paid", "carried_forward"} <= statuses
    # Idempotent: a second run adds nothing.
    assert not seed_demo.seed(st, 64, TODAY, PricingService(), quiet=True)
    assert st.table_counts(["accounts", "readings", "bills"]) == {k: counts[k] for k in ("accounts", "readings", "bills")}
    ok, lines = verify_migration.verify(st)
    assert ok, lines
    ok, lines = verify_supabase_november.verify(st, "2025-11")
    assert ok, lines


def test_seed_demo_outstanding_matches_open_bills(url):
    st = SqlStorage(url)
    seed_demo.seed(st, 32, TODAY, PricingService(), quiet=True)
    total = D("0")
    for bill in st.list_bills(BillFilter(statuses=("pending", "partially_paid", "overdue")), limit=1000).items:
        total += bill.balance
    assert st.dashboard_figures("2026-11", TODAY).outstanding == total


def test_verify_november_fails_without_lock(tmp_path):
    st = SqlStorage(f"sqlite:///{tmp_path / 'x.db'}")
    ok, lines = verify_supabase_november.verify(st, "2026-02")
    assert not ok and "not in period_locks" in lines[-1]


def test_scripts_help(capsys):
    for mod in (seed_demo, verify_migration, verify_supabase_november):
        with pytest.raises(SystemExit) as e:
            mod.main(["--help"])
        assert e.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_flats_is_the_societys_old_name_for_accounts_and_help_names_the_utilities(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'alias.db'}"
    assert seed_demo.main(["--flats", "8", "--database-url", url, "--today", "2026-11-22"]) == 0
    st = SqlStorage(url)
    assert st.table_counts(["accounts"])["accounts"] == 8 and st.utility_settings_row()["template"] == "society"
    st.dispose()
    with pytest.raises(SystemExit):
        seed_demo.main(["--help"])
    out = capsys.readouterr().out
    assert "--utility {society,municipal,water}" in out and "--accounts" in out and "--flats" in out


def test_verify_cli_exit_codes(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    seed_demo.main(["--accounts", "16", "--database-url", url, "--today", "2026-11-22"])
    assert verify_migration.main(["--database-url", url]) == 0
    assert verify_supabase_november.main(["--database-url", url]) == 0
