"""Admin: Tariff plans (versions in readable form, preview calculator, edit -> preview -> new version)."""
import datetime as dt
from decimal import Decimal

from services.database_service import DatabaseService
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import plain, signed_in
from tests.ui.utilities import municipal_url, water_url  # noqa: F401

PAGE = "ui/tariff_plans.py"


def _open(url, monkeypatch, tmp_path):
    return signed_in(url, monkeypatch, tmp_path, "admin", PAGE)


def _tables(at) -> list[list[dict]]:
    return [df.value.to_dict("records") for df in at.dataframe]


def _line_tables(at) -> list[list[dict]]:
    """The quotes' lines tables, in page order (the calculator's first, then Now and Edited)."""
    return [t.value.to_dict("records") for t in at.table]


def _calculate(at, month: dt.date, quantity: str):
    at.date_input(key="tp_month").set_value(month)
    at.text_input(key="tp_quantity").input(quantity)
    return at.run()


def _versions(url) -> list:
    return SqlStorage(url).get_tariff_plan(code="water-standard").plan.versions


def test_versions_are_listed_with_their_parameters(water_url, monkeypatch, tmp_path):
    at = _open(water_url, monkeypatch, tmp_path)
    assert not at.exception and at.title[0].value.endswith("Tariff plans")
    versions = _tables(at)[0]
    assert [(v["version"], v["effective from"]) for v in versions] == [(2, "2027-01-01"), (1, "2025-01-01")]
    assert [v["state"] for v in versions] == ["scheduled", "in effect"]
    # Each version's parameters, readable: graduated tiers, seasons by month, fees.
    tables = _tables(at)
    # Newest first: version 2's tiers, seasons, fees, then version 1's.
    assert {"tier": "Tier 1", "from": "0.00 CCF", "up to": "10.00 CCF", "rate": "$2.60/CCF"} in tables[1]
    assert {"tier": "Tier 3", "from": "20.00 CCF", "up to": "and above", "rate": "$3.70/CCF"} in tables[1]
    assert {"tier": "Tier 1", "from": "0.00 CCF", "up to": "10.00 CCF", "rate": "$2.50/CCF"} in tables[4]
    assert {"season": "Summer", "months": "Jun, Jul, Aug", "multiplier": "x 1.2"} in tables[2]
    assert {"fee": "Infrastructure fee", "amount": "$6.00"} in tables[3]
    assert {"fee": "Infrastructure fee", "amount": "$5.00"} in tables[6]  # version 1


def test_preview_equals_the_seed_numbers(water_url, monkeypatch, tmp_path):
    at = _open(water_url, monkeypatch, tmp_path)
    assert any("Enter a quantity in CCF" in i.value for i in at.info)
    at = _calculate(at, dt.date(2026, 7, 15), "25")  # seed 004: 25 CCF in July
    assert not at.exception and not at.error
    assert any(m.value.startswith("**Stored plan**: version 1") and "July 2026" in m.value and "**$107.00**" in m.value
               for m in at.markdown)
    lines = {r["line"]: r for r in _line_tables(at)[0]}
    assert lines["Tier 1: 0-10 CCF"]["amount"] == "$25.00" and lines["Tier 2: 10-20 CCF"]["amount"] == "$30.00"
    assert lines["Tier 3: over 20 CCF"] == {"line": "Tier 3: over 20 CCF", "quantity": "5.00 CCF", "rate": "$3.50/CCF",
                                            "amount": "$17.50"}
    summer = next(r for k, r in lines.items() if k.startswith("Summer adjustment"))
    assert (summer["quantity"], summer["rate"], summer["amount"]) == ("$72.50", "+20%", "$14.50")
    assert lines["Base service fee"]["amount"] == "$15.00" and lines["Total"]["amount"] == "$107.00"
    # A winter month is priced with the winter multiplier; January 2027 by version 2.
    at = _calculate(at, dt.date(2027, 1, 31), "25")
    assert any(m.value.startswith("**Stored plan**: version 2") for m in at.markdown)
    assert not any(v.version == 3 for v in _versions(water_url))  # the calculator stores nothing


def test_edit_previews_before_saving_then_saves_a_new_version(water_url, monkeypatch, tmp_path):
    at = _open(water_url, monkeypatch, tmp_path)
    at = _calculate(at, dt.date(2026, 7, 15), "25")
    prefix = "tp_edit_water-standard_2"
    assert at.button(key="tp_save").disabled and at.button(key="tp_save").label == "Save as version 3"
    at.text_input(key=f"{prefix}_tiers[0].rate").input("2.80")
    at.date_input(key=f"{prefix}_from").set_value(dt.date(2027, 3, 1))
    at.text_input(key=f"{prefix}_notes").input("Tier 1 review").run()
    assert not at.exception and not at.error
    # The edited plan is priced BEFORE saving, next to what the stored plan gives for the same month.
    assert at.selectbox(key=f"{prefix}_preview_2027-03-01").value == dt.date(2027, 3, 31)
    assert any(m.value.startswith("**Now**: version 2") for m in at.markdown)
    edited = next(m.value for m in at.markdown if m.value.startswith("**Edited**"))
    # March 2027, 25 CCF: 10 x 2.80 + 10 x 3.15 + 5 x 3.70 + 15 + 6 = 99.00 (spring: no seasonal line)
    assert "version 3 (from 2027-03-01)" in edited and "**$99.00**" in edited
    assert any("The edit changes this bill by +$2.00 (+2.1%)." in c.value for c in at.caption)  # from $97.00
    assert [v.version for v in _versions(water_url)] == [1, 2]  # nothing stored by the preview
    at.button(key="tp_save").click().run()
    assert not at.exception
    assert any("Saved version 3 of HydroSpark metered water, in effect from 2027-03-01" in s.value for s in at.success)
    versions = _versions(water_url)
    assert [(v.version, v.effective_from, v.notes) for v in versions][-1] == (3, dt.date(2027, 3, 1), "Tier 1 review")
    assert versions[-1].params.tiers[0].rate == Decimal("2.80") and versions[-1].params.tiers[1].rate == Decimal("3.15")
    assert _tables(at)[0][0] == {"version": 3, "effective from": "2027-03-01", "state": "scheduled",
                                 "notes": "Tier 1 review"}
    assert at.text_input(key="tp_edit_water-standard_3_tiers[0].rate").value == "2.80"  # the editor starts from v3
    audit = SqlStorage(water_url).list_audit(action_prefix="tariff_plan.version").items
    assert audit[0].actor_name == "admin" and audit[0].details["version"] == 3
    # The stored plan now prices March 2027 by version 3, the same as the preview did.
    db = DatabaseService(SqlStorage(water_url))
    plan = db.tariff_plans()[0].plan
    assert db.preview_tariff(plan, quantity="25", period_end=dt.date(2027, 3, 31)).total_amount == Decimal("99.00")


def test_a_bad_figure_is_refused_naming_the_field_and_nothing_is_stored(water_url, monkeypatch, tmp_path):
    at = _open(water_url, monkeypatch, tmp_path)
    prefix = "tp_edit_water-standard_2"
    at.text_input(key=f"{prefix}_tiers[1].rate").input("-3").run()
    assert any(e.value.startswith("**Tier 2 rate ($/CCF)**: -3 is negative.") and "Nothing is stored" in e.value
               for e in at.error)
    at.button(key="tp_save").click().run()
    assert any(e.value.startswith("**Tier 2 rate ($/CCF)**") and "Nothing was stored" in e.value for e in at.error)
    at.text_input(key=f"{prefix}_tiers[1].rate").input("3.30")
    at.text_input(key=f"{prefix}_tiers[1].up_to").input("5").run()  # below tier 1's bound
    assert any(e.value.startswith("**Tier 2 up to (CCF)**: 5 is not above the previous block's 10") for e in at.error)
    at.text_input(key=f"{prefix}_tiers[1].up_to").input("20")
    at.date_input(key=f"{prefix}_from").set_value(dt.date(2026, 12, 1)).run()  # before version 2's 2027-01-01
    assert any(e.value.startswith("**Takes effect on**: 2026-12-01 is not after version 2's 2027-01-01") for e in at.error)
    at.button(key="tp_save").click().run()
    assert [v.version for v in _versions(water_url)] == [1, 2]
    assert all(e.actor_name != "admin" for e in SqlStorage(water_url).list_audit(action_prefix="tariff_plan").items)


def test_category_fee_plan_calculator_and_schedule(municipal_url, monkeypatch, tmp_path):
    at = _open(municipal_url, monkeypatch, tmp_path)
    assert not at.exception and not at.error
    assert not any(t.key == "tp_quantity" for t in at.text_input)  # a fixed fee: no quantity
    schedule = next(t for t in _tables(at) if t and "unit type" in t[0])
    assert {"category": "Small", "unit type": "Bakery", "fee": "Rs1,000.00"} in schedule
    at.selectbox(key="tp_category").set_value("Small").run()
    at.selectbox(key="tp_unit_type_Small").set_value("Bakery").run()
    assert any("**Rs1,000.00**" in m.value for m in at.markdown if m.value.startswith("**Stored plan**"))
    at.selectbox(key="tp_unit_type_Small").set_value(None).run()  # any other unit type: the category's default
    assert any("**Rs500.00**" in m.value for m in at.markdown if m.value.startswith("**Stored plan**"))
    lines = _line_tables(at)[0]
    assert lines[0] == {"line": "Sanitation fee: Small", "quantity": "1 month", "rate": "Rs500.00 a month",
                        "amount": "Rs500.00"}
    assert plain(at.markdown[0].value).startswith("**Suthra Punjab sanitation fee**")
    assert "fixed monthly fee by category" in at.markdown[0].value and "category_fee" not in at.markdown[0].value
