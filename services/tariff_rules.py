"""Bill arithmetic (pure).

Flat-rate tariff (seed 002):
    total = (flat_units + water_motor_share) x rate_per_unit + fixed_charge + previous_outstanding
computed exactly in Decimal and rounded once, to 2 places, half-up (services.money.round_money).
Because fixed_charge and previous_outstanding already have 2 places, the rounded energy charge
shown on a bill plus the other lines always adds up to the total.

Other tariff kinds (tiered slabs, seasonal multipliers, fixed monthly fees) are added as new
classes registered in TARIFF_KINDS; a bill stores its `tariff_kind`, so old bills keep being
recomputed by the kind that priced them.

Tariff plans (versioned pricing data of a kind, in data/tariffs/*.toml) are priced by
`TariffRules.quote(plan, ...)`, which returns a Quote with lines; the plans and their kinds live
in services/tariffs/ and are re-exported here (TariffPlan, PlanVersion, Quote, QuoteLine, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from services.money import parse_decimal, round_money
from services.tariffs import (  # noqa: F401  (re-exported: the stable API imports them from here)
    NoFeeError, PlanError, PlanVersion, Quote, QuoteInputs, QuoteLine, TariffPlan, UnknownTariffKindError,
)
from services.tariffs import quote as _quote_plan
from services.tariffs import recompute as recompute_quote  # noqa: F401

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
    def recompute(bill, plan: TariffPlan | None = None) -> Decimal:
        """Recompute a stored bill's total from its stored inputs (for verification).

        A flat-rate bill keeps every input of the seed's formula in its own columns (units, motor
        units, rate, fixed charge, arrears). A bill of another kind keeps its quote's inputs in
        `tariff_details` (plan code and version included) and is recomputed with `plan`, the stored
        plan that priced it (services.billing.pricing.PlanBook passes it; without one, the shipped
        plan file of that code in data/tariffs/ is used)."""
        if bill.tariff_kind == FlatRateTariff.kind:
            return FlatRateTariff().compute(
                flat_units=bill.units, motor_units=bill.motor_units, rate_per_unit=bill.rate_per_unit,
                fixed_charge=bill.fixed_charge, previous_outstanding=bill.previous_outstanding).total_amount
        inputs = QuoteInputs.from_dict(bill.tariff_details or {})
        if plan is None:
            plan = _shipped_plan(inputs.plan_code)
        return recompute_quote(inputs, plan).total_amount

    @staticmethod
    def quote(plan: TariffPlan, *, quantity=None, period_start, period_end, previous_outstanding=0,
              category: str | None = None, unit_type: str | None = None, account_code: str | None = None,
              shared_units=None, rate_per_unit=None, fixed_charge=None, pricing_rule: str | None = None,
              pricing=None) -> Quote:
        """What `plan` charges for one billing period, as a Quote with lines (docs/billing-rules.md, "Tariff plans").

        The version in effect on `period_end` prices the whole period. `quantity` is the metered
        usage in the plan's unit (kWh, CCF; recorded but not billed by a category_fee plan).
        category_fee plans need `category` (and `unit_type` where the category has no default).
        flat_rate plans also take `account_code` (flat code for the master data and special-flat
        rules), `unit_type` (flat type, e.g. "5BHK"), `shared_units` (the account's share of a
        shared motor, kWh), and optionally the terms already known: `rate_per_unit` and
        `fixed_charge` together (then no lookup is made), `pricing_rule`, and `pricing` (a
        PricingService; default: the master data spreadsheet).
        """
        return _quote_plan(plan, quantity=quantity, period_start=period_start, period_end=period_end,
                           previous_outstanding=previous_outstanding, category=category, unit_type=unit_type,
                           account_code=account_code, shared_units=shared_units, rate_per_unit=rate_per_unit,
                           fixed_charge=fixed_charge, pricing_rule=pricing_rule, pricing=pricing)


def _shipped_plan(code: str) -> TariffPlan:
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parent.parent / "data" / "tariffs").glob("*.toml")):
        plan = TariffPlan.load(path)
        if plan.code == code:
            return plan
    raise ValueError(f"no plan {code!r} in data/tariffs/; recompute with the stored plan (PlanBook)")
