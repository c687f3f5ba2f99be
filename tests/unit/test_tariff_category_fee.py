"""category_fee (seed 003): a fixed monthly fee by category and unit type from the plan's schedule."""
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.errors import ValidationError
from services.tariff_rules import NoFeeError, TariffPlan, TariffRules

MUNICIPAL = TariffPlan.load(Path(__file__).resolve().parents[2] / "data" / "tariffs" / "municipal.toml")


def quote(category, unit_type=None, prev=D("0"), quantity=None, **kw):
    return TariffRules.quote(MUNICIPAL, quantity=quantity, period_start=dt.date(2026, 10, 1),
                             period_end=dt.date(2026, 10, 31), previous_outstanding=prev, category=category,
                             unit_type=unit_type, **kw)


@pytest.mark.parametrize("category,unit_type,fee,label", [
    ("Residential", "Up to 5 Marla", "300", "Sanitation fee: Residential, Up to 5 Marla"),
    ("Residential", "5 to 10 Marla", "500", "Sanitation fee: Residential, 5 to 10 Marla"),
    ("Residential", "10 to 20 Marla", "1000", "Sanitation fee: Residential, 10 to 20 Marla"),
    ("Residential", "20 to 40 Marla", "2000", "Sanitation fee: Residential, 20 to 40 Marla"),
    ("Residential", "Above 40 Marla", "5000", "Sanitation fee: Residential, Above 40 Marla"),
    ("Rural residential", "Up to 10 Marla", "200", "Sanitation fee: Rural residential, Up to 10 Marla"),
    ("Small", "Barber", "500", "Sanitation fee: Small"),  # no row: the category's default
    ("Small", None, "500", "Sanitation fee: Small"),
    ("Small", "Bakery", "1000", "Sanitation fee: Small, Bakery"),
    ("Medium", "General store", "1000", "Sanitation fee: Medium"),
    ("Medium", "Bakery", "3000", "Sanitation fee: Medium, Bakery"),
    ("Large", "Marriage hall", "5000", "Sanitation fee: Large, Marriage hall"),
    ("Large", "Pharmacy", "3000", "Sanitation fee: Large"),
    ("Industrial", "Flour mill", "5000", "Sanitation fee: Industrial"),
    ("Institutional", "Mosque", "0", "Sanitation fee: Institutional, Mosque"),
    ("  small ", " BAKERY", "1000", "Sanitation fee: Small, Bakery"),  # case and spacing ignored
    ("residential", "5  to 10 marla", "500", "Sanitation fee: Residential, 5 to 10 Marla"),
])
def test_fee_from_the_schedule_or_the_category_default(category, unit_type, fee, label):
    q = quote(category, unit_type)
    assert [(ln.code, ln.label, ln.quantity, ln.unit, ln.rate, ln.amount) for ln in q.lines] == [
        ("fee_monthly", label, D("1"), "month", D(fee), D(fee).quantize(D("0.01")))]
    assert q.total_amount == D(fee) and (q.kind, q.currency) == ("category_fee", "PKR")


def test_arrears_are_added_as_a_line():
    q = quote("Residential", "5 to 10 Marla", prev=D("1500"))
    assert [(ln.code, ln.amount) for ln in q.lines] == [("fee_monthly", D("500.00")), ("arrears", D("1500.00"))]
    assert (q.current_charges, q.previous_outstanding, q.total_amount) == (D("500.00"), D("1500.00"), D("2000.00"))


@pytest.mark.parametrize("category", [None, "", "   "])
def test_missing_category_is_refused(category):
    with pytest.raises(ValidationError) as e:
        quote(category, "Bakery")
    assert e.value.field == "category" and "is required" in str(e.value) and "Residential" in str(e.value)


def test_unknown_category_is_refused_listing_the_known_ones():
    with pytest.raises(ValidationError) as e:
        quote("Huge", "Bakery")
    assert e.value.field == "category" and "Small, Medium, Large" in str(e.value)


def test_no_row_and_no_default_is_a_typed_error():
    with pytest.raises(NoFeeError) as e:
        quote("Residential", "Palace")
    assert e.value.field == "unit_type"
    assert "no fee for unit type 'Palace'" in str(e.value) and "Up to 5 Marla" in str(e.value)
    with pytest.raises(NoFeeError) as e:
        quote("Institutional", None)
    assert "is required for category 'Institutional'" in str(e.value)


def test_quantity_is_recorded_but_does_not_change_the_fee():
    q = quote("Small", "Barber", quantity=D("25"))
    assert q.total_amount == D("500.00") and q.inputs.quantity == D("25")
    assert quote("Small", "Barber").inputs.quantity is None


def test_metered_inputs_are_refused():
    with pytest.raises(ValidationError) as e:
        quote("Small", "Barber", shared_units=D("3"))
    assert e.value.field == "shared_units"


def test_stable_api_call_for_a_municipal_plan_without_category_says_what_to_pass():
    with pytest.raises(ValidationError) as e:
        TariffRules.quote(MUNICIPAL, quantity=D("25"), period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 7, 31),
                          previous_outstanding=D("0"), category=None)
    assert e.value.field == "category" and "Pass category=" in str(e.value)


def test_before_the_fee_took_effect():
    with pytest.raises(ValidationError) as e:
        TariffRules.quote(MUNICIPAL, period_start=dt.date(2025, 6, 1), period_end=dt.date(2025, 6, 30), category="Small")
    assert e.value.field == "period_end"
