"""category_fee (seed 003, municipal): a fixed monthly fee by category and unit type.

The fee comes from the plan's schedule table: the row for (category, unit type), else the
category's default fee, else NoFeeError naming both and the fix. Names are matched ignoring case
and spacing ("small", " Small "); labels use the plan's spelling. A quote needs `category` and,
for a category without a default fee, `unit_type`; it refuses a missing or unknown one.

There is no meter: `quantity` is recorded with the quote if given but does not change the fee.
The fee is charged once per bill (one billing period, normally a month) and is never prorated;
amounts have at most 2 places, so the fee line needs no rounding. Arrears are added by the caller.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal

from services.errors import ValidationError
from services.tariffs import values as v
from services.tariffs.errors import NoFeeError, PlanError
from services.tariffs.quote import QuoteInputs, QuoteLine, line

_KEYS = {"fee_label", "default_fees", "schedule"}


@dataclass(frozen=True)
class FeeRow:
    category: str
    unit_type: str
    fee: Decimal


@dataclass(frozen=True)
class CategoryFeeParams:
    fee_label: str  # "Sanitation fee"
    default_fees: tuple[tuple[str, Decimal], ...]  # (category, fee) when a unit type has no row
    schedule: tuple[FeeRow, ...]

    @cached_property
    def _lookup(self) -> tuple[dict[str, str], dict[tuple[str, str], FeeRow], dict[str, Decimal]]:
        """Folded names -> (the plan's category name, the schedule row, the default fee), the first of
        each as the plan lists them: built once per plan version, since a month run asks per bill."""
        names: dict[str, str] = {}
        for name in [c for c, _ in self.default_fees] + [r.category for r in self.schedule]:
            names.setdefault(v.fold(name), name)
        rows: dict[tuple[str, str], FeeRow] = {}
        for r in self.schedule:
            rows.setdefault((v.fold(r.category), v.fold(r.unit_type)), r)
        defaults: dict[str, Decimal] = {}
        for c, fee in self.default_fees:
            defaults.setdefault(v.fold(c), fee)
        return names, rows, defaults

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._lookup[0].values())

    def unit_types(self, category: str) -> tuple[str, ...]:
        return tuple(r.unit_type for r in self.schedule if v.fold(r.category) == v.fold(category))

    def fee_for(self, category: str | None, unit_type: str | None) -> tuple[Decimal, str, str | None]:
        """(fee, the plan's category name, the plan's unit type name or None when the default applied)."""
        names, rows, defaults = self._lookup
        if category is None or not str(category).strip():
            raise ValidationError("category", "is required to price a category_fee plan.",
                                  f"Pass category=, one of: {', '.join(self.categories)}.")
        cat = names.get(v.fold(category))
        if cat is None:
            raise ValidationError("category", f"{category!r} is not a category of this plan.",
                                  f"Use one of: {', '.join(self.categories)}.")
        if unit_type is not None and str(unit_type).strip():
            row = rows.get((v.fold(cat), v.fold(unit_type)))
            if row is not None:
                return row.fee, cat, row.unit_type
        default = defaults.get(v.fold(cat))
        if default is not None:
            return default, cat, None
        types = ", ".join(self.unit_types(cat))
        problem = (f"category {cat!r} has no fee for unit type {unit_type!r} and no default fee."
                   if unit_type is not None and str(unit_type).strip()
                   else f"is required for category {cat!r}, which has no default fee.")
        raise NoFeeError("unit_type", problem, f"Use one of its unit types ({types}), or add a row or a "
                         f"default_fees entry for {cat} in a new version of the plan.")


class CategoryFee:
    kind = "category_fee"
    metered = False

    def parse_params(self, raw: Mapping, key: str) -> CategoryFeeParams:
        raw = v.mapping(raw, key)
        v.only_keys(raw, key, _KEYS)
        k = f"{key}." if key else ""
        label = v.text(raw.get("fee_label", "Monthly fee"), f"{k}fee_label", example='"Sanitation fee"')
        defaults: list[tuple[str, Decimal]] = []
        for name, fee in v.mapping(raw.get("default_fees", {}), f"{k}default_fees").items():
            kk = f"{k}default_fees.{name}"
            name = v.text(name, kk, example='"Small"')
            if any(v.fold(c) == v.fold(name) for c, _ in defaults):
                raise PlanError(kk, f"category {name!r} has two default fees.", "Keep one.")
            defaults.append((name, v.decimal(fee, kk)))
        rows: list[FeeRow] = []
        for i, r in enumerate(v.items(raw.get("schedule", []), f"{k}schedule")):
            kk = f"{k}schedule[{i}]"
            r = v.mapping(r, kk)
            v.only_keys(r, kk, {"category", "unit_type", "fee"})
            row = FeeRow(v.text(v.required(r, kk, "category", '"Small"'), f"{kk}.category"),
                         v.text(v.required(r, kk, "unit_type", '"Bakery"'), f"{kk}.unit_type"),
                         v.decimal(v.required(r, kk, "fee", "500"), f"{kk}.fee"))
            if any(v.fold(x.category) == v.fold(row.category) and v.fold(x.unit_type) == v.fold(row.unit_type)
                   for x in rows):
                raise PlanError(kk, f"{row.category} / {row.unit_type} is already in the schedule.",
                                "Keep one row per category and unit type.")
            rows.append(row)
        if not rows and not defaults:
            raise PlanError(f"{k}schedule", "is empty and there are no default_fees: no account could be billed.",
                            'Add rows { category = "Small", unit_type = "Bakery", fee = 700 } or default_fees.')
        return CategoryFeeParams(label, tuple(defaults), tuple(rows))

    def dump_params(self, p: CategoryFeeParams) -> dict:
        return {"fee_label": p.fee_label, "default_fees": {c: v.dec_str(f) for c, f in p.default_fees},
                "schedule": [{"category": r.category, "unit_type": r.unit_type, "fee": v.dec_str(r.fee)}
                             for r in p.schedule]}

    def prepare(self, params: CategoryFeeParams, inputs: QuoteInputs, *, pricing=None) -> QuoteInputs:
        for name in ("shared_units", "rate_per_unit", "fixed_charge"):
            if getattr(inputs, name) is not None:
                raise ValidationError(name, "is not used by a category_fee plan (a fixed fee by category).",
                                      f"Leave {name} out.")
        params.fee_for(inputs.category, inputs.unit_type)  # refuse a missing category before anything else
        return inputs

    def lines(self, params: CategoryFeeParams, inputs: QuoteInputs, *, unit: str | None,
              currency: str) -> list[QuoteLine]:
        fee, cat, unit_type = params.fee_for(inputs.category, inputs.unit_type)
        label = f"{params.fee_label}: {cat}" + (f", {unit_type}" if unit_type else "")
        return [line("fee_monthly", label, Decimal(1), "month", fee, fee)]


MODEL = CategoryFee()
