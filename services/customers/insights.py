"""What the portal tells a customer about their bills and usage (issue 16): the monthly usage series,
the anticipated next bill, and "Why is my bill different?". Reads only through the facade it is
given, which the portal binds to the customer's scope (services/customers/portal.py).

The anticipated bill is ONE function, `anticipate`, so a better next-bill forecast (issue 13's
service) can replace it without touching the pages: it takes the scoped facade and an account and
returns an `Anticipation`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from services.billing.periods import month_bounds
from services.models import Account, Bill, BillFilter
from services.readings.forecasts import forecast_period

GONE = ("superseded", "cancelled")  # replaced or withdrawn: not part of the customer's history
ZERO = Decimal("0")


def _month(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def account_bills(db, account_id: int, actor, limit: int = 36) -> list[Bill]:
    """The account's current bills (not superseded or cancelled), oldest first (at most `limit`)."""
    page = db.list_bills(BillFilter(account_id=account_id), 0, limit, with_total=False, actor=actor)
    return sorted((b for b in page.items if b.status not in GONE), key=lambda b: b.billing_period_start)


@dataclass(frozen=True)
class MonthUse:
    month: str  # "2026-07"
    quantity: Decimal  # units billed (kWh, CCF); 0 for a fixed fee
    amount: Decimal  # the bill's charges for the month (total less arrears)


def monthly_use(db, acct: Account, actor) -> list[MonthUse]:
    """A month per bill: usage from daily data where the utility has it (water), else the bill's units."""
    bills = account_bills(db, acct.id, actor)
    charges = {_month(b.billing_period_start): b.total_amount - b.previous_outstanding for b in bills}
    units = {_month(b.billing_period_start): b.units for b in bills}
    if db.utility().template == "water":
        today = db.today()
        first = dt.date(today.year - 1, 1, 1)
        for m in db.usage_by_month(acct.id, first, today, actor=actor):
            units[m.month] = m.quantity
    months = sorted(set(units) | set(charges))
    return [MonthUse(m, units.get(m, ZERO), charges.get(m, ZERO)) for m in months]


# ---- the anticipated bill ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Anticipation:
    period_start: dt.date
    period_end: dt.date
    amount: Decimal
    low: Decimal
    high: Decimal
    quantity: Decimal | None  # None for a fixed fee
    quantity_low: Decimal | None
    quantity_high: Decimal | None
    how: str  # one sentence


def _plan_for(db, acct: Account):
    u = db.utility()
    conn = db.storage.service_connection(acct.id, u.service)
    stored = db.storage.get_tariff_plan(code=conn.plan_code) if conn and conn.plan_code else None
    return stored.plan if stored else None


def _price(db, plan, acct: Account, quantity, end: dt.date) -> Decimal:
    q = db.preview_tariff(plan, quantity=quantity, period_end=end, category=acct.category,
                          unit_type=acct.account_type, account_code=acct.code)
    return q.current_charges


def anticipate(db, acct: Account, actor) -> Anticipation | None:
    """The next bill's likely amount with a range and how it was made (services/readings/forecasts.py
    on the customer's own history; priced by the account's tariff plan). None without enough history."""
    plan = _plan_for(db, acct)
    if plan is None:
        return None
    bills = account_bills(db, acct.id, actor)
    if plan.kind == "category_fee":
        start, end = month_bounds(db.today())
        fee = _price(db, plan, acct, None, end)
        return Anticipation(start, end, fee, fee, fee, None, None, None,
                            f"A fixed monthly fee for {acct.category or 'your category'}"
                            f"{' / ' + acct.account_type if acct.account_type else ''}: the same every month.")
    if db.utility().template == "water":
        # Water: the company's own anticipated bill (services/billing/anticipated.py), the month after the
        # last billed day, priced by the plan the month run uses; the portal only words it.
        a = db.anticipated_bill(acct.id, actor=actor)
        if a is None:
            return None
        f = a.forecast
        method = {"seasonal_regression": "the same season in past years and the day of the week",
                  "recent_weekday_mean": "the last four weeks by day of the week"}.get(f.method, f.method.replace("_", " "))
        return Anticipation(a.period_start, a.period_end, a.amount, min(a.low_amount, a.amount),
                            max(a.high_amount, a.amount), f.expected, f.low, f.high,
                            f"Forecast from your daily usage ({f.history_days} days) using {method}, priced with your "
                            "current tariff. 9 times in 10 the bill falls in this range.")
    else:
        # Metered by readings: each bill's units spread over its days make the daily history.
        history: dict[dt.date, Decimal] = defaultdict(Decimal)
        for b in bills:
            days = (b.billing_period_end - b.billing_period_start).days + 1
            for i in range(days):
                history[b.billing_period_start + dt.timedelta(days=i)] += Decimal(b.units) / days
        start = (bills[-1].billing_period_end + dt.timedelta(days=1)) if bills else db.today().replace(day=1)
        f = forecast_period(history.items(), start, month_bounds(start)[1]) if history else None
        basis = "your billed units"
    if f is None:
        return None
    spread = ""
    if basis == "your billed units" and bills:
        # Units spread evenly over a bill's days show no day-to-day spread: the range is at least what
        # the last three bills' units spanned.
        recent = [Decimal(b.units) for b in bills[-3:]]
        lo, hi = min([f.low] + recent), max([f.high] + recent)
        if (lo, hi) != (f.low, f.high):
            f = dataclasses.replace(f, low=lo.quantize(Decimal("0.01")), high=hi.quantize(Decimal("0.01")))
            spread = " The range is what your last three bills' units spanned."
    amounts = [_price(db, plan, acct, q, f.period_end) for q in (f.low, f.expected, f.high)]
    method = {"seasonal_regression": "the same season in past years and the day of the week",
              "recent_weekday_mean": "the last four weeks by day of the week"}.get(f.method, f.method.replace("_", " "))
    how = (f"Forecast from {basis} ({f.history_days} days) using {method}, priced with your current tariff."
           + (spread or " 9 times in 10 the bill falls in this range."))
    return Anticipation(f.period_start, f.period_end, amounts[1], min(amounts), max(amounts), f.expected, f.low,
                        f.high, how)


# ---- "Why is my bill different?" --------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    label: str  # "previous bill (September 2026)" / "same month last year (October 2025)"
    bill: Bill | None
    points: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Explanation:
    bill: Bill
    summary: str
    comparisons: list[Comparison]
    this_bill: list[str]  # season, tier reached, fees, arrears of the bill itself
    readings: list  # (CoveredReading, Reading) it was based on, with photos where they exist


def _line_map(lines) -> dict[str, Decimal]:
    return {ln.code: ln.amount for ln in lines}


def _pct(new: Decimal, old: Decimal) -> str:
    if old == 0:
        return ""
    return f" ({(new - old) / old * 100:+.0f}%)"


def _money(db, amount: Decimal) -> str:
    return db.utility().money(Decimal(amount))


def _compare(db, unit: str | None, this: Bill, this_lines, other: Bill | None, other_lines, label: str) -> Comparison:
    if other is None:
        return Comparison(label, None, ["There is no bill to compare with."])
    pts = []
    charges, other_charges = this.total_amount - this.previous_outstanding, other.total_amount - other.previous_outstanding
    diff = charges - other_charges
    pts.append(f"Charges for the period: {_money(db, charges)} against {_money(db, other_charges)}"
               + (f", {'up' if diff > 0 else 'down'} {_money(db, abs(diff))}{_pct(charges, other_charges)}." if diff else
                  ", the same."))
    if unit:
        du = this.units - other.units
        pts.append(f"You used {this.units} {unit} against {other.units} {unit}"
                   + (f" ({'+' if du > 0 else ''}{du} {unit}{_pct(this.units, other.units)})." if du else ", the same."))
    a, b = _line_map(this_lines), _line_map(other_lines)
    tiers_a = sorted(c for c in a if c.startswith("tier_"))
    tiers_b = sorted(c for c in b if c.startswith("tier_"))
    if tiers_a and tiers_b and tiers_a[-1] != tiers_b[-1]:
        pts.append(f"This bill reached tier {tiers_a[-1][5:]}; that one reached tier {tiers_b[-1][5:]} "
                   "(each tier's units cost more).")
    if ("seasonal" in a) != ("seasonal" in b):
        pts.append("A seasonal adjustment applies to this bill and not to that one." if "seasonal" in a else
                   "That bill had a seasonal adjustment; this one has none.")
    for code in sorted(set(a) | set(b)):
        if (code.startswith("fee_") or code == "fixed") and a.get(code) != b.get(code):
            pts.append(f"The {code.replace('fee_', '').replace('_', ' ')} charge is {_money(db, a.get(code, ZERO))}, "
                       f"was {_money(db, b.get(code, ZERO))}.")
    if this.previous_outstanding != other.previous_outstanding:
        pts.append(f"Unpaid amount brought forward: {_money(db, this.previous_outstanding)}, "
                   f"was {_money(db, other.previous_outstanding)}.")
    return Comparison(label, other, pts)


def explain(db, bill_id: int, actor) -> Explanation:
    """The bill against the previous one and the same month a year before, in plain sentences."""
    detail = db.bill_detail(bill_id, actor=actor)
    bill = detail.bill
    u = db.utility()
    unit = u.quantity_unit
    history = account_bills(db, bill.account_id, actor)
    before = [b for b in history if b.billing_period_start < bill.billing_period_start and b.id != bill.id]
    previous = before[-1] if before else None
    ly = bill.billing_period_start.replace(year=bill.billing_period_start.year - 1)
    last_year = next((b for b in before if b.billing_period_start.year == ly.year
                      and b.billing_period_start.month == ly.month), None)

    def lines_of(b):
        return db.bill_detail(b.id, actor=actor).lines if b is not None else ()

    comparisons = [
        _compare(db, unit, bill, detail.lines, previous, lines_of(previous),
                 f"Previous bill ({previous.billing_period_start:%B %Y})" if previous else "Previous bill"),
        _compare(db, unit, bill, detail.lines, last_year, lines_of(last_year),
                 f"Same month last year ({ly:%B %Y})"),
    ]
    mine = _line_map(detail.lines)
    this_bill = []
    for ln in detail.lines:
        if ln.code.startswith("tier_") or ln.code in ("seasonal", "arrears") or ln.code.startswith("fee_"):
            this_bill.append(f"{ln.label}: {_money(db, ln.amount)}")
    tiers = sorted(c for c in mine if c.startswith("tier_"))
    if tiers:
        this_bill.insert(0, f"Your usage reached tier {tiers[-1][5:]}.")
    summary_bits = []
    if previous is not None:
        d = (bill.total_amount - bill.previous_outstanding) - (previous.total_amount - previous.previous_outstanding)
        summary_bits.append("about the same as last time" if d == 0 else
                            f"{_money(db, abs(d))} {'more' if d > 0 else 'less'} than last time")
    if bill.previous_outstanding > 0:
        summary_bits.append(f"it includes {_money(db, bill.previous_outstanding)} unpaid from before")
    summary = (f"This bill for {bill.billing_period_start:%B %Y} is {_money(db, bill.total_amount)}"
               + (": " + "; ".join(summary_bits) if summary_bits else "") + ".")
    return Explanation(bill, summary, comparisons, this_bill, list(detail.covered))
