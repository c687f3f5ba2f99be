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

Reading is I/O (`read_table`, the one reader the pricing service and the import share);
`parse_price_rows` and `price_problems` are pure and report every bad row before anything is used.

The reader trusts nothing the file says about itself. An .xlsx names its size in a
`<dimension ref="A1:K100"/>` element that may be wrong (too small: rows silently dropped; too
large: millions of empty cells generated), so it is ignored (openpyxl `reset_dimensions`) and the
rows are read as they are, up to `ReadLimits.max_rows`. The file's size, and for an .xlsx (a zip)
the unpacked size of its parts, are capped before parsing. A cell holding a formula is refused,
naming the cell: a formula's value is whatever the last program that saved the file computed.
"""
from __future__ import annotations

import csv
import os
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from services.errors import MasterDataError, RowProblem, ValidationError
from services.money import parse_decimal

MAX_HEADER_COLUMNS = 64  # header cells read; columns further right are ignored
MAX_PROBLEMS_KEPT = 1000  # problems listed in a MasterDataError (all are counted)


@dataclass(frozen=True)
class ReadLimits:
    """Caps on what a master data file may cost to read (docs/master-data.md)."""

    max_bytes: int = 64 * 1024 * 1024            # the file on disk
    max_unpacked_bytes: int = 256 * 1024 * 1024  # an .xlsx's parts once unzipped, together
    max_rows: int = 500_000                      # data rows (below the header), blank rows included

    @classmethod
    def from_env(cls) -> "ReadLimits":
        d = cls()
        env = os.environ
        return cls(int(env.get("MASTER_DATA_MAX_BYTES") or d.max_bytes),
                   int(env.get("MASTER_DATA_MAX_UNPACKED_BYTES") or d.max_unpacked_bytes),
                   int(env.get("MASTER_DATA_MAX_ROWS") or d.max_rows))


class SheetRow(dict):
    """One data row keyed by canonical column name; `number` is its row number in the file
    (the header is row 1), so problems name the row a person sees even after blank rows."""

    number: int

    def __init__(self, number: int, values: dict):
        super().__init__(values)
        self.number = number


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


def _file_problem(path, message: str) -> MasterDataError:
    return MasterDataError(str(path), [RowProblem(0, None, message)])


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def read_table(path: str | Path, limits: ReadLimits | None = None) -> tuple[list[str], list[SheetRow]]:
    """Return (canonical column names found, data rows). Raises MasterDataError for a file that
    cannot be read within the limits or has formula cells; never a traceback for a bad file."""
    limits = limits or ReadLimits.from_env()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv"):
        raise _file_problem(path, "unsupported file type; use .xlsx or .csv.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _file_problem(path, f"cannot be read ({exc.strerror or exc.__class__.__name__}).") from None
    if size > limits.max_bytes:
        raise _file_problem(path, f"is {_mib(size)}, over the limit of {_mib(limits.max_bytes)} "
                                  "(MASTER_DATA_MAX_BYTES). Split the file, or raise the limit.")
    header, rows = (_read_xlsx if suffix != ".csv" else _read_csv)(path, limits)
    names = [_BY_KEY.get(_key(h)) for h in header]
    out = []
    for number, values in rows:
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append(SheetRow(number, {n: v for n, v in zip(names, values) if n}))
    return [n for n in names if n], out


def _too_many_rows(path, limits: ReadLimits) -> MasterDataError:
    return _file_problem(path, f"has more than {limits.max_rows:,} data rows (MASTER_DATA_MAX_ROWS). Split the "
                               "file, or raise the limit.")


def _read_csv(path: Path, limits: ReadLimits):
    rows = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None) or []
            header = header[:MAX_HEADER_COLUMNS]
            for number, values in enumerate(reader, start=2):
                if number - 1 > limits.max_rows:
                    raise _too_many_rows(path, limits)
                rows.append((number, tuple(values[:len(header)])))
    except UnicodeDecodeError:
        raise _file_problem(path, "is not UTF-8 text. Save it as 'CSV UTF-8', or as .xlsx.") from None
    except csv.Error as exc:
        raise _file_problem(path, f"is not a readable CSV file ({exc}).") from None
    return header, rows


def _read_xlsx(path: Path, limits: ReadLimits):
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise _file_problem(path, f"not a readable .xlsx workbook ({exc.__class__.__name__}).") from None
    if unpacked > limits.max_unpacked_bytes:
        raise _file_problem(path, f"unpacks to {_mib(unpacked)}, over the limit of {_mib(limits.max_unpacked_bytes)} "
                                  "(MASTER_DATA_MAX_UNPACKED_BYTES). Split the file, or raise the limit.")
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        # data_only=False: a formula cell shows as a formula (and is refused), not as the value
        # some other program cached in it.
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise _file_problem(path, f"not a readable .xlsx workbook ({exc.__class__.__name__}).") from None
    formulas: list[RowProblem] = []
    rows = []
    try:
        if not wb.worksheets:
            raise _file_problem(path, "has no worksheet.")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # the <dimension> element may lie either way
        first = next(ws.iter_rows(min_row=1, max_row=1, max_col=MAX_HEADER_COLUMNS, values_only=True), ())
        header = list(first)
        while header and (header[-1] is None or str(header[-1]).strip() == ""):
            header.pop()
        width = max(len(header), 1)
        labels = [COLUMNS.get(_BY_KEY.get(_key(h)) or "") or None for h in header]
        for number, cells in enumerate(ws.iter_rows(min_row=2, max_col=width), start=2):
            if number - 1 > limits.max_rows:
                raise _too_many_rows(path, limits)
            values = []
            for i, cell in enumerate(cells):
                if getattr(cell, "data_type", None) == "f" and i < len(labels) and labels[i]:
                    formulas.append(RowProblem(number, labels[i], (
                        f"cell {get_column_letter(i + 1)}{number} holds a formula ({str(cell.value)[:40]}); "
                        "formulas are not read. Replace them with their values (copy, then Paste Special > "
                        "Values) and save again.")))
                values.append(cell.value)
            rows.append((number, tuple(values)))
    except MasterDataError:
        raise
    except Exception as exc:  # a damaged sheet inside a valid zip
        raise _file_problem(path, f"not a readable .xlsx workbook ({exc.__class__.__name__}: {exc}).") from None
    finally:
        wb.close()
    if formulas:
        raise MasterDataError(str(path), formulas[:MAX_PROBLEMS_KEPT], total=len(formulas))
    return header, rows


def price_problems(row: dict, number: int, columns: list[str]) -> tuple[dict[str, Decimal], list[RowProblem]]:
    """The pricing cells of one row, checked as the pricing service checks them (a number, not
    negative, at most 4 decimals for the rate and 2 for the fixed charge). Only columns present."""
    values, problems = {}, []
    for col in ("rate_per_unit", "fixed_charge"):
        if col not in columns:
            continue
        try:
            values[col] = parse_decimal(row.get(col), COLUMNS[col], places=4 if col == "rate_per_unit" else 2,
                                        maximum=Decimal("999999.9999") if col == "rate_per_unit" else
                                        Decimal("999999999999.99"))
        except ValidationError as e:
            problems.append(RowProblem(number, COLUMNS[col], e.message + (f" {e.fix}" if e.fix else "")))
    return values, problems


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
        i = getattr(row, "number", i)
        code = normalize_flat_code(row.get("flat_code"))
        if not code:
            problems.append(RowProblem(i, COLUMNS["flat_code"], "is empty."))
            continue
        values, bad = price_problems(row, i, columns)
        problems += bad
        if code in first_seen:
            problems.append(RowProblem(i, COLUMNS["flat_code"], f"duplicate flat code {code} (first on row {first_seen[code]})."))
            continue
        first_seen[code] = i
        if len(values) == 2:
            table[code] = (values["rate_per_unit"], values["fixed_charge"])
    if problems:
        raise MasterDataError(source, problems[:MAX_PROBLEMS_KEPT], total=len(problems))
    return table
