"""Month-run manifest and diff (docs/trust.md): a dry run of the demo's November shows the diff
against October (new and missing accounts, totals per area, the biggest movers with their reason),
saved with the run; the real run's manifest counts the stored bills and carries the chain head;
the movers heap keeps exactly the biggest changes."""
import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from scripts import run_bills, seed_demo, verify_chain
from services.billing.manifest import ManifestBuilder, PreviousBill
from services.database_service import DatabaseService
from services.models import BillLine, NewBill
from services.storage.sql_backend import SqlStorage
from tests.factories import admin_user


def _nb(account_id, total, units="10", arrears="0", tier="tier_1"):
    return NewBill(account_id=account_id, area_id=1, tariff_plan_version_id=1, billing_period_start=dt.date(2026, 11, 1),
                   billing_period_end=dt.date(2026, 11, 30), due_date=dt.date(2026, 12, 15), tariff_kind="t",
                   pricing_rule="r", units=Decimal(units), motor_units=Decimal(0), total_units=Decimal(units),
                   rate_per_unit=Decimal(1), fixed_charge=Decimal(0), previous_outstanding=Decimal(arrears),
                   total_amount=Decimal(total), lines=(BillLine(1, tier, "x", Decimal(total)),), category="c")


def test_the_builder_keeps_the_20_biggest_movers_and_counts_new_and_missing_across_batches():
    last_month = {i: PreviousBill(i, f"A{i}", 1, 1000 + i, Decimal(10), Decimal(0), Decimal(100)) for i in range(1, 61)}
    del last_month[5]  # account 5 is new this month
    calls = []

    def previous(lo, hi):
        calls.append((lo, hi))
        return [p for i, p in sorted(last_month.items()) if i > lo and (hi is None or i <= hi)]

    b = ManifestBuilder(diff=True, previous=previous)
    now = {i: Decimal(100 + i * (-1) ** i) for i in range(1, 51)}  # 51..60 billed last month, not now
    b.add([_nb(i, now[i]) for i in range(1, 26)])
    b.add([_nb(i, now[i]) for i in range(26, 51)])
    b.finish()
    assert calls == [(0, 25), (25, 50), (50, None)]  # ranges by account id: nothing is read twice or missed
    assert b.new_count == 1 and b.missing_count == 10 and b.missing_sample[0] == "A51"
    movers = sorted(b.movers, reverse=True)
    assert len(movers) == 20
    expected = sorted((abs(now[i] - 100), i) for i in range(1, 51) if i != 5)[-20:]
    assert sorted((m[0], -m[1]) for m in movers) == expected
    assert b.groups[(1, "c")][0] == 50 and b.groups[(1, "c")][2] == sum(now.values())


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_url(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("pg_server").fresh_url(with_schema=False)
    assert seed_demo.main(["--accounts", "24", "--database-url", url, "--today", "2026-11-22"]) == 0
    return url


def test_dry_run_diff_then_real_run_manifest_and_chain_head(demo_url, tmp_path, capsys):
    st = SqlStorage(demo_url)
    db = DatabaseService(st, today=lambda: dt.date(2026, 11, 22))
    admin = admin_user(st)
    with st.engine.connect() as c:
        pending = [x for (x,) in c.execute(sa.text(
            "SELECT r.id FROM readings r JOIN meters m ON m.id = r.meter_id WHERE r.status = 'pending' "
            "AND m.account_id IS NOT NULL ORDER BY r.id"))]
    for rid in pending[:18]:  # 18 flats read in November; the other 6 are missing from the run
        db.approve_reading(rid, actor=admin)
    out_json = tmp_path / "m.json"
    assert run_bills.main(["2026-11", "--dry-run", "--database-url", demo_url, "--json", str(out_json),
                           "--csv", str(tmp_path / "m.csv")]) == 0
    text = capsys.readouterr().out
    data = json.loads(out_json.read_text())
    diff = data["diff"]
    assert data["dry_run"] and data["run_id"] is None and data["bills"] == 18
    assert diff["new_accounts"] == 0 and diff["missing_accounts"] == 6
    assert len(diff["movers"]) == 18 and all(m["reason"] for m in diff["movers"])
    changes = [abs(Decimal(m["change"])) for m in diff["movers"]]
    assert changes == sorted(changes, reverse=True)
    assert "the 18 biggest movers" in text and "billed last month but not now: 6" in text
    assert sum(g["bills"] for g in data["groups"]) == 18
    assert "mover," in (tmp_path / "m.csv").read_text()
    assert st.list_bill_runs(limit=5) == [] or all(r.billing_period_start != dt.date(2026, 11, 1)
                                                   for r in st.list_bill_runs(limit=5))  # a dry run writes no bill
    assert run_bills.main(["2026-11", "--database-url", demo_url, "--json", str(out_json)]) == 0
    real = json.loads(out_json.read_text())
    assert real["bills"] == 18 and sum(g["bills"] for g in real["groups"]) == 18
    assert Decimal(real["total_amount"]) == sum(Decimal(g["amount"]) for g in real["groups"])
    head = real["chain_head"]
    assert head.startswith("meterline-bill-chain seq=138 ")  # 120 demo bills + 18
    assert f"bills' chain head: {head}" in capsys.readouterr().out
    with st.engine.connect() as c:
        saved = c.execute(sa.text("SELECT dry_run, bill_run_id, chain_head FROM bill_run_manifests ORDER BY id")).all()
    assert [(bool(d), r is not None, h) for d, r, h in saved] == [(True, False, None), (False, True, head)]
    assert verify_chain.main(["--database-url", demo_url, "--expect-head", head]) == 0
    st.dispose()


def test_a_movers_reason_says_estimated_or_what_a_true_up_deducted():
    from services.billing.manifest import reason

    prev = PreviousBill(1, "A1", 1, 1000, Decimal(90), Decimal(0), Decimal(100))
    assert reason(prev, Decimal(93), Decimal(0), None, None, {"estimated": True, "units": "93.00"}) == \
        "estimated: no reading this month; units 90 -> 93"
    assert reason(prev, Decimal(10), Decimal(0), None, None, {"actual_units": "100.00", "deducted_units": "90.00"}) \
        == "actual 100.00 less 90.00 billed on estimates; units 90 -> 10"
    assert reason(prev, Decimal(90), Decimal(0), None, None) == "same units and arrears (a tariff change)"
