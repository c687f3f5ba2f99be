"""Admin: the Utility page (settings shown; name, words, billing and due days edited, validated, audited)."""
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from tests.ui.utilities import municipal_url, water_url  # noqa: F401

PAGE = "ui/utility.py"


def _settings(at) -> dict:
    table = at.table[0].value
    return dict(zip(table["setting"], table["value"]))


def _inputs(at) -> dict:
    return {t.label: t for t in at.text_input}


def _save(at):
    next(b for b in at.button if b.label == "Save settings").click()
    return at.run()


def test_settings_are_shown(water_url, monkeypatch, tmp_path):
    at = signed_in(water_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    s = _settings(at)
    assert s["Name"] == "HydroSpark" and s["Template"] == "water" and s["Time zone"] == "America/Los_Angeles"
    assert s["Currency"] == "USD ($), e.g. $1,234,567.50" and s["Locale"] == "en_US, e.g. 1,234,567.50"
    assert s["An account is called"] == "customer / customers"
    assert s["Area levels, top first"] == "Service area > Billing cycle"
    assert s["Service"] == "water, billed per CCF" and s["Due"] == "21 days after the billing period ends"


def test_the_society_reads_indian_digit_grouping(demo_url, monkeypatch, tmp_path):
    s = _settings(signed_in(demo_url, monkeypatch, tmp_path, "admin", PAGE))
    assert s["Currency"] == "INR (₹), e.g. ₹12,34,567.50" and s["Locale"] == "en_IN, e.g. 12,34,567.50"
    assert s["Area levels, top first"] == "Block > Floor" and s["An account is called"] == "flat / flats"


def test_edit_renames_and_sets_days_audited(municipal_url, monkeypatch, tmp_path):
    at = signed_in(municipal_url, monkeypatch, tmp_path, "admin", PAGE)
    f = _inputs(at)
    f["Name"].input("Suthra Punjab Lahore")
    f["An account is called"].input("property")
    f["Several are called"].input("properties")
    f["Area level 2"].input("UC")
    f["Days from the end of the period to the due date (0-90)"].input("25")
    at = _save(at)
    assert not at.exception and any(s.value == "Saved." for s in at.success)
    s = _settings(at)
    assert s["Name"] == "Suthra Punjab Lahore" and s["An account is called"] == "property / properties"
    assert s["Area levels, top first"] == "City/Tehsil > UC" and s["Due"] == "25 days after the billing period ends"
    row = SqlStorage(municipal_url).utility_settings_row()
    assert (row["name"], row["account_label"], list(row["area_levels"]), row["due_days"]) == (
        "Suthra Punjab Lahore", "property", ["City/Tehsil", "UC"], 25)
    entry = SqlStorage(municipal_url).list_audit(action_prefix="utility.settings").items[0]
    assert entry.actor_name == "admin" and entry.details["due_days"] == 25 and "currency" not in entry.details
    # The new words are used at once, across the app: the page frame and the other pages.
    assert any("Suthra Punjab Lahore" in m.value for m in at.markdown if m.value.startswith("###"))
    at.switch_page("ui/accounts.py").run()
    assert at.title[0].value.endswith("Properties")
    assert [s.label for s in at.selectbox if s.key and s.key.startswith("ac_area")] == ["City/Tehsil", "UC"]


def test_bad_values_are_refused_naming_the_field(municipal_url, monkeypatch, tmp_path):
    at = signed_in(municipal_url, monkeypatch, tmp_path, "admin", PAGE)
    _inputs(at)["Billing day (1-28)"].input("31")
    at = _save(at)
    assert [e.value for e in at.error] == ["**Billing day**: 31 is not a day every month has. Use 1 to 28."]
    _inputs(at)["Billing day (1-28)"].input("1")
    _inputs(at)["An account is called"].input("  ")
    at = _save(at)
    assert any(e.value.startswith("Enter the account label.") for e in at.error), [e.value for e in at.error]
    row = SqlStorage(municipal_url).utility_settings_row()
    assert row["billing_day"] == 1 and row["account_label"] == "consumer unit"
    assert len(SqlStorage(municipal_url).list_audit(action_prefix="utility.settings").items) == 1  # setup only
