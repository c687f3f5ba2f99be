"""Admin: bills list (filters by area level, pages), bill detail (lines, check, plan, readings), payments, exports."""
import csv
import datetime as dt
import io
import json
from decimal import Decimal

from services.accounts.utility import TEMPLATES
from services.demo import society as demo
from services.clock import today as app_today
from services.database_service import DatabaseService
from services.models import BillFilter
from services.billing.periods import month_key
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from ui import exports
from ui.widgets import AMOUNT_WIDTH

PAGE = "ui/bills.py"
BILLED = month_key(demo.reading_dates(app_today())[-2])  # the latest month the seed billed


def _rows(at) -> list[dict]:
    df = at.dataframe[0].value
    return df.to_dict("records")


def _open_bill(url, monkeypatch, tmp_path, bill_id):
    at = signed_in(url, monkeypatch, tmp_path, "admin")
    at.switch_page(PAGE)
    at.query_params["bill"] = str(bill_id)
    return at.run()


def _open_pending_b17(url):
    st = storage_for(url)
    flat = st.get_account(code="B17-FF")
    bills = st.list_bills(BillFilter(account_id=flat.id)).items
    return next(b for b in bills if b.status in ("pending", "overdue", "partially_paid")) if any(
        b.status in ("pending", "overdue", "partially_paid") for b in bills) else None


def test_list_filters_and_pages(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    total = st.list_bills(BillFilter()).total
    assert len(_rows(at)) == 20 and any(f"Bills 1-20 of {total:,}" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Next").click()
    at.run()
    assert any(f"Bills 21-40 of {total:,}" in c.value for c in at.caption)
    at.selectbox(key="bl_period").set_value(BILLED).run()
    assert any("Bills 1-20 of 320" in c.value for c in at.caption)  # back to page 1 on a new filter
    assert {r["period"][:7] for r in _rows(at)} == {BILLED}
    # The area picker: a block (the first level), then one of its floors (its children).
    assert at.selectbox(key="bl_area_1").label == "Block" and at.selectbox(key="bl_area_2").label == "Floor"
    assert at.selectbox(key="bl_area_2").proto.disabled  # no floor to pick before a block
    at.selectbox(key="bl_area_1").set_value(st.get_area(path="D")).run()
    assert {r["flat"][0] for r in _rows(at)} == {"D"} and any("of 80" in c.value for c in at.caption)
    assert at.selectbox(key="bl_area_2").options == ["Any floor", "Ground Floor", "First Floor", "Second Floor",
                                                     "Third Floor"]
    at.selectbox(key="bl_area_2").set_value(st.get_area(path="D/GF")).run()
    assert {r["area"] for r in _rows(at)} == {"D/GF"} and any("of 20" in c.value for c in at.caption)
    at.selectbox(key="bl_area_1").set_value(st.get_area(path="C")).run()  # another block: its floor choice goes
    assert at.selectbox(key="bl_area_2").value is None and {r["flat"][0] for r in _rows(at)} == {"C"}
    at.multiselect(key="bl_status").select("paid").run()
    assert {r["status"] for r in _rows(at)} == {"paid"}
    at.selectbox(key="bl_area_1").set_value(None)
    at.selectbox(key="bl_period").set_value(None)
    at.multiselect(key="bl_status").unselect("paid")
    at.text_input(key="bl_search").input("B17-FF").run()
    assert {r["flat"] for r in _rows(at)} == {"B17-FF"}
    at.text_input(key="bl_search").input("test own").run()  # part of the contact's name, any case
    assert {r["name"] for r in _rows(at)} == {"Test Owner"}
    at.text_input(key="bl_search").input("").run()
    at.toggle(key="bl_overdue").set_value(True).run()
    today = app_today()
    assert _rows(at) and all("overdue" in r["status"] and dt.date.fromisoformat(r["due"]) < today for r in _rows(at))


def test_detail_shows_lines_check_plan_and_readings(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    db = DatabaseService(st)
    bill = st.list_bills(BillFilter(period_month=BILLED, search="B17-FF")).items[0]
    stored = db.bill_detail(bill.id).lines
    money = db.utility().money
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.text_input(key="bl_search").input("B17-FF").run()
    at.query_params["bill"] = str(bill.id)  # what a click on its row does (tests/browser/test_lists_browser.py)
    at.run()
    assert not at.exception and at.title[0].value.endswith(f"Bill {bill.bill_number}")
    table = at.table[0].value  # the lines: a static table (on a phone the amounts stay in view)
    assert list(table.columns) == ["line", "quantity", "rate", "amount"]
    # Every stored line (label, quantity, rate, amount), then the total.
    assert list(table["line"]) == [ln.label for ln in stored] + ["Total"] and len(stored) >= 2
    assert list(table["amount"]) == [money(ln.amount) for ln in stored] + [money(bill.total_amount)]
    energy = table.iloc[0]
    assert energy["line"].startswith("Energy: ") and energy["quantity"] == f"{stored[0].quantity:,.2f} kWh"
    assert energy["rate"] == f"₹{stored[0].rate:.2f}/kWh"  # the demo's rates have at most 2 places
    assert "Fixed charge" in set(table["line"]) and table.iloc[-1]["amount"] == money(bill.total_amount)
    assert any("Recomputed from the stored inputs" in s.value and "the same as the stored total" in s.value
               for s in at.success)
    assert any(f"Blessings City electricity (society-electricity), version {bill.plan_version} in effect" in plain(c.value)
               for c in at.caption)
    reading = st.get_reading(bill.last_reading_id)
    assert any(f"Flat reading** · reading #{reading.id}" in m.value for m in at.markdown)
    assert any(f"{reading.reading_value:,.2f} kWh on {reading.reading_date}" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "All bills").click()
    at.run()
    assert at.title[0].value.endswith("Bills and payments")


def test_partial_then_full_payment(seeded_url, monkeypatch, tmp_path):
    bill = _open_pending_b17(seeded_url) or _any_open(seeded_url)
    at = _open_bill(seeded_url, monkeypatch, tmp_path, bill.id)
    told = _record_events(monkeypatch)  # after the app ran: DATABASE_URL now names this test's database
    form_inputs = {t.label: t for t in at.text_input}
    assert form_inputs["Amount (₹)"].value == str(bill.balance)
    form_inputs["Amount (₹)"].input(str(bill.balance + 1))
    at = _submit(at, "Record payment")
    assert any("**Amount**" in e.value and "more than the" in e.value for e in at.error)
    {t.label: t for t in at.text_input}["Amount (₹)"].input("100")
    {t.label: t for t in at.text_input}["Reference"].input("UPI 4471")
    at = _submit(at, "Record payment")
    st = storage_for(seeded_url)
    after = st.get_bill(bill.id)
    assert after.amount_paid == bill.amount_paid + Decimal("100") and after.status in ("partially_paid", "overdue")
    assert any("Recorded ₹100.00" in s.value for s in at.success)
    assert any(plain(c.value) == "Thank-you queued." for c in at.caption)
    at = _submit(at, "Mark paid in full")
    final = st.get_bill(bill.id)
    assert final.status == "paid" and final.amount_paid == final.total_amount
    pays = st.list_payments(bill.id)
    assert [p.reference for p in pays[-2:]] == ["UPI 4471", None] and len(told) == 2
    assert "Record a payment" not in " ".join(m.value for m in at.markdown)  # a paid bill takes no more


def test_exports_stream_the_whole_filter(seeded_url):
    st = storage_for(seeded_url)
    db = DatabaseService(st)
    flt = BillFilter(period_month=BILLED, area_id=st.get_area(path="B").id)
    expected = st.list_bills(flt).total
    out = exports.export(db.iter_bills(flt, page_size=7), "csv", db.utility())
    rows = list(csv.DictReader(io.TextIOWrapper(out, encoding="utf-8")))
    assert len(rows) == expected and {r["block"] for r in rows} == {"B"} and {r["currency"] for r in rows} == {"INR"}
    first = st.get_bill(int(rows[0]["bill_id"]))
    assert rows[0]["total_amount"] == str(first.total_amount) and rows[0]["flat"] == first.account_code
    assert rows[0]["floor"] == first.area_path.split("/")[1] and rows[0]["unit"] == "kWh"
    assert rows[0]["tariff_plan"] == "society-electricity"
    from openpyxl import load_workbook

    wb = load_workbook(exports.export(db.iter_bills(flt, page_size=50), "xlsx", db.utility()), read_only=True)
    sheet = list(wb["Bills"].iter_rows(values_only=True))
    assert sheet[0][:4] == ("bill_id", "flat", "block", "floor") and len(sheet) == expected + 1


def test_export_neutralises_spreadsheet_formulas():
    from services.models import Bill

    bill = Bill(id=1, account_id=1, area_id=1, billing_period_start=dt.date(2026, 10, 1),
                billing_period_end=dt.date(2026, 10, 31), due_date=dt.date(2026, 11, 15), tariff_kind="flat_rate",
                pricing_rule="master_data", units=Decimal("1"), motor_units=Decimal("0"), total_units=Decimal("1"),
                rate_per_unit=Decimal("12"), fixed_charge=Decimal("0"), previous_outstanding=Decimal("0"),
                total_amount=Decimal("12.00"), status="pending", contact_name='=HYPERLINK("http://x","y")',
                account_code="B1-GF", area_path="B/GF")
    text = exports.export([bill], "csv", TEMPLATES["society"]).read().decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_page_offers_both_exports(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Export CSV", "Export Excel"]


def _any_open(url):
    st = storage_for(url)
    return st.list_bills(BillFilter(statuses=("pending", "overdue", "partially_paid"))).items[0]


def _submit(at, label):
    next(b for b in at.button if b.label.startswith(label)).click()
    return at.run()


def _record_events(monkeypatch) -> list:
    from services.integrations.base import EventReport
    from ui.common import services

    import os

    assert os.environ.get("DATABASE_URL"), "open the app first: services() must not build the default database"
    told = []

    class Recorder:
        def payment_received(self, result, actor):
            told.append((result, actor))
            return EventReport(messages=["Thank-you queued."])

    monkeypatch.setattr(services(), "events", Recorder())
    return told


def test_search_with_a_nul_character_is_refused_naming_the_field(seeded_url, monkeypatch, tmp_path):
    """PostgreSQL cannot compare text with \\x00; every backend refuses it as bad input, no traceback."""
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.text_input(key="bl_search").input("B17\x00").run()
    assert not at.exception
    assert any(e.value.startswith("**Search**: contains a NUL character") for e in at.error)
    at.text_input(key="bl_search").input("B17-FF").run()
    assert not at.exception and not at.error and _rows(at)


def test_filters_sort_and_page_live_in_the_url(seeded_url, monkeypatch, tmp_path):
    """Issue 18: a shared link opens the same list; the list writes its state back into the URL;
    the bill page's "All bills" keeps the search; sorting is over every bill, in the database."""
    st = storage_for(seeded_url)
    flt = BillFilter(search="B", sort="total", descending=False)
    want = st.list_bills(flt, 10, 10).items  # the second page of 10, smallest totals first
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="bills__size").set_value(10).run()
    for k, v in {"q": "B", "sort": "total", "asc": "1", "page": "2"}.items():
        at.query_params[k] = v
    at.run()
    assert at.text_input(key="bl_search").value == "B" and at.selectbox(key="bl_sort").value == "total"
    assert [r["number"] for r in _rows(at)] == [b.number for b in want]
    # Amounts are numbers in the table (a header click sorts them as amounts, not as text: 9,158.64
    # used to sort above 12,128.28), shown in the utility's money format.
    assert [r["total"] for r in _rows(at)] == [float(b.total_amount) for b in want]
    assert at.dataframe[0].value["total"].dtype.kind == "f" and at.dataframe[0].value["paid"].dtype.kind == "f"
    money = DatabaseService(st).utility().money
    shown = at.dataframe[0].proto.arrow_data.styler.display_values  # the Styler's display values (Arrow)
    assert all(money(b.total_amount).encode() in shown for b in want)
    # Wide enough for the formatted amount: sized by its numbers, the grid cut "₹12,686.16" short.
    widths = {c: cfg.get("width") for c, cfg in json.loads(at.dataframe[0].proto.columns).items()}
    assert widths["total"] == widths["balance"] == widths["paid"] == AMOUNT_WIDTH
    assert "bill" not in _rows(at)[0] and "overdue" not in _rows(at)[0]  # no column repeating another
    at.text_input(key="bl_search").input("B1").run()  # a new filter: its first page, written to the URL
    assert at.query_params["q"] in ("B1", ["B1"]) and "page" not in at.query_params
    at.query_params["bill"] = str(want[0].id)  # a click on a row
    at.run()
    next(b for b in at.button if b.label == "All bills").click()
    at.run()
    assert at.text_input(key="bl_search").value == "B1" and at.query_params["sort"] in ("total", ["total"])
