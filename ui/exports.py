"""CSV and Excel exports of a bill filter.

The bills are read a page at a time (DatabaseService.iter_bills, keyset by id) and written to a
spooled temporary file that moves to disk past a few MB, so a filter of 300,000 bills never sits
in the database driver or a DataFrame at once. Streamlit keeps a download in memory, so the
finished file is handed to it as bytes, only when the button is clicked (a deferred callable). Text cells that a spreadsheet would run as a
formula (=, +, -, @) are prefixed with an apostrophe.

Columns speak the utility's words: the account column is named by its label (flat, consumer_unit,
customer), one column per area level holds that level's code (block and floor; city_tehsil and
union_council; service_area and billing_cycle), amounts are plain numbers in the utility's
currency (named in the `currency` column), quantities in its unit.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
from decimal import Decimal
from typing import IO, Callable, Iterable

from services.accounts.utility import UtilitySettings
from services.models import Bill

SPOOL_BYTES = 8 * 1024 * 1024


def column_name(text: str) -> str:
    """A heading as a column name: "Union Council" -> union_council, "City/Tehsil" -> city_tehsil."""
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "area"


def _area_code(level: int) -> Callable[[Bill], str | None]:
    def get(b: Bill) -> str | None:
        parts = (b.area_path or "").split("/")
        return parts[level] if level < len(parts) and parts[level] else None
    return get


def columns(utility: UtilitySettings) -> tuple[tuple[str, Callable[[Bill], object]], ...]:
    metered = utility.quantity_unit is not None
    return (
        ("bill_id", lambda b: b.id), (column_name(utility.account_label), lambda b: b.account_code),
        *((column_name(level), _area_code(i)) for i, level in enumerate(utility.area_levels)),
        ("contact", lambda b: b.contact_name), ("contact_phone", lambda b: b.contact_phone),
        ("service", lambda b: b.service), ("category", lambda b: b.category),
        ("period_start", lambda b: b.billing_period_start), ("period_end", lambda b: b.billing_period_end),
        ("due_date", lambda b: b.due_date), ("status", lambda b: b.status),
        *((("units", lambda b: b.units), ("motor_units", lambda b: b.motor_units),
           ("total_units", lambda b: b.total_units), ("unit", lambda b: utility.quantity_unit),
           ("rate_per_unit", lambda b: b.rate_per_unit)) if metered else ()),
        ("fixed_charge", lambda b: b.fixed_charge),
        ("previous_outstanding", lambda b: b.previous_outstanding), ("total_amount", lambda b: b.total_amount),
        ("amount_paid", lambda b: b.amount_paid), ("balance", lambda b: b.balance),
        ("currency", lambda b: utility.currency),
        ("tariff_plan", lambda b: b.plan_code), ("plan_version", lambda b: b.plan_version),
        ("pricing_rule", lambda b: b.pricing_rule), ("reissue_of", lambda b: b.reissue_of),
        ("carried_forward_to", lambda b: b.carried_forward_to), ("superseded_by", lambda b: b.superseded_by),
        ("created_by", lambda b: b.created_by_name),
    )


def _safe_text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return _safe_text(value)
    return value


def write_csv(bills: Iterable[Bill], out: IO[bytes], utility: UtilitySettings) -> int:
    cols = columns(utility)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([name for name, _ in cols])
    n = 0
    for bill in bills:
        writer.writerow([str(v) if isinstance(v, Decimal) else _cell(v) for v in (get(bill) for _, get in cols)])
        n += 1
    text.flush()
    text.detach()  # leave `out` open for the caller
    return n


def write_xlsx(bills: Iterable[Bill], out: IO[bytes], utility: UtilitySettings) -> int:
    from openpyxl import Workbook

    cols = columns(utility)
    wb = Workbook(write_only=True)  # rows are streamed to the file, not kept as cell objects
    ws = wb.create_sheet("Bills")
    ws.append([name for name, _ in cols])
    n = 0
    for bill in bills:
        ws.append([_cell(get(bill)) for _, get in cols])
        n += 1
    wb.save(out)
    return n


def export(bills: Iterable[Bill], fmt: str, utility: UtilitySettings) -> IO[bytes]:
    """A rewound file holding the export ('csv' or 'xlsx') with the utility's column names."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    (write_csv if fmt == "csv" else write_xlsx)(bills, out, utility)
    out.seek(0)
    return out


def export_bytes(bills: Iterable[Bill], fmt: str, utility: UtilitySettings) -> bytes:
    """The export as bytes, for st.download_button's deferred `data` callable."""
    with export(bills, fmt, utility) as out:
        return out.read()
