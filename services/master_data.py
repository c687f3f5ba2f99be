"""Reading and validating the master data spreadsheet (data/Blessings_City_Master_Data.xlsx).

Columns (header row, matched case- and space-insensitively):

| column              | required for | meaning                                            |
|---------------------|--------------|----------------------------------------------------|
| Flat Code           | all          | e.g. B17-FF (block, number, floor code)            |
| Block               | import       | A, B, C, D ...                                      |
| Floor               | import       | floor code: GF, FF, SF, TF                         |
| Flat Type           | import       | 2BHK, 4BHK, 5BHK                                   |
| Owner Name          | import       | primary owner                                      |
| Owner Phone         | import       | +91 followed by 10 digits                          |
| Meter Number        | import       | the flat's electricity meter                       |
| Motor               | import       | code of the shared water motor, empty if none      |
| Motor Meter Number  | import       | the motor's meter                                  |
| Rate Per Unit       | pricing      | rupees per kWh                                     |
| Fixed Charge        | pricing      | base monthly fixed charge in rupees                |

Reading is I/O; `parse_price_rows` is pure and reports every bad row before anything is used.
"""
from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

from services.errors import MasterDataError, RowProblem, ValidationError
from services.money import parse_decimal

COLUMNS = {
    "flat_code": "Flat Code",
    "block": "Block",
    "floor": "Floor",
    "flat_type": "Flat Type",
    "owner_name": "Owner Name",
    "owner_phone": "Owner Phone",
    "meter_number": "Meter Number",
    "motor": "Motor",
    "motor_meter_number": "Motor Meter Number",
    "rate_per_unit": "Rate Per Unit",
    "fixed_charge": "Fixed Charge",
}
PRICING_COLUMNS = ("flat_code", "rate_per_unit", "fixed_charge")
BHK_PREFIX = re.compile(r"^\s*(\d+)\s*BHK\s*-\s*(.+)$", re.IGNORECASE)


def _key(header) -> str:
    return re.sub(r"[^a-z0-9]", "", str(header or "").lower())


_BY_KEY = {_key(label): name for name, label in COLUMNS.items()}


def normalize_flat_code(code) -> str:
    """'5bhk-b17-ff ' -> 'B17-FF' (a BHK prefix is not part of the flat code)."""
    text = str(code or "").strip().upper()
    m = BHK_PREFIX.match(text)
    return m.group(2).strip() if m else text


def read_table(path: str | Path) -> tuple[list[str], list[dict]]:
    """Return (canonical column names found, rows keyed by canonical name). Row numbers start at 2."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise MasterDataError(str(path), [RowProblem(0, None, f"not a readable .xlsx workbook ({exc.__class__.__name__}).")]) from None
        try:
            rows_iter = wb.worksheets[0].iter_rows(values_only=True)
            header = next(rows_iter, None) or ()
            raw_rows = list(rows_iter)
        finally:
            wb.close()
    elif path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None) or []
            raw_rows = [tuple(r) for r in reader]
    else:
        raise MasterDataError(str(path), [RowProblem(0, None, "unsupported file type; use .xlsx or .csv.")])
    names = [_BY_KEY.get(_key(h)) for h in header]
    rows = []
    for values in raw_rows:
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        rows.append({n: v for n, v in zip(names, values) if n})
    return [n for n in names if n], rows


def parse_price_rows(columns: list[str], rows: list[dict], source: str = "master data") -> dict[str, tuple[Decimal, Decimal]]:
    """Validate the pricing columns of every row; return {flat_code: (rate, fixed_charge)}.

    Raises MasterDataError listing every problem (missing column, bad number, duplicate code).
    """
    missing = [COLUMNS[c] for c in PRICING_COLUMNS if c not in columns]
    if missing:
        raise MasterDataError(source, [RowProblem(1, m, "column is missing from the header row.") for m in missing])
    problems: list[RowProblem] = []
    table: dict[str, tuple[Decimal, Decimal]] = {}
    first_seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=2):
        code = normalize_flat_code(row.get("flat_code"))
        if not code:
            problems.append(RowProblem(i, COLUMNS["flat_code"], "is empty."))
            continue
        values = {}
        for col in ("rate_per_unit", "fixed_charge"):
            try:
                values[col] = parse_decimal(row.get(col), COLUMNS[col], places=4 if col == "rate_per_unit" else 2)
            except ValidationError as e:
                problems.append(RowProblem(i, COLUMNS[col], e.message))
        if code in first_seen:
            problems.append(RowProblem(i, COLUMNS["flat_code"], f"duplicate flat code {code} (first on row {first_seen[code]})."))
            continue
        first_seen[code] = i
        if len(values) == 2:
            table[code] = (values["rate_per_unit"], values["fixed_charge"])
    if problems:
        raise MasterDataError(source, problems)
    return table
