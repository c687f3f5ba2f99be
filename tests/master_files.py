"""Master data files built inside the tests, well-formed or broken on purpose: CSV, xlsx, and xlsx
whose sheet XML is patched inside the zip (a lying <dimension>, a formula)."""
from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

from scripts.generate_master_data import ORDER, rows as demo_rows
from services.master_data.spreadsheet import COLUMNS

HEADER = [COLUMNS[c] for c in ORDER]  # Flat Code ... Rate Per Unit, Fixed Charge


def demo_table(n: int) -> list[list]:
    """The first n rows of the demo society's master data (every column, valid)."""
    out = []
    for r in demo_rows(n + n // 10 + 32):
        out.append(list(r))
        if len(out) == n:
            return out
    raise AssertionError("not enough demo rows")


def write_csv(path: Path, rows, header=HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, rows, header=HEADER) -> Path:
    """An ordinary workbook (openpyxl writes a correct <dimension ref=...>)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def patch_sheet(path: Path, change) -> Path:
    """Rewrite xl/worksheets/sheet1.xml inside the zip with change(xml_bytes) -> xml_bytes."""
    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            zout.writestr(item, data)
    tmp.replace(path)
    return path


def set_dimension(path: Path, ref: str) -> Path:
    def change(xml: bytes) -> bytes:
        new, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml)
        assert n == 1, "no <dimension> element to patch"
        return new
    return patch_sheet(path, change)


def dimension_of(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return re.search(rb'<dimension ref="([^"]*)"', z.read("xl/worksheets/sheet1.xml")).group(1).decode()
