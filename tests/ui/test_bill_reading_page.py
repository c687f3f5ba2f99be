"""Admin: bill one approved reading (pricing rule, confirmed units, preview, save, lock, re-issue)."""
from decimal import Decimal

from services.database_service import DatabaseService
from services.models import BillFilter, ReadingFilter
from services.accounts.roles import Actor
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/bill_reading.py"


def _approved_b17(url, units=None):
    """Approve B17-FF's pending reading (seeded this month) and return it."""
    st = storage_for(url)
    admin = st.get_user(username="admin")
    pending = st.list_readings(ReadingFilter(status="pending", account_code="B17-FF", account_meters_only=True)).items[0]
    return DatabaseService(st).approve_reading(pending.id, actor=Actor(admin.id, admin.username, admin.role),
                                               approved_units=units)


def _open(url, monkeypatch, tmp_path, reading_id):
    at = signed_in(url, monkeypatch, tmp_path, "admin")
    at.switch_page(PAGE)
    at.query_params["reading"] = str(reading_id)
    return at.run()


def _preview(at) -> dict:
    df = at.table[0].value
    return dict(zip(df["line"], df["amount"]))


def _preview_rows(at) -> list[dict]:
    return at.table[0].value.to_dict("records")


def _save(at):
    next(b for b in at.button if b.key == "save_bill").click()
    return at.run()


def test_search_lists_approved_unbilled_readings(seeded_url, monkeypatch, tmp_path):
    rd = _approved_b17(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert any("Type a flat code" in plain(i.value) for i in at.info)
    assert at.text_input(key="br_code").label == "Flat code"
    at.text_input(key="br_code").input("B17-FF").run()
    assert at.selectbox(key="br_pick").value.id == rd.id  # the newest approved, unbilled reading
    energy = _preview_rows(at)[0]
    assert energy["line"].startswith(f"Energy: {rd.consumption} kWh") and energy["quantity"].endswith(" kWh")


def test_pricing_rule_preview_and_save(seeded_url, monkeypatch, tmp_path):
    rd = _approved_b17(seeded_url, units="150")
    st = storage_for(seeded_url)
    flat = st.get_account(code="B17-FF")
    owed = st.open_balance(flat.id)[0]
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    # In the demo society B17-FF is a 4BHK in block B (rate 12): the BHK override sets the fixed charge.
    assert flat.category == "4BHK"
    assert metrics == {"Rate per unit": "₹12.00", "Fixed charge": "₹1,890.00"}
    assert "**BHK fixed charge override**" in [m.value for m in at.markdown]  # the rule that applied
    # Units default to what the reviewer confirmed; previous outstanding to what the flat owes.
    assert at.text_input(key=f"units_{rd.id}").value == "150.00"
    assert at.text_input(key=f"prev_{rd.id}").value == str(owed)
    at.text_input(key=f"motor_{rd.id}").input("10").run()
    at.text_input(key=f"prev_{rd.id}").input("0").run()
    assert any("Blessings City electricity (society-electricity), version 1 in effect from 2020-01-01" in plain(c.value)
               for c in at.caption)
    rows = _preview_rows(at)
    assert rows[0] == {"line": "Energy: 150.00 kWh + 10 kWh shared motor", "quantity": "160.00 kWh",
                       "rate": "₹12.00/kWh", "amount": "₹1,920.00"}
    assert rows[1] == {"line": "Fixed charge", "quantity": "1 month", "rate": "₹1,890.00 a month",
                       "amount": "₹1,890.00"}
    assert rows[2:] == [{"line": "Total", "quantity": "", "rate": "", "amount": "₹3,810.00"}]  # no arrears line at 0
    # (150 + 10) x 12 + 1890 + 0: the units are not subtracted again
    told = _record_events(monkeypatch)
    at = _save(at)
    assert not at.exception and any("Saved bill #" in s.value and "₹3,810.00" in s.value for s in at.success)
    assert [b.total_amount for b, _ in told] == [Decimal("3810.00")] and told[0][1].username == "admin"
    assert any(plain(c.value) == "Owner notified by test channel." for c in at.caption)  # the event report is shown
    bill = st.list_bills(BillFilter(account_id=flat.id)).items[0]
    assert (bill.total_amount, bill.last_reading_id, bill.units, bill.motor_units) == (
        Decimal("3810.00"), rd.id, Decimal("150.00"), Decimal("10.00"))
    assert f"Open bill #{bill.id}" in [p.proto.label for p in at.get("page_link")]
    # The billed reading: no second Save, and no yellow "already on bill" above the green success (issue 18).
    assert not at.warning, [w.value for w in at.warning]
    assert not any(b.key == "save_bill" for b in at.button)
    at.run()  # opened again later, it says it is billed and offers a re-issue
    assert any(f"already on bill #{bill.id}" in w.value for w in at.warning)
    assert not any(b.key == "save_bill" for b in at.button)
    assert st.list_bills(BillFilter(account_id=flat.id, period_month=bill.billing_period_start.strftime("%Y-%m"))).total == 1


def test_locked_month_refused_in_a_plain_sentence(seeded_url, monkeypatch, tmp_path):
    import datetime as dt

    rd = _approved_b17(seeded_url)
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    at.date_input(key=f"start_{rd.id}").set_value(dt.date(2025, 11, 1))
    at.date_input(key=f"end_{rd.id}").set_value(dt.date(2025, 11, 30))
    at.date_input(key=f"due_{rd.id}").set_value(dt.date(2025, 12, 15)).run()
    at = _save(at)
    err = " ".join(e.value for e in at.error)
    assert "Refused, nothing was stored" in err and "2025-11 is locked" in err
    assert storage_for(seeded_url).count_bills_ending_in("2025-11") == 0


def test_collision_is_stored_as_a_reissue(seeded_url, monkeypatch, tmp_path):
    rd = _approved_b17(seeded_url)
    st = storage_for(seeded_url)
    admin = st.get_user(username="admin")
    first = DatabaseService(st).bill_reading(rd.id, *_month_of(rd), actor=Actor(admin.id, admin.username, admin.role))
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    assert any(f"already on bill #{first.id}" in w.value for w in at.warning)
    at.checkbox(key=f"reissue_{rd.id}").check().run()
    at = _save(at)
    assert not at.warning  # the re-issue is said below the green success, in blue (issue 18)
    text = " ".join(i.value for i in at.info)
    assert f"bill #{first.id}" in text and "Nothing was overwritten" in text and "re-issue" in text
    second = st.list_bills(BillFilter(account_id=first.account_id)).items[0]
    assert second.reissue_of == first.id and second.billing_period_start > first.billing_period_start


def test_bad_units_named(seeded_url, monkeypatch, tmp_path):
    rd = _approved_b17(seeded_url)
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    at.text_input(key=f"units_{rd.id}").input("lots").run()
    assert any("**Monthly units**" in e.value and "is not a number" in e.value for e in at.error)
    assert not any(b.key == "save_bill" for b in at.button)


def _record_events(monkeypatch) -> list:
    """Replace the wired BillingEvents (same process, same cached Services) with a recorder."""
    from services.integrations.base import EventReport
    from ui.common import services

    import os

    assert os.environ.get("DATABASE_URL"), "open the app first: services() must not build the default database"
    told = []

    class Recorder:
        def bill_created(self, bill, actor):
            told.append((bill, actor))
            return EventReport(messages=["Owner notified by test channel."])

    monkeypatch.setattr(services(), "events", Recorder())
    return told


def _month_of(rd):
    import datetime as dt

    from services.billing.periods import BillingPeriod

    p = BillingPeriod.for_month(rd.reading_date)
    return p.start, p.end, p.end + dt.timedelta(days=15)


def test_a_stale_page_cannot_bill_the_reading_twice(seeded_url, monkeypatch, tmp_path):
    """Two admins (or a double click) on the same reading: the second Save is refused."""
    rd = _approved_b17(seeded_url)
    first = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    second = _open(seeded_url, monkeypatch, tmp_path, rd.id)  # opened before the first one saved
    first = _save(first)
    assert any("Saved bill #" in s.value for s in first.success)
    second = _save(second)
    assert any("already on bill" in e.value and "nothing was stored" in e.value for e in second.error)
    flat = storage_for(seeded_url).get_account(code="B17-FF")
    assert storage_for(seeded_url).list_bills(BillFilter(account_id=flat.id, period_month=_month_of(rd)[0].strftime("%Y-%m"))).total == 1


# ---- the preview is what Save stores (issue 11, item 3) ----------------------------------------
def _stored_after_save(url, monkeypatch, at, account_id):
    """Save, and return the bill that was stored (the newest of the flat)."""
    _record_events(monkeypatch)
    at = _save(at)
    assert not at.exception and any("Saved bill #" in s.value for s in at.success), [e.value for e in at.error]
    return at, storage_for(url).list_bills(BillFilter(account_id=account_id)).items[0]


def _money(value) -> str:
    from services.accounts.utility import TEMPLATES

    return TEMPLATES["society"].money(value)  # the seeded demo is the society


def test_a_plain_bill_stores_the_total_the_preview_showed(seeded_url, monkeypatch, tmp_path):
    rd = _approved_b17(seeded_url)
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    shown = _preview(at)["Total"]
    at, bill = _stored_after_save(seeded_url, monkeypatch, at, rd.account_id)
    assert _money(bill.total_amount) == shown and bill.last_reading_id == rd.id


def test_a_bill_with_arrears_stores_the_total_the_preview_showed(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    admin = st.get_user(username="admin")
    actor = Actor(admin.id, admin.username, admin.role)
    pending = st.list_readings(ReadingFilter(status="pending", account_meters_only=True, unflagged_only=True), 0, 400).items
    rd = next(r for r in pending if st.open_balance(r.account_id)[0] > 0)  # a flat that still owes
    owed = st.open_balance(rd.account_id)[0]
    DatabaseService(st).approve_reading(rd.id, actor=actor)
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    lines = _preview(at)
    assert lines["Previous outstanding"] == _money(owed)
    at, bill = _stored_after_save(seeded_url, monkeypatch, at, rd.account_id)
    assert _money(bill.total_amount) == lines["Total"] and bill.previous_outstanding == owed


def test_a_reissue_stores_the_total_the_preview_showed_and_replaces_the_bill(seeded_url, monkeypatch, tmp_path):
    """Save, tick Re-issue, Save used to store twice the first total (the first bill carried into the
    second) while the preview showed the first total."""
    rd = _approved_b17(seeded_url)
    st = storage_for(seeded_url)
    admin = st.get_user(username="admin")
    actor = Actor(admin.id, admin.username, admin.role)
    first = DatabaseService(st).bill_reading(rd.id, *_month_of(rd), actor=actor)
    DatabaseService(st).record_payment(first.id, "1000", method="upi", actor=actor)
    at = _open(seeded_url, monkeypatch, tmp_path, rd.id)
    at.checkbox(key=f"reissue_{rd.id}").check().run()
    lines = _preview(at)
    assert lines["Total"] == _money(first.total_amount)  # the same reading, the same arrears: the same total
    assert lines[f"Credit from bill #{first.id}"] == _money(Decimal("-1000"))
    assert any(f"re-issues bill #{first.id}" in w.value for w in at.warning)
    at, bill = _stored_after_save(seeded_url, monkeypatch, at, rd.account_id)
    assert _money(bill.total_amount) == lines["Total"] and _money(bill.balance) == lines["Balance due"]
    assert bill.reissue_of == first.id and bill.amount_paid == Decimal("1000.00")
    old = st.get_bill(first.id)
    assert (old.status, old.superseded_by, old.total_amount) == ("superseded", bill.id, first.total_amount)
    assert st.open_balance(rd.account_id)[0] == bill.balance


# ---- issue 18 defects ------------------------------------------------------------------------
def _replace_b17_meter(url):
    """Approve B17-FF's pending reading, then replace its meter: the old chain's final reading is billable,
    the new meter's start reading is a baseline (nothing consumed yet) that no bill can price."""
    rd = _approved_b17(url)
    st = storage_for(url)
    admin = st.get_user(username="admin")
    change = DatabaseService(st).record_meter_change(
        kind="replacement", meter_number="19152159", change_date=rd.reading_date,
        final_reading=rd.reading_value + Decimal("12"), start_reading=Decimal("0"), new_meter_number="NEW-B17-1",
        reason="Display broken", actor=Actor(admin.id, admin.username, admin.role))
    return rd, change


def test_a_baseline_reading_is_not_offered_and_no_error_before_input(seeded_url, monkeypatch, tmp_path):
    rd, change = _replace_b17_meter(seeded_url)
    st = storage_for(seeded_url)
    found = st.list_readings(ReadingFilter(status="approved", unbilled_only=True, account_code="B17-FF",
                                           account_meters_only=True)).items
    baselines = [r for r in found if r.billable_units is None]
    assert baselines, "the replacement's start reading is an approved, unbilled baseline"
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.text_input(key="br_code").input("B17-FF").run()
    offered = at.selectbox(key="br_pick").options
    assert offered and not any(f"reading #{b.id}" in o for b in baselines for o in offered), offered
    assert not at.error, [e.value for e in at.error]
    # Opened by link, the baseline is priced with the readings before it (their units), no error before input.
    at.query_params["reading"] = str(baselines[0].id)
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert at.text_input(key=f"units_{baselines[0].id}").label == "Monthly units (kWh)"
