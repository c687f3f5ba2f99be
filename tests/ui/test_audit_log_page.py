"""Issue 18: the audit log viewer filters by who, what, which record and when in the database,
pages, keeps its filters in the URL and exports the whole filter."""
import csv
import io

from tests.ui.seeded import seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from ui import audit_export

PAGE = "ui/audit_log.py"


def _rows(at):
    return at.dataframe[0].value.to_dict("records")


def test_filters_pages_and_exports(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    total = st.list_audit(with_total=True).total  # signing in is audited too
    assert not at.exception and any(f"Entries 1-20 of {total:,}" in c.value for c in at.caption)
    at.text_input(key="au_what").input("payment.record").run()
    want = st.list_audit(action_prefix="payment.record", with_total=True)
    assert {r["what"] for r in _rows(at)} == {"payment.record"} and any(f"of {want.total:,}" in c.value for c in at.caption)
    assert at.query_params["what"] in ("payment.record", ["payment.record"])
    bill_id = want.items[0].entity_id
    at.selectbox(key="au_type").set_value("bill").run()
    at.text_input(key="au_record").input(bill_id).run()
    assert {r["record"] for r in _rows(at)} == {f"bill {bill_id}"}
    at.text_input(key="au_record").input("").run()
    at.text_input(key="au_who").input("NOBODY-AT-ALL").run()
    assert any("No audit entries" in i.value for i in at.info)
    at.text_input(key="au_who").input("").run()
    at.date_input(key="au_from").set_value(want.items[0].occurred_at.date()).run()
    assert _rows(at)
    entries = list(st.list_audit(action_prefix="payment.record", limit=5).items)
    text = audit_export.export_bytes(entries, "csv").decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["id", "when_utc", "who", "action"] and len(rows) == 6
    assert audit_export.export_bytes(entries, "xlsx")[:2] == b"PK"


def test_area_limited_staff_do_not_get_the_page(seeded_url, monkeypatch, tmp_path):
    from services.accounts.roles import Actor
    from ui.registry import PAGES

    spec = next(p for p in PAGES if p.path == PAGE)
    assert spec.whole_utility and not spec.opens_for(Actor(1, "eng", "field_engineer"))
