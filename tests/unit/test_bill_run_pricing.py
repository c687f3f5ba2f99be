"""The bill run's pricing fast path gives exactly what PricingService + FlatRateTariff give."""
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.demo import society as demo
from services.billing.run_pricing import RunPricer, flat_rate_total
from services.errors import ValidationError
from services.pricing_service import PricingService
from services.tariff_rules import FlatRateTariff

ODD_FLATS = [("C14-SF", "4BHK"), ("c14-sf", None), ("D3-SF", "5BHK"), ("D4-SF", "2BHK"), ("B17-FF", "2BHK"),
             ("B17-FF", "3BHK"), ("B17-FF", None), ("X99-GF", "5BHK"), ("X99-GF", "1BHK"), (" a1-gf ", "4bhk"),
             ("5BHK-B17-FF", "2BHK"), ("B20-SF", "studio"), ("A1-GF", " 5 BHK "), ("", None)]


def reference(pricing, code, kind):
    p = pricing.pricing_for_flat(code, kind)
    return p.rate_per_unit, p.fixed_charge, p.rule


@pytest.mark.parametrize("pricing", [
    PricingService(),  # the real master data spreadsheet
    PricingService(table={"B17-FF": (D("12"), D("1474")), "C14-SF": (D("11"), D("1890")), "A1-GF": (D("9"), D("100"))}),
], ids=["master-data", "small-table"])
def test_terms_match_reference_for_every_demo_flat_and_odd_codes(pricing):
    fast = RunPricer(pricing)
    accounts = [(f.code, f.category) for f in demo.accounts(640)] + ODD_FLATS
    for code, kind in accounts:
        assert fast.terms(code, kind) == reference(pricing, code, kind), (code, kind)
    assert len(fast._memo) < 40  # memoized by rule inputs, not one entry per flat


def test_a_pricing_subclass_is_asked_flat_by_flat():
    class Custom(PricingService):
        def pricing_for_flat(self, account_code, category):
            p = super().pricing_for_flat(account_code, category)
            return p.__class__(p.account_code, p.rate_per_unit + 1, p.fixed_charge, "custom", p.bhk, p.steps)

    fast = RunPricer(Custom(table={}))
    assert fast.terms("B17-FF", "2BHK") == (D("13.0"), D("1474"), "custom")


amounts = st.decimals(min_value=0, max_value=10 ** 9, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(units=amounts, motor=st.one_of(st.none(), amounts), prev=amounts,
       rate=st.sampled_from([D("12"), D("9"), D("11.5"), D("12.3456"), D("0")]),
       fixed=st.sampled_from([D("0"), D("1474"), D("2311.00")]))
def test_total_matches_flat_rate_tariff(units, motor, prev, rate, fixed):
    ref = FlatRateTariff().compute(flat_units=units, motor_units=motor, rate_per_unit=rate, fixed_charge=fixed,
                                   previous_outstanding=prev)
    assert flat_rate_total(units, motor, rate, fixed, prev) == (ref.motor_units, ref.total_units, ref.total_amount)


@pytest.mark.parametrize("units, motor, prev", [
    (D("1.005"), D("0"), D("0")), (D("-1"), D("0"), D("0")), (D("1"), D("0.001"), D("0")),
    (D("1"), D("0"), D("0.001")), (D("1E+11"), D("0"), D("0")), (D("NaN"), D("0"), D("0")),
    (D("Infinity"), D("0"), D("0")), (D("1"), D("0"), D("Infinity")), (1.5, D("0"), D("0")), ("12", None, D("0")),
])
def test_inputs_the_reference_refuses_or_converts_go_to_the_reference(units, motor, prev):
    try:
        ref = FlatRateTariff().compute(flat_units=units, motor_units=motor, rate_per_unit=D("12"), fixed_charge=D("0"),
                                       previous_outstanding=prev)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as got:
            flat_rate_total(units, motor, D("12"), D("0"), prev)
        assert str(got.value) == str(exc)
    else:
        assert flat_rate_total(units, motor, D("12"), D("0"), prev) == (ref.motor_units, ref.total_units, ref.total_amount)


def test_half_up_rounding_once():
    # 0.005 goes up, and only the total is rounded: 1.01 x 12.345 = 12.46845 -> 12.47
    assert flat_rate_total(D("1.01"), D("0"), D("12.345"), D("0"), D("0"))[2] == D("12.47")
    assert flat_rate_total(D("0.05"), D("0"), D("0.1"), D("0"), D("0"))[2] == D("0.01")  # 0.005 -> 0.01
