"""CSV and Excel exports of an audit log filter: read a page at a time, written to a spooled file
(a filter of a million entries never sits in memory at once); formula-looking text is defused as
in the bill exports (ui/exports.py)."""
from __future__ import annotations

import csv
import io
import json
import tempfile
from typing import Iterable

from services.models import AuditEntry
from ui.exports import SPOOL_BYTES, _cell

COLUMNS = ("id", "when_utc", "who", "action", "record_type", "record_id", "client", "details")


def _row(e: AuditEntry) -> list:
    return [e.id, e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.action, e.entity_type, e.entity_id,
            e.client, json.dumps(e.details, default=str, ensure_ascii=False) if e.details else None]


def export_bytes(entries: Iterable[AuditEntry], fmt: str) -> bytes:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        if fmt == "csv":
            text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
            writer = csv.writer(text)
            writer.writerow(COLUMNS)
            for e in entries:
                writer.writerow([_cell(v) for v in _row(e)])
            text.flush()
            text.detach()
        else:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Audit log")
            ws.append(list(COLUMNS))
            for e in entries:
                ws.append([_cell(v) for v in _row(e)])
            wb.save(out)
        out.seek(0)
        return out.read()
