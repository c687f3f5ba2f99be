"""What a tariff answers: a Quote with its lines and every input needed to compute it again.

Rounding (one rule for every kind): each line's amount is rounded ONCE to 2 places, half-up
(services.money.round_money; Decimal's ROUND_HALF_UP, which rounds an exact half away from
zero: 0.005 -> 0.01, -0.005 -> -0.01). The total is the exact sum of the lines, so a bill's
lines always add up to its total on paper.

`inputs` holds what the caller gave plus what the plan could not know on its own (the flat's
rate and fixed charge, from the master data at the time), so `recompute(quote.inputs, plan)`
rebuilds the same Quote, line by line, from a stored bill.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal

from services.money import round_money
from services.tariffs.values import dec_str

MAX_QUANTITY = Decimal("9999999999.99")  # the same bound as services.tariff_rules.MAX_UNITS


@dataclass(frozen=True)
class QuoteLine:
    code: str  # energy, fixed, tier_1, seasonal, fee_base, fee_monthly, arrears ...
    label: str
    quantity: Decimal | None
    unit: str | None  # kWh, CCF, month, or the currency for a line priced on an amount
    rate: Decimal | None
    amount: Decimal  # exactly 2 places

    def to_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "quantity": dec_str(self.quantity), "unit": self.unit,
                "rate": dec_str(self.rate), "amount": dec_str(self.amount)}

    @classmethod
    def from_dict(cls, d: dict) -> QuoteLine:
        return cls(d["code"], d["label"], _dec(d["quantity"]), d["unit"], _dec(d["rate"]), Decimal(d["amount"]))


def line(code: str, label: str, quantity: Decimal | None, unit: str | None, rate: Decimal | None,
         exact_amount: Decimal) -> QuoteLine:
    """A line whose amount is `exact_amount` rounded once, to 2 places, half-up."""
    return QuoteLine(code, label, quantity, unit, rate, round_money(exact_amount))


@dataclass(frozen=True)
class QuoteInputs:
    """Everything a quote was computed from. Stored with a bill; `recompute` takes it back."""

    plan_code: str
    plan_version: int
    period_start: dt.date
    period_end: dt.date
    quantity: Decimal | None  # kWh of the account (flat_rate), CCF (tiered_seasonal); not billed by category_fee
    previous_outstanding: Decimal
    category: str | None = None  # category_fee: the fee category (Small, Residential ...)
    unit_type: str | None = None  # flat_rate: flat type (5BHK); category_fee: unit type (Bakery, 5-10 Marla)
    account_code: str | None = None  # flat_rate: flat code for the master data and special-flat rules
    shared_units: Decimal | None = None  # flat_rate: the account's share of a shared meter (water motor), kWh
    rate_per_unit: Decimal | None = None  # flat_rate: the rate that priced it (from the rules, or given)
    fixed_charge: Decimal | None = None  # flat_rate: the fixed charge that priced it
    pricing_rule: str | None = None  # flat_rate: which rule decided rate and fixed charge

    def to_dict(self) -> dict:
        # Field by field, not dataclasses.asdict: the values are scalars, and asdict's deep copy of
        # each was most of the month run's pricing time (it stores this with every bill).
        d = {}
        for name in _INPUT_FIELDS:
            v = getattr(self, name)
            if isinstance(v, Decimal):
                v = dec_str(v)
            elif isinstance(v, dt.date):
                v = v.isoformat()
            d[name] = v
        return d

    @classmethod
    def from_dict(cls, d: dict) -> QuoteInputs:
        decimals = {"quantity", "previous_outstanding", "shared_units", "rate_per_unit", "fixed_charge"}
        kw = {}
        for f in fields(cls):
            v = d.get(f.name)
            if f.name in decimals:
                v = _dec(v)
            elif f.name in ("period_start", "period_end"):
                v = dt.date.fromisoformat(v)
            kw[f.name] = v
        return cls(**kw)


_INPUT_FIELDS = tuple(f.name for f in fields(QuoteInputs))


@dataclass(frozen=True)
class Quote:
    plan_code: str
    plan_version: int
    kind: str
    currency: str
    lines: tuple[QuoteLine, ...]
    current_charges: Decimal  # this period's lines (all but arrears)
    previous_outstanding: Decimal
    total_amount: Decimal  # sum of all lines = current_charges + previous_outstanding
    inputs: QuoteInputs

    def to_dict(self) -> dict:
        return {"plan_code": self.plan_code, "plan_version": self.plan_version, "kind": self.kind,
                "currency": self.currency, "lines": [ln.to_dict() for ln in self.lines],
                "current_charges": dec_str(self.current_charges),
                "previous_outstanding": dec_str(self.previous_outstanding),
                "total_amount": dec_str(self.total_amount), "inputs": self.inputs.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Quote:
        return cls(d["plan_code"], d["plan_version"], d["kind"], d["currency"],
                   tuple(QuoteLine.from_dict(ln) for ln in d["lines"]), Decimal(d["current_charges"]),
                   Decimal(d["previous_outstanding"]), Decimal(d["total_amount"]), QuoteInputs.from_dict(d["inputs"]))


def _dec(v) -> Decimal | None:
    return None if v is None else Decimal(v)
