"""Properties every quote has, whatever its kind: lines of whole cents adding up to the total, and
a stored quote's inputs recompute to the same quote, line by line."""
import datetime as dt
import json
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.errors import ValidationError
from services.pricing_service import PricingService
from services.tariff_rules import Quote, QuoteInputs, TariffPlan, TariffRules, recompute_quote

PLANS = Path(__file__).resolve().parents[2] / "data" / "tariffs"
SOCIETY, WATER, MUNICIPAL = (TariffPlan.load(PLANS / f"{n}.toml") for n in ("society", "water", "municipal"))
SMALL = PricingService(table={"B17-FF": (D("12"), D("1474")), "A1-GF": (D("9"), D("100")),
                              "B2-GF": (D("12.3456"), D("999.99"))})
CATEGORIES = [("Residential", "Up to 5 Marla"), ("Small", "Barber"), ("Small", "Bakery"), ("Large", None),
              ("Institutional", "Mosque"), ("Industrial", "Tannery")]

quantities = st.decimals(min_value=0, max_value=10 ** 6, places=2, allow_nan=False, allow_infinity=False)
money = st.decimals(min_value=0, max_value=10 ** 8, places=2, allow_nan=False, allow_infinity=False)
period_ends = st.dates(min_value=dt.date(2025, 7, 1), max_value=dt.date(2029, 12, 31))


@st.composite
def quotes(draw):
    end = draw(period_ends)
    start = end - dt.timedelta(days=draw(st.integers(0, 40)))
    common = {"period_start": start, "period_end": end, "previous_outstanding": draw(money)}
    kind = draw(st.sampled_from(["society", "water", "municipal"]))
    if kind == "society":
        code, flat_type = draw(st.sampled_from([("B17-FF", "2BHK"), ("A1-GF", "5BHK"), ("B2-GF", None),
                                                ("C14-SF", "4BHK"), ("X9-TF", "3BHK")]))
        return TariffRules.quote(SOCIETY, quantity=draw(quantities), shared_units=draw(st.one_of(st.none(), quantities)),
                                 account_code=code, unit_type=flat_type, pricing=SMALL, **common), SOCIETY
    if kind == "water":
        return TariffRules.quote(WATER, quantity=draw(quantities), **common), WATER
    category, unit_type = draw(st.sampled_from(CATEGORIES))
    return TariffRules.quote(MUNICIPAL, category=category, unit_type=unit_type, **common), MUNICIPAL


@settings(max_examples=500, deadline=None)
@given(qp=quotes())
def test_every_quote_adds_up_and_recomputes(qp):
    q, plan = qp
    cents = D("0.01")
    assert all(ln.amount.as_tuple().exponent == -2 for ln in q.lines)  # each line: exactly 2 places
    assert q.total_amount == sum(ln.amount for ln in q.lines)
    assert q.total_amount == q.current_charges + q.previous_outstanding
    assert q.current_charges == sum(ln.amount for ln in q.lines if ln.code != "arrears")
    for ln in q.lines:  # every line is its quantity x rate rounded once, half-up
        if ln.quantity is not None and ln.rate is not None:
            assert ln.amount == (ln.quantity * ln.rate).quantize(cents, rounding=ROUND_HALF_UP), ln
    assert recompute_quote(q.inputs, plan) == q
    assert recompute_quote(QuoteInputs.from_dict(json.loads(json.dumps(q.inputs.to_dict()))), plan) == q
    assert Quote.from_dict(json.loads(json.dumps(q.to_dict()))) == q


def test_recompute_of_a_stored_flat_rate_quote_does_not_read_master_data_again():
    q = TariffRules.quote(SOCIETY, quantity=D("150"), shared_units=D("10"), account_code="B17-FF", unit_type="2BHK",
                          period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31), pricing=SMALL)
    changed = PricingService(table={"B17-FF": (D("13"), D("1474"))})  # the spreadsheet changed since
    assert recompute_quote(q.inputs, SOCIETY, pricing=changed) == q
    assert TariffRules.quote(SOCIETY, quantity=D("150"), shared_units=D("10"), account_code="B17-FF",
                             unit_type="2BHK", period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31),
                             pricing=changed).total_amount == D("3554.00")


def test_recompute_uses_the_stored_version_not_the_latest():
    q = TariffRules.quote(WATER, quantity=D("25"), period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31))
    params = WATER.to_dict()["versions"][1]["params"]
    later = WATER.with_new_version(params | {"fees": []}, dt.date(2028, 1, 1))
    assert recompute_quote(q.inputs, later) == q


def test_recompute_detects_a_changed_version():
    q = TariffRules.quote(WATER, quantity=D("25"), period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31))
    d = WATER.to_dict()
    d["versions"][0]["params"]["fees"][1]["amount"] = "5.50"  # someone edited version 1 in place
    assert recompute_quote(q.inputs, TariffPlan.from_dict(d)).total_amount == D("107.50") != q.total_amount


def test_recompute_refuses_another_plans_inputs():
    q = TariffRules.quote(WATER, quantity=D("25"), period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31))
    with pytest.raises(ValidationError) as e:
        recompute_quote(q.inputs, SOCIETY)
    assert e.value.field == "plan_code"


def test_stable_api_from_the_readme(monkeypatch):
    monkeypatch.chdir(PLANS.parent.parent)  # the README's paths are relative to the repository root
    plan = TariffPlan.load("data/tariffs/water.toml")
    q = TariffRules.quote(plan, quantity=D("25"), period_start=dt.date(2026, 7, 1),
                          period_end=dt.date(2026, 7, 31), previous_outstanding=D("0"), category=None)
    assert q.total_amount == D("107.00")
    assert [(line.label, line.amount) for line in q.lines][0] == ("Tier 1: 0-10 CCF", D("25.00"))
    assert q.inputs.to_dict() == {
        "plan_code": "water-standard", "plan_version": 1, "period_start": "2026-07-01", "period_end": "2026-07-31",
        "quantity": "25", "previous_outstanding": "0", "category": None, "unit_type": None, "account_code": None,
        "shared_units": None, "rate_per_unit": None, "fixed_charge": None, "pricing_rule": None}


def test_dates_may_be_iso_text_and_bad_dates_name_the_field():
    q = TariffRules.quote(WATER, quantity="25", period_start="2026-07-01", period_end="2026-07-31")
    assert q.total_amount == D("107.00") and q.inputs.period_end == dt.date(2026, 7, 31)
    with pytest.raises(ValidationError) as e:
        TariffRules.quote(WATER, quantity="25", period_start="2026-07-01", period_end="31/07/2026")
    assert e.value.field == "period_end"


def test_existing_tariff_rules_api_is_unchanged():
    assert TariffRules.calculate_total(150, 10, 12, 1474, 0) == D("3394.00")
    assert TariffRules.breakdown(150, 10, 12, 1474).total_amount == D("3394.00")
