"""TariffRules: total = (flat_units + motor_share) x rate + fixed + previous_outstanding, rounded once."""
from decimal import Decimal as D

import pytest

from services.errors import ValidationError
from services.tariff_rules import TARIFF_KINDS, TariffRules


def test_seed_formula_example():
    # B17-FF, a 2BHK at rate 12 with 150 kWh, a 10 kWh motor share and no arrears.
    assert TariffRules.calculate_total(150, 10, 12, 1474, 0) == D("3394.00")


def test_special_nine_rupee_flat():
    assert TariffRules.calculate_total(D("210.5"), D("8.25"), 9, 0, 0) == D("1968.75")


def test_previous_outstanding_is_added():
    assert TariffRules.calculate_total(100, 0, D("12.0"), 1890, D("2500.50")) == D("5590.50")


def test_rounded_once_half_up():
    # 0.5 kWh at 0.01 = 0.005 -> 0.01 (half-up, not banker's 0.00)
    assert TariffRules.calculate_total(D("0.5"), 0, D("0.01"), 0, 0) == D("0.01")
    # Rounding each part first would give 0.01 + 0.01 = 0.02; rounding once gives 0.03.
    assert TariffRules.calculate_total(D("0.25"), D("0.25"), D("0.05"), 0, 0) == D("0.03")


def test_breakdown_lines_add_up_to_total():
    bd = TariffRules.breakdown(D("123.45"), D("6.78"), D("11.1234"), 1474, D("99.99"))
    assert bd.energy_charge == D("130.23") * D("11.1234")
    assert bd.energy_charge_display + bd.fixed_charge + bd.previous_outstanding == bd.total_amount
    assert bd.current_charges == bd.total_amount - D("99.99")


def test_floats_are_taken_at_face_value_not_binary_expansion():
    assert TariffRules.calculate_total(0.1, 0.2, 12, 0, 0) == D("3.60")


@pytest.mark.parametrize("field,args", [
    ("flat_units", (-1, 0, 12, 0, 0)),
    ("motor_units", (1, -0.5, 12, 0, 0)),
    ("rate_per_unit", (1, 0, "twelve", 0, 0)),
    ("fixed_charge", (1, 0, 12, -10, 0)),
    ("previous_outstanding", (1, 0, 12, 0, -1)),
])
def test_bad_inputs_name_the_field(field, args):
    with pytest.raises(ValidationError) as e:
        TariffRules.calculate_total(*args)
    assert e.value.field == field


def test_new_tariff_kinds_register_without_touching_flat_rate():
    class FixedFee:
        kind = "fixed_fee"

        def compute(self, **kw):
            bd = TARIFF_KINDS["flat_rate"].compute(**kw)
            return bd

    TARIFF_KINDS["fixed_fee"] = FixedFee()
    try:
        assert TariffRules.breakdown(1, 0, 12, 5, 0, kind="fixed_fee").total_amount == D("17.00")
        assert TariffRules.breakdown(1, 0, 12, 5, 0).tariff_kind == "flat_rate"
    finally:
        del TARIFF_KINDS["fixed_fee"]
