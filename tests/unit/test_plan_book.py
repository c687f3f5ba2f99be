"""PlanBook prices every bill with the stored plan: its memoised flat-rate terms are exactly the
plan's rules (resolve_terms) and, for the shipped society plan, exactly PricingService's."""
import datetime as dt
from decimal import Decimal as D

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.pricing import PlanBook, _priced, recompute_bill
from services.tariffs import quote
from services.demo import society as demo
from services.models import Bill, StoredPlan
from services.pricing_service import PricingService
from services.tariffs import TariffPlan
from services.tariffs.flat_rate import resolve_terms

SOCIETY = TariffPlan.load("data/tariffs/society.toml")
WATER = TariffPlan.load("data/tariffs/water.toml")
MUNICIPAL = TariffPlan.load("data/tariffs/municipal.toml")
END = dt.date(2026, 10, 31)
ODD_FLATS = [("C14-SF", "4BHK"), ("c14-sf", None), ("D3-SF", "5BHK"), ("D4-SF", "2BHK"), ("B17-FF", "2BHK"),
             ("B17-FF", "3BHK"), ("B17-FF", None), ("X99-GF", "5BHK"), ("X99-GF", "1BHK"), (" a1-gf ", "4bhk"),
             ("5BHK-B17-FF", "2BHK"), ("B20-SF", "studio"), ("A1-GF", " 5 BHK ")]


def book(pricing) -> PlanBook:
    return PlanBook([StoredPlan(1, SOCIETY, {1: 11}), StoredPlan(2, WATER, {1: 21, 2: 22}),
                     StoredPlan(3, MUNICIPAL, {1: 31})], pricing)


@pytest.mark.parametrize("pricing", [
    PricingService(),  # the real master data spreadsheet
    PricingService(table={"B17-FF": (D("12"), D("1474")), "C14-SF": (D("11"), D("1890")), "A1-GF": (D("9"), D("100"))}),
], ids=["master-data", "small-table"])
def test_memoised_terms_are_the_plan_rules_and_pricing_service_for_every_demo_flat(pricing):
    b = book(pricing)
    accounts = [(f.code, f.flat_type) for f in demo.flats(640)] + ODD_FLATS
    for code, kind in accounts:
        t = b.flat_terms(SOCIETY, END, code, kind)
        assert t == resolve_terms(SOCIETY.version_for(END).params, code, kind, pricing), (code, kind)
        ref = pricing.pricing_for_flat(code, kind)
        assert (t.rate_per_unit, t.fixed_charge, t.rule) == (ref.rate_per_unit, ref.fixed_charge, ref.rule), code
    assert len(b._memo) < 40  # memoised by rule inputs, not one entry per flat


def test_each_kind_priced_by_its_plan_and_recomputed_from_what_is_stored():
    b = book(PricingService(table={"B17-FF": (D("12"), D("1474"))}))
    flat = b.price(1, period_start=dt.date(2026, 10, 1), period_end=END, previous_outstanding=D("100.00"),
                   account_code="B17-FF", category="2BHK", units=D("150"), motor_units=D("10"))
    assert (flat.total_amount, flat.rate_per_unit, flat.fixed_charge, flat.tariff_plan_version_id) == (
        D("3494.00"), D("12"), D("1474"), 11)
    water = b.price(2, period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31), previous_outstanding=D("0"),
                    account_code="HS0000001", category="residential", units=D("25"))
    assert water.total_amount == D("107.00") and water.tariff_plan_version_id == 21
    assert [ln.code for ln in water.lines] == ["tier_1", "tier_2", "tier_3", "seasonal", "fee_base", "fee_infrastructure"]
    fee = b.price(3, period_start=dt.date(2026, 10, 1), period_end=END, previous_outstanding=D("0"),
                  account_code="SP-KSR-1", category="Small", account_type="Bakery")
    assert fee.units == D("0") and fee.lines[0].code == "fee_monthly"
    for priced, plan_id in ((flat, 1), (water, 2), (fee, 3)):
        bill = Bill(id=1, account_id=1, area_id=1, billing_period_start=priced.quote.inputs.period_start,
                    billing_period_end=priced.quote.inputs.period_end, due_date=END, tariff_kind=priced.tariff_kind,
                    pricing_rule=priced.pricing_rule, units=priced.units, motor_units=priced.motor_units,
                    total_units=priced.total_units, rate_per_unit=priced.rate_per_unit, fixed_charge=priced.fixed_charge,
                    previous_outstanding=priced.previous_outstanding, total_amount=priced.total_amount, status="pending",
                    tariff_plan_version_id=priced.tariff_plan_version_id, tariff_details=priced.tariff_details)
        assert recompute_bill(bill, list(priced.lines), b) == (priced.total_amount, True)
        wrong = list(priced.lines[:-1])  # a line lost: the check says so
        assert recompute_bill(bill, wrong, b)[1] is False


amounts = st.decimals(min_value=0, max_value=10 ** 6, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(units=amounts, motor=st.one_of(st.none(), st.just(D("0")), amounts), prev=amounts,
       code=st.sampled_from(["B17-FF", "C14-SF", "X9-GF", " a1-gf ", "D3-SF"]),
       kind=st.sampled_from(["2BHK", "3BHK", "5BHK", None, "studio"]))
def test_the_fast_flat_rate_path_is_exactly_the_plan_quote(units, motor, prev, code, kind):
    """PlanBook prices flat-rate bills without quote()'s general checks; the answer must be the
    same bill, line for line and input for input, as the plan's own quote."""
    b = book(PricingService(table={"B17-FF": (D("12"), D("1474")), "C14-SF": (D("11"), D("1890"))}))
    start, end = dt.date(2026, 10, 1), END
    fast = b.price(1, period_start=start, period_end=end, previous_outstanding=prev, account_code=code,
                   category=kind, units=units, motor_units=motor)
    t = b.flat_terms(SOCIETY, end, code, kind)
    slow = _priced(quote(SOCIETY, quantity=units, shared_units=motor or D("0.00"), account_code=code, unit_type=kind,
                         rate_per_unit=t.rate_per_unit, fixed_charge=t.fixed_charge, pricing_rule=t.rule,
                         period_start=start, period_end=end, previous_outstanding=prev), 11, kind)
    assert fast == slow
    assert fast.tariff_details == slow.tariff_details and str(fast.total_amount) == str(slow.total_amount)
    assert fast.quote == slow.quote  # made on demand from the stored inputs, it is the plan's own quote


def test_inputs_quote_would_refuse_take_the_slow_path_and_its_message():
    import pytest as _pytest

    from services.errors import ValidationError

    b = book(PricingService(table={}))
    kw = dict(period_start=dt.date(2026, 10, 1), period_end=END, previous_outstanding=D("0"), account_code="B17-FF",
              category="2BHK")
    for bad in (D("1.005"), D("-1"), D("NaN"), None):
        with _pytest.raises(ValidationError):
            b.price(1, units=bad, **kw)
    assert b.price(1, units=1.5, **kw).units == D("1.5")  # a float is read by its shortest repr, as quote() does
