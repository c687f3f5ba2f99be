"""Text that cannot be stored: the NUL character (\\x00).

PostgreSQL cannot store or even compare a NUL in text or jsonb ("invalid byte sequence", a 500
before this rule), while SQLite stores it silently; no field of Meterline ever needs one. So text
with a NUL is bad input, refused where input enters, the same on every backend:

- the service facades (DatabaseService, AuthService) refuse it in any text argument of any
  public method, or in any text field of a dataclass argument (filters such as BillFilter),
  with ValidationError naming that argument or field (`refuses_nul`). Every page, the API and
  the scripts reach the database through them; the API answers 422 naming the field.
- a Stripe event is checked whole (`first_nul`) before it is acted on, then stored with the NULs
  replaced (`without_nul`) so the refusal itself is on record.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect

from services.errors import ValidationError

NUL = "\x00"
NUL_PROBLEM = "contains a NUL character (\\x00), which is never valid in text."
NUL_FIX = "Remove it (it usually comes from pasting binary data) and send the text again."
REPLACEMENT = "\ufffd"  # what a NUL becomes in a refused event kept on record


def check_text(value, field: str):
    """`value` unchanged, or ValidationError naming `field` when it is text containing a NUL."""
    if isinstance(value, str) and NUL in value:
        raise ValidationError(field, NUL_PROBLEM, NUL_FIX)
    return value


def _bad_field(name: str, value) -> str | None:
    if isinstance(value, str):
        return name if NUL in value else None
    if isinstance(value, (list, tuple, set, frozenset)):
        return name if any(isinstance(v, str) and NUL in v for v in value) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if _bad_field(f.name, getattr(value, f.name, None)) is not None:
                return f.name
    return None


def _guard(fn):
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)  # let the call itself say what is wrong with the arguments
        for name, value in bound.arguments.items():
            field = _bad_field(name, value) if name != "self" else None
            if field is not None:
                raise ValidationError(field, NUL_PROBLEM, NUL_FIX)
        return fn(*args, **kwargs)

    return checked


def refuses_nul(*, exempt: tuple[str, ...] = ()):
    """Class decorator: every public method (not `exempt`) refuses text containing a NUL in its
    arguments before it runs, naming the argument (or the dataclass field) that carries it."""

    def decorate(cls):
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and name not in exempt and inspect.isfunction(member):
                setattr(cls, name, _guard(member))
        return cls

    return decorate


def first_nul(value, path: str = "") -> str | None:
    """The dotted path of the first NUL in a JSON-like value (in a key or a string), or None."""
    if isinstance(value, str):
        return (path or "(value)") if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                return without_nul(here)
            found = first_nul(item, here)
            if found is not None:
                return without_nul(found)
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = first_nul(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def without_nul(value):
    """The same JSON-like value with every NUL (in keys and strings) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value
