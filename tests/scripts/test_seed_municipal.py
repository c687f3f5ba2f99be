"""seed_demo --utility municipal: the Suthra Punjab demo (seed 003) billed by its category_fee plan.

The tariff class: every unit the generator can emit is priced by data/tariffs/municipal.toml, a
house always by a plot-size band (never by a shop's default fee), exempt units never connected.
The seeded database: areas, accounts with surveys, contacts and GPS, connections from the month of
the survey, bills by the real run with a fee line (and arrears), payments as the generator says,
every bill recomputing; a second seeding changes nothing.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal as D

import pytest

from scripts import seed_demo
from services.config import ROOT
from services.demo import municipal as m
from services.seeding.common import after_locks, bill_months
from services.seeding.municipal import survey_month, tariff_class, unit_class
from services.models import AccountFilter, BillFilter
from services.pricing_service import PricingService
from services.storage.sql_backend import SqlStorage
from services.tariff_rules import TariffPlan, TariffRules
from tests.scripts.seeded_checks import all_bills, assert_billing_checks_pass, assert_every_bill_recomputes, snapshot

TODAY = dt.date(2026, 11, 22)
PLAN = TariffPlan.load(ROOT / "data" / "tariffs" / "municipal.toml")
# Plot sizes a survey can record, in marla: every quarter up to 60, and the bands' edges.
SIZES = [D(q) / 4 for q in range(1, 241)] + [D("5.01"), D("10.01"), D("20.01"), D("40.01"), D(100)]


def fee(category: str, unit_type: str, version) -> tuple[D, str | None]:
    amount, _, row = version.params.fee_for(category, unit_type)
    return amount, row


@pytest.mark.parametrize("version", PLAN.versions, ids=lambda v: f"v{v.version}")
def test_every_unit_the_generator_can_emit_is_priced_by_the_plan(version):
    for uc_type in m.UC_TYPES:
        for size in SIZES:
            category, unit_type = tariff_class("House", "Small", size, uc_type)
            amount, row = fee(category, unit_type, version)
            assert row is not None and amount > 0, (uc_type, size)  # a band of the schedule, never a shop's default
            assert category == ("Rural residential" if uc_type == "Rural" else "Residential")
        for unit_type in m.BILLABLE_UNIT_TYPES:
            if unit_type == "House":
                continue
            for category in m.CATEGORIES:
                plan_category, plan_type = tariff_class(unit_type, category, D(2), uc_type)
                amount, _ = fee(plan_category, plan_type, version)
                assert amount > 0 and len(plan_category) <= 32 and len(plan_type) <= 32
    # And what the generator really emits (its own mix of types, sizes and union councils).
    for unit in m.units(4000, today=TODAY):
        if unit.billable:
            assert fee(*unit_class(unit), version)[0] > 0, unit


def test_tariff_class_examples():
    q = lambda cat, typ: TariffRules.quote(PLAN, period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31),
                                           category=cat, unit_type=typ).total_amount
    assert q(*tariff_class("House", "Small", D(5), "Urban")) == D("300.00")
    assert q(*tariff_class("House", "Medium", D("5.25"), "Peri-Urban")) == D("500.00")  # peri-urban: urban rates
    assert q(*tariff_class("House", "Medium", D(10), "Urban")) == D("500.00")  # upper bound included
    assert q(*tariff_class("House", "Large", D(20), "Urban")) == D("1000.00")  # 1 kanal
    assert q(*tariff_class("House", "Large", D(40), "Urban")) == D("2000.00")
    assert q(*tariff_class("House", "Large", D(41), "Urban")) == D("5000.00")
    assert q(*tariff_class("House", "Medium", D(10), "Rural")) == D("200.00")
    assert q(*tariff_class("House", "Large", D(12), "Rural")) == D("400.00")
    assert q(*tariff_class("Barber", "Small", D(1), "Urban")) == D("500.00")
    assert q(*tariff_class("Bakery", "Small", D(1), "Urban")) == D("1000.00")  # food businesses: next band
    assert q(*tariff_class("Marriage Hall", "Large", D(40), "Urban")) == D("5000.00")
    assert q(*tariff_class("School", "Medium", D(8), "Rural")) == D("1000.00")
    assert q(*tariff_class("Factory", "Small", D(3), "Peri-Urban")) == D("5000.00")
    assert tariff_class("Mosque", "Medium", D(3), "Urban") == ("Institutional", "Mosque")  # surveyed, never billed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A small municipal demo on SQLite, seeded once for the checks below."""
    url = f"sqlite:///{tmp_path_factory.mktemp('municipal') / 'demo.db'}"
    st = SqlStorage(url)
    assert seed_demo.seed(st, 150, TODAY, PricingService(), quiet=True, utility="municipal")
    yield st
    st.dispose()


UNITS = list(m.units(150, today=TODAY))


def test_areas_accounts_contacts_and_surveys(seeded):
    st = seeded
    assert st.utility_settings_row()["template"] == "municipal"
    areas = st.list_areas()
    assert {a.path for a in areas} == {a.path for a in m.areas()}
    assert {a.kind for a in areas if a.level == 2} == set(m.UC_TYPES)
    counts = st.table_counts(["accounts", "account_surveys", "contacts", "account_contacts", "service_connections",
                              "meters", "readings", "daily_usage"])
    assert counts == {"accounts": 150, "account_surveys": 150, "contacts": 150, "account_contacts": 150,
                      "service_connections": sum(u.billable for u in UNITS), "meters": 0, "readings": 0,
                      "daily_usage": 0}
    leaves = {a.id for a in areas if a.level == 2}
    page = st.list_accounts(AccountFilter(), 0, 200)
    assert page.total == 150 and all(a.area_id in leaves for a in page.items)
    for unit in UNITS[:40]:
        account = st.get_account(code=unit.code)
        assert (account.name, account.area_path, account.is_active) == (unit.name, unit.area_path, unit.is_active)
        assert (account.category, account.account_type) == unit_class(unit)
        assert (account.gps_lat, account.gps_lon) == (unit.gps_lat, unit.gps_lon)
        assert (account.contact_name, account.contact_phone) == (unit.name, unit.billing_mobile)
        connection = st.service_connection(account.id, "sanitation")
        assert (connection is not None) == unit.billable
        if connection:
            assert connection.started_on == survey_month(unit) and connection.is_active == unit.is_active
    with st.engine.connect() as c:
        import sqlalchemy as sa
        from database import schema as s

        rows = {r.survey_id: r for r in c.execute(sa.select(s.account_surveys))}
    for unit in UNITS:
        row, survey = rows[unit.code], unit.survey
        assert (row.surveyor_name, row.survey_name, row.survey_mobile, row.survey_address, row.house_type,
                row.water_connection, row.size_marla, row.photo_ref, row.gps_text) == (
            survey.surveyor_name, survey.survey_name, survey.survey_mobile, survey.survey_address, survey.house_type,
            survey.water_connection, survey.size_marla, survey.photo_ref, survey.gps_text)
        assert row.surveyed_at == survey.surveyed_at
        assert (row.unit_type, row.size_category) == (unit.account_type, unit.category)  # the survey's words


def test_bills_by_the_category_fee_plan_month_by_month(seeded):
    st = seeded
    months = after_locks(bill_months(TODAY, 12, 1, 20), st.locked_months())
    assert [x.month for x in months] == ["2025-12"] + [f"2026-{k:02d}" for k in range(1, 11)]  # after locked 2025-11
    code_of = {a.id: a.code for a in st.list_accounts(AccountFilter(), 0, 200).items}
    by_code = {u.code: u for u in UNITS}
    bills = all_bills(st)
    lines = assert_every_bill_recomputes(st, bills)
    assert_billing_checks_pass(st)
    for month in months:
        billed = sorted(code_of[b.account_id] for b in bills if b.billing_period_start == month.period.start)
        # Every open billable unit surveyed by then: none closed, none exempt, none surveyed later.
        assert billed == sorted(u.code for u in UNITS if u.billable and u.is_active and
                                survey_month(u) <= month.period.start), month
    for bill in bills:
        unit = by_code[code_of[bill.account_id]]
        codes = [ln.code for ln in lines[bill.id]]
        assert bill.tariff_kind == "category_fee" and bill.units == 0 and bill.due_date == bill.billing_period_end + \
            dt.timedelta(days=20)
        assert codes == ["fee_monthly"] + (["arrears"] if bill.previous_outstanding else [])
        assert lines[bill.id][0].amount == PLAN.latest.params.fee_for(*unit_class(unit))[0]
    assert any(b.previous_outstanding > 0 for b in bills)  # arrears carried forward ...
    statuses = Counter(b.status for b in bills)
    assert {"paid", "carried_forward", "overdue"} <= set(statuses)  # ... from bills left open; old ones past due
    assert statuses["pending"] == statuses["partially_paid"] == 0  # every bill's due date (Nov 20 at the latest) passed


def test_payments_follow_the_generators_behaviour(seeded):
    st = seeded
    first = after_locks(bill_months(TODAY, 12, 1, 20), st.locked_months())[0]
    code_of = {a.id: a.code for a in st.list_accounts(AccountFilter(), 0, 200).items}
    seen = Counter()
    for bill in st.list_bills_after(BillFilter(period_month=first.month), 0, 500):
        unit = m.unit_at(m.unit_index_of(code_of[bill.account_id]), today=TODAY)
        plan = m.payment_plan_for(unit, 0)
        payments = st.list_payments(bill.id)
        seen[plan.behaviour] += 1
        if plan.behaviour in ("full", "late"):
            assert bill.status == "paid" and [p.amount for p in payments] == [bill.total_amount]
            assert payments[0].method == "bank_transfer"
            assert (payments[0].paid_on <= first.due) == (plan.behaviour == "full")
        elif plan.behaviour == "partial":
            share = (bill.total_amount * plan.share).quantize(D("0.01"))
            assert [p.amount for p in payments] == [share] and payments[0].method == "cash"
            assert bill.status == "carried_forward"  # the rest went onto the next month's bill
        else:
            assert payments == [] and bill.status == "carried_forward"
    assert seen["full"] > seen["unpaid"] > 0


def test_seeding_again_changes_nothing_and_the_cli_refuses_another_utility(seeded, capsys):
    st = seeded
    before = snapshot(st)
    assert not seed_demo.seed(st, 150, TODAY, PricingService(), quiet=True, utility="municipal")
    assert seed_demo.main(["--utility", "municipal", "--database-url", st.url, "--today", "2026-11-22"]) == 0
    assert seed_demo.main(["--utility", "water", "--database-url", st.url, "--today", "2026-11-22"]) == 1
    assert "holds the municipal utility, not water" in capsys.readouterr().err
    assert snapshot(st) == before


@pytest.mark.postgres
def test_seed_municipal_on_postgresql(pg_server):
    st = SqlStorage(pg_server.fresh_url(with_schema=False))
    try:
        assert seed_demo.seed(st, 60, TODAY, PricingService(), quiet=True, utility="municipal")
        bills = all_bills(st)
        assert len(bills) > 200 and {b.tariff_kind for b in bills} == {"category_fee"}
        assert_every_bill_recomputes(st, bills)
        assert_billing_checks_pass(st)
        assert st.table_counts(["account_surveys"])["account_surveys"] == 60
        before = snapshot(st)
        assert not seed_demo.seed(st, 60, TODAY, PricingService(), quiet=True, utility="municipal")
        assert snapshot(st) == before
    finally:
        st.dispose()
