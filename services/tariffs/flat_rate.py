"""flat_rate (seed 002, the society): one rate per kWh, a monthly fixed charge, a shared-meter share.

    total = round_half_up((units + shared_units) x rate + fixed_charge + previous_outstanding, 2)

Lines: ONE energy line for (units + shared units) x rate, the fixed charge, arrears. Only the
energy line needs rounding (fixed charge and arrears have at most 2 places), and adding amounts
of whole cents does not move a half-up rounding of a non-negative number, so the lines add up to
exactly the seed's rounded-once total (TariffRules.calculate_total; a hypothesis test proves it).
Two energy lines (own units, motor share) rounded each could be a cent off that total.

Rate and fixed charge of an account (the seed's pricing rules, as plan parameters; last wins):
1. master data (`master_data = true`): rate and base fixed charge by flat code, read through
   services.pricing_service.PricingService (its loaded spreadsheet); not found, or no account
   code: `default_rate` and `default_fixed_charge` (the plan's, not the DEFAULT_FIXED_CHARGE
   environment variable PricingService reads);
2. a BHK flat type (`5BHK`, or a code prefixed `5BHK-B17-FF`) listed in `fixed_charge_by_bhk`
   sets the fixed charge;
3. an account in `special_accounts` gets `special_rate`, and any rate equal to `special_rate`
   forces the fixed charge to 0. This rule always wins.
With society.toml's version 1 these give exactly PricingService.get_pricing's figures (tested
over every demo flat). Identifiers are parsed by pricing_service (unit_identifier,
parse_identifier), not here.

The resolved rate, fixed charge and rule are pinned into the quote's inputs, so a stored bill
recomputes the same after the spreadsheet changes. A caller that already has them (a bill run,
a stored bill) passes rate_per_unit and fixed_charge and no lookup is made.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from services.errors import ValidationError
from services.money import parse_decimal
from services.pricing_service import (
    RULE_BHK, RULE_DEFAULT, RULE_MASTER_DATA, RULE_SPECIAL_9, PricingService, parse_identifier, unit_identifier,
)
from services.tariffs import values as v
from services.tariffs.errors import PlanError
from services.tariffs.quote import MAX_QUANTITY, QuoteInputs, QuoteLine, line

RULE_GIVEN = "given"  # rate and fixed charge passed in by the caller
_BHK_KEY = re.compile(r"^\s*(\d+)\s*BHK\s*$", re.IGNORECASE)
_KEYS = {"default_rate", "default_fixed_charge", "master_data", "fixed_charge_by_bhk", "special_rate",
         "special_accounts"}


@dataclass(frozen=True)
class FlatRateParams:
    default_rate: Decimal
    default_fixed_charge: Decimal
    master_data: bool
    fixed_charge_by_bhk: tuple[tuple[int, Decimal], ...]  # (5, 2311), ... in the plan's order
    special_rate: Decimal | None
    special_accounts: tuple[str, ...]

    def bhk_fixed_charge(self, bhk: int | None) -> Decimal | None:
        return dict(self.fixed_charge_by_bhk).get(bhk)


@dataclass(frozen=True)
class Terms:
    rate_per_unit: Decimal
    fixed_charge: Decimal
    rule: str


class FlatRate:
    kind = "flat_rate"
    metered = True

    def parse_params(self, raw: Mapping, key: str) -> FlatRateParams:
        raw = v.mapping(raw, key)
        v.only_keys(raw, key, _KEYS)
        k = f"{key}." if key else ""
        rate = v.decimal(v.required(raw, key, "default_rate", '12'), f"{k}default_rate", places=4, positive=True)
        fixed = v.decimal(raw.get("default_fixed_charge", 0), f"{k}default_fixed_charge")
        master = v.boolean(raw.get("master_data", False), f"{k}master_data")
        by_bhk = []
        for name, amount in v.mapping(raw.get("fixed_charge_by_bhk", {}), f"{k}fixed_charge_by_bhk").items():
            m = _BHK_KEY.match(str(name))
            if not m:
                raise PlanError(f"{k}fixed_charge_by_bhk.{name}", "is not a BHK flat type.",
                                  'Name each entry by its flat type, e.g. "5BHK" = 2311.')
            bhk = int(m.group(1))
            if bhk in dict(by_bhk):
                raise PlanError(f"{k}fixed_charge_by_bhk.{name}", f"{bhk}BHK is listed twice.", "Keep one entry.")
            by_bhk.append((bhk, v.decimal(amount, f"{k}fixed_charge_by_bhk.{name}")))
        accounts = []
        for i, code in enumerate(v.items(raw.get("special_accounts", []), f"{k}special_accounts")):
            normal = parse_identifier(v.text(code, f"{k}special_accounts[{i}]", example='"C14-SF"'))[0]
            if normal in accounts:
                raise PlanError(f"{k}special_accounts[{i}]", f"{normal} is listed twice.", "Keep one entry.")
            accounts.append(normal)
        special = raw.get("special_rate")
        if special is not None:
            special = v.decimal(special, f"{k}special_rate", places=4, positive=True)
        elif accounts:
            raise PlanError(f"{k}special_rate", "is missing, but special_accounts are listed.",
                              "Add special_rate = 9 (the rate those accounts pay), or remove special_accounts.")
        return FlatRateParams(rate, fixed, master, tuple(by_bhk), special, tuple(accounts))

    def dump_params(self, p: FlatRateParams) -> dict:
        return {"default_rate": v.dec_str(p.default_rate), "default_fixed_charge": v.dec_str(p.default_fixed_charge),
                "master_data": p.master_data,
                "fixed_charge_by_bhk": {f"{bhk}BHK": v.dec_str(a) for bhk, a in p.fixed_charge_by_bhk},
                "special_rate": v.dec_str(p.special_rate), "special_accounts": list(p.special_accounts)}

    def prepare(self, params: FlatRateParams, inputs: QuoteInputs, *, pricing=None) -> QuoteInputs:
        shared = inputs.shared_units
        if shared is not None:
            shared = parse_decimal(shared, "shared_units", maximum=MAX_QUANTITY, unit="kWh")
        if inputs.rate_per_unit is not None or inputs.fixed_charge is not None:
            terms = _given_terms(inputs)
        else:
            terms = resolve_terms(params, inputs.account_code, flat_type(inputs.unit_type, inputs.category), pricing)
        return replace(inputs, shared_units=shared, rate_per_unit=terms.rate_per_unit,
                       fixed_charge=terms.fixed_charge, pricing_rule=terms.rule)

    def lines(self, params: FlatRateParams, inputs: QuoteInputs, *, unit: str | None, currency: str) -> list[QuoteLine]:
        own, shared = inputs.quantity, inputs.shared_units
        units = own + (shared or 0)
        label = f"Energy: {own} {unit}" + (f" + {shared} {unit} shared motor" if shared else "")
        rate, fixed = inputs.rate_per_unit, inputs.fixed_charge
        fixed_label = ("Fixed charge (none at the special rate)" if inputs.pricing_rule == RULE_SPECIAL_9
                       else "Fixed charge")
        return [line("energy", label, units, unit, rate, units * rate),
                line("fixed", fixed_label, Decimal(1), "month", fixed, fixed)]


def flat_type(unit_type: str | None, category: str | None) -> str | None:
    """The flat type (5BHK) the BHK rule reads: unit_type, or category where accounts keep it there
    (the issue-12 design stores a flat's 2BHK as its category); the two must not disagree."""
    bhk = [t for t in (unit_type, category) if t is not None and _BHK_KEY.match(str(t))]
    if len(bhk) == 2 and _BHK_KEY.match(bhk[0]).group(1) != _BHK_KEY.match(bhk[1]).group(1):
        raise ValidationError("unit_type", f"{unit_type!r} and category {category!r} name different flat types.",
                              "Pass the flat's one type (e.g. '5BHK') as unit_type or as category.")
    return bhk[0] if bhk else unit_type


def resolve_terms(params: FlatRateParams, account_code: str | None, unit_type: str | None,
                  pricing: PricingService | None = None) -> Terms:
    """The seed's rules with the plan's figures (see the module docstring for the order)."""
    if account_code is not None and str(account_code).strip():
        code, bhk = parse_identifier(unit_identifier(str(account_code), unit_type))
    else:  # a preview without an account: only the flat type can apply (placeholder code, never looked up)
        code, bhk = None, parse_identifier(unit_identifier("X", unit_type))[1]
    row = _master_row(pricing, code) if params.master_data and code else None
    if row is not None:
        rate, fixed = row
        rule = RULE_MASTER_DATA
    else:
        rate, fixed, rule = params.default_rate, params.default_fixed_charge, RULE_DEFAULT
    bhk_fixed = params.bhk_fixed_charge(bhk)
    if bhk_fixed is not None:
        fixed, rule = bhk_fixed, RULE_BHK
    if params.special_rate is not None:
        if code in params.special_accounts:
            rate = params.special_rate
        if rate == params.special_rate:
            fixed, rule = Decimal("0"), RULE_SPECIAL_9
    return Terms(rate, fixed, rule)


def _given_terms(inputs: QuoteInputs) -> Terms:
    if inputs.rate_per_unit is None or inputs.fixed_charge is None:
        missing = "rate_per_unit" if inputs.rate_per_unit is None else "fixed_charge"
        raise ValidationError(missing, "is missing: rate_per_unit and fixed_charge are given together or not at all.",
                              "Pass both (the terms that priced the bill), or neither to apply the plan's rules.")
    return Terms(parse_decimal(inputs.rate_per_unit, "rate_per_unit", places=4),
                 parse_decimal(inputs.fixed_charge, "fixed_charge"), inputs.pricing_rule or RULE_GIVEN)


def _master_row(pricing: PricingService | None, code: str) -> tuple[Decimal, Decimal] | None:
    """The flat's (rate, base fixed charge) row from PricingService's loaded master data, as-is
    (the same table get_pricing reads; services/billing/pricing.PlanBook reads it the same way)."""
    pricing = pricing if pricing is not None else default_pricing()
    return pricing._table.get(code)


@functools.cache
def default_pricing() -> PricingService:
    """PricingService() on the default spreadsheet (or MASTER_DATA_PATH), loaded once per process."""
    return PricingService()


MODEL = FlatRate()
