"""tiered_seasonal (seed 004, water): graduated blocks, a seasonal multiplier, monthly fees.

- GRADUATED blocks: each block's CCF at that block's own rate (0-10 at 2.50, 10-20 at 3.00,
  over 20 at 3.50: 25 CCF = 10 x 2.50 + 10 x 3.00 + 5 x 3.50 = 72.50). A block `up_to = 10`
  holds the units above the previous block's bound up to and including 10.
- Seasonal multiplier on the usage charges only, chosen by the month of the billing period's END
  (seasons cover every month once: Summer Jun-Aug 1.2, Winter Dec-Feb 0.9, Spring/Fall 1.0).
- Fees (base service 15.00, infrastructure 5.00) per bill, never multiplied, never prorated.

Rounding (each line once, 2 places, half-up; total = sum of lines):
- quantity: billed exactly as given, up to 2 decimal places (10.01 CCF puts 0.01 CCF in block 2);
  more places are refused, not rounded, so no usage is dropped or invented;
- block line: that block's CCF x its rate, rounded (0.01 x 2.50 = 0.025 -> 0.03);
- seasonal line (only when the multiplier is not 1): U x (multiplier - 1), rounded, where U is the
  sum of the ROUNDED block lines, so a customer can check it from the printed lines
  (72.50 x 0.2 = 14.50; winter 72.50 x -0.1 = -7.25; an exact half cent of a discount goes to
  the customer, -0.005 -> -0.01). The seed's 25 CCF in July: 72.50 + 14.50 + 15 + 5 = 107.00;
- quantity 0: one block-1 line of 0.00, so the bill shows the usage it billed.
Every line's amount is its quantity x rate rounded once; the total is monotone in the quantity.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.errors import ValidationError
from services.tariffs import values as v
from services.tariffs.errors import PlanError
from services.tariffs.quote import QuoteInputs, QuoteLine, line

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {"tiers", "seasons", "fees"}


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # None: no upper bound (the last block)
    rate: Decimal


@dataclass(frozen=True)
class Season:
    name: str
    months: tuple[int, ...]
    multiplier: Decimal


@dataclass(frozen=True)
class Fee:
    code: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class TieredSeasonalParams:
    tiers: tuple[Tier, ...]
    seasons: tuple[Season, ...]
    fees: tuple[Fee, ...]

    def season_for(self, month: int) -> Season:
        return next(s for s in self.seasons if month in s.months)  # every month is in one season (checked)


class TieredSeasonal:
    kind = "tiered_seasonal"
    metered = True

    def parse_params(self, raw: Mapping, key: str) -> TieredSeasonalParams:
        raw = v.mapping(raw, key)
        v.only_keys(raw, key, _KEYS)
        k = f"{key}." if key else ""
        return TieredSeasonalParams(
            _tiers(v.items(v.required(raw, key, "tiers", "[{ up_to = 10, rate = 2.50 }, { rate = 3.00 }]"),
                           f"{k}tiers"), f"{k}tiers"),
            _seasons(v.items(v.required(raw, key, "seasons", '[{ name = "All year", months = [1, ..., 12], '
                                                              'multiplier = 1 }]'), f"{k}seasons"), f"{k}seasons"),
            _fees(v.items(raw.get("fees", []), f"{k}fees"), f"{k}fees"))

    def dump_params(self, p: TieredSeasonalParams) -> dict:
        tiers = [({"up_to": v.dec_str(t.up_to)} if t.up_to is not None else {}) | {"rate": v.dec_str(t.rate)}
                 for t in p.tiers]
        return {"tiers": tiers,
                "seasons": [{"name": s.name, "months": list(s.months), "multiplier": v.dec_str(s.multiplier)}
                            for s in p.seasons],
                "fees": [{"code": f.code, "label": f.label, "amount": v.dec_str(f.amount)} for f in p.fees]}

    def prepare(self, params: TieredSeasonalParams, inputs: QuoteInputs, *, pricing=None) -> QuoteInputs:
        for name in ("shared_units", "rate_per_unit", "fixed_charge"):
            if getattr(inputs, name) is not None:
                raise ValidationError(name, "is not used by a tiered_seasonal plan, so it would not be billed.",
                                      f"Add it to quantity if it is usage to bill, or leave {name} out.")
        return inputs

    def lines(self, params: TieredSeasonalParams, inputs: QuoteInputs, *, unit: str | None,
              currency: str) -> list[QuoteLine]:
        q = inputs.quantity
        out: list[QuoteLine] = []
        lower = Decimal(0)
        for i, tier in enumerate(params.tiers, 1):
            top = q if tier.up_to is None else min(q, tier.up_to)
            used = top - lower
            if used > 0 or i == 1:
                out.append(line(f"tier_{i}", f"Tier {i}: {_range(lower, tier.up_to, unit)}", max(used, Decimal(0)),
                                unit, tier.rate, max(used, Decimal(0)) * tier.rate))
            if tier.up_to is None or q <= tier.up_to:
                break
            lower = tier.up_to
        usage = sum((ln.amount for ln in out), Decimal("0.00"))
        season = params.season_for(inputs.period_end.month)
        if season.multiplier != 1:
            change = season.multiplier - 1
            out.append(line("seasonal", f"{season.name} adjustment: usage charges {usage} x {season.multiplier}",
                            usage, currency, change, usage * change))
        out += [line(f"fee_{f.code}", f.label, Decimal(1), "month", f.amount, f.amount) for f in params.fees]
        return out


def _range(lower: Decimal, upper: Decimal | None, unit: str | None) -> str:
    unit = f" {unit}" if unit else ""
    if upper is None:
        return f"over {lower}{unit}" if lower else f"all{unit or ' usage'}"
    return f"{lower}-{upper}{unit}"


def _tiers(raw: list, key: str) -> tuple[Tier, ...]:
    if not raw:
        raise PlanError(key, "is empty.", "List at least one block, the last without up_to.")
    tiers = []
    for i, t in enumerate(raw):
        k = f"{key}[{i}]"
        t = v.mapping(t, k)
        v.only_keys(t, k, {"up_to", "rate"})
        rate = v.decimal(v.required(t, k, "rate", "2.50"), f"{k}.rate", places=4)
        up_to = t.get("up_to")
        last = i == len(raw) - 1
        if up_to is None and not last:
            raise PlanError(f"{k}.up_to", "is missing; only the last block may be open-ended.",
                              "Give this block its upper bound, e.g. up_to = 10.")
        if up_to is not None:
            if last:
                raise PlanError(f"{k}.up_to", "is set on the last block, so usage above it could not be billed.",
                                  "Leave up_to out of the last block (it holds everything above the previous one).")
            up_to = v.decimal(up_to, f"{k}.up_to", positive=True)
            if tiers and up_to <= tiers[-1].up_to:
                raise PlanError(f"{k}.up_to", f"{up_to} is not above the previous block's {tiers[-1].up_to}: "
                                  "tiers must be in ascending order.", "Order the blocks by up_to, smallest first.")
        tiers.append(Tier(up_to, rate))
    return tuple(tiers)


def _seasons(raw: list, key: str) -> tuple[Season, ...]:
    seasons, owner = [], {}
    for i, s in enumerate(raw):
        k = f"{key}[{i}]"
        s = v.mapping(s, k)
        v.only_keys(s, k, {"name", "months", "multiplier"})
        name = v.text(v.required(s, k, "name", '"Summer"'), f"{k}.name", example='"Summer"')
        months = tuple(v.integer(m, f"{k}.months[{j}]", minimum=1, maximum=12)
                       for j, m in enumerate(v.items(v.required(s, k, "months", "[6, 7, 8]"), f"{k}.months")))
        for m in months:
            if m in owner:
                raise PlanError(f"{k}.months", f"month {m} is already in season {owner[m]!r}.",
                                  "Put each month in exactly one season.")
            owner[m] = name
        mult = v.decimal(v.required(s, k, "multiplier", "1.2"), f"{k}.multiplier", places=4, positive=True)
        seasons.append(Season(name, months, mult))
    missing = [m for m in range(1, 13) if m not in owner]
    if missing:
        raise PlanError(key, f"month(s) {', '.join(map(str, missing))} are in no season.",
                          "Put every month 1-12 in one season (a season with multiplier = 1 for the rest).")
    return tuple(seasons)


def _fees(raw: list, key: str) -> tuple[Fee, ...]:
    fees = []
    for i, f in enumerate(raw):
        k = f"{key}[{i}]"
        f = v.mapping(f, k)
        v.only_keys(f, k, {"code", "label", "amount"})
        code = v.text(v.required(f, k, "code", '"base"'), f"{k}.code", example='"base"')
        if not _CODE.match(code) or code in {x.code for x in fees}:
            raise PlanError(f"{k}.code", f"{code!r} is not a new lower-case code.",
                              'Use a unique code of letters, digits and _, e.g. "base".')
        label = v.text(v.required(f, k, "label", '"Base service fee"'), f"{k}.label")
        fees.append(Fee(code, label, v.decimal(v.required(f, k, "amount", "15.00"), f"{k}.amount")))
    return tuple(fees)


MODEL = TieredSeasonal()
