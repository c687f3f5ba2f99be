"""Admin: the accounts list (search, area at any level, category; paginated in the database) and one account."""
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import plain, signed_in
from tests.ui.utilities import municipal_url, water_url  # noqa: F401

PAGE = "ui/accounts.py"


def _rows(at) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def test_list_search_and_filters(municipal_url, monkeypatch, tmp_path):
    st = SqlStorage(municipal_url)
    at = signed_in(municipal_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception and at.title[0].value.endswith("Consumer units")
    assert [r["consumer unit"] for r in _rows(at)] == ["LHC-000101", "LHC-000102", "MUL-000301"]
    assert any("Consumer units 1-3 of 3" in c.value for c in at.caption)
    assert [s.label for s in at.selectbox if s.key and s.key.startswith("ac_area")] == ["City/Tehsil", "Union Council"]
    at.selectbox(key="ac_area_1").set_value(st.get_area(path="LHC")).run()
    assert {r["consumer unit"] for r in _rows(at)} == {"LHC-000101", "LHC-000102"}
    at.selectbox(key="ac_area_2").set_value(st.get_area(path="LHC/UC-12")).run()
    assert {r["area name"] for r in _rows(at)} == {"Saddar Bazar"}
    at.text_input(key="ac_category").input("Residential").run()
    assert [(r["consumer unit"], r["type"]) for r in _rows(at)] == [("LHC-000102", "5 to 10 Marla")]
    at.text_input(key="ac_category").input("")
    at.selectbox(key="ac_area_1").set_value(None)
    at.text_input(key="ac_search").input("shah").run()  # part of a name, any case
    assert [r["name"] for r in _rows(at)] == ["Shah Hotel"]
    at.text_input(key="ac_search").input("nobody").run()
    assert any("No consumer units match these filters." in i.value for i in at.info)


def test_the_list_pages_in_the_database(demo_url, monkeypatch, tmp_path):
    at = signed_in(demo_url, monkeypatch, tmp_path, "admin", PAGE)
    assert at.title[0].value.endswith("Flats") and len(_rows(at)) == 20
    assert any("Flats 1-20 of 32" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Next").click()
    at.run()
    assert any("Flats 21-32 of 32" in c.value for c in at.caption) and len(_rows(at)) == 12
    at.selectbox(key="ac_area_1").set_value(SqlStorage(demo_url).get_area(path="B")).run()
    assert any("Flats 1-8 of 8" in c.value for c in at.caption)  # a new filter starts at page 1
    assert {r["flat"][0] for r in _rows(at)} == {"B"}


def test_an_account_shows_details_contact_and_bills(water_url, monkeypatch, tmp_path):
    st = SqlStorage(water_url)
    acct = st.get_account(code="HS-100002")
    bill = st.list_bills(BillFilter(account_id=acct.id)).items[0]
    at = signed_in(water_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="ac_open").set_value(next(a for a in at.selectbox(key="ac_open").options
                                               if a.startswith("HS-100002")))
    next(b for b in at.button if b.key == "ac_open_btn").click()
    at.run()
    assert not at.exception and plain(at.title[0].value).endswith("Customer HS-100002")
    details = dict(zip(at.table[0].value["field"], at.table[0].value["value"]))
    assert details["Area (Service area > Billing cycle)"] == "North service area > Cycle 1"
    assert details["Category"] == "commercial" and details["Name"] == "Bay Bakery LLC"
    assert any("Bay Bakery LLC (primary)" in plain(m.value) and "+14155550102" in plain(m.value) for m in at.markdown)
    assert any("HydroSpark metered water (water-standard)" in plain(m.value) for m in at.markdown)
    frames = [f.value.to_dict("records") for f in at.dataframe]  # water: usage by month comes first
    bills = next(f for f in frames if f and "bill" in f[0])
    # The amount is a number (a header click sorts it as one), drawn in the utility's money format.
    assert [b["bill"] for b in bills] == [bill.id] and bills[0]["total"] == float(bill.total_amount)
    table = next(f for f in at.dataframe if "bill" in f.value.columns)
    assert f"${bill.total_amount:,.2f}".encode() in table.proto.arrow_data.styler.display_values
    assert {m.label: m.value for m in at.metric}["Owes on open bills"] == f"${bill.balance:,.2f}"
    assert f"Open bill #{bill.id}" in [p.proto.label for p in at.get("page_link")]
    next(b for b in at.button if b.key == "back_to_accounts").click()
    at.run()
    assert at.title[0].value.endswith("Customers")
