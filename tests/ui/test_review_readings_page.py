"""Admin: review queue (filters in the database, photo, history, flags; approve, reject, bulk)."""
import datetime as dt
from decimal import Decimal

from services.database_service import DatabaseService
from services.models import ReadingFilter
from services.photos import PhotoStore
from services.accounts.roles import Actor
from tests.ui.seeded import plain, png_bytes, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/review_readings.py"


def _headers(at) -> list[str]:
    return [plain(m.value).replace("**", "") for m in at.markdown if " · meter " in m.value and " · read " in m.value]


def _photo_reading(url, tmp_path):
    st = storage_for(url)
    eng = st.get_user(username="engineer")
    meter = st.get_meter(meter_number="19152159")
    last = st.meter_history(meter.id, limit=1)[0]
    stored = PhotoStore(tmp_path / "photos").save(png_bytes(), "m.png", meter_number="19152159")
    return DatabaseService(st).insert_meter_reading(
        meter_id=meter.id, reading_value=last.reading_value + Decimal("7"), photo_ref=stored.ref,
        actor=Actor(eng.id, eng.username, eng.role)).reading


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_queue_shows_photo_history_and_flags(seeded_url, monkeypatch, tmp_path):
    rd = _photo_reading(seeded_url, tmp_path)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert _headers(at)[0].startswith("B17-FF · Test Owner · meter 19152159") and f"#{rd.id}" in _headers(at)[0]
    assert [i.proto.imgs[0].caption for i in at.get("image")] == ["Meter photo"]  # only the new reading has one
    assert len(at.dataframe) == len(_headers(at))  # each reading shows its meter's history
    assert any("Pending readings 1-20 of" in c.value for c in at.caption)
    at.toggle(key="rv_flagged").set_value(True).run()
    flagged = _headers(at)
    assert flagged and len([w for w in at.warning]) >= len(flagged)
    assert all(w.icon == ":material/flag:" for w in at.warning)


def test_filters_are_applied(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert [s.label for s in at.selectbox if s.key and s.key.startswith("rv_area")] == ["Block", "Floor"]
    at.selectbox(key="rv_area_1").set_value(st.get_area(path="C")).run()
    assert _headers(at) and all(h.startswith("C") for h in _headers(at))
    at.selectbox(key="rv_area_2").set_value(st.get_area(path="C/GF")).run()
    assert _headers(at) and all(h.split(" · ")[0].startswith("C") and h.split(" · ")[0].endswith("-GF")
                                for h in _headers(at))
    at.selectbox(key="rv_area_1").set_value(None).run()  # all blocks: the floor choice goes with the block
    assert at.selectbox(key="rv_area_2").value is None and {h[0] for h in _headers(at)} != {"C"}
    at.text_input(key="rv_code").input("B17").run()
    assert {h.split(" · ")[0] for h in _headers(at)} == {"B17-GF", "B17-FF", "B17-SF", "B17-TF"}
    at.date_input(key="rv_to").set_value(dt.date(2024, 1, 1)).run()
    assert not _headers(at) and any("No pending readings match" in i.value for i in at.info)


def test_approve_with_units_and_reject_with_reason(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.text_input(key="rv_code").input("B17-FF").run()
    rid = int(_headers(at)[0].rsplit("#", 1)[1])
    at.text_input(key=f"units_{rid}").input("99.5")
    _button(at, f"approve_{rid}").click()
    at.run()
    st = storage_for(seeded_url)
    got = st.get_reading(rid)
    assert got.status == "approved" and got.approved_units == Decimal("99.50") and got.reviewed_by is not None
    assert any(f"Approved reading #{rid}" in plain(s.value) for s in at.success)
    assert [p.proto.label for p in at.get("page_link")] == [f"Bill reading #{rid} now"]
    assert not _headers(at)  # no longer pending

    at.text_input(key="rv_code").set_value("A1-GF").run()
    other = int(_headers(at)[0].rsplit("#", 1)[1])
    _button(at, f"reject_{other}").click()
    at.run()
    assert any("reason" in e.value.lower() and "is required" in e.value for e in at.error)
    assert st.get_reading(other).status == "pending"
    at.text_input(key=f"reason_{other}").input("Photo shows another meter")
    _button(at, f"reject_{other}").click()
    at.run()
    assert st.get_reading(other).status == "rejected"
    assert st.get_reading(other).rejection_reason == "Photo shows another meter"


def test_bulk_approve_only_the_unflagged_on_the_page(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    before = st.list_readings(ReadingFilter(status="pending")).total
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="review__size").set_value(100).run()
    bulk = _button(at, "bulk_approve")
    n = int(bulk.label.split()[2])
    assert 0 < n <= 100
    bulk.click()
    at.run()
    assert any(f"Approved {n} unflagged reading(s)." in plain(s.value) for s in at.success)
    assert st.list_readings(ReadingFilter(status="pending")).total == before - n
    approved_flagged = st.list_readings(ReadingFilter(status="approved", flagged_only=True, date_from=None))
    assert all(r.reviewed_by is None for r in approved_flagged.items)  # the seed's old ones; none by bulk
