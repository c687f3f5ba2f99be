"""PDF pages of bills and receipts with fpdf2 (no browser), in DejaVu Sans shipped in data/fonts/
(so ₹ and the other currency signs print; text stays extractable through the font's ToUnicode map).

One A4 page per bill: the utility and the bill number, the account and area, period and due date,
the amount due, every bill line, what the bill was based on (readings, usage or a fixed fee), a
bar chart of the account's last 12 months, and how to pay (a QR code of the payment link when there
is one; the PSID with its barcode for municipal bills). `render_bills` puts many bills in one
document (a bulk print renders a chunk at a time: services/documents/bulk.py), which is far cheaper
per bill than one document each (a document costs ~60 ms of font work; a page ~4 ms).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

import segno
from fpdf import FPDF

from services.config import ROOT
from services.documents.content import BillDocument, ReceiptDocument

FONT_DIR = ROOT / "data" / "fonts"
FONT = "DejaVu"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (13, 71, 161)
LIGHT = (233, 239, 248)
BAR = (120, 144, 196)
BAR_NOW = (13, 71, 161)
LEFT, RIGHT, WIDTH = 15.0, 195.0, 180.0


def new_pdf() -> FPDF:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_compression(True)
    pdf.set_creator("Meterline")
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    return pdf


def render_bills(docs: Iterable[BillDocument]) -> bytes:
    """One PDF with a page per bill."""
    pdf = new_pdf()
    for doc in docs:
        bill_page(pdf, doc)
    return bytes(pdf.output())


def render_receipt(doc: ReceiptDocument) -> bytes:
    pdf = new_pdf()
    receipt_page(pdf, doc)
    return bytes(pdf.output())


# ---- drawing helpers -----------------------------------------------------------------------------
def _font(pdf: FPDF, size: float, bold: bool = False, color=INK) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*color)


def _right(pdf: FPDF, x_right: float, y: float, text: str) -> None:
    pdf.text(x_right - pdf.get_string_width(text), y, text)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Text cut to a width (with an ellipsis): a long name never runs into the next column."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _fill(pdf: FPDF, color, x, y, w, h) -> None:
    pdf.set_fill_color(*color)
    pdf.rect(x, y, w, h, style="F")


def qr_code(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """The URL as a QR code, drawn as vector rectangles (a run of dark modules per rectangle)."""
    qr = segno.make(url, error="m", micro=False)
    matrix = qr.matrix
    n = len(matrix) + 8  # the quiet zone of 4 modules each side
    m = size / n
    pdf.set_fill_color(0, 0, 0)
    for row_i, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                pdf.rect(x + (start + 4) * m, y + (row_i + 4) * m, (col - start) * m, m, style="F")
            else:
                col += 1


def barcode(pdf: FPDF, value: str, x: float, y: float, w: float, h: float) -> None:
    """A PSID as a barcode: Interleaved 2 of 5 for digits (a bank's counter scanner reads it), else Code 39."""
    pdf.set_fill_color(0, 0, 0)
    if value.isdigit():
        digits = value if len(value) % 2 == 0 else "0" + value
        narrow = w / (len(digits) * 9 + 9)  # each digit pair takes 18 narrow widths, plus start and stop
        pdf.interleaved2of5(digits, x, y, w=narrow, h=h)
    else:
        narrow = w / ((len(value) + 2) * 16)
        pdf.code39(f"*{value.upper()}*", x, y, w=narrow, h=h)


# ---- a bill ----------------------------------------------------------------------------------------
def _header_band(pdf: FPDF, utility_name: str, title: str, number_label: str, number: str) -> None:
    """The band at the top of every page: the utility, the kind of document and its number."""
    _fill(pdf, ACCENT, 0, 0, 210, 30)
    _font(pdf, 18, True, (255, 255, 255))
    pdf.text(LEFT, 14, _fit(pdf, utility_name, 110))
    _font(pdf, 10, False, (255, 255, 255))
    pdf.text(LEFT, 22, title)
    _font(pdf, 9, False, (220, 230, 245))
    _right(pdf, RIGHT, 10, number_label)
    _font(pdf, 14, True, (255, 255, 255))
    _right(pdf, RIGHT, 17, number)


def bill_page(pdf: FPDF, d: BillDocument) -> None:
    pdf.add_page()
    _header_band(pdf, d.utility_name, d.title, "Bill number", d.number)
    _font(pdf, 9, False, (220, 230, 245))
    _right(pdf, RIGHT, 24, f"Issued {d.issued}")

    # The account (left) and the amount due (right).
    y = 40
    _font(pdf, 8, False, MUTED)
    pdf.text(LEFT, y, d.account_word.upper())
    _font(pdf, 13, True)
    pdf.text(LEFT, y + 6, d.account_code)
    _font(pdf, 10)
    yy = y + 12
    for text in (d.customer, d.address, d.area):
        if text:
            pdf.text(LEFT, yy, _fit(pdf, text, 100))
            yy += 5
    _fill(pdf, LIGHT, 120, y - 5, RIGHT - 120, 34)
    _font(pdf, 8, False, MUTED)
    pdf.text(124, y, "AMOUNT DUE")
    _font(pdf, 16, True, ACCENT)
    pdf.text(124, y + 8, d.balance)
    _font(pdf, 9)
    pdf.text(124, y + 15, f"Due date: {d.due}")
    pdf.text(124, y + 20, f"Period: {d.period}")
    if d.paid:
        pdf.text(124, y + 25, f"Bill total {d.total}, paid {d.paid}")
    y = max(yy, y + 30) + 2
    if d.status_note:
        _font(pdf, 9, True, (183, 28, 28))
        for part in _wrap(pdf, d.status_note, WIDTH)[:3]:
            pdf.text(LEFT, y + 2, part)
            y += 4.5
        y += 2.5

    # The lines.
    y += 4
    _fill(pdf, LIGHT, LEFT, y, WIDTH, 7)
    _font(pdf, 8, True, MUTED)
    pdf.text(LEFT + 2, y + 4.8, "CHARGE")
    _right(pdf, 120, y + 4.8, "QUANTITY")
    _right(pdf, 150, y + 4.8, "RATE")
    _right(pdf, RIGHT - 2, y + 4.8, "AMOUNT")
    y += 7
    _font(pdf, 9.5)
    for row in d.lines:
        y += 6
        pdf.text(LEFT + 2, y, _fit(pdf, row.label, 80))
        if row.quantity:
            _right(pdf, 120, y, row.quantity)
        if row.rate:
            _right(pdf, 150, y, row.rate)
        _right(pdf, RIGHT - 2, y, row.amount)
    y += 3
    pdf.set_draw_color(*MUTED)
    pdf.line(LEFT, y, RIGHT, y)
    y += 6
    _font(pdf, 11, True)
    pdf.text(LEFT + 2, y, "Total")
    _right(pdf, RIGHT - 2, y, d.total)

    # What the bill was based on.
    y += 10
    _font(pdf, 10, True, ACCENT)
    pdf.text(LEFT, y, d.basis_title)
    y += 2
    if d.basis_header:
        _font(pdf, 8, True, MUTED)
        xs = (LEFT + 2, 60, 120, RIGHT - 2)
        y += 5
        pdf.text(xs[0], y, d.basis_header[0])
        pdf.text(xs[1], y, d.basis_header[1])
        _right(pdf, xs[2], y, d.basis_header[2])
        _right(pdf, xs[3], y, d.basis_header[3])
        _font(pdf, 9)
        shown = d.basis[-8:]  # the latest readings when a bill covers many
        for r in shown:
            y += 5
            pdf.text(xs[0], y, r[0])
            pdf.text(xs[1], y, r[1])
            _right(pdf, xs[2], y, r[2])
            _right(pdf, xs[3], y, r[3])
        if len(d.basis) > len(shown):
            y += 5
            _font(pdf, 8, False, MUTED)
            pdf.text(xs[0], y, f"and {len(d.basis) - len(shown)} earlier reading(s)")
    else:
        _font(pdf, 9)
        for r in d.basis:
            for part in _wrap(pdf, r[0], WIDTH - 2)[:3]:
                y += 5
                pdf.text(LEFT + 2, y, part)

    # Bottom: the 12-month chart (left) and how to pay (right).
    top = max(y + 10, 190)
    chart(pdf, d, LEFT, top, 100, 60)
    how_to_pay(pdf, d, 125, top)

    _font(pdf, 7.5, False, MUTED)
    pdf.text(LEFT, 287, _fit(pdf, d.footer, WIDTH))


def chart(pdf: FPDF, d: BillDocument, x: float, y: float, w: float, h: float) -> None:
    _font(pdf, 10, True, ACCENT)
    pdf.text(x, y, d.chart_title)
    if not d.chart:
        _font(pdf, 9, False, MUTED)
        pdf.text(x, y + 8, "No earlier bills.")
        return
    base = y + h - 6
    top = y + 8
    peak = max((b.value for b in d.chart), default=Decimal("0")) or Decimal("1")
    slot = w / 12
    pdf.set_draw_color(*MUTED)
    pdf.line(x, base, x + w, base)
    for i, b in enumerate(d.chart):
        bh = float(b.value / peak) * (base - top - 4)
        bx = x + i * slot + slot * 0.15
        if bh > 0:
            _fill(pdf, BAR_NOW if b.current else BAR, bx, base - bh, slot * 0.7, bh)
        _font(pdf, 6.5, b.current, INK if b.current else MUTED)
        pdf.text(bx, base + 3.5, b.label)
        if b.current:
            value = f"{b.value.normalize():f}" if b.value == b.value.to_integral() else f"{b.value:.2f}"
            pdf.text(bx, base - bh - 1.2, value)


def how_to_pay(pdf: FPDF, d: BillDocument, x: float, y: float) -> None:
    _font(pdf, 10, True, ACCENT)
    pdf.text(x, y, "How to pay")
    if not d.pay_lines:
        _font(pdf, 9)
        pdf.text(x, y + 7, "Nothing to pay on this bill.")
        return
    yy = y + 2
    if d.pay_url:
        qr_code(pdf, d.pay_url, x - 2, yy, 30)
        yy += 31
    if d.psid:
        _font(pdf, 8, False, MUTED)
        pdf.text(x, yy + 4, "PSID")
        _font(pdf, 11, True)
        pdf.text(x, yy + 9, d.psid)
        barcode(pdf, d.psid, x, yy + 11, RIGHT - x, 11)
        yy += 25
    _font(pdf, 8)
    for line in d.pay_lines:
        if line == d.pay_url:
            continue
        for part in _wrap(pdf, line, RIGHT - x):
            yy += 4
            pdf.text(x, yy, part)
    if d.pay_url:
        _font(pdf, 6.5, False, ACCENT)
        for part in _wrap(pdf, d.pay_url, RIGHT - x):
            yy += 3.2
            pdf.text(x, yy, part)
        pdf.link(x, y + 2, 30, 30, d.pay_url)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    words, out, cur = text.split(" "), [], ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if pdf.get_string_width(trial) <= width or not cur:
            cur = trial
        else:
            out.append(cur)
            cur = w
    if cur:
        out.append(cur)
    # A single long word (a URL) is cut by characters.
    final = []
    for line in out:
        while pdf.get_string_width(line) > width and len(line) > 1:
            k = len(line)
            while k > 1 and pdf.get_string_width(line[:k]) > width:
                k -= 1
            final.append(line[:k])
            line = line[k:]
        final.append(line)
    return final


# ---- a receipt ------------------------------------------------------------------------------------
def receipt_page(pdf: FPDF, d: ReceiptDocument) -> None:
    pdf.add_page()
    _header_band(pdf, d.utility_name, "Payment receipt", "Receipt number", d.number)
    y = 45
    _font(pdf, 8, False, MUTED)
    pdf.text(LEFT, y, "AMOUNT RECEIVED")
    _font(pdf, 22, True, ACCENT)
    pdf.text(LEFT, y + 10, d.amount)
    y += 22
    rows = [("Received from", d.received_from or "-"), (d.account_word, d.account_code), ("For bill", d.bill_number),
            ("Billing period", d.period), ("Paid on", d.paid_on), ("Method", d.method)]
    if d.reference:
        rows.append(("Reference", d.reference))
    rows += [("Bill total", d.bill_total), ("Still due on the bill", d.bill_balance)]
    for label, value in rows:
        y += 7
        _font(pdf, 9, False, MUTED)
        pdf.text(LEFT, y, label)
        _font(pdf, 10.5)
        pdf.text(70, y, _fit(pdf, value, RIGHT - 70))
    if d.note:
        y += 10
        _font(pdf, 9, False, MUTED)
        for part in _wrap(pdf, d.note, WIDTH):
            pdf.text(LEFT, y, part)
            y += 5
    _font(pdf, 7.5, False, MUTED)
    pdf.text(LEFT, 287, _fit(pdf, d.footer, WIDTH))
