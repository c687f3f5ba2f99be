"""Bulk printing: every bill of a filter (a month, a month run, an area, statuses) as one merged
PDF or one zip of a PDF per bill, streamed to disk.

Bills are read a page at a time by id (keyset: no OFFSET scans), their document parts in a few
set-based queries per page (Storage.bill_document_parts), rendered as one fpdf2 document per page
(services/documents/render.py) and written out at once: appended to the merged PDF
(pdfjoin.MergedPdfWriter) or split into one PDF per bill, each a zip entry. Memory is that of one
page of bills; what grows with the number of bills is the zip's directory (a few hundred bytes an
entry, in zipfile) and, for the merged PDF, nothing (its cross-reference offsets go to a temporary
file). The file is written under a temporary name and renamed when complete, so a stopped print
never leaves a file that looks whole.
"""
from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from services.accounts.roles import Actor, Permission, require
from services.documents.pdfjoin import MergedPdfWriter, split_pages
from services.documents.service import BillDocuments
from services.models import BillFilter

FORMATS = ("pdf", "zip")
CHUNK = 250  # bills per rendered document: large enough to share its fonts, small enough to keep memory flat
# What a print of "the bills of a month" means by default: the bills that stand (a superseded bill
# was replaced by its re-issue; a cancelled one is owed by nobody).
PRINTED_STATUSES = ("pending", "partially_paid", "paid", "overdue", "carried_forward")


@dataclass(frozen=True)
class PrintResult:
    path: Path
    bills: int
    bytes: int
    seconds: float
    paperless: int = 0  # bills left out: a portal customer of the account chose paperless billing

    @property
    def per_second(self) -> float:
        return self.bills / self.seconds if self.seconds > 0 else float("inf")


def print_bills(db, flt: BillFilter, out: Path, *, fmt: str = "pdf", actor: Actor | None = None,
                chunk: int = CHUNK, progress: Callable[[int, int], None] | None = None,
                include_paperless: bool = False) -> PrintResult:
    """Write every bill of `flt` (by id) to `out` as one merged PDF (fmt "pdf") or a zip of one PDF per
    bill named by its number (fmt "zip"). `progress(done, total)` after each chunk. Bills of accounts
    whose portal customer chose paperless billing are left out (counted in `paperless`) unless
    `include_paperless`."""
    require(actor, Permission.VIEW_BILLS)
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: use one of {FORMATS}")
    if not flt.statuses:
        flt = BillFilter(**{**flt.__dict__, "statuses": PRINTED_STATUSES})
    total = db.list_bills(flt, 0, 1, actor=actor).total or 0
    docs = BillDocuments(db)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    started, done, skipped = time.perf_counter(), 0, 0
    with open(partial, "wb") as fh:
        writer = MergedPdfWriter(fh) if fmt == "pdf" else zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED)
        page: list = []
        for bill in db.iter_bills(flt, actor=actor, page_size=chunk):
            page.append(bill)
            if len(page) == chunk:
                page, left_out = _without_paperless(db, page, include_paperless)
                skipped += left_out
                done += _write_chunk(writer, docs, page) if page else 0
                page = []
                if progress:
                    progress(done + skipped, total)
        if page:
            page, left_out = _without_paperless(db, page, include_paperless)
            skipped += left_out
            done += _write_chunk(writer, docs, page) if page else 0
            if progress:
                progress(done + skipped, total)
        writer.close()
    os.replace(partial, out)
    return PrintResult(out, done, out.stat().st_size, time.perf_counter() - started, skipped)


def _without_paperless(db, bills: list, include: bool) -> tuple[list, int]:
    """The page without the bills of paperless customers' accounts (one query per page)."""
    if include or not bills:
        return bills, 0
    paperless = {a for _, a in db.storage.customers_opted_in("paperless", [b.account_id for b in bills])}
    kept = [b for b in bills if b.account_id not in paperless]
    return kept, len(bills) - len(kept)


def _write_chunk(writer, docs: BillDocuments, bills: list) -> int:
    from services.documents.render import render_bills

    documents = docs.documents(bills)
    data = render_bills(documents)
    if isinstance(writer, MergedPdfWriter):
        return writer.add(data)
    for doc, page in zip(documents, split_pages(data)):
        writer.writestr(zipfile.ZipInfo(f"{doc.number.lstrip('#')}.pdf", date_time=time.localtime()[:6]), page)
    return len(documents)
