"""Water: usage that arrives after its month's run, estimated bills and their true-up (issue 20;
services/billing/estimates.py), on every backend.

HS0000001 uses 0.5 CCF a day from April 2 (HS0000002 1.0, HS0000003 0.25); July is billed. August's
usage has not come when August is run with estimates: each customer is billed 31 days of its
average over the 90 days before (15.50, 31.00 and 7.75 CCF), marked estimated; no day is marked
billed, so August's usage is stored when it arrives (0.6 a day for HS0000001: 18.60). September's
bill charges every day since the last billed one, August 1 to September 30 (18.60 + 15.00), less
the 15.50 estimated: 18.10. Each CCF is billed once: 15.50 + 15.50 + 18.10 = 15.50 + 18.60 + 15.00.
"""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.billing.estimates import is_estimated, open_estimate
from services.models import BillFilter, NewUsage, UsageBatch
from tests.factories import ADMIN, admin_user, make_service, make_water

d = dt.date
JULY, AUGUST, SEPTEMBER = (d(2026, 7, 1), d(2026, 7, 31)), (d(2026, 8, 1), d(2026, 8, 31)), (d(2026, 9, 1), d(2026, 9, 30))


@pytest.fixture
def water(storage):
    return make_water(storage, start=d(2026, 4, 2), days=121)["accounts"]  # April 2 to July 31


def _run(db, period, **kw):
    return db.generate_bills_for_month(*period, period[1] + dt.timedelta(days=20), actor=ADMIN, **kw)


def _usage(storage, account_id, period, per_day):
    days = (period[1] - period[0]).days + 1
    batch = tuple(NewUsage(account_id, period[0] + dt.timedelta(days=i), D(per_day)) for i in range(days))
    return storage.store_usage(UsageBatch(batch, label="late.csv"), admin_user(storage))


def _bills(db, account_id):
    items = db.list_bills(BillFilter(account_id=account_id), 0, 100).items
    return sorted((b for b in items if b.status not in ("superseded", "cancelled")), key=lambda b: b.billing_period_start)


def _checks(storage):
    return {k: n for k, (n, _) in storage.billing_checks().items() if n}


def test_usage_that_came_after_its_months_run_is_billed_by_the_next_run(storage, water, today):
    db = make_service(storage, today)
    a, b = water["HS0000001"], water["HS0000002"]
    _run(db, JULY)
    _usage(storage, a, AUGUST, "0.5")
    assert _run(db, AUGUST).created == 1  # only HS0000001 has August usage yet
    _usage(storage, b, AUGUST, "1.0")  # HS0000002's August arrives late: no bill has those days
    _usage(storage, a, SEPTEMBER, "0.5")
    _usage(storage, b, SEPTEMBER, "1.0")
    assert _run(db, SEPTEMBER).created == 2
    sep_b = _bills(db, b)[-1]
    assert (sep_b.usage_from, sep_b.usage_to, sep_b.units) == (d(2026, 8, 1), d(2026, 9, 30), D("61.00"))
    sep_a = _bills(db, a)[-1]
    assert (sep_a.usage_from, sep_a.units) == (d(2026, 9, 1), D("15.00"))
    assert sum(x.units for x in _bills(db, b)) == D("31.00") + D("31.00") + D("30.00")  # every day once
    assert storage.usage_billed_to([b]) == {b: d(2026, 9, 30)}


def test_an_estimating_run_bills_the_average_and_the_late_usage_trues_it_up(storage, water, today):
    db = make_service(storage, today)
    a = water["HS0000001"]
    _run(db, JULY)
    aug = _run(db, AUGUST, estimate=True)
    assert (aug.created, aug.estimated, aug.no_basis) == (3, 3, 0)
    est = _bills(db, a)[-1]
    assert is_estimated(est.tariff_details) and est.units == D("15.50")
    assert (est.usage_from, est.usage_to) == (None, None)  # it charges no day of usage
    info = est.tariff_details["estimate"]
    assert (info["daily"], info["days"], info["basis_days"], info["season_factor"]) == ("0.5000", 31, 90, "1.0000")
    assert all("(estimated)" in ln.label for ln in storage.list_bill_lines(est.id) if ln.code.startswith("tier_"))
    assert _run(db, AUGUST, estimate=True).created == 0  # estimated once

    assert _usage(storage, a, AUGUST, "0.6") == 31  # the estimated days take their actual usage
    _usage(storage, a, SEPTEMBER, "0.5")
    sep = _run(db, SEPTEMBER, estimate=True)
    assert (sep.created, sep.estimated) == (3, 2)  # HS0000002 and HS0000003 estimated again
    trued = _bills(db, a)[-1]
    assert (trued.usage_from, trued.usage_to, trued.units) == (d(2026, 8, 1), d(2026, 9, 30), D("18.10"))
    assert trued.tariff_details["estimate"] == {"actual_units": "33.60", "deducted_units": "15.50"}
    assert sum(x.units for x in _bills(db, a)) == D("15.50") + D("18.60") + D("15.00")
    assert open_estimate(storage.estimate_entries([a], "water").get(a, [])) == D("0.00")
    assert _checks(storage) == {}


def test_a_single_bill_charges_the_late_days_and_trues_up_like_the_run(storage, water, today):
    db = make_service(storage, today)
    a = water["HS0000001"]
    _run(db, JULY)
    _run(db, AUGUST, estimate=True)
    _usage(storage, a, AUGUST, "0.6")
    _usage(storage, a, SEPTEMBER, "0.5")
    bill = db.create_bill("HS0000001", "2026-09-01", "2026-09-30", "2026-10-20", actor=ADMIN)
    assert (bill.usage_from, bill.units) == (d(2026, 8, 1), D("18.10"))
    assert bill.tariff_details["estimate"]["deducted_units"] == "15.50"
    again = db.create_bill("HS0000001", "2026-09-01", "2026-09-30", "2026-10-20", actor=ADMIN)  # a re-issue
    assert again.reissue_of == bill.id and (again.usage_from, again.units) == (d(2026, 8, 1), D("18.10"))
    assert sum(x.units for x in _bills(db, a)) == D("49.10")
    assert _checks(storage) == {}


def test_the_pdf_and_the_run_say_usage_and_the_true_up_says_its_days(storage, water, today):
    import io

    from pypdf import PdfReader

    from services.documents.service import BillDocuments

    db = make_service(storage, today)
    a = water["HS0000001"]

    def text(bill_id):
        pdf = BillDocuments(db).bill_pdf(bill_id, admin_user(storage))
        return " ".join(PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text().split())

    _run(db, JULY)
    assert "3 of them estimated (no usage in the period)" in _run(db, AUGUST, estimate=True).message
    est = text(_bills(db, a)[-1].id)
    assert "Water bill (estimated)" in est and "ESTIMATED BILL: no usage was measured this month" in est
    assert "0.5000 CCF a day: you used 45.00 CCF on the 90 days with usage from 3 May 2026 to 31 Jul 2026, x 1.0000 " \
           "for the season" in est and "x 31 days = 15.50 CCF" in est
    _usage(storage, a, AUGUST, "0.6")
    _usage(storage, a, SEPTEMBER, "0.5")
    _run(db, SEPTEMBER)
    trued = text(_bills(db, a)[-1].id)
    assert "charges the 33.60 CCF your meter measured from 1 Aug 2026 to 30 Sep 2026, less 15.50 CCF already " \
           "billed on estimated bills" in trued


def test_last_years_step_into_summer_scales_the_estimate(storage, today):
    """Last year: 1 CCF a day from April 2 to June 30, 2 a day in July; this year 1 a day from April 2.
    July estimated: 1 a day (the 90 days before), times last year's step into July (2), times 31: 62."""
    a = make_water(storage, start=d(2025, 4, 2), days=90)["accounts"]["HS0000002"]  # 1.0 CCF a day
    rows = [(d(2025, 7, 1), 31, "2.0"), (d(2026, 4, 2), 90, "1.0")]
    storage.bulk_insert("daily_usage", [{"account_id": a, "usage_date": first + dt.timedelta(days=i), "quantity": D(q),
                                         "source": "import"} for first, n, q in rows for i in range(n)])
    db = make_service(storage, today)
    jul = _run(db, JULY, estimate=True)
    assert (jul.created, jul.estimated, jul.no_basis) == (1, 1, 2)  # the others have no usage this year
    est = _bills(db, a)[-1]
    info = est.tariff_details["estimate"]
    assert (info["season_factor"], info["daily"], est.units) == ("2.0000", "2.0000", D("62.00"))
    assert info["season_basis"]["last_year_units"] == "62.00" and info["season_basis"]["before_days"] == 90


# ---- the invariant over random sequences --------------------------------------------------------------
# Each month from August to October, each customer's usage comes before the month's run, after it
# (with the next month's), or never; each run estimates or not; a single bill (or its re-issue) may
# bill a customer's month instead of the run. After every step, for every customer:
#   the units of its standing bills = its usage on the days they charged + its open estimate (>= 0),
#   no day of usage is charged by two standing bills, and every day up to its last billed day that has
#   usage is charged by one (nothing lost, nothing doubled).
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

from tests.contract.test_billing_invariants import fresh_storage  # noqa: E402,F401

MONTHS = (AUGUST, SEPTEMBER, (d(2026, 10, 1), d(2026, 10, 31)))
CODES = ("HS0000001", "HS0000002", "HS0000003")
month_plan = hs.tuples(hs.tuples(*[hs.sampled_from(["on_time", "late", "never"])] * 3), hs.booleans(),
                       hs.sampled_from([None, 0, 1, 2]), hs.booleans())


def _standing_days(db, account_id):
    days = []
    for b in _bills(db, account_id):
        if b.usage_from is not None:
            days += [b.usage_from + dt.timedelta(days=i) for i in range((b.usage_to - b.usage_from).days + 1)]
    return days


def _check_each_unit_once(storage, db, accounts):
    for code in CODES:
        a = accounts[code]
        bills = _bills(db, a)
        days = _standing_days(db, a)
        assert len(days) == len(set(days)), f"{code}: a day charged twice"
        stored = {x.usage_date: x.quantity for x in storage.list_daily_usage(a, JULY[0], d(2026, 12, 31))}
        charged = sum((stored.get(x, D("0")) for x in days), D("0"))
        billed_to = storage.usage_billed_to([a]).get(a)
        assert all(x in set(days) for x in stored if billed_to and JULY[0] <= x <= billed_to), f"{code}: a day left out"
        opened = open_estimate(storage.estimate_entries([a], "water").get(a, []))
        assert opened >= 0
        assert sum((b.units for b in bills), D("0")) == charged + opened, code
    assert _checks(storage) == {}


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plans=hs.lists(month_plan, min_size=3, max_size=3))
def test_each_unit_of_water_is_billed_once_over_any_sequence(fresh_storage, plans, today):
    storage = fresh_storage()
    accounts = make_water(storage, start=d(2026, 4, 2), days=121)["accounts"]
    db = make_service(storage, today)
    _run(db, JULY)
    late: list[tuple[int, tuple]] = []
    for period, (arrivals, estimating, single, reissue) in zip(MONTHS, plans):
        for a, p in late:
            _usage(storage, a, p, "0.7")
        late = []
        for code, arrival in zip(CODES, arrivals):
            if arrival == "on_time":
                _usage(storage, accounts[code], period, "0.4")
            elif arrival == "late":
                late.append((accounts[code], period))
        if single is not None:
            code = CODES[single]
            try:
                db.create_bill(code, period[0].isoformat(), period[1].isoformat(), (period[1] + dt.timedelta(20)).isoformat(),
                               actor=ADMIN)
                if reissue:
                    db.create_bill(code, period[0].isoformat(), period[1].isoformat(),
                                   (period[1] + dt.timedelta(20)).isoformat(), actor=ADMIN)
            except Exception as exc:  # noqa: BLE001 - no usage to bill: refused, naming the units
                assert getattr(exc, "field", None) == "units", exc
        _run(db, period, estimate=estimating)
        _check_each_unit_once(storage, db, accounts)
    for a, p in late:
        _usage(storage, a, p, "0.7")
    _run(db, (d(2026, 11, 1), d(2026, 11, 30)))  # the last late usage billed by November's run
    _check_each_unit_once(storage, db, accounts)


def test_a_customer_first_billed_on_an_estimate_is_billed_its_late_usage_from_that_month(storage, water, today):
    db = make_service(storage, today)
    a = water["HS0000001"]  # usage from April 2; July never billed
    assert _run(db, AUGUST, estimate=True).estimated == 3
    _usage(storage, a, AUGUST, "0.6")
    _usage(storage, a, SEPTEMBER, "0.5")
    _run(db, SEPTEMBER)
    sep = _bills(db, a)[-1]
    assert (sep.usage_from, sep.units) == (d(2026, 8, 1), D("33.60") - D("15.50"))


def test_a_single_bill_never_charges_days_a_later_bill_charged(storage, water, today):
    from services.errors import ConflictError

    db = make_service(storage, today)
    b = water["HS0000002"]
    _run(db, JULY)
    _usage(storage, b, AUGUST, "1.0")
    _usage(storage, b, SEPTEMBER, "1.0")
    _run(db, SEPTEMBER)  # August was never run: September's bill charges August too
    assert _bills(db, b)[-1].usage_from == d(2026, 8, 1)
    with pytest.raises(ConflictError) as e:
        db.create_bill("HS0000002", "2026-08-01", "2026-08-31", "2026-09-20", actor=ADMIN)
    assert "2026-09-30" in str(e.value)
    sep = _bills(db, b)[-1]
    again = db.create_bill("HS0000002", "2026-09-01", "2026-09-30", "2026-10-20", actor=ADMIN)  # a re-issue
    assert again.reissue_of == sep.id and (again.usage_from, again.usage_to, again.units) == (
        d(2026, 8, 1), d(2026, 9, 30), D("61.00"))
    assert sum(x.units for x in _bills(db, b)) == D("31.00") + D("61.00")


def test_an_earlier_month_run_after_a_later_one_was_estimated_bills_its_own_usage(storage, water, today):
    """Never billed; September is estimated first, then August's usage comes and August is run: August
    bills its own days (not from September's estimate on, which would leave them unbilled for good)."""
    db = make_service(storage, today)
    a = water["HS0000001"]
    assert _run(db, SEPTEMBER, estimate=True).estimated == 3
    _usage(storage, a, AUGUST, "0.5")
    assert _run(db, AUGUST).created == 1
    aug = _bills(db, a)[0]
    assert (aug.billing_period_start, aug.usage_from, aug.usage_to, aug.units) == (
        d(2026, 8, 1), d(2026, 8, 1), d(2026, 8, 31), D("15.50"))
    assert "estimate" not in (aug.tariff_details or {})  # an estimate of a later month is not deducted
    _usage(storage, a, SEPTEMBER, "0.5")
    _usage(storage, a, (d(2026, 10, 1), d(2026, 10, 31)), "0.5")
    _run(db, (d(2026, 10, 1), d(2026, 10, 31)))
    octo = _bills(db, a)[-1]
    assert (octo.usage_from, octo.units) == (d(2026, 9, 1), D("15.00") + D("15.50") - D("15.00"))
    assert _checks(storage) == {}
