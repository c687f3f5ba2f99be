"""Money as the utility's customers read it: currency symbol and digit grouping by locale (Babel).

    format_money(Decimal("1234567.891"), "INR")          -> '₹12,34,567.89'  (Indian grouping)
    format_money(Decimal("1234567.891"), "PKR")          -> 'Rs1,234,567.89'
    format_money(Decimal("1234567.891"), "USD")          -> '$1,234,567.89'
    format_money(Decimal("1234.5"), "USD", "en_IN")      -> '$1,234.50'

The amount is rounded to 2 places half-up FIRST (services.money.round_money, the bills' rule):
Babel on its own rounds half-to-even (0.125 -> 0.12), which would show a figure one paisa/cent off
the bill's. Without a locale, the currency's home locale is used (DEFAULT_LOCALES).
services.money.format_money (symbol + Western grouping) stays as it was for existing callers.
"""
from __future__ import annotations

from decimal import Decimal

from babel.core import UnknownLocaleError
from babel.numbers import format_currency

from services.errors import ValidationError
from services.money import parse_decimal, round_money

DEFAULT_LOCALES = {"INR": "en_IN", "PKR": "en_PK", "USD": "en_US"}


def format_money(amount, currency: str, locale: str | None = None) -> str:
    """`amount` (Decimal, int or numeric text; negative for a credit) in `currency` for `locale`."""
    value = amount if isinstance(amount, Decimal) else parse_decimal(amount, "amount", minimum=None, places=28)
    if not value.is_finite():
        raise ValidationError("amount", f"{amount} is not a finite number.", "Pass an amount of money.")
    code = str(currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError("currency", f"{currency!r} is not an ISO 4217 currency code.", "Use e.g. INR, PKR or USD.")
    try:
        return format_currency(round_money(value), code, locale=locale or DEFAULT_LOCALES.get(code, "en_US"))
    except (UnknownLocaleError, ValueError):
        raise ValidationError("locale", f"{locale!r} is not a locale Babel knows.",
                              "Use a locale such as en_IN, en_PK or en_US.") from None
