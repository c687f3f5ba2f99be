"""Exact money and quantity handling.

Rule: amounts are `Decimal`; a bill total is computed from exact inputs and rounded once,
to 2 places, ROUND_HALF_UP (the rule Indian utilities and most billing systems use: 0.005 goes up).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.errors import ValidationError

CENT = Decimal("0.01")
ZERO = Decimal("0")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(value, field: str, *, minimum: Decimal | None = ZERO, maximum: Decimal | None = None,
                  places: int = 2, unit: str = "") -> Decimal:
    """Parse user or file input into a Decimal, refusing floats' binary noise and bad text.

    Raises ValidationError naming the field and the fix.
    """
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field, "is required.", f"Enter a number{(' in ' + unit) if unit else ''}.")
    try:
        if isinstance(value, float):
            d = Decimal(repr(value))  # shortest repr: 0.1 -> Decimal("0.1"), not its binary expansion
        else:
            d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(field, f"'{value}' is not a number.", "Use digits and an optional decimal point, e.g. 1234.5.") from None
    if not d.is_finite():
        raise ValidationError(field, f"'{value}' is not a finite number.", "Enter a real number.")
    if minimum is not None and d < minimum:
        raise ValidationError(field, f"{d} is below the minimum {minimum}.",
                              "Enter a value of zero or more." if minimum == 0 else f"Enter at least {minimum}.")
    if maximum is not None and d > maximum:
        raise ValidationError(field, f"{d} is above the maximum {maximum}{(' ' + unit) if unit else ''}.",
                              "Check the value for an extra digit.")
    if d.as_tuple().exponent < -places:
        raise ValidationError(field, f"{d} has more than {places} decimal places.", f"Round it to {places} places.")
    return d


def format_money(value: Decimal, symbol: str = "₹") -> str:
    return f"{symbol}{round_money(value):,.2f}"


def minor_units(value: Decimal) -> int:
    """Amount in paise (integer) for exact sums and for payment providers."""
    return int((round_money(value) * 100).to_integral_value())


def from_minor_units(value: int) -> Decimal:
    return (Decimal(int(value)) / 100).quantize(CENT)
