"""Pricing for the month-end run: the same rules as a single bill, without their per-call cost.

A single bill is priced by PricingService.pricing_for_flat and FlatRateTariff.compute. At
300,000 accounts their per-call overhead (rule explanations, parsing every input again) would be
most of the run, so the run uses this module, which is provably the same arithmetic:

- RunPricer answers PricingService's (rate, fixed charge, rule) from a memo keyed by exactly
  what services.pricing_service.resolve_pricing reads of a flat: its master-data row, its BHK
  count when that has a fixed-charge override, and whether it is a special 9-rupee flat. The
  first flat of each key is priced by PricingService itself. (A new pricing rule that reads
  anything else of the flat must be added to `_key`; tests/unit/test_bill_run_pricing.py
  compares every flat of the demo society and random identifiers with the reference.)
- flat_rate_total is FlatRateTariff.compute's formula, round_money((flat + motor) x rate +
  fixed + previous); inputs the reference would refuse (not a Decimal, negative, too large, more
  than 2 places) are handed to the reference, which raises its ValidationError.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from services.money import round_money
from services.pricing_service import (
    BHK_FIXED_CHARGES, SPECIAL_FLATS, PricingService, parse_identifier, unit_identifier,
)
from services.tariff_rules import MAX_UNITS, FlatRateTariff

_D = Decimal
_TARIFF = FlatRateTariff()
FLAT_RATE = FlatRateTariff.kind


class RunPricer:
    """(rate_per_unit, fixed_charge, rule) of a flat, as PricingService.pricing_for_flat answers."""

    def __init__(self, pricing: PricingService):
        self.pricing = pricing
        # Only PricingService's own table-driven rules are known to depend on `_key` alone; any
        # other pricing (a subclass, a remote price list) is asked flat by flat.
        self._table = pricing._table if type(pricing) is PricingService else None
        self._memo: dict[tuple, tuple[Decimal, Decimal, str]] = {}

    def _key(self, unit_id: str) -> tuple:
        code, bhk = parse_identifier(unit_id)
        return (self._table.get(code), bhk if bhk in BHK_FIXED_CHARGES else None, code in SPECIAL_FLATS)

    def terms(self, account_code: str, category: str | None) -> tuple[Decimal, Decimal, str]:
        if self._table is None:
            p = self.pricing.pricing_for_flat(account_code, category)
            return p.rate_per_unit, p.fixed_charge, p.rule
        unit_id = unit_identifier(account_code, category)
        key = self._key(unit_id)
        found = self._memo.get(key)
        if found is None:
            p = self.pricing.get_pricing(unit_id)
            found = self._memo[key] = (p.rate_per_unit, p.fixed_charge, p.rule)
            _check_terms(found)
        return found


def _check_terms(terms: tuple[Decimal, Decimal, str]) -> None:
    """Rates and fixed charges are checked once per memo entry, as the reference would each time."""
    rate, fixed, _ = terms
    _TARIFF.compute(flat_units=0, motor_units=0, rate_per_unit=rate, fixed_charge=fixed, previous_outstanding=0)


def flat_rate_total(units, motor_units, rate: Decimal, fixed: Decimal, previous) -> tuple[Decimal, Decimal, Decimal]:
    """(motor_units, total_units, total_amount) exactly as FlatRateTariff.compute gives them.
    `rate` and `fixed` must come from RunPricer.terms (checked there)."""
    if motor_units is None:
        motor_units = _D(0)
    try:
        ok = (type(units) is _D and type(motor_units) is _D and type(previous) is _D
              and 0 <= units <= MAX_UNITS and 0 <= motor_units <= MAX_UNITS and previous >= 0
              and (units + motor_units).as_tuple().exponent >= -2 and previous.as_tuple().exponent >= -2)
    except (InvalidOperation, TypeError):  # NaN compared, or infinity's exponent 'F'
        ok = False
    if not ok:
        bd = _TARIFF.compute(flat_units=units, motor_units=motor_units, rate_per_unit=rate, fixed_charge=fixed,
                             previous_outstanding=previous)
        return bd.motor_units, bd.total_units, bd.total_amount
    units = units + motor_units
    return motor_units, units, round_money(units * rate + fixed + previous)
