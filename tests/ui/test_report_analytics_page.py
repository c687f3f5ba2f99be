"""The Reports page's consumer analytics and staff performance tabs (issue 14): the head office sees
every city and every area-limited staff member; a supervisor sees only their union councils; CSV and
Excel exports are offered."""
from __future__ import annotations

from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from tests.ui.test_reports_page import PAGE, _staff
from tests.ui.test_staff_scope_pages import municipal_template, town_url  # noqa: F401


def _table(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_the_head_office_sees_patterns_per_city_and_every_staff_member(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    assert not at.exception, at.exception
    patterns = _table(at, "never paid")
    want = {r.area_path: r for r in st.consumer_analytics(at.session_state["rp_asof"], 12, True)}
    assert set(patterns["code"]) == set(want) and len(want) == 5
    assert int(patterns["billed"].sum()) == sum(r.billed for r in want.values()) > 0
    metrics = {m.label: m.value for m in at.metric}
    assert "Active units" in metrics and "never paid" in metrics
    staff = _table(at, "visits")
    month = at.selectbox(key="rp_month").value
    assert set(staff["username"]) == {r.username for r in st.staff_performance(month)}
    assert {"Export CSV", "Export Excel"} <= {b.label for b in at.get("download_button")}


def test_a_supervisor_sees_only_their_union_councils(town_url, monkeypatch, tmp_path):
    name = _staff(town_url, "supervisor", ["KSR/KSR-UC01"])
    at = signed_in(town_url, monkeypatch, tmp_path, name, PAGE)
    assert not at.exception, at.exception
    at.segmented_control(key="rp_level").set_value("Union Council").run()
    assert set(_table(at, "never paid")["code"]) == {"KSR/KSR-UC01"}
    staff = _table(at, "visits")
    assert all(a in ("", "KSR/KSR-UC01") or "KSR/KSR-UC01" in a for a in staff["areas"])


def test_counted_patterns_say_when_and_the_head_office_can_count_again(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    as_of = at.session_state["rp_asof"]
    live = _table(at, "never paid")
    assert not any(b.label == "Count again now" for b in at.button)  # nothing counted ahead: live
    st.refresh_consumer_patterns(as_of, 12)
    first = st.consumer_patterns_computed_at(as_of, 12)
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    assert any("as counted at" in c.value for c in at.caption)
    assert _table(at, "never paid").equals(live)  # the same figures, counted ahead
    next(b for b in at.button if b.label == "Count again now").click()
    at.run()
    assert not at.exception and st.consumer_patterns_computed_at(as_of, 12) > first
