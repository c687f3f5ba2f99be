"""Admin: the Meters page records a meter replacement or a register rollover (issue 11, item 2)."""
from decimal import Decimal

from streamlit.testing.v1 import AppTest

from services.models import ReadingFilter
from services.accounts.roles import Actor
from tests.ui.harness import ROOT
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/meters.py"


def _open(url, monkeypatch, tmp_path, search="B17-FF"):
    at = signed_in(url, monkeypatch, tmp_path, "admin", PAGE)
    assert [t.value for t in at.title] == [":material/electric_meter: Meters"]
    at.text_input(key="mt_search").input(search).run()
    assert at.selectbox(key="mt_choice").value.meter_number == "19152159"
    return at


def _last(url):
    st = storage_for(url)
    meter = st.get_meter(meter_number="19152159")
    return st, meter, st.meter_history(meter.id, limit=1)[0]


def _record(at):
    next(b for b in at.button if b.label == "Record the meter change").click()
    return at.run()


def test_admin_records_a_replacement_and_the_readings_continue_on_the_new_meter(seeded_url, monkeypatch, tmp_path):
    st, meter, last = _last(seeded_url)
    at = _open(seeded_url, monkeypatch, tmp_path)
    assert at.dataframe[0].value["Reading"].iloc[0] == f"{last.reading_value:,.2f} kWh"  # the meter's last readings
    at.text_input(key="mt_final").input(str(last.reading_value + 20))
    at.text_input(key="mt_new_number").input("19159999")
    at.text_input(key="mt_start").input("3")
    at.text_area(key="mt_reason").input("meter burnt, replaced by the utility")
    at = _record(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert plain(at.success[0].value).startswith("Meter 19152159 replaced by 19159999 on ")
    table = at.dataframe[-1].value
    assert list(table["Old meter"]) == ["19152159"] and list(table["New meter"]) == ["19159999"]
    assert list(table["By"]) == ["admin"] and list(table["What"]) == ["Meter replaced"]
    assert st.get_meter(meter_id=meter.id).status == "replaced"
    new = st.get_meter(meter_number="19159999")
    assert new.status == "active" and new.account_id == meter.account_id
    (start,) = st.list_readings(ReadingFilter(status=None, meter_id=new.id)).items
    assert (start.reading_value, start.consumption, start.status) == (Decimal("3.00"), None, "approved")
    final = st.meter_history(meter.id, limit=1)[0]
    assert final.consumption == Decimal("20.00") and final.source == "meter_change"


def test_a_rollover_form_and_a_refusal_naming_the_field(seeded_url, monkeypatch, tmp_path):
    st, meter, last = _last(seeded_url)
    at = _open(seeded_url, monkeypatch, tmp_path)
    at.radio(key="mt_kind").set_value("rollover").run()
    labels = [t.label for t in at.text_input]
    assert "Value at which the register wrapped (final reading, kWh)" in labels and "New meter number" not in labels
    at.text_input(key="mt_final").input(str(last.reading_value - 1))  # below the last reading
    at.text_area(key="mt_reason").input("wrapped")
    at = _record(at)
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [
        # amounts in messages in the utility's number format (issue 18: no raw 16855.40)
        f"**Final reading**: {last.reading_value - 1:,} kWh is below the previous reading {last.reading_value:,} kWh of "
        f"{last.reading_date}. The final reading is the old register's last value; check the digits."]
    assert st.list_meter_changes().total == 0 and st.meter_history(meter.id, limit=1)[0].id == last.id
    at.text_input(key="mt_final").input(str(last.reading_value + 10))
    at.text_input(key="mt_start").input("0")
    at = _record(at)
    assert not at.error, [e.value for e in at.error]
    assert plain(at.success[0].value).startswith("Rollover of meter 19152159 on ")
    assert st.get_meter(meter_id=meter.id).status == "active"


def test_engineer_cannot_open_the_meters_page(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setattr("ui.common.current_actor", lambda: Actor(2, "engineer", "field_engineer"))
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60).run()
    assert [e.value for e in at.error] == ["You do not have access to this page."] and not at.title
