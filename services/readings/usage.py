"""Daily usage: the rules that turn what arrives into the daily CCF rows a water bill sums. Pure.

Usage arrives three ways, and all of it ends up as `daily_usage` rows (one per customer and day,
the database's unique key), so a day's water is counted once whatever brought it:

1. **Interval meters and usage files** give a quantity per customer (or meter) and day: one row
   each (`usage_ccf`).
2. **A register reading** (a field reading on the phone page, the meter-reading webhook, or a
   `meter_value` in a usage file) measures what went through the meter since the previous
   reading: `consumption = this reading - the previous one` (the readings chain,
   services/readings/rules.py). When the reading is approved its consumption is **spread
   evenly over the days it measured**, from the day after the previous reading to the reading's
   own date, in whole cents with the remainder on the last days (`spread`): the rows add up to the
   consumption exactly. Days already billed are skipped (a bill's usage days never change), so
   their share goes on the days still to be billed and nothing is lost.
3. If any of those days already has usage (from a file, an interval meter or another reading),
   the reading is refused at approval (nothing stored): the same water would be counted twice.
   The reverse holds too: a file row for a day a reading already covers is refused.

Rows are refused, naming the row and the field, for: an unknown customer or meter, a meter that
is not the customer's or does not measure water in CCF, a date that is not a date or is in the
future, a quantity that is not a number, is negative, has more than 2 decimals or is implausible
(over MAX_CCF_PER_DAY), a customer and day given twice, a day already billed or in a locked month.
A file is all or nothing: every problem is listed, and nothing is stored while there is one.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.errors import RowProblem

CENT = Decimal("0.01")
MAX_CCF_PER_DAY = Decimal("100000")  # a large plant uses ~60 CCF a day; more is a typo
MAX_METER_VALUE = Decimal("9999999999.99")  # NUMERIC(12,2)
MAX_FILE_ROWS = 200_000  # rows of one usage file (a day of 200,000 customers); split bigger files

# Column names a usage file may use, matched case-, space- and punctuation-insensitively.
COLUMN_ALIASES = {
    "customer": ("customer", "customercode", "customerid", "account", "accountcode", "code"),
    "meter": ("meter", "meternumber", "meterno", "meterid"),
    "date": ("date", "usagedate", "day", "readingdate"),
    "usage_ccf": ("usageccf", "usage", "ccf", "quantity", "quantityccf"),
    "meter_value": ("metervalue", "reading", "readingvalue", "register", "meterreading"),
}
COLUMN_LABELS = {"customer": "customer", "meter": "meter", "date": "date", "usage_ccf": "usage_ccf",
                 "meter_value": "meter_value"}


def column_key(header) -> str | None:
    """The canonical column a header names ('Usage (CCF)' -> 'usage_ccf'), or None."""
    k = re.sub(r"[^a-z0-9]", "", str(header or "").lower())
    return next((name for name, aliases in COLUMN_ALIASES.items() if k in aliases), None)


@dataclass(frozen=True)
class UsageLine:
    """One row of a usage file, parsed: who, when, and either a day's usage or a register value."""

    row: int
    usage_date: dt.date
    customer: str | None = None  # account code, upper case
    meter: str | None = None  # meter number
    usage: Decimal | None = None  # CCF used that day
    meter_value: Decimal | None = None  # the register's value that day


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's number cell 61000000.0 is the meter 61000000
    return str(value).strip()


def _date(value, row: int, today: dt.date, problems: list[RowProblem]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        d = value.date()
    elif isinstance(value, dt.date):
        d = value
    else:
        text = _text(value)
        try:
            d = dt.date.fromisoformat(text)
        except ValueError:
            problems.append(RowProblem(row, "date", f"'{text}' is not a date; write it YYYY-MM-DD, e.g. 2026-11-20."
                                       if text else "is empty; give the day the usage is for (YYYY-MM-DD)."))
            return None
    if d > today:
        problems.append(RowProblem(row, "date", f"{d} is in the future (today is {today}); usage is recorded for "
                                                "days that have happened."))
        return None
    return d


def _amount(value, row: int, column: str, maximum: Decimal, problems: list[RowProblem]) -> Decimal | None:
    text = _text(value)
    if isinstance(value, float):
        text = repr(value)
    try:
        d = Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        problems.append(RowProblem(row, column, f"'{text}' is not a number; write it like 12.5 (CCF)."))
        return None
    if not d.is_finite():
        problems.append(RowProblem(row, column, f"'{text}' is not a finite number."))
    elif d < 0:
        problems.append(RowProblem(row, column, f"{d} is negative; usage and meter values are zero or more."))
    elif d.as_tuple().exponent < -2:
        problems.append(RowProblem(row, column, f"{d} has more than 2 decimal places; round it to 2."))
    elif d > maximum:
        problems.append(RowProblem(row, column, f"{d} is above {maximum}; check it for an extra digit."))
    else:
        return d.quantize(CENT)
    return None


def parse_lines(columns: list[str | None], rows: list[tuple[int, tuple]], *, today: dt.date
                ) -> tuple[list[UsageLine], list[RowProblem]]:
    """Parse a usage file's rows (row number, cell values) under its header's canonical `columns`.
    Every problem is returned with its row and column; the lines are only usable when there is none."""
    problems: list[RowProblem] = []
    present = {c for c in columns if c}
    if not present & {"customer", "meter"}:
        problems.append(RowProblem(0, None, "the header names neither a customer column nor a meter column; "
                                            "use 'customer' (the customer code) or 'meter' (the meter number)."))
    if "date" not in present:
        problems.append(RowProblem(0, None, "the header has no 'date' column."))
    if not present & {"usage_ccf", "meter_value"}:
        problems.append(RowProblem(0, None, "the header names neither 'usage_ccf' (CCF used that day) nor "
                                            "'meter_value' (the meter's register that day)."))
    if problems:
        return [], problems
    if len(rows) > MAX_FILE_ROWS:
        return [], [RowProblem(0, None, f"has {len(rows):,} rows, more than {MAX_FILE_ROWS:,}; split the file.")]
    out: list[UsageLine] = []
    for number, values in rows:
        cells = {c: v for c, v in zip(columns, values) if c}
        if all(_text(v) == "" for v in cells.values()):
            continue  # a blank row
        before = len(problems)
        customer = _text(cells.get("customer")).upper() or None
        meter = _text(cells.get("meter")) or None
        if customer is None and meter is None:
            problems.append(RowProblem(number, "customer", "is empty, and so is the meter; give one of them."))
        for name, value, limit in (("customer", customer, 32), ("meter", meter, 32)):
            if value is not None and (len(value) > limit or "\x00" in value):
                problems.append(RowProblem(number, name, f"is not a {name} code ({len(value)} characters)."))
        day = _date(cells.get("date"), number, today, problems)
        raw_usage, raw_value = _text(cells.get("usage_ccf")), _text(cells.get("meter_value"))
        usage = value = None
        if raw_usage and raw_value:
            problems.append(RowProblem(number, "usage_ccf", "and meter_value are both given; give the day's usage "
                                                            "or the meter's value, not both."))
        elif raw_usage:
            usage = _amount(cells.get("usage_ccf"), number, "usage_ccf", MAX_CCF_PER_DAY, problems)
        elif raw_value:
            value = _amount(cells.get("meter_value"), number, "meter_value", MAX_METER_VALUE, problems)
        else:
            problems.append(RowProblem(number, "usage_ccf", "is empty, and so is meter_value; give one of them."))
        if len(problems) == before:
            out.append(UsageLine(number, day, customer, meter, usage, value))
    return out, problems


def spread(consumption: Decimal, first: dt.date, last: dt.date) -> list[tuple[dt.date, Decimal]]:
    """`consumption` (2 decimals) spread evenly over the days first..last: whole cents, the
    remainder one cent a day on the last days, so the rows add up to it exactly."""
    if last < first:
        raise ValueError("the span is empty")
    days = (last - first).days + 1
    cents = int((Decimal(consumption) / CENT).to_integral_value())
    if Decimal(cents) * CENT != Decimal(consumption):
        raise ValueError(f"{consumption} has more than 2 decimal places")
    base, extra = divmod(cents, days)
    return [(first + dt.timedelta(days=i), Decimal(base + (1 if i >= days - extra else 0)) * CENT)
            for i in range(days)]


def reading_span(reading_date: dt.date, previous_date: dt.date | None, billed_to: dt.date | None
                 ) -> tuple[dt.date, dt.date] | None:
    """The days a register reading's consumption is spread over: from the day after the previous
    reading (or after the last billed day, if later) to the reading's date. None when every one of
    them is billed already (or there is no previous reading: a first reading measures nothing)."""
    if previous_date is None:
        return None
    first = previous_date + dt.timedelta(days=1)
    if billed_to is not None and billed_to >= first:
        first = billed_to + dt.timedelta(days=1)
    if first > reading_date:
        if previous_date == reading_date and (billed_to is None or billed_to < reading_date):
            return reading_date, reading_date  # a second reading the same day: its water that day
        return None
    return first, reading_date
