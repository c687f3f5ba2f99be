"""The consumption chain under concurrency, same-day readings, back-dating and rejection (issue 11, item 2).

Invariant (tests/contract/chain.py): per meter, the non-rejected readings in (date, id) order each
point at their true predecessor with consumption = value - its value, so consumption sums to last -
first. Checked after concurrent submissions (threads against the real database) and after random
sequences of submissions and reviews (hypothesis).
"""
import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from services.errors import ConflictError, MeterlineError, ValidationError
from services.models import ReadingFilter
from tests.contract.chain import all_at_once, chain_problems, meter_readings
from tests.factories import admin_user, engineer_user, raw_bill

d = dt.date
B17 = "19152159"


def submit(db, storage, value, date, meter=B17, **kw):
    return db.insert_meter_reading(meter_number=meter, reading_value=value, reading_date=date,
                                   actor=kw.pop("actor", None) or engineer_user(storage), **kw)


def bill(db, storage, reading_id):
    """Bill an approved reading (and the approved ones before it since the last bill); a pending
    reading, or a pending one before it, is refused by the service and nothing changes."""
    admin = admin_user(storage)
    r = db.get_reading(reading_id)
    start = r.reading_date.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return db.bill_reading(reading_id, start, end, end + dt.timedelta(days=15), actor=admin)


def relinks(storage, reading_id):
    return [a for a in storage.list_audit(entity_type="reading", entity_id=str(reading_id)).items
            if a.action == "reading.relink"]


# ---- the repro cases ---------------------------------------------------------------------------
def test_eight_concurrent_readings_store_exactly_the_advance(db, storage, society):
    """+10 kWh a day for 8 days sent at once: 80 kWh of consumption, each reading measured from the day before."""
    base = submit(db, storage, "1000", d(2026, 11, 1)).reading
    eng = engineer_user(storage)
    calls = [lambda i=i: db.insert_meter_reading(meter_number=B17, reading_value=str(1000 + 10 * i),
                                                 reading_date=d(2026, 11, 1 + i), actor=eng) for i in range(1, 9)]
    results = all_at_once(calls)
    assert [repr(x) for x in results if isinstance(x, Exception)] == []
    assert all(x.created for x in results)
    assert chain_problems(storage, society["meters"][B17]) == []
    live = meter_readings(storage, society["meters"][B17])
    assert sum(x.consumption or 0 for x in live) == D("80.00")
    assert [x.consumption for x in live] == [None] + [D("10.00")] * 8
    assert live[1].previous_reading_id == base.id


def test_a_same_day_reading_is_compared_with_the_days_earlier_readings(db, storage, society):
    """2310 on a day that already has 2340 and 2400 (stored in that order) is below the day's last reading."""
    first = submit(db, storage, "2300", d(2026, 11, 10)).reading
    a = submit(db, storage, "2340", d(2026, 11, 20)).reading
    b = submit(db, storage, "2400", d(2026, 11, 20)).reading
    assert (a.previous_reading_id, a.consumption) == (first.id, D("40.00"))
    assert (b.previous_reading_id, b.consumption) == (a.id, D("60.00"))  # same day: measured from 2340
    with pytest.raises(ValidationError) as e:
        submit(db, storage, "2310", d(2026, 11, 20))
    assert e.value.field == "reading_value"
    assert "below the previous reading 2400.00 kWh of 2026-11-20 (stored earlier the same day)" in str(e.value)
    assert storage.table_counts(["readings"])["readings"] == 3
    assert chain_problems(storage, society["meters"][B17]) == []


def test_a_back_dated_reading_re_measures_the_later_one_and_the_audit_says_so(db, storage, society):
    first = submit(db, storage, "1000", d(2026, 10, 1)).reading
    later = submit(db, storage, "1300", d(2026, 10, 31)).reading
    assert later.consumption == D("300.00")
    mid = submit(db, storage, "1100", d(2026, 10, 15))
    assert mid.created and mid.reading.consumption == D("100.00") and mid.reading.previous_reading_id == first.id
    assert mid.previous_value == D("1000.00")
    now = db.get_reading(later.id)
    assert (now.previous_reading_id, now.consumption) == (mid.reading.id, D("200.00"))
    (entry,) = relinks(storage, later.id)
    assert entry.details["because"] == f"reading #{mid.reading.id} of 2026-10-15 was stored before it"
    assert (entry.details["old_previous_reading_id"], entry.details["new_previous_reading_id"]) == (first.id, mid.reading.id)
    assert (D(entry.details["old_consumption"]), D(entry.details["new_consumption"])) == (D("300"), D("200"))
    assert entry.actor_name == "eng1"
    assert chain_problems(storage, society["meters"][B17]) == []


def test_a_reading_dated_before_the_meters_first_makes_that_one_measured_from_it(db, storage, society):
    first = submit(db, storage, "1000", d(2026, 10, 20)).reading
    earlier = submit(db, storage, "900", d(2026, 10, 1)).reading
    assert (earlier.previous_reading_id, earlier.consumption) == (None, None)
    assert (db.get_reading(first.id).previous_reading_id, db.get_reading(first.id).consumption) == (earlier.id, D("100.00"))
    assert chain_problems(storage, society["meters"][B17]) == []


def test_a_back_dated_reading_before_a_billed_one_is_refused(db, storage, society):
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    billed = submit(db, storage, "1180", d(2026, 10, 20)).reading
    approve(db, storage, first.id, billed.id)
    bill(db, storage, billed.id)
    with pytest.raises(ValidationError) as e:
        submit(db, storage, "1100", d(2026, 10, 5))
    assert e.value.field == "reading_date"
    assert f"before reading #{billed.id} of 2026-10-20 (1180.00 kWh), which is already billed" in str(e.value)
    assert storage.table_counts(["readings"])["readings"] == 2
    assert db.get_reading(billed.id).consumption == D("180.00")
    assert submit(db, storage, "1250", d(2026, 11, 5)).created  # after it: fine


def test_a_back_dated_reading_before_confirmed_monthly_units_is_refused(db, storage, society):
    submit(db, storage, "1000", d(2026, 9, 20))
    later = submit(db, storage, "1180", d(2026, 10, 20)).reading
    db.approve_reading(later.id, actor=admin_user(storage), approved_units="150")
    with pytest.raises(ValidationError) as e:
        submit(db, storage, "1100", d(2026, 10, 5))
    assert e.value.field == "reading_date" and "monthly units (150.00 kWh) an admin confirmed" in str(e.value)
    assert storage.table_counts(["readings"])["readings"] == 2


def test_a_back_dated_reading_may_not_leave_the_later_one_implausible(db, storage, society, monkeypatch):
    monkeypatch.setenv("MAX_KWH_PER_DAY", "100")
    submit(db, storage, "1000", d(2026, 10, 1))
    submit(db, storage, "1500", d(2026, 10, 31))
    with pytest.raises(ValidationError) as e:
        submit(db, storage, "1010", d(2026, 10, 30))  # would leave 490 kWh in one day
    assert e.value.field == "reading_value" and "would leave the later reading 1500.00 kWh" in str(e.value)


# ---- rejection -----------------------------------------------------------------------------------
def test_rejecting_a_reading_re_measures_the_next_from_the_one_before(db, storage, society):
    admin = admin_user(storage)
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    wrong = submit(db, storage, "1100", d(2026, 10, 20)).reading
    nxt = submit(db, storage, "1250", d(2026, 11, 20)).reading
    db.reject_reading(wrong.id, "photo shows 1010", actor=admin)
    now = db.get_reading(nxt.id)
    assert (now.previous_reading_id, now.consumption) == (first.id, D("250.00"))
    (entry,) = relinks(storage, nxt.id)
    assert entry.details["because"] == f"reading #{wrong.id} it was measured from was rejected"
    assert entry.actor_name == "admin1"
    assert chain_problems(storage, society["meters"][B17]) == []
    # The rejected reading is out of the chain: a new reading that day is measured from the first.
    again = submit(db, storage, "1010", d(2026, 10, 20))
    assert again.reading.previous_reading_id == first.id and db.get_reading(nxt.id).consumption == D("240.00")
    assert chain_problems(storage, society["meters"][B17]) == []


def test_rejecting_the_first_reading_makes_the_next_one_first(db, storage, society):
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    nxt = submit(db, storage, "1250", d(2026, 10, 20)).reading
    db.reject_reading(first.id, "another flat's meter", actor=admin_user(storage))
    assert (db.get_reading(nxt.id).previous_reading_id, db.get_reading(nxt.id).consumption) == (None, None)
    assert chain_problems(storage, society["meters"][B17]) == []


def test_rejecting_a_reading_a_billed_one_is_measured_from_is_refused(db, storage, society):
    admin = admin_user(storage)
    submit(db, storage, "1000", d(2026, 9, 20))
    mid = submit(db, storage, "1100", d(2026, 10, 5)).reading
    billed = submit(db, storage, "1250", d(2026, 10, 20)).reading
    # Today a pending reading holds every later one back from billing, so only a bill stored before
    # that rule (an upgraded database) can cover a reading measured from a pending one.
    legacy_bill(db, storage, billed.id)
    with pytest.raises(ConflictError) as e:
        db.reject_reading(mid.id, "misread", actor=admin)
    assert f"Reading #{mid.id} cannot be rejected: reading #{billed.id} of 2026-10-20 (1250.00 kWh) is measured " \
           "from it and is already billed" in str(e.value)
    assert db.get_reading(mid.id).status == "pending"
    assert db.get_reading(billed.id).consumption == D("150.00")
    assert not [a for a in storage.list_audit(entity_type="reading").items if a.action == "reading.reject"]


def approve(db, storage, *reading_ids):
    for rid in reading_ids:
        db.approve_reading(rid, actor=admin_user(storage))


def legacy_bill(db, storage, reading_id):
    """A bill covering just this reading, stored as an older Meterline stored one (no coverage rules)."""
    from services.billing.coverage import CoveredReading

    admin = admin_user(storage)
    r = db.approve_reading(reading_id, actor=admin)
    units = r.consumption
    return storage.insert_bill(raw_bill(storage, r.account_code, d(2026, 10, 1), d(2026, 10, 31), units=units,
                                        last_reading_id=r.id, first_reading_id=r.id,
                                        covered=(CoveredReading(r.id, units),)), admin)


# ---- the same reading at the same moment ------------------------------------------------------------
def test_ten_identical_concurrent_submissions_get_one_row_and_the_same_answer(db, storage, society):
    submit(db, storage, "1000", d(2026, 10, 20))
    eng = engineer_user(storage)
    send = lambda: db.insert_meter_reading(meter_number=B17, reading_value="1150.5",  # noqa: E731
                                           reading_date=d(2026, 11, 20), actor=eng)
    results = all_at_once([send] * 10)
    results.append(send())  # and once more afterwards: the same answer again
    assert [x for x in results if isinstance(x, Exception)] == []
    assert sum(x.created for x in results) == 1
    assert len({x.reading.id for x in results}) == 1 and {x.reading.status for x in results} == {"pending"}
    assert {(x.previous_value, x.previous_date, x.flags, x.reading.consumption) for x in results} == \
        {(D("1000.00"), d(2026, 10, 20), (), D("150.50"))}
    assert storage.table_counts(["readings"])["readings"] == 2
    assert len([a for a in storage.list_audit(entity_type="reading").items if a.action == "reading.submit"]) == 2


def test_concurrent_submissions_and_rejections_keep_the_chain(db, storage, society):
    admin, eng = admin_user(storage), engineer_user(storage)
    first = [submit(db, storage, str(1000 + 20 * i), d(2026, 10, 1 + 2 * i)).reading for i in range(6)]
    calls = [lambda r=r: db.reject_reading(r.id, "test", actor=admin) for r in first[1:5:2]]
    calls += [lambda i=i: db.insert_meter_reading(meter_number=B17, reading_value=str(1010 + 20 * i),
                                                  reading_date=d(2026, 10, 2 + 2 * i), actor=eng) for i in range(5)]
    results = all_at_once(calls)
    assert [x for x in results if isinstance(x, Exception) and not isinstance(x, MeterlineError)] == []
    assert chain_problems(storage, society["meters"][B17]) == []


# ---- the invariant over random histories ------------------------------------------------------------
OPS = st.lists(st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 40), st.integers(0, 120)),   # day offset, kWh above 1000 / 0.5
    st.tuples(st.just("append"), st.integers(0, 3), st.integers(0, 30)),    # days after the last, kWh more
    st.tuples(st.just("between"), st.integers(0, 30), st.integers(0, 100)),  # back-dated between two, at b%
    st.tuples(st.just("reject"), st.integers(0, 30), st.just(0)),            # the n-th stored reading
    st.tuples(st.just("approve"), st.integers(0, 30), st.integers(0, 1)),    # with or without confirmed units
    st.tuples(st.just("bill"), st.integers(0, 30), st.just(0)),
), min_size=1, max_size=14)


def test_random_histories_keep_the_chain(db, storage, society):
    """Random submissions (any order, same day, back-dated), rejections, approvals and bills: after
    every step the chain invariant holds, a refused step changes nothing, and a billed reading's
    consumption never changes."""
    admin, eng = admin_user(storage), engineer_user(storage)
    account_id = society["accounts"]["B17-FF"]
    counter = iter(range(10**6))
    start = d(2026, 9, 1)

    @settings(max_examples=15 if storage.backend_name == "supabase" else 50, deadline=None, database=None)
    @given(ops=OPS)
    # Found on Supabase: a back-dated reading at 0% of the way is the earlier reading itself, sent again.
    @example(ops=[("submit", 0, 0), ("submit", 1, 0), ("approve", 1, 1), ("between", 0, 0)])
    def run(ops):
        number = f"7{next(counter):07d}"
        storage.bulk_insert("meters", [{"meter_number": number, "account_id": account_id, "status": "active"}])
        meter_id = storage.lookup_ids("meters", "meter_number", [number])[number]
        stored, billed = [], {}
        for op, a, b in ops:
            if op == "bill" and stored and db.get_reading(stored[a % len(stored)]).status == "pending":
                db.approve_reading(stored[a % len(stored)], actor=admin)
            before = [(x.id, x.status, x.previous_reading_id, x.consumption) for x in meter_readings(storage, meter_id)]
            try:
                live = [x for x in meter_readings(storage, meter_id) if x.status != "rejected"]
                if op == "between":
                    pairs = [(p, n) for p, n in zip(live, live[1:]) if n.reading_date > p.reading_date]
                    if not pairs:
                        continue
                    p, n = pairs[a % len(pairs)]
                    date = p.reading_date + dt.timedelta(days=(n.reading_date - p.reading_date).days * b // 101)
                    value = (p.reading_value + (n.reading_value - p.reading_value) * b / 100).quantize(D("0.01"))
                    # At 0% it is p itself (same day, same value): the stored reading is the answer.
                    repeat = (date, value) == (p.reading_date, p.reading_value)
                    blocked = not repeat and (n.id in billed or n.approved_units is not None)
                    try:
                        out = db.insert_meter_reading(meter_id=meter_id, reading_value=value, reading_date=date,
                                                      actor=eng)
                    except ValidationError as exc:
                        assert blocked and exc.field == "reading_date", exc
                        raise
                    assert not blocked
                    if repeat:
                        assert not out.created and out.reading.id == p.id
                    elif out.created:
                        stored.append(out.reading.id)
                        assert out.reading.previous_reading_id == p.id
                        assert db.get_reading(n.id).previous_reading_id == out.reading.id
                        event("a reading slotted in between two")
                elif op in ("submit", "append"):
                    if op == "append" and live:
                        date, value = min(live[-1].reading_date + dt.timedelta(days=a), d(2026, 11, 22)), \
                            live[-1].reading_value + b
                    else:
                        date, value = start + dt.timedelta(days=a), D(1000) + D(b) / 2
                    out = db.insert_meter_reading(meter_id=meter_id, reading_value=value, reading_date=date, actor=eng)
                    if out.created:
                        stored.append(out.reading.id)
                        event("a reading slotted in before a stored one" if any(
                            x.reading_date > date for x in live) else "a reading stored at the end")
                    elif op == "append":
                        assert out.reading.reading_value == value  # an exact repeat
                elif stored:
                    rid = stored[a % len(stored)]
                    if op == "reject":
                        db.reject_reading(rid, "random", actor=admin)
                    elif op == "approve":
                        db.approve_reading(rid, actor=admin, approved_units="5" if b else None)
                    else:
                        bill(db, storage, rid)
                        billed[rid] = db.get_reading(rid)
            except MeterlineError as exc:
                assert op != "append", f"a reading after the last one was refused: {exc}"
                event(f"{op} refused ({type(exc).__name__})")
                after = [(x.id, x.status, x.previous_reading_id, x.consumption) for x in meter_readings(storage, meter_id)]
                assert after == before, f"{op} was refused but changed the readings"
            assert chain_problems(storage, meter_id) == []
            for rid, was in billed.items():
                now = db.get_reading(rid)
                assert (now.previous_reading_id, now.consumption) == (was.previous_reading_id, was.consumption)

    run()


# ---- the database holds the rule too -------------------------------------------------------------
def test_the_database_allows_only_a_consistent_relink_of_an_unbilled_reading(db, storage, society):
    import sqlalchemy as sa

    if not hasattr(storage, "engine"):
        pytest.skip("raw SQL on the SQL backends (tests/supabase/test_functions_sql.py covers Supabase's trigger)")
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    mid = submit(db, storage, "1100", d(2026, 10, 5)).reading
    last = submit(db, storage, "1250", d(2026, 10, 20)).reading
    b = submit(db, storage, "1000", d(2026, 10, 1), meter="19150001").reading

    def update(rid, **values):
        sets = ", ".join(f"{k} = :{k}" for k in values)
        values = {k: str(v) if isinstance(v, (D, dt.date)) else v for k, v in values.items()}
        with storage.engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE readings SET {sets} WHERE id = :id"), {"id": rid, **values})

    def refused(rid, text, **values):
        with pytest.raises(sa.exc.DBAPIError) as e:
            update(rid, **values)
        assert text in str(e.value)

    refused(last.id, "READING_RELINK", consumption=D("249"))  # not value - previous value
    refused(last.id, "READING_RELINK", previous_reading_id=first.id)  # consumption no longer matches
    refused(last.id, "READING_RELINK", previous_reading_id=b.id, consumption=D("250"))  # another meter's reading
    refused(mid.id, "READING_RELINK", previous_reading_id=last.id, consumption=D("-150"))  # a later reading
    refused(last.id, "READING_RELINK", previous_reading_id=None, consumption=D("250"))
    for column, value in (("reading_value", D("1300")), ("reading_date", d(2026, 10, 21)), ("meter_id", b.meter_id)):
        refused(last.id, "READING_IMMUTABLE", **{column: value})
    update(last.id, previous_reading_id=first.id, consumption=D("250"))  # what rejecting mid would do
    assert db.get_reading(last.id).consumption == D("250.00")
    update(last.id, previous_reading_id=mid.id, consumption=D("150"))
    approve(db, storage, first.id, mid.id, last.id)
    bill(db, storage, last.id)
    refused(last.id, "READING_BILLED", previous_reading_id=first.id, consumption=D("250"))
    update(last.id, photo_url="https://example.org/x.jpg")  # other columns still move
