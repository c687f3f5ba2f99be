"""Every page speaks the utility's words: on a municipal and a water database the pages show its
name, account label, area level names, currency and unit, and none of the society's ("flat",
"block", "floor", "owner", "₹", "kWh"). Everything a page draws is searched: text, labels, help,
placeholders, options, table cells and headings, metrics, chart specs."""
import re

import pytest
from google.protobuf import text_format

from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from tests.ui.utilities import municipal_url, water_url  # noqa: F401

SOCIETY_WORDS = re.compile(r"flat|block|floor|owner|₹|kwh", re.IGNORECASE)
ICON = re.compile(r":material/[a-z_]+:")  # icon names are not words on the page
COMMON = ["ui/dashboard.py", "ui/generate_bills.py", "ui/bills.py", "ui/accounts.py", "ui/tariff_plans.py",
          "ui/utility.py", "ui/status.py", "ui/period_locks.py", "ui/users.py", "ui/notifications.py"]
METERED = ["ui/review_readings.py", "ui/submit_reading.py", "ui/my_submissions.py", "ui/meters.py"]
EXPECTED = {
    "municipal": ("Suthra Punjab", ["consumer unit", "City/Tehsil", "Union Council", "Rs"]),
    "water": ("HydroSpark", ["customer", "Service area", "Billing cycle", "$", "CCF"]),
}


def page_text(at) -> str:
    """All the text of the page as drawn (element protos as text; tables by their cells)."""
    parts: list[str] = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if getattr(node, "type", None) in ("arrow_data_frame", "table"):
            parts.append(node.value.to_csv())
        elif proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return ICON.sub("", "\n".join(parts))


def _pages(url, template, monkeypatch, tmp_path):
    """(name, text) of each page the admin opens, plus a bill's page, an account's page and a quote."""
    at = signed_in(url, monkeypatch, tmp_path, "admin")
    yield "landing", page_text(at)
    for page in COMMON + (METERED if template == "water" else []):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        yield page, page_text(at)
    st = SqlStorage(url)
    bill = st.list_bills(BillFilter(), 0, 1).items[0]
    at.switch_page("ui/bills.py")
    at.query_params["bill"] = str(bill.id)
    at.run()
    assert not at.exception and at.title[0].value.endswith(f"Bill {bill.number}")
    yield "bill", page_text(at)
    at.query_params.clear()
    at.switch_page("ui/accounts.py")
    at.query_params["account"] = bill.account_code
    at.run()
    assert not at.exception
    yield "account", page_text(at)
    at.query_params.clear()
    at.switch_page("ui/tariff_plans.py").run()
    if template == "water":
        at.text_input(key="tp_quantity").input("25").run()
    yield "quote", page_text(at)


@pytest.mark.parametrize("template", ["municipal", "water"])
def test_pages_speak_the_utility_words(template, municipal_url, water_url, monkeypatch, tmp_path):
    url = {"municipal": municipal_url, "water": water_url}[template]
    name, words = EXPECTED[template]
    seen = ""
    for page, text in _pages(url, template, monkeypatch, tmp_path):
        found = SOCIETY_WORDS.findall(text)
        assert not found, (page, found, [ln for ln in text.splitlines() if SOCIETY_WORDS.search(ln)][:5])
        seen += text
    assert name in seen
    for word in words:
        assert word in seen, word


def test_a_fixed_fee_utility_has_no_reading_pages(municipal_url, monkeypatch, tmp_path):
    at = signed_in(municipal_url, monkeypatch, tmp_path, "admin")
    for page in METERED + ["ui/bill_reading.py"]:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    # A field engineer has no reading pages here; since issue 15 engineers raise tickets, so they land on
    # the Ticket manager (the only page their role opens in a fixed-fee utility).
    at = signed_in(municipal_url, monkeypatch, tmp_path, "engineer")
    assert not at.error and not at.exception
    assert any("Ticket manager" in t.value for t in at.title)
    for page in METERED:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_water_bills_daily_usage_so_no_single_reading_is_billed(water_url, monkeypatch, tmp_path):
    at = signed_in(water_url, monkeypatch, tmp_path, "admin", "ui/review_readings.py")
    assert not at.exception and any("CCF" in m.value for m in at.markdown)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ui/bill_reading.py")


def test_the_jobs_page_speaks_the_utility_words(municipal_url, monkeypatch, tmp_path):
    at = signed_in(municipal_url, monkeypatch, tmp_path, "admin", "ui/jobs.py")
    assert not at.exception
    assert not SOCIETY_WORDS.findall(page_text(at))
