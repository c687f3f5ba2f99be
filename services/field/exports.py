"""CSV and Excel exports of visits and tickets (a filter, read through the actor's scoped view a
page at a time, so a large export never sits in memory as one query result). Cells a spreadsheet
would run as a formula (=, +, -, @) are prefixed with an apostrophe, as in ui/exports.py; the
account column is named by the utility's label (flat, consumer_unit, customer)."""
from __future__ import annotations

import csv
import io
import re
import tempfile
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from services.field.models import TICKET_KINDS, VISIT_OUTCOMES, Ticket, TicketFilter, Visit, VisitFilter

PAGE = 500
MAX_ROWS = 100_000  # narrow the filter for more
SPOOL_BYTES = 8 * 1024 * 1024


def _name(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "account"


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def visit_columns(account_label: str) -> tuple[tuple[str, Callable[[Visit], object]], ...]:
    return (("visit_id", lambda v: v.id), (_name(account_label), lambda v: v.account_code),
            ("area", lambda v: v.area_path), ("agent", lambda v: v.agent_name), ("visited_at", lambda v: v.visited_at),
            ("outcome", lambda v: VISIT_OUTCOMES.get(v.outcome, v.outcome)), ("notes", lambda v: v.notes),
            ("gps_lat", lambda v: v.gps_lat), ("gps_lon", lambda v: v.gps_lon),
            ("gps_accuracy_m", lambda v: v.gps_accuracy_m), ("distance_m", lambda v: v.distance_m),
            ("radius_m", lambda v: v.radius_m), ("flagged", lambda v: "yes" if v.flagged else "no"),
            ("photo", lambda v: v.photo_ref), ("status", lambda v: v.status),
            ("reviewed_by", lambda v: v.reviewed_by_name), ("reviewed_at", lambda v: v.reviewed_at),
            ("reason", lambda v: v.review_reason))


def ticket_columns(account_label: str) -> tuple[tuple[str, Callable[[Ticket], object]], ...]:
    return (("ticket_id", lambda t: t.id), (_name(account_label), lambda t: t.account_code),
            ("area", lambda t: t.area_path), ("kind", lambda t: TICKET_KINDS.get(t.kind, t.kind)),
            ("description", lambda t: t.description), ("source", lambda t: t.source),
            ("visit_id", lambda t: t.visit_id), ("bill_id", lambda t: t.bill_id),
            ("proposed_change", lambda t: _change_text(t.proposed_change)), ("raised_by", lambda t: t.raised_by_name),
            ("raised_at", lambda t: t.raised_at), ("status", lambda t: t.status),
            ("reviewed_by", lambda t: t.reviewed_by_name), ("reviewed_at", lambda t: t.reviewed_at),
            ("reason", lambda t: t.review_reason), ("applied", lambda t: _change_text(t.applied)),
            ("comments", lambda t: t.comments), ("attachments", lambda t: t.attachments))


def _change_text(change: dict | None) -> str:
    if not change:
        return ""
    parts = []
    for k, v in change.items():
        if isinstance(v, dict) and set(v) == {"old", "new"}:
            parts.append(f"{k}: {v['old']} -> {v['new']}")
        elif isinstance(v, dict):
            parts.append(f"{k}: " + ", ".join(f"{a}={b}" for a, b in v.items()))
        else:
            parts.append(f"{k}: {v}")
    return "; ".join(parts)


def iter_visits(storage, flt: VisitFilter) -> Iterator[Visit]:
    for offset in range(0, MAX_ROWS, PAGE):
        page = storage.list_visits(flt, offset, PAGE, with_total=False)
        yield from page.items
        if len(page.items) < PAGE:
            return


def iter_tickets(storage, flt: TicketFilter) -> Iterator[Ticket]:
    for offset in range(0, MAX_ROWS, PAGE):
        page = storage.list_tickets(flt, offset, PAGE, with_total=False)
        yield from page.items
        if len(page.items) < PAGE:
            return


def export_bytes(rows: Iterable, columns, fmt: str, sheet: str = "Rows") -> bytes:
    """The rows as a CSV ('csv') or Excel ('xlsx') file."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
        if fmt == "csv":
            text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
            writer = csv.writer(text)
            writer.writerow([n for n, _ in columns])
            for r in rows:
                writer.writerow([_cell(get(r)) for _, get in columns])
            text.flush()
            text.detach()
        else:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet(sheet)
            ws.append([n for n, _ in columns])
            for r in rows:
                ws.append([_cell(get(r)) for _, get in columns])
            wb.save(out)
        out.seek(0)
        return out.read()
