"""The Bank payment files page: the head office uploads a bank CSV, sees matched / duplicate / refused
counts and amounts and the refused rows with their reasons; the same file again changes nothing; a
malformed file is refused whole naming rows and columns. Agents do not see the page."""
from __future__ import annotations

import pytest

from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from tests.ui.test_staff_scope_pages import municipal_template, town_url  # noqa: F401

PAGE = "ui/bank_files.py"
HEADER = "psid,transaction_id,amount,date,time,bank,channel\n"


def _open_bills(st: SqlStorage, n: int):
    return [b for b in st.list_bills(BillFilter(statuses=("pending", "overdue")), 0, 50).items if b.balance > 0][:n]


def _upload(at, name: str, content: bytes):
    at.file_uploader(key="bank_file").set_value((name, content, "text/csv"))
    next(b for b in at.button if b.label == "Import payments").click()
    return at.run()


def test_import_a_bank_file_and_see_its_summary(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    a, b, c = _open_bills(st, 3)
    content = (HEADER + f"{a.psid},T1,{a.balance},2026-11-10,10:00:00,HBL,branch\n"
               f"{b.psid},T2,{b.balance},2026-11-10,10:01:00,MCB,ATM\n"
               f"{c.psid},T3,{c.balance + 1},2026-11-10,10:02:00,UBL,internet\n"
               f"{a.psid},T1,{a.balance},2026-11-10,10:00:00,HBL,branch\n").encode()
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    assert not at.exception and any("No bank files imported yet" in i.value for i in at.info)
    at = _upload(at, "hbl.csv", content)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Matched and recorded": "2", "Duplicates (no change)": "1", "Refused (not applied)": "1"}
    assert st.get_bill(a.id).status == "paid" and st.get_bill(b.id).status == "paid"
    assert st.get_bill(c.id).amount_paid == c.amount_paid
    refused = at.dataframe[1].value.to_dict("records")
    assert [r["transaction"] for r in refused] == ["T3"] and "open balance" in refused[0]["reason"]
    at = _upload(at, "hbl-again.csv", content)
    assert any("imported already" in i.value for i in at.info)
    assert st.list_bank_files(0, 10).total == 1


def test_a_malformed_file_is_refused_naming_rows(town_url, monkeypatch, tmp_path):
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    at = _upload(at, "bad.csv", (HEADER + "123,T1,abc,2026-11-10,10:00:00,HBL,branch\n").encode())
    assert any("Nothing was imported" in e.value for e in at.error)
    problems = at.dataframe[0].value.to_dict("records")
    assert {(p["row"], p["column"]) for p in problems} == {(2, "psid"), (2, "amount")}
    assert SqlStorage(town_url).list_bank_files(0, 10).total == 0


def test_agents_do_not_import_bank_files(town_url, monkeypatch, tmp_path):
    at = signed_in(town_url, monkeypatch, tmp_path, "agent")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
