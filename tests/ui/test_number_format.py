"""One number format everywhere (issue 18): no page shows a raw amount or quantity ("571347.35",
"7842.50 kWh") or Western grouping where the utility groups the Indian way ("571,347.35" for
₹5,71,347.35). Every page an admin opens on the seeded society, plus a bill's and an account's page,
is searched as drawn (text, labels, help, metrics, captions, messages, and the amounts a table shows
from its Styler's display values); other table cells are left out: Streamlit formats numeric columns
itself and they must stay numbers to sort."""
import re

import pyarrow as pa
from google.protobuf import text_format

from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import seeded_template, seeded_url, signed_in  # noqa: F401
from tests.ui.test_utility_words import ICON
from tests.ui.utilities import municipal_url, water_url  # noqa: F401

RAW = re.compile(r"(?<![\w#.,/:@=-])\d{4,}\.\d{1,4}(?![\d.])")  # 571347.35, 7842.50; not ids, dates, versions
# Indian grouping puts 1-2 digits before a thousands comma above 99,999 (5,71,347.35): a 3-digit group
# before one (571,347.35) or two 3-digit groups in a row (1,234,567) is Western.
WESTERN = re.compile(r"(?<![\d,])\d{3},\d{3}|,\d{3},\d{3}")
PAGES = ["ui/dashboard.py", "ui/review_readings.py", "ui/bill_reading.py", "ui/generate_bills.py", "ui/bills.py",
         "ui/accounts.py", "ui/reports.py", "ui/bulk_changes.py", "ui/bank_files.py", "ui/period_locks.py",
         "ui/submit_reading.py", "ui/my_submissions.py", "ui/status.py", "ui/notifications.py", "ui/jobs.py",
         "ui/users.py", "ui/meters.py", "ui/tariff_plans.py", "ui/utility.py", "ui/audit_log.py",
         "ui/visits.py", "ui/tickets.py"]


def drawn_text(at) -> str:
    parts: list[str] = []

    def walk(node):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", None)
        if kind == "dataframe" and proto.arrow_data.styler.display_values:
            # Amount columns hold numbers and are drawn from a Styler's display values: those are searched.
            shown = pa.ipc.open_stream(proto.arrow_data.styler.display_values).read_all()
            parts.extend(str(v) for col in shown.columns for v in col.to_pylist() if v is not None)
        elif kind not in ("arrow_data_frame", "dataframe", "table") and proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return ICON.sub("", "\n".join(parts))


def raw_numbers(text: str, indian: bool = True) -> list[str]:
    lines = [ln for ln in text.splitlines() if RAW.search(ln) or (indian and WESTERN.search(ln))]
    # Charts carry their data (Arrow bytes, Vega specs), not text: the data's numbers are not shown as text.
    return [ln.strip()[:160] for ln in lines if not ln.strip().startswith(("data:", "spec:", "figure", "min:", "max:", "step:", "default:"))]


def _pages(url, monkeypatch, tmp_path):
    at = signed_in(url, monkeypatch, tmp_path, "admin")
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        yield page, drawn_text(at)
    bill = SqlStorage(url).list_bills(BillFilter(sort="total", descending=True), 0, 1).items[0]
    at.switch_page("ui/bills.py")
    at.query_params["bill"] = str(bill.id)
    at.run()
    assert not at.exception
    yield "bill", drawn_text(at)
    at.query_params.clear()
    at.switch_page("ui/accounts.py")
    at.query_params["account"] = bill.account_code
    at.run()
    assert not at.exception
    yield "account", drawn_text(at)


def test_no_page_shows_a_raw_or_western_grouped_number(seeded_url, monkeypatch, tmp_path):
    found = {page: raw for page, text in _pages(seeded_url, monkeypatch, tmp_path) if (raw := raw_numbers(text))}
    assert not found, "\n".join(f"{p}: {ln}" for p, lns in found.items() for ln in lns)


def test_no_municipal_or_water_page_shows_a_raw_number(municipal_url, water_url, monkeypatch, tmp_path):
    """Their own grouping (Rs and $ group by thousands), but never a raw 571347.35."""
    found = {}
    for url in (municipal_url, water_url):
        at = signed_in(url, monkeypatch, tmp_path, "admin")
        for page in ["ui/dashboard.py", "ui/generate_bills.py", "ui/bills.py", "ui/accounts.py", "ui/reports.py",
                     "ui/tariff_plans.py", "ui/utility.py"]:
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
            if raw := raw_numbers(drawn_text(at), indian=False):
                found[(url.rsplit("/", 2)[-2], page)] = raw
    assert not found, found


def test_the_scan_catches_what_it_looks_for():
    assert raw_numbers('body: "Paid 571347.35 of the bill"') and raw_numbers('value: "7842.50 kWh"')
    assert raw_numbers('body: "Outstanding 571,347.35"') and raw_numbers('body: "12,345,678.00"')
    assert not raw_numbers('body: "12,128.28 and 1,23,45,678.00"')
    assert not raw_numbers('body: "\\u20b95,71,347.35 \\u00b7 #1969 \\u00b7 2026-11-20 \\u00b7 meter 19152159"')


def test_no_page_groups_a_count_the_western_way():
    """Counts go through widgets.count (3,00,000 bills in India): Python's {n:,} groups 300,000."""
    from pathlib import Path

    offenders = [f"{p}:{i}" for p in sorted(Path("ui").glob("*.py"))
                 for i, line in enumerate(p.read_text().splitlines(), 1) if ":,}" in line]
    assert not offenders, offenders
