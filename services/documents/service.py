"""One bill's or receipt's PDF, and the documents of a page of bills (for bulk printing)."""
from __future__ import annotations

from dataclasses import dataclass

from services.accounts.roles import Actor, Permission, require
from services.documents.content import BillDocument, bill_document, receipt_document
from services.documents.render import render_bills, render_receipt
from services.errors import NotFoundError
from services.models import Bill


@dataclass(frozen=True)
class Pdf:
    filename: str
    data: bytes

    mime = "application/pdf"


def bill_filename(bill: Bill) -> str:
    return f"bill-{bill.number.lstrip('#')}.pdf"


class BillDocuments:
    """Bills and receipts as PDFs, worded in the utility's terms. Reads through the storage contract."""

    def __init__(self, db):
        self.db = db
        self._areas = None

    def areas(self) -> dict:
        if self._areas is None:  # small (hundreds to a few thousand rows), read once per use
            self._areas = {a.id: a for a in self.db.list_areas()}
        return self._areas

    def documents(self, bills: list[Bill]) -> list[BillDocument]:
        """The documents of a page of bills: their parts read in a few set-based queries."""
        parts = self.db.storage.bill_document_parts([b.id for b in bills])
        u = self.db.utility()
        areas = self.areas()
        return [bill_document(b, parts[b.id], u, areas) for b in bills if b.id in parts]

    def bill_pdf(self, bill_id: int, actor: Actor | None = None) -> Pdf:
        require(actor, Permission.VIEW_BILLS)
        bill = self.db.get_bill(bill_id)
        return Pdf(bill_filename(bill), render_bills(self.documents([bill])))

    def receipt_pdf(self, bill_id: int, payment_id: int, actor: Actor | None = None) -> Pdf:
        require(actor, Permission.VIEW_BILLS)
        bill = self.db.get_bill(bill_id)
        payment = next((p for p in self.db.storage.list_payments(bill_id) if p.id == payment_id), None)
        if payment is None:
            raise NotFoundError(f"Bill {bill_id} has no payment {payment_id}.")
        doc = receipt_document(payment, bill, self.db.utility())
        return Pdf(f"receipt-{doc.number}.pdf", render_receipt(doc))
