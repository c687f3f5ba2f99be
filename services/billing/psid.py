"""PSIDs: the payment id a bank collects a bill by (Punjab's ePay and 1Link bill payment use a
17-digit PSID, "payment slip id").

Meterline's format, 17 digits, assigned when a bill is stored (one bill, or a whole month run):

    BB YYMM NNNNNNNNNN C
    14 2610 0000123456 7

- BB: the biller code, two digits (BILLER_CODE): the code the bank aggregator gives the biller;
- YYMM: the year and month the bill's period ends in (for the teller's and the reader's eye);
- NNNNNNNNNN: the bill's own number (its id), ten digits: unique, so the PSID is unique across the
  system (and the database's unique index says so too);
- C: a Verhoeff check digit over the 16 digits before it: it catches every mistyped digit and every
  swap of two neighbouring digits, which a bank teller or a consumer typing a PSID would make.

A bill that is re-issued is a new bill with a new id, so it gets a new PSID, and the old one expires:
a bank payment against the PSID of a superseded bill (or of one whose balance was carried forward
into a newer bill) must be reported and never applied (the bank file import of issue 14, not built yet).

The same function exists in SQL for the Supabase functions (database/supabase/22_functions_psid.sql:
meterline_psid); the contract tests check every backend stores the PSID this module computes.
"""
from __future__ import annotations

import datetime as dt

BILLER_CODE = "14"
LENGTH = 17
MAX_SERIAL = 10 ** 10 - 1

# Verhoeff's tables: the dihedral group D5's multiplication, the position permutation, the inverse.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def check_digit(digits: str) -> str:
    """The Verhoeff check digit of a string of digits."""
    return str(_INV[_fold(digits, 0, 0)])


def is_valid(psid: str) -> bool:
    """17 digits whose last is the Verhoeff check digit of the other 16."""
    return (isinstance(psid, str) and len(psid) == LENGTH and psid.isascii() and psid.isdigit()
            and check_digit(psid[:-1]) == psid[-1])


def make_psid(bill_id: int, period_end: dt.date, biller: str = BILLER_CODE) -> str:
    """The PSID of the bill with this id whose period ends on `period_end`."""
    if not 0 < bill_id <= MAX_SERIAL:
        raise ValueError(f"bill id {bill_id} does not fit a PSID's ten digits")
    prefix = f"{biller}{period_end:%y%m}"
    # check_digit(prefix + id), in steps: a month run makes a PSID per bill. Verhoeff folds the
    # digits from the right, so the id's ten digits come first, two at a time by _PAIRS, then the
    # prefix's six by a table per prefix (tests/unit/test_psid.py compares it with check_digit).
    c, n = 0, bill_id
    for pair in _PAIRS:
        c = pair[n % 100][c]
        n //= 100
    after = _PREFIX_STEPS.get(prefix)
    if after is None:
        after = _PREFIX_STEPS[prefix] = tuple(_fold(prefix, 10, start) for start in range(10))
    return f"{prefix}{bill_id:010d}{_INV[after[c]]}"


def _fold(digits: str, position: int, c: int) -> int:
    """Verhoeff's running value after `digits`, whose last digit sits `position` places from the
    right of the whole number, starting from `c`."""
    for i, ch in enumerate(reversed(digits), position):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return c


# _PAIRS[k][v][c]: the running value after the id's digits 2k and 2k+1 from the right (v: their
# two-digit value), from c.
_PAIRS = tuple(tuple(tuple(_fold(f"{v:02d}", 2 * k, c) for c in range(10)) for v in range(100)) for k in range(5))
_PREFIX_STEPS: dict[str, tuple[int, ...]] = {}


def bill_id_of(psid: str) -> int | None:
    """The bill id a valid PSID names (None for anything else)."""
    text = normalize(psid)
    return int(text[6:16]) if text is not None and is_valid(text) else None


def normalize(text) -> str | None:
    """A PSID as people write it (spaces or dashes between groups) as its 17 digits; None if it has
    any other character."""
    if text is None:
        return None
    out = "".join(ch for ch in str(text).strip() if ch not in " -")
    return out if out.isascii() and out.isdigit() else None


def pretty(psid: str | None) -> str:
    """'14 2610 0000123456 7': the groups of the format, for bills and screens."""
    if not psid or len(psid) != LENGTH:
        return psid or "-"
    return f"{psid[:2]} {psid[2:6]} {psid[6:16]} {psid[16]}"
