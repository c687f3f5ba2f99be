"""flat_rate (seed 002) as a plan: the society's rules as parameters, lines equal to the seed's total."""
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.demo import society as demo
from services.errors import ValidationError
from services.pricing_service import PricingService
from services.tariff_rules import MAX_UNITS, TariffPlan, TariffRules
from services.tariffs.flat_rate import resolve_terms
from services.tariffs.quote import MAX_QUANTITY

SOCIETY = TariffPlan.load(Path(__file__).resolve().parents[2] / "data" / "tariffs" / "society.toml")
PARAMS = SOCIETY.versions[0].params
SMALL = PricingService(table={"B17-FF": (D("12"), D("1474")), "C14-SF": (D("11"), D("1890")),
                              "A1-GF": (D("9"), D("100")), "B2-GF": (D("12.3456"), D("999.99"))})
ODD_FLATS = [("C14-SF", "4BHK"), ("c14-sf", None), ("D3-SF", "5BHK"), ("D4-SF", "2BHK"), ("B17-FF", "2BHK"),
             ("B17-FF", "3BHK"), ("B17-FF", None), ("X99-GF", "5BHK"), ("X99-GF", "1BHK"), (" a1-gf ", "4bhk"),
             ("5BHK-B17-FF", "2BHK"), ("B20-SF", "studio"), ("A1-GF", " 5 BHK "), ("", None), ("B2-GF", "4BHK")]


def quote(units, motor=None, prev=D("0"), code="B17-FF", flat_type="2BHK", pricing=SMALL, **kw):
    return TariffRules.quote(SOCIETY, quantity=units, shared_units=motor, previous_outstanding=prev,
                             period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31),
                             account_code=code, unit_type=flat_type, pricing=pricing, **kw)


def test_seed_formula_example_as_lines():
    # B17-FF, a 2BHK at rate 12 with 150 kWh and a 10 kWh motor share, no arrears (test_tariff.py's case).
    q = quote(D("150"), D("10"))
    assert [(ln.code, ln.label, ln.quantity, ln.unit, ln.rate, ln.amount) for ln in q.lines] == [
        ("energy", "Energy: 150 kWh + 10 kWh shared motor", D("160"), "kWh", D("12"), D("1920.00")),
        ("fixed", "Fixed charge", D("1"), "month", D("1474"), D("1474.00")),
    ]
    assert q.total_amount == D("3394.00") == TariffRules.calculate_total(150, 10, 12, 1474, 0)
    assert (q.inputs.rate_per_unit, q.inputs.fixed_charge, q.inputs.pricing_rule) == (D("12"), D("1474"), "bhk_override")
    assert (q.kind, q.currency) == ("flat_rate", "INR")


def test_special_nine_rupee_flat_pays_no_fixed_charge():
    q = quote(D("210.5"), D("8.25"), code="C14-SF", flat_type="4BHK")
    assert [ln.amount for ln in q.lines] == [D("1968.75"), D("0.00")]
    assert q.lines[1].label == "Fixed charge (none at the special rate)" and q.inputs.pricing_rule == "special_9"
    assert q.total_amount == D("1968.75")


def test_arrears_line_and_no_motor_share():
    q = quote(D("100"), None, prev=D("2500.50"), code="Z99-TF", flat_type="4BHK")
    assert [(ln.code, ln.amount) for ln in q.lines] == [("energy", D("1200.00")), ("fixed", D("1890.00")),
                                                         ("arrears", D("2500.50"))]
    assert q.lines[0].label == "Energy: 100 kWh" and q.total_amount == D("5590.50")
    assert q.current_charges == D("3090.00") and q.previous_outstanding == D("2500.50")


def test_energy_is_one_line_rounded_once():
    # Two lines rounded each (0.25 x 0.05 = 0.0125 -> 0.01, twice) would give 0.02; one line gives 0.03.
    q = quote(D("0.25"), D("0.25"), rate_per_unit=D("0.05"), fixed_charge=D("0"))
    assert q.lines[0].amount == D("0.03") == TariffRules.calculate_total(D("0.25"), D("0.25"), D("0.05"), 0, 0)


def test_flat_type_may_come_as_category_as_the_accounts_store_it():
    assert quote(D("10"), flat_type=None, category="5BHK").inputs.fixed_charge == D("2311")
    assert quote(D("10"), flat_type="flat", category="5BHK").inputs.fixed_charge == D("2311")
    with pytest.raises(ValidationError) as e:
        quote(D("10"), flat_type="4BHK", category="5BHK")
    assert e.value.field == "unit_type"


def test_given_terms_are_used_without_a_lookup():
    class NoLookup(PricingService):
        @property
        def _table(self):
            raise AssertionError("looked up")

        @_table.setter
        def _table(self, value):
            pass

    q = quote(D("10"), rate_per_unit=D("11.5"), fixed_charge=D("100"), pricing_rule="master_data",
              pricing=NoLookup(table={}))
    assert q.total_amount == D("215.00") and q.inputs.pricing_rule == "master_data"
    assert quote(D("1"), rate_per_unit=D("10"), fixed_charge=D("0")).inputs.pricing_rule == "given"


def test_one_term_without_the_other_is_refused():
    with pytest.raises(ValidationError) as e:
        quote(D("10"), rate_per_unit=D("12"))
    assert e.value.field == "fixed_charge"


@pytest.mark.parametrize("kw,field", [
    ({"motor": D("-1")}, "shared_units"), ({"motor": D("0.001")}, "shared_units"),
    ({"rate_per_unit": D("-1"), "fixed_charge": D("0")}, "rate_per_unit"),
    ({"rate_per_unit": D("12"), "fixed_charge": D("0.001")}, "fixed_charge"),
    ({"prev": D("-1")}, "previous_outstanding"),
])
def test_bad_inputs_name_the_field(kw, field):
    with pytest.raises(ValidationError) as e:
        quote(D("10"), **kw)
    assert e.value.field == field


def test_preview_without_an_account_uses_the_plan_defaults():
    q = TariffRules.quote(SOCIETY, quantity=D("100"), unit_type="5BHK", period_start="2026-10-01",
                          period_end="2026-10-31")
    assert (q.inputs.rate_per_unit, q.inputs.fixed_charge, q.total_amount) == (D("12.0"), D("2311"), D("3511.00"))


def test_the_plan_mirrors_pricing_service_constants_and_bounds():
    from services import pricing_service as ps

    assert PARAMS.default_rate == ps.DEFAULT_RATE and PARAMS.default_fixed_charge == ps.DEFAULT_FIXED_CHARGE
    assert PARAMS.special_rate == ps.SPECIAL_RATE and set(PARAMS.special_accounts) == ps.SPECIAL_FLATS
    assert dict(PARAMS.fixed_charge_by_bhk) == ps.BHK_FIXED_CHARGES
    assert MAX_QUANTITY == MAX_UNITS


@pytest.mark.parametrize("pricing", [PricingService(), SMALL], ids=["master-data", "small-table"])
def test_society_plan_gives_pricing_service_terms_for_every_demo_flat(pricing):
    for code, flat_type in [(f.code, f.flat_type) for f in demo.flats(640)] + ODD_FLATS:
        ref = pricing.pricing_for_flat(code, flat_type)
        terms = resolve_terms(PARAMS, code, flat_type, pricing)
        assert (terms.rate_per_unit, terms.fixed_charge, terms.rule) == (ref.rate_per_unit, ref.fixed_charge,
                                                                         ref.rule), (code, flat_type)


def test_edited_rules_take_effect_in_a_new_version():
    params = SOCIETY.to_dict()["versions"][0]["params"]
    params["fixed_charge_by_bhk"]["2BHK"] = "1500"
    plan = SOCIETY.with_new_version(params, dt.date(2026, 10, 1))
    q = TariffRules.quote(plan, quantity=D("150"), shared_units=D("10"), account_code="B17-FF", unit_type="2BHK",
                          period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31), pricing=SMALL)
    assert q.plan_version == 2 and q.total_amount == D("3420.00")
    september = TariffRules.quote(plan, quantity=D("150"), shared_units=D("10"), account_code="B17-FF",
                                  unit_type="2BHK", period_start=dt.date(2026, 9, 1), period_end=dt.date(2026, 9, 30),
                                  pricing=SMALL)
    assert september.plan_version == 1 and september.total_amount == D("3394.00")


# -- the seed's rounded-once total equals the sum of the rounded lines --------------------

kwh = st.decimals(min_value=0, max_value=10 ** 7, places=2, allow_nan=False, allow_infinity=False)
money = st.decimals(min_value=0, max_value=10 ** 9, places=2, allow_nan=False, allow_infinity=False)
flats = st.sampled_from([(f.code, f.flat_type) for f in demo.flats(64)] + ODD_FLATS)


@settings(max_examples=400, deadline=None)
@given(units=kwh, motor=st.one_of(st.none(), kwh), prev=money, flat=flats,
       pricing=st.sampled_from([SMALL, PricingService()]))
def test_quote_total_equals_calculate_total_with_the_flats_pricing(units, motor, prev, flat, pricing):
    code, flat_type = flat
    q = quote(units, motor, prev, code=code, flat_type=flat_type, pricing=pricing)
    p = pricing.pricing_for_flat(code, flat_type)
    assert q.total_amount == TariffRules.calculate_total(units, motor, p.rate_per_unit, p.fixed_charge, prev)
    assert q.total_amount == sum(ln.amount for ln in q.lines)


@settings(max_examples=400, deadline=None)
@given(units=kwh, motor=st.one_of(st.none(), kwh), prev=money,
       rate=st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
       fixed=money)
def test_quote_total_equals_calculate_total_for_any_terms(units, motor, prev, rate, fixed):
    q = quote(units, motor, prev, rate_per_unit=rate, fixed_charge=fixed)
    assert q.total_amount == TariffRules.calculate_total(units, motor, rate, fixed, prev)
    assert q.total_amount == sum(ln.amount for ln in q.lines)
    assert q.lines[0].amount == TariffRules.breakdown(units, motor, rate, fixed, prev).energy_charge_display
