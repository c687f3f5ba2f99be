"""Usage anomaly detection on every backend: the database finds exactly what the reference
implementation (services/readings/anomalies.py) finds on the same rows; a period detected again adds
only what is new; the derived rows follow late usage; the list's filters; the review."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, NotFoundError
from services.models import AnomalyFilter, NewUsage, UsageBatch
from services.readings import anomalies as an
from tests.factories import ADMIN, admin_user, make_water

d = dt.date
START, END = d(2026, 7, 1), d(2026, 7, 31)
H0 = d(2026, 5, 2)  # 60 days of history before July
PARAMS = an.DetectionParams(baseline_days=60, min_history_days=28)


def wobble(i: int, day: dt.date) -> D:
    """Deterministic noise in [-0.10, 0.10] (2 decimals) per customer and day."""
    x = (i * 7919 + day.toordinal() * 104729) % 21
    return D(x - 10) / 100


# code -> (type, active, level, what happens in July)
CUSTOMERS = {
    "HS0000101": ("residential", True, D("1.00"), None),
    "HS0000102": ("residential", True, D("0.80"), "spike"),
    "HS0000103": ("residential", True, D("1.20"), "leak"),
    "HS0000104": ("residential", True, D("0.90"), "zeros"),
    "HS0000105": ("residential", False, D("0.00"), "closed_use"),
    "HS0000106": ("commercial", True, D("5.00"), "short"),
    "HS0000107": ("residential", True, D("1.10"), None),
    "HS0000108": ("residential", True, D("0.70"), None),
    "HS0000109": ("residential", True, D("1.00"), "heat"),  # everybody's July is higher: see usage()
    "HS0000110": ("commercial", True, D("4.00"), None),
    "HS0000111": ("residential", True, D("1.00"), "broken_leak"),  # 6 + 6 high days around a normal one
}


def usage(i: int, code: str, day: dt.date) -> D | None:
    kind, active, level, event = CUSTOMERS[code]
    if event == "short" and day < d(2026, 6, 15):
        return None  # a new customer: 16 days of history
    q = level + wobble(i, day)
    if day >= START:
        q += D("0.10")  # July is a little higher for every customer (the type's average follows it)
    if event == "spike" and day == d(2026, 7, 9):
        q = q * 10
    if event == "leak" and d(2026, 7, 10) <= day <= d(2026, 7, 20):
        q += D("2.00")
    if event == "broken_leak" and d(2026, 7, 10) <= day <= d(2026, 7, 22) and day != d(2026, 7, 16):
        q += D("2.00")
    if event == "zeros" and d(2026, 7, 5) <= day <= d(2026, 7, 20):
        q = D("0")
    if event == "closed_use":
        q = D("0.60") + wobble(i, day) if d(2026, 7, 15) <= day <= d(2026, 7, 18) else D("0")
    if event == "short" and day == d(2026, 7, 3):
        q = q * 8
    return max(q, D("0")).quantize(D("0.01"))


@pytest.fixture
def water(storage):
    made = make_water(storage, days=0)
    area = made["areas"]["N/C1"]
    storage.bulk_insert("accounts", [{"code": c, "name": c, "area_id": area, "category": t, "account_type": t,
                                      "is_active": act} for c, (t, act, *_r) in CUSTOMERS.items()])
    ids = storage.lookup_ids("accounts", "code", list(CUSTOMERS))
    rows = []
    for i, code in enumerate(CUSTOMERS):
        day = H0
        while day <= END:
            q = usage(i, code, day)
            if q is not None:
                rows.append({"account_id": ids[code], "usage_date": day, "quantity": q, "source": "import"})
            day += dt.timedelta(days=1)
    storage.bulk_insert("daily_usage", rows)
    return ids, rows


def reference(ids, rows, params=PARAMS):
    """What services.readings.anomalies.detect finds, account by account, on the same rows."""
    active = {ids[c]: CUSTOMERS[c][1] for c in CUSTOMERS}
    kind = {ids[c]: CUSTOMERS[c][0] for c in CUSTOMERS}
    index = an.day_index((r["usage_date"], kind[r["account_id"]], r["quantity"]) for r in rows
                         if active[r["account_id"]])
    out = set()
    for aid in ids.values():
        mine = [(r["usage_date"], r["quantity"]) for r in rows if r["account_id"] == aid]
        hist = [(x, q) for x, q in mine if START - dt.timedelta(days=params.baseline_days) <= x < START]
        period = [(x, q) for x, q in mine if START <= x <= END]
        for f in an.detect(aid, is_active=active[aid], history=hist, period=period, params=params,
                           index={x: v for (t, x), v in index.items() if t == kind[aid]}, period_start=START):
            out.add((aid, f.method, f.usage_date, f.usage, f.baseline, f.spread, f.score))
    return out


def stored(storage):
    page = storage.list_anomalies(AnomalyFilter(status=None), 0, 500)
    return {(x.account_id, x.method, x.usage_date, x.usage, x.baseline, x.spread, x.score) for x in page.items}


def test_the_database_finds_what_the_reference_finds(storage, water):
    ids, rows = water
    counts = storage.detect_anomalies(START, END, PARAMS, ADMIN)
    want = reference(ids, rows)
    got = stored(storage)
    assert got == want
    assert sum(counts.values()) == len(want)
    by = {(storage.get_account(account_id=a).code, m) for a, m, *_ in got}
    # the planted events are found by the methods made for them; the normal customers by none but 2-sigma
    assert {("HS0000102", "robust"), ("HS0000102", "high_read"), ("HS0000103", "continuous_flow"),
            ("HS0000104", "zero_usage"), ("HS0000105", "inactive_usage")} <= by
    assert not {m for c, m in by if c in ("HS0000101", "HS0000107", "HS0000108", "HS0000109") and m != "zscore"}
    assert not {m for c, m in by if c == "HS0000106"}  # 16 days of history: too little to judge
    assert ("HS0000111", "continuous_flow") not in by  # never 7 days in a row
    spike = next(x for x in storage.list_anomalies(AnomalyFilter(method="robust"), 0, 50).items
                 if x.account_code == "HS0000102")
    assert (spike.usage_date, spike.status, spike.history_days, spike.area_path) == (d(2026, 7, 9), "open", 60, "N/C1")
    assert spike.params["baseline_days"] == 60 and spike.detected_by == ADMIN.username


def test_detecting_again_adds_only_what_is_new(storage, water):
    storage.detect_anomalies(START, END, PARAMS, ADMIN)
    before = stored(storage)
    again = storage.detect_anomalies(START, END, PARAMS, ADMIN)
    assert sum(again.values()) == 0 and stored(storage) == before


def test_late_usage_rebuilds_the_derived_rows(storage, water):
    ids, rows = water
    first = storage.detect_anomalies(d(2026, 7, 1), d(2026, 7, 20), PARAMS, ADMIN)
    late = [NewUsage(ids["HS0000107"], d(2026, 5, 1), D("9.00"))]  # a day before the history: changes no baseline
    storage.store_usage(UsageBatch(tuple(late)), ADMIN)
    storage.detect_anomalies(d(2026, 7, 1), d(2026, 7, 20), PARAMS, ADMIN)
    assert sum(first.values()) > 0
    # The rest of July, detected later, finds what the whole month finds.
    storage.detect_anomalies(START, END, PARAMS, ADMIN)
    methods = {(a, m) for a, m, *_ in stored(storage)}
    assert {(a, m) for a, m, *_ in reference(ids, rows)} <= methods


def test_only_the_methods_asked_for_run(storage, water):
    counts = storage.detect_anomalies(START, END, PARAMS.with_changes(methods=("zero_usage",)), ADMIN)
    assert list(counts) == ["zero_usage"] and counts["zero_usage"] == 1
    assert {x.method for x in storage.list_anomalies(AnomalyFilter(status=None), 0, 50).items} == {"zero_usage"}


def test_filters_and_review(storage, water):
    ids, _ = water
    reviewer = admin_user(storage)
    storage.detect_anomalies(START, END, PARAMS, ADMIN)
    page = storage.list_anomalies(AnomalyFilter(), 0, 2)
    assert page.total >= 5 and len(page.items) == 2
    assert page.items[0].usage_date >= page.items[1].usage_date  # newest first
    south = storage.get_area(path="S").id
    assert storage.list_anomalies(AnomalyFilter(area_id=south), 0, 50).total == 0
    north = storage.get_area(path="N").id
    assert storage.list_anomalies(AnomalyFilter(area_id=north), 0, 50).total == page.total
    assert {x.account_type for x in storage.list_anomalies(AnomalyFilter(account_type="commercial"), 0, 50).items} <= {
        "commercial"}
    big = storage.list_anomalies(AnomalyFilter(method="robust", min_score=D("20")), 0, 50).items
    assert big and all(x.score >= 20 for x in big)
    mine = storage.list_anomalies(AnomalyFilter(account_id=ids["HS0000104"], method="zero_usage"), 0, 50).items
    assert [x.method for x in mine] == ["zero_usage"]

    done = storage.review_anomaly(mine[0].id, outcome="meter_fault", note="stuck register, replaced", actor=reviewer)
    assert (done.status, done.outcome, done.review_note, done.reviewed_by_name) == (
        "reviewed", "meter_fault", "stuck register, replaced", reviewer.username)
    assert done.reviewed_at is not None and done.usage == mine[0].usage  # what was found never changes
    with pytest.raises(ConflictError):
        storage.review_anomaly(mine[0].id, outcome="genuine", note=None, actor=reviewer)
    with pytest.raises(NotFoundError):
        storage.review_anomaly(10 ** 9, outcome="genuine", note=None, actor=reviewer)
    assert storage.list_anomalies(AnomalyFilter(account_id=ids["HS0000104"], method="zero_usage"), 0, 50).total == 0
    assert storage.list_anomalies(AnomalyFilter(status="reviewed"), 0, 50).total == 1
    audit = storage.list_audit(action_prefix="anomaly.review").items
    assert audit[0].entity_id == str(mine[0].id) and audit[0].details["outcome"] == "meter_fault"


def test_counts_per_period_and_method(storage, water):
    storage.detect_anomalies(START, END, PARAMS, ADMIN)
    counts = storage.anomaly_counts(d(2026, 1, 1), d(2026, 12, 1))
    assert {c.method for c in counts} >= {"zero_usage", "inactive_usage", "robust"}
    assert all(c.period_start == START for c in counts)
    assert sum(c.accounts for c in counts) == storage.list_anomalies(AnomalyFilter(status=None), 0, 1).total


def test_detection_limited_to_some_accounts_finds_exactly_theirs(storage, water):
    """After an import only the customers it touched are looked at (issue 13: seconds at 300,000):
    for them the database finds what a whole detection finds, for nobody else anything; a later
    whole detection adds the rest, so the two together equal one whole detection."""
    ids, rows = water
    some = [ids["HS0000102"], ids["HS0000103"], ids["HS0000105"]]
    want = reference(ids, rows)
    counts = storage.detect_anomalies(START, END, PARAMS, ADMIN, accounts=some)
    got = stored(storage)
    assert got == {x for x in want if x[0] in some} and got
    assert sum(counts.values()) == len(got)
    assert storage.detect_anomalies(START, END, PARAMS, ADMIN, accounts=[]) == {m: 0 for m in PARAMS.methods}
    storage.detect_anomalies(START, END, PARAMS, ADMIN)
    assert stored(storage) == want


@pytest.mark.parametrize("days", [59, 61])
def test_an_odd_history_length_gives_the_reference_medians(storage, water, days):
    """Medians and MADs of an odd count (the middle value) as well as an even one (the mean of the
    two middle values), whichever way the backend computes them."""
    ids, rows = water
    params = PARAMS.with_changes(baseline_days=days)
    storage.detect_anomalies(START, END, params, ADMIN)
    assert stored(storage) == reference(ids, rows, params)


def test_stored_baselines_are_the_reference_statistics(storage, water):
    """Every account's baseline row (count, mean, sd, median, MAD, and the median and MAD of its usage
    relative to its type's daily average) is what the reference computes from the same history; an
    account with fewer than two days of history gets none. SQLite takes its medians by position in
    sorted scratch tables (services/storage/sqlite_baselines.py), PostgreSQL by ordered-set aggregates."""
    if not hasattr(storage, "engine"):
        pytest.skip("the REST backend's baselines are the Supabase function's (tests/supabase)")
    import sqlalchemy as sa

    ids, rows = water
    area = storage.get_account(account_id=ids["HS0000101"]).area_id
    storage.bulk_insert("accounts", [{"code": "HS0000112", "name": "x", "area_id": area, "category": "residential",
                                      "account_type": "residential"}])
    new = storage.lookup_ids("accounts", "code", ["HS0000112"])["HS0000112"]
    one_day = [{"account_id": new, "usage_date": day, "quantity": D("0.50"), "source": "import"}
               for day in (START - dt.timedelta(days=1), START)]  # one day of history
    storage.bulk_insert("daily_usage", one_day)
    rows = rows + one_day
    storage.detect_anomalies(START, END, PARAMS, ADMIN)

    kind = {**{ids[c]: CUSTOMERS[c][0] for c in CUSTOMERS}, new: "residential"}
    active = {**{ids[c]: CUSTOMERS[c][1] for c in CUSTOMERS}, new: True}
    index = an.day_index((r["usage_date"], kind[r["account_id"]], r["quantity"]) for r in rows if active[r["account_id"]])
    want = {}
    for aid in kind:
        hist = [(r["usage_date"], r["quantity"]) for r in rows
                if r["account_id"] == aid and START - dt.timedelta(days=PARAMS.baseline_days) <= r["usage_date"] < START]
        b = an.baseline(hist, {x: v for (t, x), v in index.items() if t == kind[aid]})
        if b is not None:
            want[aid] = (b.days, b.mean, b.sd, b.median, b.mad, b.adj_median, b.adj_mad)
    four = D("0.0001")
    with storage.engine.connect() as conn:
        got = {aid: (days, *(None if x is None else D(str(x)).quantize(four) for x in stats))
               for aid, days, *stats in conn.execute(sa.text(
                   "SELECT account_id, days, mean, sd, median, mad, adj_median, adj_mad FROM usage_baselines "
                   "WHERE as_of = :s AND window_days = :w"), {"s": START, "w": PARAMS.baseline_days})}
    assert new not in got and new not in want
    assert got == want
