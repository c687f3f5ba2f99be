"""Pricing a bill with the tariff plan of the account's service connection (pure).

One function, `PlanBook.price`, prices every bill: a single bill and its preview
(services/billing/quotes.py), the month run (services/billing/bill_run.py), and the check that a
stored bill still recomputes (`recompute_bill`). It picks the plan version in effect on the
period's end date and returns the bill's columns and its lines, each line rounded to 2 places
half-up and the total their sum (services/tariffs/quote.py).

What a kind is priced from:
- flat_rate (society): the account's own units and its shared-motor units, with the rate, fixed
  charge and rule the plan version's parameters give (services/tariffs/flat_rate.resolve_terms:
  the master data spreadsheet, the BHK fixed charges, the special accounts), memoised per
  distinct (version, master-data row, BHK, special);
- tiered_seasonal (water): the period's metered quantity (daily usage summed, or readings);
- category_fee (municipal): the account's category and type; no quantity.

The bill keeps every input (`tariff_details` = the quote's inputs, plan version included), so
`recompute_bill` rebuilds its lines and total from what is stored.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from services.models import Bill, BillLine, StoredPlan, quick
from services.pricing_service import parse_identifier, unit_identifier
from services.tariffs import Quote, QuoteInputs, TariffPlan, quote, recompute
from services.money import round_money
from services.pricing_service import RULE_SPECIAL_9
from services.tariffs.flat_rate import Terms, resolve_terms
from services.tariffs.quote import MAX_QUANTITY

ZERO = Decimal("0.00")
ONE = Decimal(1)
# How each kind gets its quantity in a month run (Storage.bill_run_candidates' `source`).
QUANTITY_SOURCE = {"flat_rate": "readings", "tiered_seasonal": "usage", "category_fee": "none"}


@dataclass(frozen=True)
class PricedBill:
    """The priced columns of a bill (services.models.NewBill) and its lines."""

    tariff_plan_version_id: int
    tariff_kind: str
    pricing_rule: str
    units: Decimal
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal
    category: str | None
    lines: tuple[BillLine, ...]
    tariff_details: dict
    # The plan's Quote of this bill, made on demand: the month run never reads it, and building it
    # for every bill (its lines twice over, its inputs) was a third of the run's pricing time.
    make_quote: Callable[[], Quote] = field(compare=False, repr=False)

    @property
    def quote(self) -> Quote:
        return self.make_quote()

    @property
    def current_charges(self) -> Decimal:
        return self.total_amount - self.previous_outstanding


def bill_lines(q: Quote) -> tuple[BillLine, ...]:
    return tuple(BillLine(seq=i + 1, code=ln.code, label=ln.label, amount=ln.amount, quantity=ln.quantity,
                          unit=ln.unit, rate=ln.rate) for i, ln in enumerate(q.lines))


def _priced(q: Quote, version_id: int, category: str | None) -> PricedBill:
    i = q.inputs
    units = i.quantity if i.quantity is not None and q.kind != "category_fee" else ZERO
    motor = i.shared_units or ZERO
    usage_codes = {"energy", "seasonal", "arrears"}
    fixed = sum((ln.amount for ln in q.lines if ln.code not in usage_codes and not ln.code.startswith("tier_")), ZERO)
    return PricedBill(
        version_id, q.kind, i.pricing_rule or q.kind, units, motor, units + motor,
        i.rate_per_unit if q.kind == "flat_rate" else ZERO, fixed, q.previous_outstanding, q.total_amount,
        category, bill_lines(q), i.to_dict(), lambda: q)


# Priced bills remembered per PlanBook (one month run) for the kinds whose answer depends only on
# the quote's inputs; bounded so a run's memory stays flat.
MEMO_MAX = 10_000


def _exact(value):
    """A Decimal as it is written (10 and 10.00 are stored differently in tariff_details)."""
    return None if value is None else (type(value), str(value))


class PlanBook:
    """The stored tariff plans (loaded once), the society's memoised flat-rate terms, and the priced
    bills of the other kinds memoised by their inputs (a month run prices many alike: every
    municipal unit of a fee class without arrears; water customers who used the same quantity)."""

    def __init__(self, plans: list[StoredPlan], pricing):
        self.plans = {sp.id: sp for sp in plans}
        self.by_code = {sp.plan.code: sp for sp in plans}
        self.by_version_id = {vid: (sp, v) for sp in plans for v, vid in sp.version_ids.items()}
        self.pricing = pricing
        self._memo: dict[tuple, Terms] = {}
        self._priced: dict[tuple, PricedBill] = {}

    def plan(self, plan_id: int) -> StoredPlan:
        try:
            return self.plans[plan_id]
        except KeyError:
            from services.errors import ConfigurationError

            raise ConfigurationError(f"Tariff plan #{plan_id} is not stored; set the utility up again "
                                     "(python -m scripts.seed_demo, or the Tariff plans page).") from None

    def source(self, plan_id: int) -> str:
        return QUANTITY_SOURCE[self.plan(plan_id).plan.kind]

    def price(self, plan_id: int, *, period_start: dt.date, period_end: dt.date, previous_outstanding: Decimal,
              account_code: str, category: str | None, account_type: str | None = None,
              units: Decimal | None = None, motor_units: Decimal | None = None) -> PricedBill:
        sp = self.plan(plan_id)
        plan: TariffPlan = sp.plan
        key = None
        if plan.kind != "flat_rate":  # the flat's code, rate and fixed charge are not inputs of these kinds
            key = (plan_id, period_start, period_end, _exact(previous_outstanding), category, account_type,
                   _exact(units))
            found = self._priced.get(key)
            if found is not None:
                return found
        kw: dict = {}
        if plan.kind == "flat_rate":
            t = self.flat_terms(plan, period_end, account_code, category)
            fast = _flat_rate_fast(sp, plan, t, period_start, period_end, previous_outstanding, account_code,
                                   category, units, motor_units or ZERO)
            if fast is not None:
                return fast
            kw = dict(quantity=units, shared_units=motor_units or ZERO, account_code=account_code, unit_type=category,
                      rate_per_unit=t.rate_per_unit, fixed_charge=t.fixed_charge, pricing_rule=t.rule)
        elif plan.kind == "tiered_seasonal":
            kw = dict(quantity=units)
        elif plan.kind == "category_fee":
            kw = dict(category=category, unit_type=account_type)
        q = quote(plan, period_start=period_start, period_end=period_end, previous_outstanding=previous_outstanding,
                  **kw)
        priced = _priced(q, sp.version_id(q.plan_version), category)
        if key is not None and len(self._priced) < MEMO_MAX:
            self._priced[key] = priced
        return priced

    def flat_terms(self, plan: TariffPlan, period_end: dt.date, account_code: str | None,
                   category: str | None) -> Terms:
        """The rate, fixed charge and rule of a flat under the plan version in effect on period_end."""
        version = plan.version_for(period_end)
        params = version.params
        table = getattr(self.pricing, "_table", None) if self.pricing is not None else None
        if table is None or not account_code:
            return resolve_terms(params, account_code, category, self.pricing)
        code, bhk = parse_identifier(unit_identifier(account_code, category))
        key = (plan.code, version.version, table.get(code) if params.master_data else None, bhk,
               code in params.special_accounts)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = resolve_terms(params, account_code, category, self.pricing)
        return found

    def recompute(self, bill: Bill) -> Quote | None:
        """The quote a stored bill's inputs give with the plan version that priced it; None for a bill
        made before plans were stored (its total is checked by TariffRules.recompute instead)."""
        details = bill.tariff_details or {}
        if "plan_code" not in details or bill.tariff_plan_version_id not in self.by_version_id:
            return None
        sp, _ = self.by_version_id[bill.tariff_plan_version_id]
        return recompute(QuoteInputs.from_dict(details), sp.plan, pricing=self.pricing)


def recompute_bill(bill: Bill, lines: list[BillLine], book: PlanBook) -> tuple[Decimal, bool]:
    """(the total a stored bill's inputs give, whether its stored lines are exactly those of the
    recomputed quote). Bills made before plans were stored recompute by the seed's formula."""
    from services.tariff_rules import TariffRules

    q = book.recompute(bill)
    if q is None:
        total = TariffRules.recompute(bill)
        return total, (not lines or sum((ln.amount for ln in lines), ZERO) == total)
    same = [(ln.code, ln.amount) for ln in lines] == [(ln.code, ln.amount) for ln in q.lines]
    return q.total_amount, same


def _plain(d) -> bool:
    """A quantity or amount quote() would take as it is: a finite, non-negative Decimal of at most 2
    places within bounds. Anything else goes through quote(), which refuses it with its message."""
    return type(d) is Decimal and d.is_finite() and 0 <= d <= MAX_QUANTITY and d.as_tuple().exponent >= -2


def _flat_rate_fast(sp: StoredPlan, plan: TariffPlan, t: Terms, start, end, prev, account_code, category,
                    units, shared) -> PricedBill | None:
    """A flat-rate bill priced without quote()'s general checks, which are most of a 300,000-bill
    run's pricing time: the same lines, inputs and totals as services/tariffs/flat_rate.py gives
    (tests/unit/test_plan_book.py compares the two over random inputs, quotes included). None: not
    plain inputs."""
    if not (_plain(units) and _plain(shared) and _plain(prev) and type(start) is dt.date and type(end) is dt.date
            and start <= end):
        return None
    version = plan.version_for(end)
    unit, rate, fixed = plan.unit, t.rate_per_unit, t.fixed_charge
    total_units = units + shared
    label = f"Energy: {units} {unit}" + (f" + {shared} {unit} shared motor" if shared else "")
    energy, fixed_amount = round_money(total_units * rate), round_money(fixed)
    lines = [quick(BillLine, seq=1, code="energy", label=label, amount=energy, quantity=total_units, unit=unit,
                   rate=rate),
             quick(BillLine, seq=2, code="fixed", label=_FIXED_LABEL[t.rule == RULE_SPECIAL_9], amount=fixed_amount,
                   quantity=ONE, unit="month", rate=fixed)]
    total = energy + fixed_amount
    if prev:
        arrears = round_money(prev)
        lines.append(quick(BillLine, seq=3, code="arrears", label="Previous outstanding", amount=arrears))
        total += arrears
    code = None if account_code is None or not str(account_code).strip() else str(account_code).strip()
    unit_type = None if category is None or not str(category).strip() else str(category).strip()
    details = {"plan_code": plan.code, "plan_version": version.version, "period_start": start.isoformat(),
               "period_end": end.isoformat(), "quantity": str(units), "previous_outstanding": str(prev),
               "category": None, "unit_type": unit_type, "account_code": code, "shared_units": str(shared),
               "rate_per_unit": str(rate), "fixed_charge": str(fixed), "pricing_rule": t.rule}

    def make_quote() -> Quote:
        return recompute(QuoteInputs.from_dict(details), plan)

    return PricedBill(sp.version_id(version.version), "flat_rate", t.rule, units, shared, total_units, rate,
                      fixed_amount, prev.quantize(ZERO), total, category, tuple(lines), details, make_quote)


_FIXED_LABEL = {False: "Fixed charge", True: "Fixed charge (none at the special rate)"}
