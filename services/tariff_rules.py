"""Bill arithmetic (pure).

Flat-rate tariff (seed 002):
    total = (flat_units + water_motor_share) x rate_per_unit + fixed_charge + previous_outstanding
computed exactly in Decimal and rounded once, to 2 places, half-up (services.money.round_money).
Because fixed_charge and previous_outstanding already have 2 places, the rounded energy charge
shown on a bill plus the other lines always adds up to the total.

Other tariff kinds (tiered slabs, seasonal multipliers, fixed monthly fees) are added as new
classes registered in TARIFF_KINDS; a bill stores its `tariff_kind`, so old bills keep being
recomputed by the kind that priced them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from services.money import parse_decimal, round_money

MAX_UNITS = Decimal("9999999999.99")


@dataclass(frozen=True)
class BillBreakdown:
    tariff_kind: str
    flat_units: Decimal
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    energy_charge: Decimal  # exact, not rounded
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal  # rounded once
    details: dict = field(default_factory=dict)

    @property
    def energy_charge_display(self) -> Decimal:
        return round_money(self.energy_charge)

    @property
    def current_charges(self) -> Decimal:
        """This period's charges, without arrears carried in from earlier bills."""
        return self.total_amount - self.previous_outstanding


class Tariff(Protocol):
    kind: str

    def compute(self, *, flat_units, motor_units, rate_per_unit, fixed_charge, previous_outstanding,
                **details) -> BillBreakdown: ...


def _inputs(flat_units, motor_units, rate_per_unit, fixed_charge, previous_outstanding):
    return (
        parse_decimal(flat_units, "flat_units", maximum=MAX_UNITS, unit="kWh"),
        parse_decimal(motor_units if motor_units is not None else 0, "motor_units", maximum=MAX_UNITS, unit="kWh"),
        parse_decimal(rate_per_unit, "rate_per_unit", places=4),
        parse_decimal(fixed_charge if fixed_charge is not None else 0, "fixed_charge"),
        parse_decimal(previous_outstanding if previous_outstanding is not None else 0, "previous_outstanding"),
    )


class FlatRateTariff:
    kind = "flat_rate"

    def compute(self, *, flat_units, motor_units, rate_per_unit, fixed_charge, previous_outstanding,
                **details) -> BillBreakdown:
        fu, mu, rate, fixed, prev = _inputs(flat_units, motor_units, rate_per_unit, fixed_charge, previous_outstanding)
        units = fu + mu
        energy = units * rate
        return BillBreakdown(self.kind, fu, mu, units, rate, energy, fixed, prev, round_money(energy + fixed + prev))


TARIFF_KINDS: dict[str, Tariff] = {FlatRateTariff.kind: FlatRateTariff()}


def tariff(kind: str) -> Tariff:
    try:
        return TARIFF_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown tariff kind {kind!r}; known: {', '.join(sorted(TARIFF_KINDS))}") from None


class TariffRules:
    """Stable public entry point (documented in README)."""

    @staticmethod
    def calculate_total(flat_units, water_motor_share, rate_per_unit, fixed_charge, previous_outstanding=0) -> Decimal:
        return FlatRateTariff().compute(
            flat_units=flat_units, motor_units=water_motor_share, rate_per_unit=rate_per_unit,
            fixed_charge=fixed_charge, previous_outstanding=previous_outstanding,
        ).total_amount

    @staticmethod
    def breakdown(flat_units, water_motor_share, rate_per_unit, fixed_charge, previous_outstanding=0,
                  kind: str = FlatRateTariff.kind) -> BillBreakdown:
        return tariff(kind).compute(
            flat_units=flat_units, motor_units=water_motor_share, rate_per_unit=rate_per_unit,
            fixed_charge=fixed_charge, previous_outstanding=previous_outstanding,
        )

    @staticmethod
    def recompute(bill) -> Decimal:
        """Recompute a stored bill's total from its stored inputs (for verification)."""
        return tariff(bill.tariff_kind).compute(
            flat_units=bill.flat_units, motor_units=bill.motor_units, rate_per_unit=bill.rate_per_unit,
            fixed_charge=bill.fixed_charge, previous_outstanding=bill.previous_outstanding,
            **(bill.tariff_details or {}),
        ).total_amount
