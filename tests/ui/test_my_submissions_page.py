"""Field engineer: my submissions, with status and the reviewer's reason; only my own."""
from decimal import Decimal

from services.accounts.roles import Actor
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in  # noqa: F401
from services.database_service import DatabaseService

PAGE = "ui/my_submissions.py"


def _submit_and_reject(url):
    st = SqlStorage(url)
    db = DatabaseService(st)
    eng = st.get_user(username="engineer2")
    admin = st.get_user(username="admin")
    meter = st.get_meter(meter_number="19152159")
    last = st.meter_history(meter.id, limit=1)[0]
    out = db.insert_meter_reading(meter_id=meter.id, reading_value=last.reading_value + Decimal("12"),
                                  actor=Actor(eng.id, eng.username, eng.role))
    db.reject_reading(out.reading.id, "Photo unreadable: retake it", actor=Actor(admin.id, admin.username, admin.role))
    return out.reading.id


def test_engineer_sees_own_readings_with_rejection_reason(seeded_url, monkeypatch, tmp_path):
    rid = _submit_and_reject(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer2", PAGE)
    text = " ".join(m.value for m in at.markdown)
    assert "B17\\-FF" in text and ":red-badge[rejected]" in text
    assert any("Rejected: Photo unreadable: retake it" in plain(e.value) for e in at.error)
    at.segmented_control(key="mine_status").set_value("Approved").run()
    assert any("No approved readings" in i.value for i in at.info)
    # The seeded readings belong to "engineer"; engineer2 sees only the one above.
    at.segmented_control(key="mine_status").set_value("All").run()
    assert sum("B17" in m.value for m in at.markdown) == 1 and rid


def test_engineer_pages_through_own_history(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "engineer", PAGE)
    assert not at.exception
    first = [m.value for m in at.markdown if "meter" in m.value]
    assert len(first) == 20
    next(b for b in at.button if b.label == "Next").click()
    at.run()
    second = [m.value for m in at.markdown if "meter" in m.value]
    assert len(second) == 20 and set(first).isdisjoint(second)
    assert any("Readings 21-40 of" in c.value for c in at.caption)


def test_admin_page_renders_own_list(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    assert any("No readings submitted yet" in i.value for i in at.info)
