"""Reading plan data (TOML or JSON-like dicts) into exact, validated values.

Every reader takes the key path of the value, so an error says where the problem is. Numbers in
a plan are exact: Decimal, int or a string ("2.50"); a float is refused because it may already
have lost digits (TariffPlan.load reads TOML numbers as Decimal, so TOML numbers are exact).
"""
from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from services.tariffs.errors import PlanError

ZERO = Decimal(0)


def mapping(value, key: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise PlanError(key, f"must be a table of keys and values, not {_shown(value)}.",
                        f"Write it as a TOML table ([{key}]) or a JSON object.")
    return value


def items(value, key: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise PlanError(key, f"must be a list, not {_shown(value)}.", "Write it as a TOML array [ ... ].")
    return list(value)


def only_keys(raw: Mapping, key: str, allowed: set[str]) -> None:
    """Refuse unknown keys: a misspelt key would otherwise be silently ignored."""
    for name in raw:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), sorted(allowed), n=1)
            hint = f"Did you mean '{close[0]}'?" if close else f"Known keys: {', '.join(sorted(allowed))}."
            raise PlanError(_join(key, name), "is not a key this plan understands.", hint)


def required(raw: Mapping, key: str, name: str, example: str):
    if name not in raw or raw[name] is None:
        raise PlanError(_join(key, name), "is missing.", f"Add {name} = {example}.")
    return raw[name]


def text(value, key: str, *, example: str = '"..."') -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanError(key, f"must be non-empty text, not {_shown(value)}.", f"Write it as {example}.")
    return value.strip()


def integer(value, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(key, f"must be a whole number, not {_shown(value)}.", "Write it without quotes or decimals.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        span = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
        raise PlanError(key, f"{value} is out of range.", f"Use a whole number {span}.")
    return value


def boolean(value, key: str) -> bool:
    if not isinstance(value, bool):
        raise PlanError(key, f"must be true or false, not {_shown(value)}.", "Write true or false.")
    return value


def decimal(value, key: str, *, places: int = 2, minimum: Decimal | None = ZERO, positive: bool = False) -> Decimal:
    """An exact amount, rate or quantity. Refuses floats, text that is not a number, too many places."""
    if isinstance(value, bool) or isinstance(value, float):
        raise PlanError(key, f"{value!r} is a binary floating-point number, which may not be exact.",
                        f'Write it as a string, e.g. "{value}", or as a TOML number read by TariffPlan.load.')
    try:
        d = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise PlanError(key, f"{_shown(value)} is not a number.", 'Write digits with an optional decimal point, e.g. "2.50".') from None
    if not d.is_finite():
        raise PlanError(key, f"{value} is not a finite number.", "Write a real number.")
    if positive and d <= 0:
        raise PlanError(key, f"{d} must be greater than zero.", "Write a positive number.")
    if minimum is not None and d < minimum:
        raise PlanError(key, f"{d} is negative." if minimum == 0 else f"{d} is below {minimum}.",
                        "Write zero or more." if minimum == 0 else f"Write at least {minimum}.")
    if d.as_tuple().exponent < -places:
        raise PlanError(key, f"{d} has more than {places} decimal places.", f"Round it to {places} places.")
    return d


def date(value, key: str) -> dt.date:
    """A TOML date (2026-01-01) or an ISO string ("2026-01-01", as stored in JSON)."""
    if isinstance(value, dt.datetime):
        raise PlanError(key, f"{value} is a date and time.", "Write a date only, e.g. 2026-01-01.")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PlanError(key, f"{_shown(value)} is not a date.", "Write it as YYYY-MM-DD, e.g. 2026-01-01.")


def dec_str(value: Decimal | None) -> str | None:
    """Decimals are stored as strings, exactly as they are (2.50 stays "2.50")."""
    return None if value is None else str(value)


def fold(name: str) -> str:
    """How names from the field are matched against a plan's names: case and spacing ignored."""
    return " ".join(str(name).split()).casefold()


def _join(key: str, name) -> str:
    return f"{key}.{name}" if key else str(name)


def _shown(value) -> str:
    return f"{type(value).__name__} {value!r}" if value is not None else "nothing"
