"""tiered_seasonal (seed 004): graduated tiers, seasons by the period's end month, fees, rounding."""
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.errors import ValidationError
from services.tariff_rules import TariffPlan, TariffRules

WATER = TariffPlan.load(Path(__file__).resolve().parents[2] / "data" / "tariffs" / "water.toml")


def quote(quantity, end=dt.date(2026, 4, 30), start=None, plan=WATER, prev=D("0")):
    return TariffRules.quote(plan, quantity=D(quantity), period_start=start or end.replace(day=1), period_end=end,
                             previous_outstanding=prev)


def amounts(q):
    return [(ln.code, ln.quantity, ln.amount) for ln in q.lines]


def test_seed_example_25_ccf_in_july():
    q = quote("25", dt.date(2026, 7, 31))
    assert [(ln.label, ln.quantity, ln.rate, ln.amount) for ln in q.lines] == [
        ("Tier 1: 0-10 CCF", D("10"), D("2.50"), D("25.00")),
        ("Tier 2: 10-20 CCF", D("10"), D("3.00"), D("30.00")),
        ("Tier 3: over 20 CCF", D("5"), D("3.50"), D("17.50")),
        ("Summer adjustment: usage charges 72.50 x 1.2", D("72.50"), D("0.2"), D("14.50")),
        ("Base service fee", D("1"), D("15.00"), D("15.00")),
        ("Infrastructure fee", D("1"), D("5.00"), D("5.00")),
    ]
    assert q.total_amount == D("107.00") == q.current_charges
    assert [ln.unit for ln in q.lines] == ["CCF", "CCF", "CCF", "USD", "month", "month"]
    assert (q.kind, q.currency, q.plan_code, q.plan_version) == ("tiered_seasonal", "USD", "water-standard", 1)


# Lago's graduated spec: one case per tier edge (April: multiplier 1.0, no seasonal line; fees 20.00).
@pytest.mark.parametrize("ccf,lines,total", [
    ("0", [("tier_1", D("0"), D("0.00"))], "20.00"),
    ("1", [("tier_1", D("1"), D("2.50"))], "22.50"),
    ("9.99", [("tier_1", D("9.99"), D("24.98"))], "44.98"),  # 24.975 -> 24.98 (half-up)
    ("10", [("tier_1", D("10"), D("25.00"))], "45.00"),
    ("10.01", [("tier_1", D("10"), D("25.00")), ("tier_2", D("0.01"), D("0.03"))], "45.03"),
    ("11", [("tier_1", D("10"), D("25.00")), ("tier_2", D("1"), D("3.00"))], "48.00"),
    ("15.5", [("tier_1", D("10"), D("25.00")), ("tier_2", D("5.5"), D("16.50"))], "61.50"),
    ("20", [("tier_1", D("10"), D("25.00")), ("tier_2", D("10"), D("30.00"))], "75.00"),
    ("20.01", [("tier_1", D("10"), D("25.00")), ("tier_2", D("10"), D("30.00")), ("tier_3", D("0.01"), D("0.04"))],
     "75.04"),  # 0.035 -> 0.04
    ("21", [("tier_1", D("10"), D("25.00")), ("tier_2", D("10"), D("30.00")), ("tier_3", D("1"), D("3.50"))], "78.50"),
    ("0.01", [("tier_1", D("0.01"), D("0.03"))], "20.03"),
])
def test_tier_edges(ccf, lines, total):
    q = quote(ccf)
    assert amounts(q)[:-2] == lines
    assert amounts(q)[-2:] == [("fee_base", D("1"), D("15.00")), ("fee_infrastructure", D("1"), D("5.00"))]
    assert q.total_amount == D(total)


@pytest.mark.parametrize("end,season,adjustment,total", [
    (dt.date(2026, 6, 30), "Summer", "14.50", "107.00"),
    (dt.date(2026, 8, 31), "Summer", "14.50", "107.00"),
    (dt.date(2026, 12, 31), "Winter", "-7.25", "85.25"),
    (dt.date(2026, 1, 31), "Winter", "-7.25", "85.25"),
    (dt.date(2026, 2, 28), "Winter", "-7.25", "85.25"),
    (dt.date(2026, 3, 31), None, None, "92.50"),
    (dt.date(2026, 5, 31), None, None, "92.50"),
    (dt.date(2026, 9, 30), None, None, "92.50"),
    (dt.date(2026, 11, 30), None, None, "92.50"),
])
def test_season_of_the_period_end_month(end, season, adjustment, total):
    q = quote("25", end)
    seasonal = [ln for ln in q.lines if ln.code == "seasonal"]
    if season is None:
        assert seasonal == []  # multiplier 1.0: no line at all
    else:
        assert seasonal[0].label.startswith(season) and seasonal[0].amount == D(adjustment)
    assert q.total_amount == D(total)


def test_period_spanning_two_months_takes_the_end_months_season():
    assert quote("25", dt.date(2026, 9, 14), start=dt.date(2026, 8, 15)).total_amount == D("92.50")  # Sep: 1.0
    assert quote("25", dt.date(2026, 6, 19), start=dt.date(2026, 5, 20)).total_amount == D("107.00")  # Jun: 1.2


def test_zero_usage_in_summer_shows_a_zero_adjustment():
    q = quote("0", dt.date(2026, 7, 31))
    assert amounts(q)[:2] == [("tier_1", D("0"), D("0.00")), ("seasonal", D("0.00"), D("0.00"))]
    assert q.total_amount == D("20.00")


def test_seasonal_adjustment_is_on_the_rounded_usage_lines():
    # 9.99 CCF in July: tier line 24.975 -> 24.98; adjustment 24.98 x 0.2 = 4.996 -> 5.00
    q = quote("9.99", dt.date(2026, 7, 31))
    assert [ln.amount for ln in q.lines[:2]] == [D("24.98"), D("5.00")]
    assert q.total_amount == D("49.98")


def test_half_cent_discount_goes_to_the_customer():
    d = WATER.to_dict()
    d["versions"] = d["versions"][:1]
    d["versions"][0]["params"]["tiers"] = [{"rate": "0.05"}]
    plan = TariffPlan.from_dict(d)
    q = quote("1", dt.date(2026, 1, 31), plan=plan)  # usage 0.05 x -0.1 = -0.005 -> -0.01 (half away from zero)
    assert amounts(q)[:2] == [("tier_1", D("1"), D("0.05")), ("seasonal", D("0.05"), D("-0.01"))]
    assert q.lines[0].label == "Tier 1: all CCF"


def test_arrears_line():
    q = quote("25", dt.date(2026, 7, 31), prev=D("40.10"))
    assert amounts(q)[-1] == ("arrears", None, D("40.10"))
    assert (q.current_charges, q.previous_outstanding, q.total_amount) == (D("107.00"), D("40.10"), D("147.10"))


@pytest.mark.parametrize("ccf,words", [("12.345", "more than 2 decimal places"), ("-1", "below the minimum"),
                                       ("lots", "not a number"), ("99999999999", "above the maximum")])
def test_bad_quantity_is_refused_not_rounded(ccf, words):
    with pytest.raises(ValidationError) as e:
        TariffRules.quote(WATER, quantity=ccf, period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 4, 30))
    assert e.value.field == "quantity" and words in str(e.value)


def test_quantity_is_required():
    with pytest.raises(ValidationError) as e:
        TariffRules.quote(WATER, period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 4, 30))
    assert e.value.field == "quantity"


def test_inputs_a_water_plan_would_not_bill_are_refused():
    with pytest.raises(ValidationError) as e:
        TariffRules.quote(WATER, quantity=D("5"), shared_units=D("2"), period_start=dt.date(2026, 4, 1),
                          period_end=dt.date(2026, 4, 30))
    assert e.value.field == "shared_units"


def test_period_start_after_end_is_refused():
    with pytest.raises(ValidationError) as e:
        quote("5", dt.date(2026, 4, 30), start=dt.date(2026, 5, 1))
    assert e.value.field == "period_start"


# -- properties -------------------------------------------------------------------------

ccf = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False)
month_ends = st.sampled_from([dt.date(2026, m, 28) for m in range(1, 13)] + [dt.date(2027, 1, 28), dt.date(2027, 7, 28)])


@st.composite
def water_plans(draw):
    """Random valid plans: ascending tier bounds, non-negative rates, any positive multipliers."""
    bounds = sorted(set(draw(st.lists(st.decimals(min_value="0.01", max_value=500, places=2), max_size=4))))
    rates = draw(st.lists(st.decimals(min_value=0, max_value=20, places=2), min_size=len(bounds) + 1,
                          max_size=len(bounds) + 1))
    tiers = [{"up_to": str(b), "rate": str(r)} for b, r in zip(bounds, rates)] + [{"rate": str(rates[-1])}]
    mults = [str(draw(st.decimals(min_value="0.01", max_value=3, places=2))) for _ in range(3)]
    d = WATER.to_dict()
    d["versions"] = d["versions"][:1]
    params = d["versions"][0]["params"]
    params["tiers"] = tiers
    for season, m in zip(params["seasons"], mults):
        season["multiplier"] = m
    return TariffPlan.from_dict(d)


@settings(max_examples=300, deadline=None)
@given(a=ccf, b=ccf, end=month_ends)
def test_total_is_monotone_in_quantity(a, b, end):
    low, high = sorted((a, b))
    assert quote(low, end).total_amount <= quote(high, end).total_amount


@settings(max_examples=200, deadline=None)
@given(plan=water_plans(), a=ccf, b=ccf, end=st.sampled_from([dt.date(2026, m, 28) for m in (1, 4, 7)]))
def test_total_is_monotone_in_quantity_for_any_valid_plan(plan, a, b, end):
    low, high = sorted((a, b))
    q_low, q_high = quote(low, end, plan=plan), quote(high, end, plan=plan)
    assert q_low.total_amount <= q_high.total_amount
    for q in (q_low, q_high):
        assert sum(ln.quantity for ln in q.lines if ln.code.startswith("tier_")) == q.inputs.quantity
