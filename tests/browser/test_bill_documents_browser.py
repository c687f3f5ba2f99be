"""The bill page's documents in a real headless Chromium, at desktop (1280x900) and phone (390x844)
size: download the bill's PDF (read back with pypdf) and email it to a real SMTP server on
loopback (aiosmtpd: the message arrives with the PDF attached). Full-page screenshots:
test-output/<test>/NN-bill-documents-<size>.png."""
from __future__ import annotations

import io

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from pypdf import PdfReader

from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import click_row, full_shot, nav, sign_in, start_streamlit, wait_for_app
from tests.conftest import TODAY
from tests.documents.smtp_server import SmtpServer
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def mail_server(tmp_path):
    from scripts import seed_demo

    smtp = SmtpServer().start()
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    seed_demo.seed(SqlStorage(db_url), 32, TODAY, quiet=True)
    server = start_streamlit(db_url, tmp_path, {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "false",
        "SMTP_SENDER": "Blessings City <billing@example.com>", "NOTIFY_MAX_ATTEMPTS": "1"})
    server.smtp = smtp
    yield server
    server.stop()
    smtp.stop()


def test_bill_page_downloads_and_emails_the_pdf(mail_server, page):
    storage = SqlStorage(mail_server.db_url)
    newest = storage.list_bills(BillFilter(), 0, 1).items[0]
    storage.dispose()
    page.set_default_timeout(60000)  # the suite runs beside other work on 2 cores: rendering and sending may be slow
    for n, (size, viewport) in enumerate(SIZES.items(), 1):
        page.set_viewport_size(viewport)
        sign_in(page, mail_server.url, "admin", DEMO_PASSWORDS["admin"])
        nav(page, "Bills and payments")
        page.get_by_text("Bills 1-").wait_for()
        click_row(page, "bl_table")  # the newest bill is listed first
        wait_for_app(page)
        page.get_by_role("heading", name=f"Bill {newest.bill_number}").wait_for()

        with page.expect_download() as dl:
            page.get_by_role("button", name="Download PDF").click()
        download = dl.value
        assert download.suggested_filename == f"bill-{newest.bill_number}.pdf"
        text = PdfReader(io.BytesIO(open(download.path(), "rb").read())).pages[0].extract_text()
        assert newest.bill_number in text and newest.account_code in text and "Due date:" in text

        box = page.get_by_role("textbox", name="Email to")
        box.fill(f"owner{n}@example.com")
        if n > 1:  # emailed already at the first size: ask for it again
            page.get_by_text("Send again").click()
        page.get_by_role("button", name="Email PDF").click()
        wait_for_app(page)
        page.get_by_text(f"Emailed to owner{n}@example.com with the PDF attached").wait_for()
        assert len(mail_server.smtp.messages) == n
        msg = mail_server.smtp.messages[-1]
        assert msg["To"] == f"owner{n}@example.com"
        (att,) = list(msg.iter_attachments())
        assert att.get_filename() == f"bill-{newest.bill_number}.pdf" and att.get_content().startswith(b"%PDF")
        full_shot(page, f"bill-documents-{size}")
        page.get_by_role("button", name="All bills").click()
        wait_for_app(page)
        _print_all(page)
        full_shot(page, f"bills-bulk-print-{size}")
        page.context.clear_cookies()


def _print_all(page) -> None:
    """Press Print and wait for the download. A press that shows no sign of printing within 20 s
    (it landed while the list was being redrawn) is made again, as a person would."""
    print_button = page.get_by_role("button", name="Print", exact=True)
    download = page.get_by_role("button", name="Download bills-")
    started = download.or_(page.get_by_text("Printing ...")).or_(page.get_by_text("Printed "))
    for _ in range(3):
        if not print_button.is_visible():  # the expander may still be open from the other size
            page.get_by_text("Print or email these bills").click()
        print_button.click()
        try:
            started.first.wait_for(timeout=20000)
            break
        except PlaywrightTimeoutError:
            continue
    wait_for_app(page)
    download.wait_for(timeout=120000)  # a loaded machine renders slowly
