"""Pricing one bill: the single function behind both the admin's preview and what Save stores
(DatabaseService.quote_bill; create_bill stores exactly the quote it gets from it).

A quote decides, from one read of the database:
- what the bill covers (services/billing/coverage.py): for a reading, every approved reading of the flat
  since the last billed one up to it; a manual bill (no reading) covers none;
- whether it is a re-issue: the account already has a bill starting on the period start (followed
  along superseded_by to the bill that stands), or the reading is already on a bill. A re-issue
  replaces that bill (void-and-replace): it covers at least the readings that bill covered, it
  carries the arrears that bill carried (previous_outstanding; the bills carried into it move to
  the replacement), its current charges are recomputed, and what was paid on the replaced bill is
  credited to it. Refused when the replaced bill's balance was carried forward into a later bill
  (re-issue that one) or when more was paid than the replacement's total;
- the arrears of a new bill: what the account owes on its open bills (which it absorbs), or 0 (they
  stay open). Any other amount would charge arrears no bill backs, and is refused;
- the units: the covered readings' units unless the admin entered monthly units, which become the
  billed reading's confirmed units (never leaving it below zero), less the account's open estimate
  (services/billing/estimates.py: the true-up of estimated bills); for a plan priced by daily usage
  (water), the period's usage, and the bill records the days it charged.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.billing import estimates
from services.billing.coverage import Coverage, CoveredReading, check_confirmed, single_chain
from services.billing.pricing import PricedBill
from services.errors import ConflictError, ValidationError
from services.models import Account, Bill, ServiceConnection
from services.money import parse_decimal
from services.tariff_rules import MAX_UNITS

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BillQuote:
    account: Account
    connection: ServiceConnection
    priced: PricedBill  # the bill's columns and lines, by the plan of the account's service connection
    outstanding: Decimal  # what the account owes on open bills of the service now
    carry_forward_bill_ids: tuple[int, ...]
    replaces: Bill | None = None  # a re-issue: the bill this one replaces
    credit: Decimal = ZERO  # paid on the replaced bill: credited to this one when it is stored
    coverage: Coverage | None = None  # the readings this bill covers
    confirm_units: Decimal | None = None  # the billed reading's new confirmed units, when the admin changed them
    covered: tuple[CoveredReading, ...] = ()  # bill_readings rows
    usage_period: tuple[dt.date, dt.date] | None = None  # a usage-priced bill: the days of daily usage it charges

    @property
    def balance(self) -> Decimal:
        """What the owner still owes on the bill once it is stored (its total less the credit)."""
        return self.priced.total_amount - self.credit

    @property
    def total_amount(self) -> Decimal:
        return self.priced.total_amount


def _units(value, field: str, unit: str | None) -> Decimal:
    return parse_decimal(value, field, maximum=MAX_UNITS, unit=unit or "")


def quote(db, flat, flat_units=None, motor_units=None, previous_outstanding=None, *, reading_id: int | None = None,
          billing_period_start: dt.date | None = None, billing_period_end: dt.date | None = None) -> BillQuote:
    storage = db.storage
    f = db.get_account(flat)
    units = flat_units
    book = db.plan_book()
    conn = db.service_connection(f)
    unit = book.plan(conn.tariff_plan_id).plan.unit
    replaces = (storage.current_bill_at(f.id, billing_period_start, conn.service)
                if billing_period_start is not None else None)
    coverage = None
    if reading_id is not None:
        reading = db._check_billable_reading(reading_id, f.id)
        chain = storage.coverage_chain(f.id, reading.id, replaces.id if replaces else None)
        covering = chain[-1].covered_by if chain and chain[-1].reading_id == reading.id else None
        if covering is not None and (replaces is None or covering != replaces.id):
            if replaces is not None:
                raise ConflictError(
                    f"Reading #{reading.id} is on bill #{covering}, but the period start {billing_period_start} is "
                    f"bill #{replaces.id}'s. Nothing was stored; to re-issue bill #{covering}, keep its period start "
                    f"({db.get_bill(covering).billing_period_start}).")
            replaces = db.get_bill(covering)  # the reading is billed: this is a re-issue of its bill
            chain = storage.coverage_chain(f.id, reading.id, replaces.id)
        coverage = single_chain(chain, reading.id, replaces.id if replaces else None)
    if replaces is not None:
        _check_replaceable(storage, replaces, coverage)

    if coverage is not None:
        if units in (None, "") and not coverage.has_units:
            raise ValidationError("units", "the readings this bill covers have no consumption to bill (a meter's "
                                                "first reading).", "Enter the monthly units for the period.")
        units = coverage.units if units in (None, "") else _units(units, "units", unit)
        motor = coverage.motor_units if motor_units in (None, "") else _units(motor_units, "motor_units", unit)
        check_confirmed(coverage, units, motor)
        covered = coverage.rows(units, motor)
        confirm = covered[-1].units if units != coverage.units else None
    else:
        if units not in (None, ""):
            units = _units(units, "units", unit)
        motor = ZERO if motor_units in (None, "") else _units(motor_units, "motor_units", unit)
        covered, confirm = (), None

    start = billing_period_start or db.today().replace(day=1)
    end = billing_period_end or start
    usage_period = measured_to = None
    if coverage is None and book.source(conn.tariff_plan_id) == "usage":
        since, until = _usage_days(storage, f, conn.service, start, end, replaces)
        units, measured_to = _period_usage(storage, f, since, until, units, unit)
        usage_period = (since, measured_to or until)  # to the last day with usage, as the run (bill_run._price)

    owed, open_ids = storage.open_balance(f.id, conn.service)
    if replaces is not None:
        prev, carry, credit = replaces.previous_outstanding, (), replaces.amount_paid
        if previous_outstanding not in (None, "") and \
                parse_decimal(previous_outstanding, "previous_outstanding") != prev:
            raise ValidationError(
                "previous_outstanding", f"a re-issue of bill #{replaces.id} carries the arrears it carried, {prev}.",
                f"Leave the previous outstanding at {prev}: the bills carried into #{replaces.id} move to the "
                "replacement.")
    else:
        credit = ZERO
        if previous_outstanding in (None, ""):
            prev, carry = owed, open_ids
        else:
            prev = parse_decimal(previous_outstanding, "previous_outstanding")
            if prev == owed:
                carry = open_ids if prev > 0 else ()
            elif prev == 0:
                carry = ()  # the open bills stay open and are paid on their own
            else:
                raise ValidationError(
                    "previous_outstanding", f"{prev} is neither what {f.code} owes on its open bills ({owed}) nor 0.",
                    f"Enter {owed} to carry those bills forward into this one, or 0 to leave them open; any other "
                    "amount would charge arrears that no bill backs.")
    trued = None
    replaces_estimate = replaces is not None and estimates.is_estimated(replaces.tariff_details)
    # the readings' (or daily usage's) units less the estimates billed before them
    if coverage is not None or measured_to is not None or replaces_estimate:
        entries = storage.estimate_entries([f.id], conn.service, replaces.id if replaces else None).get(f.id, [])
        if replaces_estimate and estimates.open_estimate(entries) < 0:
            took = ", ".join(f"#{e.bill_id}" for e in entries if e.info.get("deducted_units"))
            raise ConflictError(
                f"Bill #{replaces.id} is an estimate that a later bill ({took}) already deducted from the units it "
                f"charged. Nothing was stored; re-issue that bill first, or leave bill #{replaces.id} as it is.")
        upto = coverage.last.reading_date if coverage is not None else measured_to
        if upto is not None and entries:
            trued = estimates.true_up(units, estimates.open_estimate(entries, upto))
            units = trued.billed if trued is not None else units
    priced = book.price(conn.tariff_plan_id, period_start=start, period_end=end,
                        previous_outstanding=prev, account_code=f.code, category=f.category,
                        account_type=f.account_type, units=units, motor_units=motor)
    if trued is not None:
        priced = estimates.mark(priced, trued.details(), estimates.true_up_label(trued, unit or ""))
    if credit > priced.total_amount:
        raise ValidationError(
            "units", f"{credit} was already paid on bill #{replaces.id}, more than this replacement's total of "
                          f"{priced.total_amount}.",
            "A replacement must come to at least what was paid on the bill it replaces; the difference would be a "
            "credit note, which Meterline does not issue yet. Nothing was stored.")
    return BillQuote(f, conn, priced, owed, tuple(carry), replaces, credit, coverage, confirm, covered, usage_period)


def _usage_days(storage, account: Account, service: str, start: dt.date, end: dt.date,
                replaces: Bill | None) -> tuple[dt.date, dt.date]:
    """The days a usage-priced bill of [start, end] may charge, as the month run decides them
    (services/storage/sql_bill_runs._usage_since; estimates.first_unbilled_day), to the period's
    end. A re-issue charges from the first day its bill charged; up to the last one when a later bill
    charges the days after it. A period whose days a later bill already charged is refused: nothing
    of it is left to bill."""
    billed = storage.usage_billed_to([account.id]).get(account.id)
    if replaces is not None and replaces.usage_from is not None:
        later = billed is not None and billed > replaces.usage_to
        return min(replaces.usage_from, start), replaces.usage_to if later else end
    if billed is not None and billed >= end:
        raise ConflictError(
            f"{account.code}'s daily usage is billed up to {billed}, past this period's end: a later bill "
            f"charged its days. Nothing was stored; re-issue that bill to change what it charged.")
    first = None
    if billed is None:
        entries = storage.estimate_entries([account.id], service).get(account.id, [])
        first = min((e.period_start for e in entries if e.info.get("estimated")), default=None)
    return estimates.first_unbilled_day(billed, first, start), end


def _period_usage(storage, account: Account, start: dt.date, end: dt.date, units,
                  unit: str | None) -> tuple[Decimal, dt.date | None]:
    """A usage-priced bill charges the daily usage of its days, as the month run does, and records the
    days it charged (usage_from/usage_to), so none is billed twice: the run skips the account and
    usage for those days is refused afterwards. Other units are refused; with no usage stored the
    admin's units are billed for the period (an estimate), and the period's days count as billed.
    Returns (the units, the last day with usage, None when none is stored)."""
    measured = storage.usage_totals([account.id], start, end).get(account.id)
    if measured is None:
        if units in (None, ""):
            raise ValidationError("units", f"no daily usage of {account.code} is stored for {start} to {end}.",
                                  "Import the period's usage first (then leave units empty), or enter the units to "
                                  "bill for the period.")
        return units, None
    if units not in (None, "") and units != measured.quantity:
        raise ValidationError("units", f"{account.code} used {measured.quantity} {unit or ''} from {start} to {end} "
                                       f"by its daily usage; the bill charges exactly that, not {units}.".replace("  ", " "),
                              "Leave units empty to bill the period's usage, or correct the usage first.")
    return measured.quantity, measured.last_date


def _check_replaceable(storage, replaces: Bill, coverage: Coverage | None) -> None:
    if replaces.status == "carried_forward":
        raise ConflictError(
            f"Bill #{replaces.id}'s balance was carried forward into bill #{replaces.carried_forward_to}, so it "
            f"cannot be replaced on its own. Nothing was stored; re-issue bill #{replaces.carried_forward_to}.")
    covered = {c.reading_id for c in storage.list_bill_readings(replaces.id)}
    if covered and coverage is None:
        raise ConflictError(
            f"Bill #{replaces.id} covers meter readings (up to #{replaces.last_reading_id}); a replacement without a "
            f"reading would leave them unbilled. Nothing was stored; re-issue it from reading "
            f"#{replaces.last_reading_id} (Bill a reading).")
    missing = covered - {r.reading_id for r in coverage.readings} if coverage is not None else set()
    if missing:
        raise ConflictError(
            f"Bill #{replaces.id} covers reading(s) {', '.join('#' + str(i) for i in sorted(missing))}, which this "
            f"replacement would not. Nothing was stored; re-issue it from reading #{replaces.last_reading_id} or later.")
