"""The water demo (HydroSpark): deterministic customers, daily CCF usage with a seasonal shape,
and planted anomalies that are in the usage exactly where the ground truth says."""
import datetime as dt
import re
import statistics
from collections import Counter
from decimal import Decimal

import pytest

from services.demo import water as w
from services.demo.common import PAYMENT_BEHAVIOURS

END = dt.date(2026, 11, 21)
N = 3000


@pytest.fixture(scope="module")
def sample():
    return list(w.customers(N))


@pytest.fixture(scope="module")
def truth():
    return w.planted_anomalies(N, end=END)


def usage(customer, end=END, days=w.DEFAULT_USAGE_DAYS):
    return list(w.daily_usage(customer, end, days))


def test_chunks_equal_the_whole_and_codes_map_back():
    whole = list(w.customers(500))
    assert list(w.customers(500, 0, 123)) + list(w.customers(500, 123, 500)) == whole
    assert list(w.customers(300_000, 100, 110)) == whole[100:110]
    tail = list(w.customers(300_000, 299_995, 300_000))
    assert tail == [w.customer_at(i) for i in range(299_995, 300_000)]
    codes = [c.code for c in whole] + [c.code for c in tail]
    assert len(set(codes)) == len(codes) and all(re.fullmatch(r"HS\d{7}", c) for c in codes)
    assert [w.customer_index_of(c) for c in codes] == [c.index for c in whole + tail]
    assert w.customer_index_of("hs0000001") == 0
    assert w.customer_index_of("HS0000000") is None and w.customer_index_of("B17-FF") is None
    assert len({c.meter_number for c in whole + tail}) == len(codes)


def test_the_seed_customer_is_index_0():
    noah = w.customer_at(0)
    assert noah.name == "Noah Hernandez" and noah.contacts[0].email == "noah@example.com"
    assert noah.account_type == "residential" and noah.is_active


def test_customer_type_shares_and_names(sample):
    types = Counter(c.account_type for c in sample)
    assert 0.82 <= types["residential"] / N <= 0.88
    assert 0.09 <= types["commercial"] / N <= 0.15
    assert 0.015 <= types["industrial"] / N <= 0.05
    for c in sample:
        assert c.category == c.account_type and c.meter_unit == "CCF" and c.service == "water"
        if c.account_type == "residential":
            assert c.business_name is None and c.facility_name is None and c.name == c.contacts[0].name
        elif c.account_type == "commercial":
            assert c.business_name and c.facility_name is None and c.name == c.business_name
        else:
            assert c.business_name and c.facility_name.startswith(c.business_name) and c.name == c.facility_name
    eastside = [c for c in sample if c.service_area == "E"]
    assert sum(c.account_type == "industrial" for c in eastside) / len(eastside) > 0.1   # the industrial district
    assert 0.01 <= sum(not c.is_active for c in sample) / N <= 0.04


def test_contacts_addresses_and_cycles(sample):
    leaves = {a.path for a in w.areas() if a.level == 2}
    emails = [c.contacts[0].email for c in sample if c.contacts[0].email]
    assert len(set(emails)) == len(emails) and all(e.endswith("example.com") for e in emails)
    assert 0.03 < sum(c.contacts[0].email is None for c in sample) / N < 0.12
    for c in sample:
        assert c.area_path in leaves and c.area_path == f"{c.service_area}/C{c.cycle_number}"
        phone = c.contacts[0].phone
        assert phone is None or re.fullmatch(r"\+1\d{3}55501\d{2}", phone)   # 555-01xx: fictional numbers
        assert re.fullmatch(r".+, [A-Za-z ]+, CA 9\d{4}", c.address)
    assert Counter(c.cycle_number for c in sample).keys() == {1, 2, 3, 4}


def test_areas_are_service_areas_with_billing_cycles():
    areas = w.areas()
    assert [a.code for a in areas if a.level == 1] == ["N", "C", "S", "E"]
    cycles = [a for a in areas if a.level == 2]
    assert len(cycles) == 16 and "N/C2" in {a.path for a in cycles}
    assert all(a.path == f"{a.parent_path}/{a.code}" for a in cycles)


def test_daily_usage_covers_the_window_with_two_decimals_never_negative(sample):
    for c in sample[:60]:
        rows = usage(c)
        assert [d for d, _ in rows] == [END - dt.timedelta(days=399 - i) for i in range(400)]
        for _, q in rows:
            assert isinstance(q, Decimal) and q >= 0 and q == q.quantize(Decimal("0.01"))
            assert not q.is_signed()                           # no "-0.00"


def _normal(sample, kind, truth):
    planted = {t.index for t in truth}
    return [c for c in sample if c.account_type == kind and c.is_active and c.index not in planted]


def test_levels_by_type_and_seasonal_and_weekly_shape(sample, truth):
    for kind, (lo, hi) in w.BASE_DAILY_CCF.items():
        for c in _normal(sample, kind, truth)[:15]:
            mean = statistics.mean(float(q) for _, q in usage(c))
            assert lo * 0.7 < mean < hi * 1.3, (kind, c.code, mean)
    residential = _normal(sample, "residential", truth)[:40]
    higher = 0
    for c in residential:
        rows = usage(c)
        summer = statistics.mean(float(q) for d, q in rows if d.month in (6, 7, 8))
        winter = statistics.mean(float(q) for d, q in rows if d.month in (12, 1, 2))
        higher += summer > winter * 1.3
    assert higher == len(residential)
    for c in _normal(sample, "commercial", truth)[:10]:
        rows = usage(c)
        weekday = statistics.mean(float(q) for d, q in rows if d.weekday() < 5)
        sunday = statistics.mean(float(q) for d, q in rows if d.weekday() == 6)
        assert sunday < weekday * 0.6


def test_a_days_normal_use_depends_on_customer_and_date_only(sample, truth):
    # Commercial and industrial customers have no time away; without a planted anomaly a shorter
    # or later window repeats the same days.
    planted = {t.index for t in truth}
    for c in [c for c in sample if c.account_type != "residential" and c.index not in planted][:10]:
        long = usage(c)
        assert usage(c, days=100) == long[-100:]
        assert usage(c, END - dt.timedelta(days=50), 200) == long[-250:-50]


def test_ground_truth_is_deterministic_chunkable_and_at_the_stated_rate(truth):
    assert len(truth) == 45                                    # 15 in every 1,000 consecutive customers
    assert w.planted_anomalies(N, 0, 1234, end=END) + w.planted_anomalies(N, 1234, N, end=END) == truth
    assert Counter(t.kind for t in truth) == {"leak": 15, "spike": 15, "stuck_zero": 9, "inactive_usage": 6}
    first, last = w.usage_window(END)
    for t in truth:
        assert first + dt.timedelta(days=60) <= t.first <= t.last <= last
        low, high = {"leak": (14, 28), "spike": (1, 3), "stuck_zero": (21, 56), "inactive_usage": (10, 30)}[t.kind]
        assert low <= (t.last - t.first).days + 1 <= high
    assert all(isinstance(t, tuple) and len(t) == 4 for t in truth)


def test_planted_anomalies_are_in_the_usage_where_the_ground_truth_says(truth):
    for t in truth:
        c = w.customer_at(t.index)
        rows = usage(c)
        inside = [float(q) for d, q in rows if t.first <= d <= t.last]
        before = [float(q) for d, q in rows if t.first - dt.timedelta(days=28) <= d < t.first]
        outside = [float(q) for d, q in rows if not t.first <= d <= t.last]
        if t.kind == "leak":
            assert c.is_active and min(inside) >= c.base_daily_ccf - 0.01
            assert min(inside) > min(before) + 0.5 * c.base_daily_ccf
        elif t.kind == "spike":
            assert c.is_active and all(q >= 3 * statistics.median(before) for q in inside)
        elif t.kind == "stuck_zero":
            assert c.is_active and set(inside) == {0.0} and before[-1] > 0
            assert max(len(run) for run in _zero_runs(outside)) < 7
        else:
            assert not c.is_active and set(outside) == {0.0} and min(inside) > 0


def _zero_runs(values):
    runs, current = [], []
    for v in values:
        if v == 0:
            current.append(v)
        else:
            runs.append(current)
            current = []
    return runs + [current]


def test_customers_without_anomalies_have_no_zero_days_or_stray_usage(sample, truth):
    planted = {t.index for t in truth}
    checked = 0
    for c in sample[:300]:
        if c.index in planted:
            continue
        values = [float(q) for _, q in usage(c)]
        if c.is_active:
            assert min(values) > 0, c.code              # time away lowers use but never to 0.00
        else:
            assert set(values) == {0.0}, c.code
        checked += 1
    assert checked > 290


def test_payment_behaviour(sample):
    plans = [w.payment_plan_for(c, k) for c in sample[:1000] for k in range(12)]
    shares = Counter(p.behaviour for p in plans)
    assert set(shares) == set(PAYMENT_BEHAVIOURS) and 0.75 < shares["full"] / len(plans) < 0.95
    autopay = [c for c in sample[:1000] if c.payer_profile == "autopay"]
    assert sum(w.payment_behaviour(c, k) == "full" for c in autopay for k in range(12)) > 0.95 * 12 * len(autopay)
    assert w.payment_plan_for(sample[5], 3) == w.payment_plan_for(w.customer_at(5), 3)
