"""Review readings (issue 18): Undo in the decided row's place, its refusal in words, the keyboard."""
import datetime as dt

from services.database_service import DatabaseService
from services.accounts.roles import Actor
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/review_readings.py"


def _ids(at) -> list[int]:
    return [int(plain(m.value).rsplit("#", 1)[1]) for m in at.markdown if " · meter " in m.value and " · read " in m.value]


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def _admin(st):
    u = st.get_user(username="admin")
    return Actor(u.id, u.username, u.role)


def test_an_approval_is_undone_from_its_row_and_the_reading_is_back_in_place(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    order = _ids(at)
    _button(at, f"approve_{order[0]}").click()
    at.run()
    assert any(f"Approved reading #{order[0]}" in plain(s.value) for s in at.success)  # the load test's text
    assert any("Undo it from its row" in t.proto.body for t in at.toast)
    _button(at, f"undo_{order[0]}").click()
    at.run()
    assert not at.exception, at.exception
    assert st.get_reading(order[0]).status == "pending" and _ids(at) == order  # back in its own place
    assert not at.get("page_link")  # no "Bill reading now" for a reading that is pending again
    entry = next(a for a in st.list_audit(entity_type="reading", entity_id=str(order[0])).items
                 if a.action == "reading.undo_review")
    assert entry.actor_name == "admin" and entry.details["was"] == "approved"


def test_a_rejection_is_undone_from_its_row(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    rid = _ids(at)[0]
    at.session_state[f"more_{rid}"] = True  # open the row's "More" menu
    at.run()
    at.text_input(key=f"reason_{rid}").input("Photo unreadable")
    _button(at, f"reject_{rid}").click()
    at.run()
    assert st.get_reading(rid).status == "rejected"
    _button(at, f"undo_{rid}").click()
    at.run()
    got = st.get_reading(rid)
    assert not at.error, [e.value for e in at.error]
    assert (got.status, got.rejection_reason) == ("pending", None)


def test_a_refused_undo_says_why_and_keeps_the_decision(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.text_input(key="rv_code").input("B17-FF").run()
    rid = _ids(at)[0]
    _button(at, f"approve_{rid}").click()
    at.run()
    db = DatabaseService(st)
    r = db.get_reading(rid)
    start = r.reading_date.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    bill = db.bill_reading(rid, start, end, end + dt.timedelta(days=15), actor=_admin(st))  # billed meanwhile
    _button(at, f"undo_{rid}").click()
    at.run()
    assert not at.exception, at.exception
    assert st.get_reading(rid).status == "approved"
    assert any(f"Not undone: Reading #{rid} cannot go back to pending: bill #{bill.id} covers it" in plain(e.value)
               for e in at.error)
    assert any(f"Approved reading #{rid}" in plain(s.value) for s in at.success)  # the decision stays shown


def test_keyboard_a_approves_the_first_undecided_row_and_u_undoes_the_latest(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    order = _ids(at)
    approves = {b.key: b for b in at.button if b.key and b.key.startswith("approve_")}
    assert approves[f"approve_{order[0]}"].proto.shortcut == "a" and approves[f"approve_{order[0]}"].proto.type == "primary"
    assert all(not b.proto.shortcut and b.proto.type == "secondary" for k, b in approves.items() if k != f"approve_{order[0]}")
    _button(at, f"approve_{order[0]}").click()
    at.run()
    assert _button(at, f"approve_{order[1]}").proto.shortcut == "a"  # the next row takes the key
    assert _button(at, f"undo_{order[0]}").proto.shortcut == "u"
    _button(at, f"approve_{order[1]}").click()
    at.run()
    assert _button(at, f"undo_{order[1]}").proto.shortcut == "u" and not _button(at, f"undo_{order[0]}").proto.shortcut
    shortcuts = [b.proto.shortcut for b in at.button if b.proto.shortcut]
    assert sorted(shortcuts) == ["a", "u"]  # one button per key on the page
