"""Split and join the PDFs render.py makes, at the object level, without holding a big PDF in memory.

A bulk print renders a chunk of bills (a few hundred) as one fpdf2 document, which is cheap per page,
then either
- splits it into one small PDF per bill (`split_pages`: each page with the fonts and resources it
  uses) for a zip, or
- appends it to one merged PDF being written to disk (`MergedPdfWriter`): the chunk's objects are
  renumbered and written out at once, its page tree hangs under the merged document's root, and
  the cross-reference offsets go to a temporary file, so memory stays that of one chunk however
  many bills the file holds.

fpdf2 writes a classic PDF (no object or cross-reference streams): numbered objects one after the
other, a cross-reference table and a trailer. Only that shape is read here; anything else is
refused (ValueError) rather than guessed at.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass

_OBJ = re.compile(rb"(\d+) 0 obj\s*")
_REF = re.compile(rb"(\d+) 0 R\b")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_TRAILER_ROOT = re.compile(rb"/Root (\d+) 0 R")
HEADER = b"%PDF-1.4\n%\xe9\xeb\xf1\xbf\n"


@dataclass
class PdfObject:
    number: int
    head: bytes  # the object's dictionary or value (references renumbered here)
    stream: bytes | None  # b"stream\n...\nendstream" as it was, or None


class ParsedPdf:
    """The objects of an fpdf2 PDF, by number, and its catalog's page tree."""

    def __init__(self, data: bytes):
        m = _STARTXREF.search(data[-64:])
        if not m:
            raise ValueError("not a classic PDF (no startxref)")
        xref_at = int(m.group(1))
        if not data[xref_at:].startswith(b"xref"):
            raise ValueError("the cross-reference table is not where startxref says (an xref stream?)")
        body = data[:xref_at]
        starts = [(int(x.group(1)), x.start(), x.end()) for x in _OBJ.finditer(body)
                  if x.start() == 0 or body[x.start() - 1:x.start()] in (b"\n", b"\r")]
        self.objects: dict[int, PdfObject] = {}
        for i, (num, at, content) in enumerate(starts):
            end = starts[i + 1][1] if i + 1 < len(starts) else xref_at
            raw = body[content:end].rstrip()
            if not raw.endswith(b"endobj"):
                raise ValueError(f"object {num} does not end with endobj")
            raw = raw[:-len(b"endobj")].rstrip()
            k = raw.find(b"stream\n")
            if k >= 0 and raw.endswith(b"endstream"):
                self.objects[num] = PdfObject(num, raw[:k].rstrip(), raw[k:])
            else:
                self.objects[num] = PdfObject(num, raw, None)
        trailer = data[xref_at:]
        root = _TRAILER_ROOT.search(trailer)
        if not root:
            raise ValueError("the trailer names no catalog")
        catalog = self.objects[int(root.group(1))].head
        pages = re.search(rb"/Pages (\d+) 0 R", catalog)
        self.pages_root = int(pages.group(1))
        kids = re.search(rb"/Kids \[([^\]]*)\]", self.objects[self.pages_root].head)
        self.page_numbers = [int(x) for x in _REF.findall(kids.group(1))]

    def refs(self, num: int) -> list[int]:
        return [int(x) for x in _REF.findall(_outside_strings(self.objects[num].head))]


def _outside_strings(head: bytes) -> bytes:
    """The dictionary with its literal strings blanked (a URL may hold text like `1 0 R`)."""
    out, depth, i = bytearray(), 0, 0
    while i < len(head):
        c = head[i:i + 1]
        if depth:
            if c == b"\\":
                out += b"  "
                i += 2
                continue
            depth += c == b"("
            depth -= c == b")"
            out += b")" if depth == 0 and c == b")" else b" "
        elif c == b"(":
            depth = 1
            out += c
        else:
            out += c
        i += 1
    return bytes(out)


def _renumber(head: bytes, mapping: dict[int, int]) -> bytes:
    """References renumbered outside literal strings."""
    plain = _outside_strings(head)
    out, last = bytearray(), 0
    for m in _REF.finditer(plain):
        out += head[last:m.start()]
        out += b"%d 0 R" % mapping[int(m.group(1))]
        last = m.end()
    out += head[last:]
    return bytes(out)


def _serialize(num: int, head: bytes, stream: bytes | None) -> bytes:
    return b"%d 0 obj\n" % num + head + (b"\n" + stream if stream is not None else b"") + b"\nendobj\n"


def _closure(pdf: ParsedPdf, start: list[int], skip: set[int]) -> list[int]:
    seen, todo = set(), list(start)
    while todo:
        n = todo.pop()
        if n in seen or n in skip:
            continue
        seen.add(n)
        todo.extend(pdf.refs(n))
    return sorted(seen)


def _xref(offsets: list[int]) -> bytes:
    return b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)


def split_pages(data: bytes) -> list[bytes]:
    """One complete PDF per page of `data` (each with the fonts and resources its page uses)."""
    pdf = ParsedPdf(data)
    pages_head = pdf.objects[pdf.pages_root].head
    media = re.search(rb"/MediaBox \[[^\]]*\]", pages_head)
    out = []
    for page in pdf.page_numbers:
        keep = _closure(pdf, [page], {pdf.pages_root})
        mapping = {n: i + 3 for i, n in enumerate(keep)}  # 1: catalog, 2: pages
        mapping[pdf.pages_root] = 2
        body = bytearray(HEADER)
        offsets = []
        offsets.append(len(body))
        body += _serialize(1, b"<</Type /Catalog /Pages 2 0 R>>", None)
        offsets.append(len(body))
        body += _serialize(2, b"<</Type /Pages /Count 1 /Kids [%d 0 R]%s>>" % (
            mapping[page], b" " + media.group(0) if media else b""), None)
        for n in keep:
            obj = pdf.objects[n]
            offsets.append(len(body))
            body += _serialize(mapping[n], _renumber(obj.head, mapping), obj.stream)
        xref_at = len(body)
        body += _xref(offsets)
        body += b"trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref_at)
        out.append(bytes(body))
    return out


class MergedPdfWriter:
    """One PDF written to `out` (a binary file opened for writing) chunk by chunk."""

    ROOT, PAGES = 1, 2

    def __init__(self, out):
        self.out = out
        self.pos = 0
        self.next_number = 3
        self.page_count = 0
        self.chunk_nodes: list[int] = []  # one intermediate page tree node per chunk
        self.offsets = tempfile.TemporaryFile()  # 20-byte xref entries of objects 3, 4, ...
        self._write(HEADER)

    def _write(self, b: bytes) -> None:
        self.out.write(b)
        self.pos += len(b)

    def add(self, data: bytes) -> int:
        """Append every page of an fpdf2 PDF; returns how many."""
        pdf = ParsedPdf(data)
        keep = _closure(pdf, list(pdf.page_numbers) + [pdf.pages_root], set())
        mapping = {n: self.next_number + i for i, n in enumerate(keep)}
        for n in keep:
            obj = pdf.objects[n]
            head = _renumber(obj.head, mapping)
            if n == pdf.pages_root:  # the chunk's page tree becomes a node under the merged root
                head = head.replace(b"/Type /Pages", b"/Type /Pages\n/Parent %d 0 R" % self.PAGES, 1)
            self.offsets.write(b"%010d 00000 n \n" % self.pos)
            self._write(_serialize(mapping[n], head, obj.stream))
        self.next_number += len(keep)
        self.chunk_nodes.append(mapping[pdf.pages_root])
        self.page_count += len(pdf.page_numbers)
        return len(pdf.page_numbers)

    def close(self) -> None:
        """Write the root page tree, the catalog, the cross-reference table and the trailer."""
        first = []
        first.append(self.pos)
        self._write(_serialize(self.ROOT, b"<</Type /Catalog /Pages %d 0 R>>" % self.PAGES, None))
        first.append(self.pos)
        kids = b" ".join(b"%d 0 R" % n for n in self.chunk_nodes)
        self._write(_serialize(self.PAGES, b"<</Type /Pages /Count %d /Kids [%s]>>" % (self.page_count, kids), None))
        xref_at = self.pos
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % self.next_number)
        self._write(b"".join(b"%010d 00000 n \n" % o for o in first))
        self.offsets.seek(0)
        while chunk := self.offsets.read(1 << 20):
            self._write(chunk)
        self.offsets.close()
        self._write(b"trailer\n<</Size %d /Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (self.next_number, self.ROOT,
                                                                                        xref_at))
