"""Pricing a period with a plan: `quote`, and `recompute` of a stored quote from its inputs.

quote() picks the version in effect on the period's end date, checks the common inputs, lets the
kind check its own and pin what it looked up, asks the kind for this period's lines, and adds one
arrears line when there is something outstanding. recompute() does the same with the version
number stored in the inputs, so `recompute(q.inputs, plan) == q` for every quote q.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from services.errors import ValidationError
from services.money import parse_decimal
from services.tariffs.plan import PlanVersion, TariffPlan
from services.tariffs.quote import MAX_QUANTITY, Quote, QuoteInputs, line
from services.tariffs.registry import charge_model

CENTS = Decimal("0.00")


def quote(plan: TariffPlan, *, quantity=None, period_start, period_end, previous_outstanding=0,
          category: str | None = None, unit_type: str | None = None, account_code: str | None = None,
          shared_units=None, rate_per_unit=None, fixed_charge=None, pricing_rule: str | None = None,
          pricing=None) -> Quote:
    """What `plan` charges for one billing period. See TariffRules.quote for the arguments."""
    start, end = _date(period_start, "period_start"), _date(period_end, "period_end")
    if start > end:
        raise ValidationError("period_start", f"{start} is after period_end {end}.",
                              "Give the first day of the billing period, then its last day.")
    version = plan.version_for(end)
    inputs = QuoteInputs(plan.code, version.version, start, end, quantity, previous_outstanding, category,
                         unit_type, account_code, shared_units, rate_per_unit, fixed_charge, pricing_rule)
    return _price(plan, version, inputs, pricing)


def recompute(inputs: QuoteInputs, plan: TariffPlan, *, pricing=None) -> Quote:
    """The quote that `inputs` (stored with a bill) and the version they name give today."""
    if inputs.plan_code != plan.code:
        raise ValidationError("plan_code", f"the inputs were priced by plan {inputs.plan_code}, not {plan.code}.",
                              f"Recompute with plan {inputs.plan_code}.")
    return _price(plan, plan.version(inputs.plan_version), inputs, pricing)


def _price(plan: TariffPlan, version: PlanVersion, inputs: QuoteInputs, pricing) -> Quote:
    model = charge_model(plan.kind)
    inputs = _checked(inputs, plan, model.metered)
    inputs = model.prepare(version.params, inputs, pricing=pricing)
    lines = list(model.lines(version.params, inputs, unit=plan.unit, currency=plan.currency))
    current = sum((ln.amount for ln in lines), CENTS)
    if inputs.previous_outstanding:
        lines.append(line("arrears", "Previous outstanding", None, None, None, inputs.previous_outstanding))
    total = sum((ln.amount for ln in lines), CENTS)
    return Quote(plan.code, version.version, plan.kind, plan.currency, tuple(lines), current,
                 inputs.previous_outstanding.quantize(CENTS), total, inputs)


def _checked(inputs: QuoteInputs, plan: TariffPlan, metered: bool) -> QuoteInputs:
    """The inputs every kind shares, parsed exactly (idempotent, so a recompute sees the same)."""
    quantity = inputs.quantity
    if quantity is not None or metered:
        quantity = parse_decimal(quantity, "quantity", maximum=MAX_QUANTITY, unit=plan.unit or "")
    prev = inputs.previous_outstanding
    prev = parse_decimal(prev if prev is not None else 0, "previous_outstanding")
    return replace(inputs, quantity=quantity, previous_outstanding=prev, category=_text(inputs.category),
                   unit_type=_text(inputs.unit_type), account_code=_text(inputs.account_code))


def _text(value) -> str | None:
    return None if value is None or not str(value).strip() else str(value).strip()


def _date(value, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a date.", "Give a date, e.g. 2026-07-31.") from None
