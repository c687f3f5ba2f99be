"""PDF bills and receipts read back with pypdf: the account, the total and the due date in the
utility's words and money, every line, what the bill was based on, how to pay; bulk prints as one
merged PDF or a zip, for all three utilities."""
import dataclasses
import datetime as dt
import io
import zipfile
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from services.documents import content
from services.documents.bulk import print_bills
from services.documents.pdfjoin import MergedPdfWriter, split_pages
from services.documents.render import render_bills
from services.documents.service import BillDocuments
from services.models import BillFilter
from tests.factories import make_municipal, make_service, make_society, make_water

TODAY = dt.date(2026, 11, 22)
OCT = ("2026-10-01", "2026-10-31", "2026-11-15")


def text_of(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_society_bill_pdf_has_account_total_due_date_and_lines(storage):
    make_society(storage)
    db = make_service(storage, TODAY)
    sep = db.create_bill("B17-FF", "2026-09-01", "2026-09-30", "2026-10-15", flat_units=150, motor_units=10,
                         previous_outstanding=0)
    bill = db.create_bill("B17-FF", *OCT, flat_units=120, motor_units=10)  # carries September's 3,394.00
    pdf = BillDocuments(db).bill_pdf(bill.id)
    assert pdf.filename == "bill-BC-2026-000002.pdf" and pdf.data.startswith(b"%PDF")
    (page,) = text_of(pdf.data)
    for expected in ("Blessings City", "BC-2026-000002", "B17-FF", "Test Owner", "Block B · First Floor",
                     "Due date: 15 Nov 2026", "1 Oct 2026 to 31 Oct 2026", "₹6,428.00", "₹1,560.00", "₹1,474.00",
                     "Previous outstanding", "₹3,394.00", "Your usage, last 12 months (kWh)",
                     "pay at the Blessings City office, quoting bill", f"PSID {bill.psid}"):
        assert expected in page, expected
    assert sep.bill_number == "BC-2026-000001"


def test_water_bill_prints_its_tier_lines_in_dollars(storage):
    ids = make_water(storage)
    db = make_service(storage, TODAY)
    run = db.generate_bills_for_month("2026-07-01", "2026-07-31", "2026-08-21")
    bill = db.list_bills(BillFilter(search="HS0000002")).items[0]  # 31 CCF in July
    (page,) = text_of(BillDocuments(db).bill_pdf(bill.id).data)
    assert run.created == 3
    for expected in ("HydroSpark", "Water bill", "HS-2026-", "HS0000002", "North · Cycle 1", "Tier 1", "Tier 2",
                     "Tier 3", "$", "Usage", "CCF", "Due date: 21 Aug 2026"):
        assert expected in page, expected
    assert f"${bill.total_amount:,.2f}" in page


def test_municipal_bill_shows_the_fee_and_the_psid_barcode(storage, monkeypatch):
    make_municipal(storage)
    db = make_service(storage, TODAY)
    db.generate_bills_for_month("2026-10-01", "2026-10-31", "2026-11-20")
    bill = db.list_bills(BillFilter(search="SP-KSR-0000001")).items[0]
    docs = BillDocuments(db)
    (page,) = text_of(docs.bill_pdf(bill.id).data)
    for expected in ("Suthra Punjab", "Sanitation fee bill", "SP-2026-", "SP-KSR-0000001", "Rs", "1,000.00",
                     "A fixed monthly fee", "Your bills, last 12 months (PKR)"):
        assert expected in page, expected
    # The PSID the run stored on the bill, printed with its barcode (an image: the digits are the text).
    assert bill.psid and len(bill.psid) == 17
    assert "PSID" in page and bill.psid in page and "Pay at any bank" in page
    # A bill stored before PSIDs existed has none: no PSID block.
    monkeypatch.setattr(content, "bill_psid", lambda b: None)
    (page,) = text_of(docs.bill_pdf(bill.id).data)
    assert "PSID" not in page


def test_psid_hook_reads_the_bill():
    @dataclasses.dataclass(frozen=True)
    class WithPsid:
        psid: str | None

    assert content.bill_psid(WithPsid("  123456 ")) == "123456"
    assert content.bill_psid(WithPsid(None)) is None
    assert content.bill_psid(object()) is None


def test_payment_link_is_a_qr_code_and_a_link(storage):
    make_society(storage)
    db = make_service(storage, TODAY)
    bill = db.create_bill("B17-FF", *OCT, flat_units=10, previous_outstanding=0)
    storage.set_payment_link(bill.id, "plink_1", "https://buy.stripe.com/test_abc123", db_actor())
    data = BillDocuments(db).bill_pdf(bill.id).data
    (page,) = text_of(data)
    assert "Pay online: scan the code" in page and "https://buy.stripe.com/test_abc123" in page
    annots = PdfReader(io.BytesIO(data)).pages[0]["/Annots"]
    assert any(a.get_object()["/A"]["/URI"] == "https://buy.stripe.com/test_abc123" for a in annots)


def test_reissued_bill_says_which_bill_it_replaces(storage):
    make_society(storage)
    db = make_service(storage, TODAY)
    first = db.create_bill("B17-FF", *OCT, flat_units=10, previous_outstanding=0)
    second = db.create_bill("B17-FF", *OCT, flat_units=12, previous_outstanding=0)
    docs = BillDocuments(db)
    assert f"This bill replaces bill {first.bill_number}." in text_of(docs.bill_pdf(second.id).data)[0]
    assert f"Replaced by bill {second.bill_number}: do not pay this one." in text_of(docs.bill_pdf(first.id).data)[0]


def test_receipt_for_a_payment(storage):
    make_society(storage)
    db = make_service(storage, TODAY)
    bill = db.create_bill("B17-FF", *OCT, flat_units=150, motor_units=10, previous_outstanding=0)
    paid = db.record_payment(bill.id, "1000", paid_on="2026-11-20", method="upi", reference="UPI-77")
    pdf = BillDocuments(db).receipt_pdf(bill.id, paid.payment.id)
    (page,) = text_of(pdf.data)
    for expected in ("Payment receipt", f"R-{paid.payment.id:06d}", "₹1,000.00", "Test Owner", "B17-FF",
                     bill.bill_number, "20 Nov 2026", "upi", "UPI-77", "₹3,394.00", "₹2,394.00"):
        assert expected in page, expected
    assert pdf.filename == f"receipt-R-{paid.payment.id:06d}.pdf"


def test_split_and_merge_keep_every_page_readable(storage):
    make_society(storage)
    db = make_service(storage, TODAY)
    bills = [db.create_bill(code, *OCT, flat_units=10 + i, previous_outstanding=0)
             for i, code in enumerate(("B17-FF", "A1-GF", "C14-SF", "D3-SF"))]
    docs = BillDocuments(db).documents(bills)
    chunk = render_bills(docs)
    singles = split_pages(chunk)
    assert [text_of(x)[0].count(b.bill_number) >= 1 for x, b in zip(singles, bills)] == [True] * 4
    out = io.BytesIO()
    w = MergedPdfWriter(out)
    assert w.add(render_bills(docs[:3])) == 3
    assert w.add(render_bills(docs[3:])) == 1
    w.close()
    pages = text_of(out.getvalue())
    assert [b.bill_number in p for b, p in zip(bills, pages)] == [True] * 4 and len(pages) == 4


@pytest.mark.parametrize("fmt", ["pdf", "zip"])
def test_bulk_print_of_a_month(storage, tmp_path, fmt):
    make_society(storage)
    db = make_service(storage, TODAY)
    for i, code in enumerate(("B17-FF", "A1-GF", "C14-SF", "D3-SF")):
        db.create_bill(code, *OCT, flat_units=10 + i, previous_outstanding=0)
    db.create_bill("B17-FF", *OCT, flat_units=99, previous_outstanding=0)  # a re-issue: the first is superseded
    seen = []
    result = print_bills(db, BillFilter(period_month="2026-10"), tmp_path / f"oct.{fmt}", fmt=fmt, chunk=2,
                         progress=lambda done, total: seen.append((done, total)))
    assert result.bills == 4 and seen == [(2, 4), (4, 4)]
    assert not (tmp_path / f"oct.{fmt}.part").exists()
    if fmt == "pdf":
        pages = text_of(result.path.read_bytes())
    else:
        z = zipfile.ZipFile(result.path)
        assert sorted(z.namelist()) == ["BC-2026-000002.pdf", "BC-2026-000003.pdf", "BC-2026-000004.pdf",
                                        "BC-2026-000005.pdf"]
        pages = [text_of(z.read(n))[0] for n in sorted(z.namelist())]
    assert len(pages) == 4 and not any("Bill number\nBC-2026-000001" in p for p in pages)  # superseded: left out
    assert any("This bill replaces bill BC-2026-000001." in p for p in pages)
    assert any("₹1,188.00" in p for p in pages)  # the re-issue: 99 kWh at 12


def db_actor():
    from tests.factories import ADMIN
    return ADMIN
