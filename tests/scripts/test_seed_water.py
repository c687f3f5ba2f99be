"""seed_demo --utility water: the HydroSpark demo (seed 004) billed by its tiered_seasonal plan.

Service areas and billing cycles, customers with a CCF meter and 400 days of daily usage (planted
anomalies included), bills by the real run charging each period's usage summed (tier lines, a
seasonal line in summer and winter, the two fees, arrears), payments, every bill recomputing; a
second seeding changes nothing.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal as D

import pytest

from scripts import seed_demo
from services.demo import water as w
from services.seeding.common import after_locks, bill_months
from services.seeding.water import usage_end
from services.models import AccountFilter
from services.pricing_service import PricingService
from services.storage.sql_backend import SqlStorage
from tests.scripts.seeded_checks import all_bills, assert_billing_checks_pass, assert_every_bill_recomputes, snapshot

TODAY = dt.date(2026, 11, 22)
SEASONAL_MONTHS = {6, 7, 8, 12, 1, 2}  # multiplier 1.2 / 0.9; spring and fall 1.0 (no line)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """A small water demo, seeded once per backend for the checks below (300 customers on SQLite:
    120,000 daily usage rows and one planted anomaly of each kind; 40 on PostgreSQL)."""
    if request.param == "sqlite":
        url, n = f"sqlite:///{tmp_path_factory.mktemp('water') / 'demo.db'}", 200
    else:
        url, n = request.getfixturevalue("pg_server").fresh_url(with_schema=False), 40
    st = SqlStorage(url)
    assert seed_demo.seed(st, n, TODAY, PricingService(), quiet=True, utility="water")
    yield st, n
    st.dispose()


def test_areas_customers_meters_and_daily_usage(seeded):
    st, n = seeded
    customers = list(w.customers(n))
    assert st.utility_settings_row()["template"] == "water"
    assert {(a.path, a.level) for a in st.list_areas()} == {(a.path, a.level) for a in w.areas()}
    counts = st.table_counts(["accounts", "contacts", "account_contacts", "service_connections", "meters",
                              "daily_usage", "readings", "account_surveys"])
    assert counts == {"accounts": n, "contacts": n, "account_contacts": n, "service_connections": n, "meters": n,
                      "daily_usage": n * w.DEFAULT_USAGE_DAYS, "readings": 0, "account_surveys": 0}
    assert {c.account_type for c in customers} >= {"residential", "commercial"}
    first, last = w.usage_window(usage_end(TODAY))
    ids = {a.code: a.id for a in st.list_accounts(AccountFilter(), 0, 500).items}
    totals = st.usage_totals(list(ids.values()), first, last)
    for c in customers:
        account = st.get_account(code=c.code)
        assert (account.name, account.area_path, account.account_type, account.is_active) == (
            c.name, c.area_path, c.account_type, c.is_active)
        assert (account.contact_name, account.contact_phone, account.contact_email) == (
            c.contacts[0].name, c.contacts[0].phone, c.contacts[0].email)
        meter = st.get_meter(meter_number=c.meter_number)
        assert meter is not None and meter.account_id == account.id
        expected = [q for _, q in w.daily_usage(c, last)]
        got = totals[account.id]
        assert (got.first_date, got.last_date, got.days, got.quantity) == (first, last, 400, sum(expected, D(0)))


def test_planted_anomalies_are_in_the_daily_usage(seeded):
    st, n = seeded
    first, last = w.usage_window(usage_end(TODAY))
    planted = w.planted_anomalies(n, end=last)
    assert planted  # index 6 (a closed account with usage) at any size here
    ids = {a.code: a.id for a in st.list_accounts(AccountFilter(), 0, 500).items}
    for a in planted:
        c = w.customer_at(a.index)
        got = st.usage_totals([ids[c.code]], a.first, a.last)[ids[c.code]]
        expected = sum((q for d, q in w.daily_usage(c, last) if a.first <= d <= a.last), D(0))
        assert got.quantity == expected and got.days == (a.last - a.first).days + 1
        if a.kind == "stuck_zero":
            assert got.quantity == 0
        if a.kind == "inactive_usage":  # a closed account: used water while nobody is billed for it
            assert got.quantity > 0 and not c.is_active
    if n >= 300:
        assert {a.kind for a in planted} >= {"leak", "spike", "stuck_zero", "inactive_usage"}


def test_bills_by_the_tiered_seasonal_plan_from_daily_usage(seeded):
    st, n = seeded
    customers = {c.code: c for c in w.customers(n)}
    months = after_locks(bill_months(TODAY, 12, 1, 21), st.locked_months())
    code_of = {a.id: a.code for a in st.list_accounts(AccountFilter(), 0, 500).items}
    bills = all_bills(st)
    lines = assert_every_bill_recomputes(st, bills)
    assert_billing_checks_pass(st)
    last = usage_end(TODAY)
    monthly = Counter()  # (code, first day of month) -> usage
    for code, c in customers.items():
        for d, q in w.daily_usage(c, last):
            monthly[(code, d.replace(day=1))] += q
    for month in months:
        billed = sorted(code_of[b.account_id] for b in bills if b.billing_period_start == month.period.start)
        assert billed == sorted(code for code, c in customers.items() if c.is_active), month
    for bill in bills:
        c = customers[code_of[bill.account_id]]
        start, end = bill.billing_period_start, bill.billing_period_end
        assert bill.tariff_kind == "tiered_seasonal" and (bill.usage_from, bill.usage_to) == (start, end)
        assert bill.units == monthly[(c.code, start)]
        codes = [ln.code for ln in lines[bill.id]]
        tiers = [x for x in codes if x.startswith("tier_")]
        assert tiers == ["tier_1", "tier_2", "tier_3"][:len(tiers)] and tiers
        assert ("seasonal" in codes) == (end.month in SEASONAL_MONTHS)
        assert codes[-3 if bill.previous_outstanding else -2:] == \
            ["fee_base", "fee_infrastructure"] + (["arrears"] if bill.previous_outstanding else [])
    assert {ln.code for ls in lines.values() for ln in ls} >= {"tier_1", "tier_2", "seasonal", "fee_base"}
    statuses = Counter(b.status for b in bills)
    assert {"paid", "carried_forward"} <= set(statuses) and any(b.previous_outstanding > 0 for b in bills)
    methods = Counter(p.method for b in bills[:300] for p in st.list_payments(b.id))
    assert methods["card"] > 0


def test_seeding_again_changes_nothing(seeded):
    st, n = seeded
    before = snapshot(st)
    assert not seed_demo.seed(st, n, TODAY, PricingService(), quiet=True, utility="water")
    assert snapshot(st) == before
