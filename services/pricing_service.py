"""PricingService: rate per unit and fixed charge for a flat (pure lookups over master data).

Rules (seed 002), applied in this order, the last one winning:
1. master data: rate and base fixed charge from data/Blessings_City_Master_Data.xlsx by flat code;
   a flat not found gets the default rate 12.0 and fixed charge DEFAULT_FIXED_CHARGE (0).
2. BHK override: an identifier with a BHK prefix (5BHK-B17-FF) sets the fixed charge by BHK:
   5BHK 2311, 4BHK 1890, 2BHK 1474 (other BHK counts keep the base fixed charge).
3. special 9 rupee flats C14-SF, D3-SF, D4-SF get rate 9; whenever the rate is 9 the fixed
   charge is forced to 0. This rule always wins.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from services.master_data.spreadsheet import BHK_PREFIX, normalize_flat_code, parse_price_rows, read_table

DEFAULT_MASTER_DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "Blessings_City_Master_Data.xlsx"
DEFAULT_RATE = Decimal("12.0")
DEFAULT_FIXED_CHARGE = Decimal("0")
SPECIAL_RATE = Decimal("9")
SPECIAL_FLATS = frozenset({"C14-SF", "D3-SF", "D4-SF"})
BHK_FIXED_CHARGES = {5: Decimal("2311"), 4: Decimal("1890"), 2: Decimal("1474")}

RULE_MASTER_DATA = "master_data"
RULE_DEFAULT = "default_rate"
RULE_BHK = "bhk_override"
RULE_SPECIAL_9 = "special_9"
RULE_LABELS = {
    RULE_MASTER_DATA: "master data",
    RULE_DEFAULT: "default rate 12 (flat not in master data)",
    RULE_BHK: "BHK fixed charge override",
    RULE_SPECIAL_9: "special 9 rupee flat (no fixed charge)",
}


@dataclass(frozen=True)
class Pricing:
    flat_code: str
    rate_per_unit: Decimal
    fixed_charge: Decimal
    rule: str  # the rule that decided the final figures (one of RULE_*)
    bhk: int | None
    steps: tuple[str, ...]  # every rule that applied, in order, for the admin's explanation

    @property
    def explanation(self) -> str:
        return "; ".join(self.steps)


def unit_identifier(flat_code: str, flat_type: str | None) -> str:
    """The identifier the pricing rules expect: '5BHK-B17-FF' when the flat type is a BHK count."""
    if flat_type and BHK_PREFIX.match(f"{flat_type}-x"):
        return f"{flat_type.strip().upper()}-{flat_code}"
    return flat_code


def parse_identifier(unit_id: str) -> tuple[str, int | None]:
    text = str(unit_id or "").strip().upper()
    m = BHK_PREFIX.match(text)
    return (normalize_flat_code(text), int(m.group(1)) if m else None)


def resolve_pricing(unit_id: str, table: dict[str, tuple[Decimal, Decimal]],
                    default_rate: Decimal = DEFAULT_RATE, default_fixed: Decimal = DEFAULT_FIXED_CHARGE) -> Pricing:
    """Pure: apply the pricing rules to one identifier."""
    code, bhk = parse_identifier(unit_id)
    steps: list[str] = []
    if code in table:
        rate, fixed = table[code]
        rule = RULE_MASTER_DATA
        steps.append(f"master data: rate {rate}, fixed {fixed}")
    else:
        rate, fixed = default_rate, default_fixed
        rule = RULE_DEFAULT
        steps.append(f"{code} not in master data: default rate {rate}, fixed {fixed}")
    if bhk is not None and bhk in BHK_FIXED_CHARGES:
        fixed = BHK_FIXED_CHARGES[bhk]
        rule = RULE_BHK
        steps.append(f"{bhk}BHK: fixed charge {fixed}")
    if code in SPECIAL_FLATS:
        rate = SPECIAL_RATE
        steps.append(f"{code} is a special 9 rupee flat")
    if rate == SPECIAL_RATE:
        fixed = Decimal("0")
        rule = RULE_SPECIAL_9
        steps.append("rate 9: fixed charge forced to 0")
    return Pricing(code, rate, fixed, rule, bhk, tuple(steps))


class PricingService:
    """Loads master data once (validated whole, never half-loaded) and answers lookups."""

    def __init__(self, master_data_path: str | Path | None = None, *, table: dict | None = None):
        if table is not None:
            self._table = dict(table)
            self.source = "given table"
        else:
            path = Path(master_data_path or os.environ.get("MASTER_DATA_PATH") or DEFAULT_MASTER_DATA_PATH)
            self.source = str(path)
            if path.exists():
                columns, rows = read_table(path)
                self._table = parse_price_rows(columns, rows, source=str(path))
            else:
                self._table = {}  # no file: every flat gets the default rate (documented fallback)
        self.default_fixed = Decimal(os.environ.get("DEFAULT_FIXED_CHARGE", "0"))
        self._cache: dict[str, Pricing] = {}

    @property
    def flat_count(self) -> int:
        return len(self._table)

    def get_pricing(self, unit_id: str) -> Pricing:
        p = self._cache.get(unit_id)
        if p is None:
            p = resolve_pricing(unit_id, self._table, DEFAULT_RATE, self.default_fixed)
            self._cache[unit_id] = p
        return p

    def pricing_for_flat(self, flat_code: str, flat_type: str | None) -> Pricing:
        return self.get_pricing(unit_identifier(flat_code, flat_type))
