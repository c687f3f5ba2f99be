"""DatabaseService: the one facade the UI, the API, the scheduler and ops scripts call.

It validates input, applies the pure rules (pricing, tariff, period locks, reading checks,
arrears), checks the actor's permission, and hands each unit of work to the storage backend
selected by configuration. Its small public API is documented in docs/architecture.md ("Using the services
from Python").
"""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from services import clock
from services.accounts.roles import SYSTEM, Actor, Permission, require
from services.accounts.utility import TEMPLATES, UtilitySettings
from services.accounts.utility import template as utility_template
from services.billing import quotes as bill_quote
from services.billing.coverage import CoveredReading
from services.billing.periods import (
    BillingPeriod, check_bill_not_locked, month_key, validate_new_lock,
)
from services.billing.pricing import PlanBook, PricedBill, recompute_bill
from services.billing.quotes import BillQuote  # noqa: F401  (re-exported: part of the stable API)
from services.config import ROOT
from services.errors import ConflictError, NotFoundError, ValidationError
from services.models import (
    Account, AccountFilter, Area, Bill, BillFilter, BillLine, BillRun, BillRunSummary, DashboardFigures, MeterChoice,
    MonthlyPoint, NewBill, NewReading, Page, Payment, PaymentResult, PeriodLock, Reading, ReadingFilter,
    ServiceConnection, StoredPlan,
)
from services.money import parse_decimal
from services.pricing_service import PricingService
from services.readings.checks import Flag, check_reading, history_points
from services.readings.meter_changes import MeterChange, check_final_reading, parse_meter_change
from services.readings.rules import (
    ReadingContext, ReadingPlan, assess_reading, check_meter, parse_reading_date, parse_reading_value,
)
from services.storage.base import Storage
from services.storage.scoping import actor_scoped
from services.text import refuses_nul
from services.trust_service import TrustServiceMixin
from services.water_service import WaterServiceMixin

# Methods a payment may be recorded with. A re-issue's credit (method "credit") is written only by
# the re-issue itself (services/storage/*: insert_bill), never recorded by hand.
PAYMENT_METHODS = ("cash", "upi", "bank_transfer", "cheque", "card", "stripe")
RUN_BATCH_SIZE = 5000


@dataclass(frozen=True)
class ReadingOutcome:
    reading: Reading
    created: bool  # False: the same reading was already stored (double tap); nothing new was written
    previous_value: Decimal | None
    previous_date: dt.date | None
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class BillDetail:
    bill: Bill
    payments: list[Payment]
    last_reading: Reading | None
    motor_reading: Reading | None
    recomputed_total: Decimal
    covered: tuple[tuple[CoveredReading, Reading], ...] = ()  # every reading the bill covers, oldest first
    lines: tuple[BillLine, ...] = ()
    lines_recompute: bool = True  # the stored lines are exactly those the stored inputs give

    @property
    def arithmetic_ok(self) -> bool:
        return self.recomputed_total == self.bill.total_amount and self.lines_recompute


def parse_date(value, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(field, f"'{value}' is not a date." if value else "is required.", "Use YYYY-MM-DD, e.g. 2026-11-30.")


# Text with \x00 is bad input on every backend (services/text.py). utility() takes no text and is
# asked for every number and amount a page formats.
@refuses_nul(exempt=("utility",))
@actor_scoped  # a call for an area-limited actor reads only their areas (services/storage/scoping.py)
class DatabaseService(WaterServiceMixin, TrustServiceMixin):
    def __init__(self, storage: Storage, pricing: PricingService | None = None, *,
                 today: Callable[[], dt.date] | None = None):
        self.storage = storage
        self.pricing = pricing or PricingService()
        # Today is the utility's date (its time zone), whatever the server's zone is.
        self.today = today or (lambda: self.utility().today())
        self._utility: UtilitySettings | None = None
        self._unscoped: DatabaseService | None = None  # set on a scoped view (scoped())

    @classmethod
    def from_url(cls, url: str, pricing: PricingService | None = None, **kwargs) -> "DatabaseService":
        """Open (and create, if empty) an SQLite or PostgreSQL database by SQLAlchemy URL."""
        from services.storage.sql_backend import SqlStorage

        return cls(SqlStorage(url), pricing, **kwargs)

    @property
    def backend_name(self) -> str:
        return self.storage.backend_name

    # ---- staff scoped to their areas -----------------------------------------------------------
    def scoped(self, scope) -> "DatabaseService":
        """This service over the storage as an area-limited actor sees it (Storage.scoped): every read
        of areas, accounts, bills, payments, readings and bank rows returns only what lies in
        `scope`; a record outside it is not found. The same pricing, clock and settings."""
        view = self.storage.scoped(scope)
        if view is self.storage:
            return self
        import copy

        clone = copy.copy(self)
        clone.storage = view
        clone._unscoped = self._unscoped or self  # whose utility settings it shows (read and refreshed once)
        return clone

    def for_actor(self, actor: Actor | None) -> "DatabaseService":
        """This service as `actor` sees the utility (their scope; everything for an actor that is not
        area-limited). The UI and the API bind each signed-in user's requests to it, so no page or
        endpoint can forget the scope."""
        return self.scoped(actor.scope) if actor is not None else self

    # ---- reference ---------------------------------------------------------------------
    def list_active_meters(self, search: str | None = None, offset: int = 0, limit: int = 50) -> Page[MeterChoice]:
        return self.storage.list_meter_choices(search, offset, limit)

    # ---- the utility and its reference data -------------------------------------------------
    def utility(self) -> UtilitySettings:
        """The utility this database serves (read once per service object; set_up_utility refreshes it;
        a scoped view shows its unscoped service's)."""
        if self._unscoped is not None:
            return self._unscoped.utility()
        if self._utility is None:
            row = self.storage.utility_settings_row()
            self._utility = UtilitySettings.from_row(row) if row else TEMPLATES["society"]
        return self._utility

    def set_up_utility(self, template: str = "society", *, actor: Actor | None = None, **changes) -> UtilitySettings:
        """Choose the utility's settings from a template (society, municipal, water), with changes,
        and store its tariff plan (data/tariffs/<template>.toml). Idempotent."""
        from services.tariffs import TariffPlan

        actor = require(actor, Permission.MANAGE_MASTER_DATA)
        settings = utility_template(template).with_changes(**changes)
        self.storage.save_utility_settings(settings.as_row(), actor)
        self.storage.save_tariff_plan(TariffPlan.load(ROOT / settings.plan_file), actor)
        (self._unscoped or self)._utility = settings
        return settings

    def update_utility(self, *, name: str | None = None, account_label: str | None = None,
                       account_label_plural: str | None = None, area_levels: list[str] | None = None,
                       billing_day=None, due_days=None, actor: Actor | None = None) -> UtilitySettings:
        """Edit the utility's name, its words and its billing calendar (the Utility page); arguments
        left None stay. Validated through UtilitySettings; stored and audited (utility.settings, what
        changed) by the storage. Area levels are renamed, never added or removed: the areas stored
        have that many levels. Template, currency, locale, time zone, service and plan are not
        editable here: they decide how the stored bills were priced and read."""
        actor = require(actor, Permission.MANAGE_MASTER_DATA)
        (self._unscoped or self)._utility = None  # read the stored row: another process may have changed it
        current = self.utility()
        changes: dict = {}
        for field, value in (("name", name), ("account_label", account_label),
                             ("account_label_plural", account_label_plural)):
            if value is not None:
                text = " ".join(str(value).split())
                if not text:
                    raise ValidationError(field, "is required.", "Enter the word your staff and customers use.")
                if len(text) > 64:
                    raise ValidationError(field, f"is {len(text)} characters long.", "Use at most 64 characters.")
                changes[field] = text
        if area_levels is not None:
            levels = tuple(" ".join(str(x).split()) for x in area_levels)
            if len(levels) != len(current.area_levels):
                raise ValidationError("area_levels", f"gives {len(levels)} level name(s), but the areas have "
                                      f"{len(current.area_levels)} levels.", "Rename the levels; keep one name per level.")
            for i, level in enumerate(levels):
                if not level or len(level) > 32:
                    raise ValidationError("area_levels", f"level {i + 1} needs a name of 1 to 32 characters.",
                                          "Name every level, top first (e.g. Block, Floor).")
            changes["area_levels"] = levels
        for field, value in (("billing_day", billing_day), ("due_days", due_days)):
            if value is not None:
                try:
                    changes[field] = int(str(value).strip())
                except ValueError:
                    raise ValidationError(field, f"'{value}' is not a whole number.", "Enter a number of days.") from None
        settings = current.with_changes(**changes)  # UtilitySettings checks the days and names
        if settings != current:
            self.storage.save_utility_settings(settings.as_row(), actor)
            (self._unscoped or self)._utility = settings
        return settings

    def plan_book(self) -> PlanBook:
        """The stored tariff plans, to price bills with (read each time: a plan may get a new version)."""
        return PlanBook(self.storage.list_tariff_plans(), self.pricing)

    def service_connection(self, account: Account, service: str | None = None) -> ServiceConnection:
        service = service or self.utility().service
        conn = self.storage.service_connection(account.id, service)
        if conn is None:
            raise ValidationError("account", f"{self.utility().account_label} {account.code} has no {service} connection.",
                                  "Connect it to the service (master data import) before billing it.")
        return conn

    def tariff_plans(self) -> list[StoredPlan]:
        return self.storage.list_tariff_plans()

    def preview_tariff(self, plan: "TariffPlan", *, quantity=None, period_end, category=None, unit_type=None,
                       account_code=None, shared_units=None, previous_outstanding=0):
        """What `plan` (stored, or edited and not saved yet) charges for a month ending `period_end`:
        the Tariff plans page's calculator. Nothing is stored."""
        from services.tariffs import quote

        end = parse_date(period_end, "period_end")
        kw = {}
        if plan.kind == "flat_rate":
            t = self.plan_book().flat_terms(plan, end, account_code, unit_type)
            kw = dict(account_code=account_code, unit_type=unit_type, shared_units=shared_units or 0,
                      rate_per_unit=t.rate_per_unit, fixed_charge=t.fixed_charge, pricing_rule=t.rule)
        elif plan.kind == "category_fee":
            kw = dict(category=category, unit_type=unit_type)
        return quote(plan, quantity=quantity, period_start=end.replace(day=1), period_end=end,
                     previous_outstanding=previous_outstanding, **kw)

    def add_tariff_plan_version(self, plan_code: str, params, effective_from, notes: str | None = None, *,
                                actor: Actor | None = None) -> StoredPlan:
        """Edit a plan: its new prices take effect on `effective_from` (after its last version's) as a
        new version; the versions stored before never change, so every bill keeps the prices that made
        it. Audited (tariff_plan.version)."""
        actor = require(actor, Permission.MANAGE_MASTER_DATA)
        stored = self.storage.get_tariff_plan(code=plan_code)
        if stored is None:
            raise NotFoundError(f"Tariff plan {plan_code} does not exist.")
        edited = stored.plan.with_new_version(params, parse_date(effective_from, "effective_from"), notes)
        return self.storage.save_tariff_plan(edited, actor)

    def list_areas(self, *, level: int | None = None, parent_id: int | None = None) -> list[Area]:
        return self.storage.list_areas(level=level, parent_id=parent_id)

    def get_area(self, area_id: int) -> Area:
        area = self.storage.get_area(area_id=area_id)
        if area is None:
            raise NotFoundError(f"Area {area_id} does not exist.")
        return area

    def list_accounts(self, flt: AccountFilter | None = None, offset: int = 0, limit: int = 50,
                      with_total: bool = True, actor: Actor | None = None) -> Page[Account]:
        require(actor, Permission.VIEW_BILLS)
        return self.storage.list_accounts(flt or AccountFilter(), offset, limit, with_total)

    def get_account(self, account: int | str) -> Account:
        found = (self.storage.get_account(account_id=account) if isinstance(account, int)
                 else self.storage.get_account(code=account))
        if found is None:
            label = self.utility().account_label
            raise ValidationError("account", f"unknown {label} {account}.",
                                  f"Use a {label} code from the master data (like B17-FF).")
        return found

    get_flat = get_account  # the society's word, kept for scripts written against it

    # ---- readings ----------------------------------------------------------------------
    def insert_meter_reading(self, *, reading_value, reading_date=None, meter_id: int | None = None,
                             meter_number: str | None = None, motor_reading_value=None, motor_share=None,
                             photo_ref: str | None = None, photo_url: str | None = None, source: str = "ui",
                             actor: Actor | None = None, ai_opinion: dict | None = None) -> ReadingOutcome:
        """Validate and store a reading; consumption = this - the previous reading of the meter in
        chain order (date, then the order stored). The neighbours are read and the rules applied
        inside the meter's lock, together with the insert (Storage.insert_reading_checked); a reading
        dated before a stored one re-measures that one in the same unit of work. The same (meter,
        date, value) sent twice, even at the same moment, returns the one stored row."""
        actor = require(actor, Permission.SUBMIT_READING)
        ref = meter_id if meter_id is not None else meter_number
        meter = (self.storage.get_meter(meter_id=meter_id) if meter_id is not None
                 else self.storage.get_meter(meter_number=meter_number) if meter_number else None)
        check_meter(meter, ref)
        today = self.today()
        date = parse_reading_date(reading_date if reading_date is not None else today, today=today)
        value = parse_reading_value(reading_value)
        motor_value = parse_decimal(motor_reading_value, "motor_reading_value", unit="kWh") \
            if motor_reading_value not in (None, "") else None
        share = parse_decimal(motor_share, "motor_share", maximum=Decimal("100000"), unit="kWh") \
            if motor_share not in (None, "") else None
        seen: dict = {}

        def build(ctx: ReadingContext) -> ReadingPlan:  # runs inside the meter's lock
            a = assess_reading(value, date, today=today, meter=ctx.meter or meter, meter_ref=ref,
                               previous=ctx.previous, following=ctx.following)
            flags = check_reading(a.consumption, a.days_since_previous, history_points(ctx.history))
            seen.update(previous=ctx.previous, flags=tuple(flags))
            return ReadingPlan(NewReading(
                meter_id=meter.id, reading_value=a.reading_value, reading_date=a.reading_date,
                consumption=a.consumption, previous_reading_id=a.previous_reading_id, motor_reading_value=motor_value,
                motor_share=share, photo_ref=photo_ref, photo_url=photo_url, source=source,
                flags=[f_.as_dict() for f_ in flags] or None, ai_opinion=ai_opinion,
            ), a.following_id, a.following_consumption)

        reading, created = self.storage.insert_reading_checked(meter.id, date, value, build, actor)
        if created:
            previous, flags = seen["previous"], seen["flags"]
        else:
            previous = self.storage.get_reading(reading.previous_reading_id) if reading.previous_reading_id else None
            flags = tuple(Flag(**f_) for f_ in (reading.flags or []))
        return ReadingOutcome(reading, created, previous.reading_value if previous else None,
                              previous.reading_date if previous else None, flags)

    @contextlib.contextmanager
    def meter_lock(self, *, meter_id: int | None = None, meter_number: str | None = None):
        """Hold a meter across several calls (the API stores, approves and bills a reading under it,
        so the same reading sent twice at once gets the same answer). An unknown meter holds nothing:
        the call inside refuses it."""
        meter = (self.storage.get_meter(meter_id=meter_id) if meter_id is not None
                 else self.storage.get_meter(meter_number=meter_number) if meter_number else None)
        if meter is None:
            yield
            return
        with self.storage.hold_meter(meter.id):
            yield

    def set_reading_photo_url(self, reading_id: int, photo_url: str, actor: Actor | None = None) -> None:
        """Attach the remote (Cloudinary) copy of a stored reading's photo, added after the reading is stored."""
        actor = require(actor, Permission.SUBMIT_READING)
        self.storage.set_reading_photo_url(reading_id, photo_url, actor)

    def meter_history(self, meter_id: int, limit: int = 12) -> list[Reading]:
        return self.storage.meter_history(meter_id, limit=limit)

    def list_pending_readings(self, flt: ReadingFilter | None = None, offset: int = 0, limit: int = 50,
                              actor: Actor | None = None) -> Page[Reading]:
        """Pending readings no bill references, filtered and paginated in the database."""
        require(actor, Permission.REVIEW_READINGS)
        flt = flt or ReadingFilter()
        return self.storage.list_readings(_replace(flt, status="pending", unbilled_only=True), offset, limit)

    def list_readings(self, flt: ReadingFilter, offset: int = 0, limit: int = 50, actor: Actor | None = None,
                      with_total: bool = True) -> Page[Reading]:
        actor = actor or SYSTEM
        if not actor.can(Permission.REVIEW_READINGS):
            require(actor, Permission.VIEW_OWN_SUBMISSIONS)
            flt = _replace(flt, submitted_by=actor.user_id)  # engineers only ever see their own
        return self.storage.list_readings(flt, offset, limit, with_total)

    def get_reading(self, reading_id: int) -> Reading:
        reading = self.storage.get_reading(reading_id)
        if reading is None:
            raise NotFoundError(f"Reading {reading_id} does not exist.")
        return reading

    def approve_reading(self, reading_id: int, actor: Actor | None = None, approved_units=None) -> Reading:
        actor = require(actor, Permission.REVIEW_READINGS)
        units = parse_decimal(approved_units, "approved_units", unit="kWh") if approved_units not in (None, "") else None
        return self.storage.review_reading(reading_id, approve=True, actor=actor, approved_units=units)

    def reject_reading(self, reading_id: int, reason: str, actor: Actor | None = None) -> Reading:
        actor = require(actor, Permission.REVIEW_READINGS)
        return self.storage.review_reading(reading_id, approve=False, actor=actor, reason=reason)

    def undo_review(self, reading_id: int, actor: Actor | None = None) -> Reading:
        """Send an approved or rejected reading back to pending while nothing rests on the decision
        (services/readings/undo.py); ConflictError says why when something does."""
        actor = require(actor, Permission.REVIEW_READINGS)
        return self.storage.undo_review(reading_id, actor)

    def bulk_approve_unflagged(self, reading_ids: list[int], actor: Actor | None = None) -> int:
        actor = require(actor, Permission.REVIEW_READINGS)
        return self.storage.approve_readings(list(reading_ids), actor, unflagged_only=True)

    # ---- meter changes ---------------------------------------------------------------------
    def record_meter_change(self, *, kind: str, change_date, final_reading, start_reading, reason: str,
                            meter_id: int | None = None, meter_number: str | None = None,
                            new_meter_number: str | None = None, actor: Actor | None = None) -> MeterChange:
        """Record a meter replacement or a register rollover (services/readings/meter_changes.py): the old chain's
        final reading (checked like any reading), for a replacement the new meter, and the new chain's
        start reading, in one unit of work under the meter's lock; audited as meter.change."""
        actor = require(actor, Permission.MANAGE_MASTER_DATA)
        ref = meter_id if meter_id is not None else meter_number
        meter = (self.storage.get_meter(meter_id=meter_id) if meter_id is not None
                 else self.storage.get_meter(meter_number=meter_number) if meter_number else None)
        today = self.today()
        req = parse_meter_change(kind, meter=meter, meter_ref=ref, change_date=change_date, final_value=final_reading,
                                 start_value=start_reading, new_meter_number=new_meter_number, reason=reason,
                                 today=today)

        def plan_final(ctx: ReadingContext) -> ReadingPlan:  # runs inside the meter's lock
            a = check_final_reading(req, ctx, today=today, meter=ctx.meter or meter)
            return ReadingPlan(NewReading(
                meter_id=req.meter_id, reading_value=a.reading_value, reading_date=a.reading_date,
                consumption=a.consumption, previous_reading_id=a.previous_reading_id, source="meter_change",
                status="approved"))

        return self.storage.record_meter_change(req, plan_final, actor)

    def list_meter_changes(self, meter_id: int | None = None, offset: int = 0, limit: int = 20,
                           actor: Actor | None = None) -> Page[MeterChange]:
        require(actor, Permission.MANAGE_MASTER_DATA)
        return self.storage.list_meter_changes(meter_id, offset, limit)

    # ---- pricing and bills -------------------------------------------------------------
    def quote_bill(self, flat: int | str, flat_units=None, motor_units=None, previous_outstanding=None, *,
                   reading_id: int | None = None, billing_period_start=None, billing_period_end=None) -> BillQuote:
        """Price a bill without storing it: the admin's preview, and exactly what create_bill stores
        for the same arguments (services/billing/quotes.py). With a reading, the bill covers every
        approved reading since the flat's last billed one; with a period start that an existing bill
        of the flat has (or a reading already billed), it is a re-issue of that bill."""
        start = parse_date(billing_period_start, "billing_period_start") if billing_period_start else None
        end = parse_date(billing_period_end, "billing_period_end") if billing_period_end else None
        return bill_quote.quote(self, flat, flat_units, motor_units, previous_outstanding, reading_id=reading_id,
                                billing_period_start=start, billing_period_end=end)

    def create_bill(self, flat: int | str, billing_period_start, billing_period_end, due_date, flat_units=None,
                    motor_units=None, previous_outstanding=None, *, last_reading_id: int | None = None,
                    motor_reading_id: int | None = None, actor: Actor | None = None) -> Bill:
        """Price (quote_bill) and store one bill. A locked month raises PeriodLockedError. A bill for a
        (flat, billing_period_start) that already has one is a re-issue: stored as a separate bill
        (start moved forward, reissue_of set) that replaces it (it becomes superseded; what was paid
        on it is credited). With last_reading_id the bill covers the readings since the last billed
        one (units default to theirs); without, it covers none and units is required."""
        actor = require(actor, Permission.CREATE_BILL)
        period = BillingPeriod(parse_date(billing_period_start, "billing_period_start"),
                               parse_date(billing_period_end, "billing_period_end"))
        due = parse_date(due_date, "due_date")
        if due < period.start:
            raise ValidationError("due_date", f"{due} is before the period start {period.start}.",
                                  "Pick a due date after the billing period.")
        check_bill_not_locked(period.start, period.end, self.storage.locked_months())
        q = self.quote_bill(flat, flat_units, motor_units, previous_outstanding, reading_id=last_reading_id,
                            billing_period_start=period.start, billing_period_end=period.end)
        cov = q.coverage
        new = _new_bill(
            q.account, q.connection.service, period, due, q.priced, q.carry_forward_bill_ids,
            last_reading_id=cov.last.reading_id if cov else None,
            first_reading_id=cov.first.reading_id if cov else None,
            motor_reading_id=motor_reading_id if motor_reading_id is not None else (
                cov.last.motor_reading_id if cov else None),
            reissue_of=q.replaces.id if q.replaces else None, covered=q.covered, replaced_paid=q.credit,
            credit_paid_on=self.today() if q.replaces else None,
            confirm_units=(cov.last.reading_id, q.confirm_units) if q.confirm_units is not None else None,
            number_series=self.bill_number_series(),
            usage_from=q.usage_period[0] if q.usage_period else None,
            usage_to=q.usage_period[1] if q.usage_period else None)
        return self.storage.insert_bill(new, actor)

    def bill_number_series(self) -> str:
        """The series a bill issued today takes its number from: "BC-2026" (database/bill_numbers.py)."""
        from database.bill_numbers import series_for

        return series_for(self.utility().short_code, self.today().year)

    def _check_billable_reading(self, reading_id: int, flat: int | str) -> Reading:
        reading = self.get_reading(reading_id)
        if reading.status != "approved":
            raise ConflictError(f"Reading {reading_id} is {reading.status}; approve it before billing.")
        f = self.get_account(flat)
        if reading.account_id != f.id:
            raise ValidationError("last_reading_id", f"reading {reading_id} is not a reading of {f.code}.",
                                  "Pick a reading of the account being billed.")
        return reading

    def bill_reading(self, reading_id: int, billing_period_start, billing_period_end, due_date, *,
                     flat_units=None, motor_units=None, previous_outstanding=None, actor: Actor | None = None) -> Bill:
        """Bill an approved reading: the bill covers every approved reading of the flat since its last
        billed one up to this one (a pending one before it is refused, naming it). Units default to
        theirs (each reading's units as confirmed by the admin, else its consumption); monthly units
        entered here are used as given and become this reading's confirmed units. A reading already
        on a bill is billed again only as a re-issue of that bill."""
        reading = self.get_reading(reading_id)
        if reading.account_id is None:
            raise ValidationError("reading", f"reading {reading_id} is of a shared-motor meter.",
                                  "Bill the accounts' readings; the motor share goes on each flat's bill.")
        return self.create_bill(reading.account_id, billing_period_start, billing_period_end, due_date, flat_units,
                                motor_units, previous_outstanding, last_reading_id=reading_id,
                                motor_reading_id=reading.motor_reading_id, actor=actor)

    def generate_bills_for_month(self, billing_period_start, billing_period_end, due_date, *, dry_run: bool = False,
                                 actor: Actor | None = None, batch_size: int = RUN_BATCH_SIZE,
                                 progress: Callable[[int, int], None] | None = None,
                                 area_id: int | None = None, on_batch=None, estimate: bool = False) -> BillRunSummary:
        """Bill every account of the utility's service for the period (area_id: only those under
        that area, e.g. one billing cycle), by its plan: a metered plan bills the approved, unbilled
        readings (or the daily usage) of the period, a fixed-fee plan every active account.

        Set-based: candidates are read a batch of accounts at a time, priced in memory with the same
        pricing and tariff rules as single bills, and each batch is inserted in one unit of work
        (sqlite3 executemany / PostgreSQL COPY). Flats already billed for the period are skipped and
        counted, so running again finishes a run that stopped half-way and creates no duplicates; a
        record left `running` by a run that died is closed as failed. A period touching a locked
        month is refused whole before anything is written. `progress(flats_done, created)` is called
        per batch. See services/billing/bill_run.py. `estimate`: a meter-read plan's accounts with no
        reading in the period are billed an estimate (services/billing/estimates.py); in every run a
        bill covering readings deducts its account's open estimate.
        """
        actor = require(actor, Permission.RUN_BILLING)
        period = BillingPeriod(parse_date(billing_period_start, "billing_period_start"),
                               parse_date(billing_period_end, "billing_period_end"))
        due = parse_date(due_date, "due_date")
        if due < period.start:
            raise ValidationError("due_date", f"{due} is before the period start {period.start}.",
                                  "Pick a due date after the billing period.")
        from services.billing import bill_run  # the run itself: services/billing/bill_run.py

        # Water: the period's anomalies (water_service.py), alongside the run where the database takes
        # two writers at once, else after it.
        alongside = None if dry_run else bill_run.detect_alongside(self, period, actor)
        try:
            summary = bill_run.run(self, period, due, dry_run=dry_run, actor=actor, batch_size=batch_size,
                                   progress=progress, area_id=area_id, on_batch=on_batch, estimate=estimate)
        finally:
            if alongside is not None:
                alongside.join()
        if not dry_run and alongside is None:
            self.detect_after_run(period.start, period.end, actor)
        return summary

    def get_bill(self, bill_id: int) -> Bill:
        bill = self.storage.get_bill(bill_id)
        if bill is None:
            raise NotFoundError(f"Bill {bill_id} does not exist.")
        return bill

    def bill_detail(self, bill_id: int, actor: Actor | None = None) -> BillDetail:
        require(actor, Permission.VIEW_BILLS)
        bill = self.get_bill(bill_id)
        lines = self.storage.list_bill_lines(bill_id)
        total, lines_ok = recompute_bill(bill, lines, self.plan_book())
        return BillDetail(
            bill, self.storage.list_payments(bill_id),
            self.storage.get_reading(bill.last_reading_id) if bill.last_reading_id else None,
            self.storage.get_reading(bill.motor_reading_id) if bill.motor_reading_id else None,
            total, tuple((c, self.get_reading(c.reading_id)) for c in self.storage.list_bill_readings(bill_id)),
            tuple(lines), lines_ok,
        )

    def list_bills(self, flt: BillFilter | None = None, offset: int = 0, limit: int = 50,
                   with_total: bool = True, actor: Actor | None = None) -> Page[Bill]:
        require(actor, Permission.VIEW_BILLS)
        flt = flt or BillFilter()
        if flt.overdue_only and flt.as_of is None:
            flt = _replace(flt, as_of=self.today())
        return self.storage.list_bills(flt, offset, limit, with_total)

    def iter_bills(self, flt: BillFilter | None = None, *, actor: Actor | None = None, page_size: int = 1000):
        """Every bill matching the filter, read a page at a time by id (for exports of a whole filter)."""
        require(actor, Permission.VIEW_BILLS)
        flt = flt or BillFilter()
        if flt.overdue_only and flt.as_of is None:
            flt = _replace(flt, as_of=self.today())
        after = 0
        while True:
            batch = self.storage.list_bills_after(flt, after, page_size)
            yield from batch
            if len(batch) < page_size:
                return
            after = batch[-1].id

    def record_payment(self, bill_id: int, amount, *, paid_on=None, method: str = "cash",
                       reference: str | None = None, actor: Actor | None = None,
                       external_id: str | None = None) -> PaymentResult:
        """Record a full or partial payment. A replayed external_id (e.g. a Stripe event) changes nothing."""
        actor = require(actor, Permission.RECORD_PAYMENT)
        if method not in PAYMENT_METHODS:
            raise ValidationError("method", f"'{method}' is not a payment method.", f"Use one of {', '.join(PAYMENT_METHODS)}.")
        paid = parse_date(paid_on, "paid_on") if paid_on not in (None, "") else self.today()
        if paid > self.today():
            raise ValidationError("paid_on", f"{paid} is in the future.", "Use the date the money was received.")
        return self.storage.record_payment(bill_id, amount=parse_decimal(amount, "amount"), paid_on=paid, method=method,
                                           reference=(reference or "").strip() or None, actor=actor,
                                           external_id=external_id)

    def mark_bill_paid(self, bill_id: int, *, paid_on=None, method: str = "cash", reference: str | None = None,
                       actor: Actor | None = None) -> PaymentResult:
        """Record a payment of the whole remaining balance."""
        bill = self.get_bill(bill_id)
        return self.record_payment(bill_id, bill.balance, paid_on=paid_on, method=method, reference=reference,
                                   actor=actor)

    def change_bill_status(self, bill_id: int, status: str, reason: str | None = None, *, actor: Actor | None = None,
                           method: str = "bank_transfer", paid_on=None) -> Bill:
        """Manual status change under the rules in services/billing/bill_status.py: amounts are never edited,
        `paid` records a payment of the balance, a paid bill is reopened only with a reason, bills of
        locked months keep their status. Audited (who, from, to, reason)."""
        from services.billing.bill_status import decide_status_change

        actor = require(actor, Permission.RECORD_PAYMENT)
        bill = self.get_bill(bill_id)
        change = decide_status_change(bill, status, reason, locked_months=self.storage.locked_months(),
                                      today=self.today())
        if change.action == "none":
            return bill
        if change.action == "pay":
            return self.mark_bill_paid(bill_id, paid_on=paid_on, method=method, actor=actor,
                                       reference=(change.reason or "")[:128] or None).bill
        return self.storage.set_bill_status(bill_id, change.status, actor, change.reason, expected_status=bill.status)

    def account_outstanding(self, account: int | str) -> Decimal:
        """What the account owes on its open bills. Invariant (tests/contract/test_billing_invariants.py):
        the current charges (total - previous_outstanding) of its bills that are neither superseded nor
        cancelled, less the payments on them (a re-issue's credit counted once, on the replacement)."""
        return self.storage.open_balance(self.get_account(account).id)[0]

    flat_outstanding = account_outstanding  # stable API (README): the society's name for it

    # ---- locks, dashboard ---------------------------------------------------------------
    def list_bill_runs(self, limit: int = 20, actor: Actor | None = None) -> list[BillRun]:
        require(actor, Permission.RUN_BILLING)
        return self.storage.list_bill_runs(limit)

    def locked_months(self) -> list[str]:
        return self.storage.locked_months()

    def lock_month(self, month: str, reason: str, actor: Actor | None = None) -> bool:
        """Close a month: from now on no bill may touch it. True when locked now, False when it
        already was. Audited (period.lock). A lock is never removed: period_locks is append-only
        in the database, and nothing in the app deletes one."""
        actor = require(actor, Permission.MANAGE_LOCKS)
        key, text = validate_new_lock(month, reason, self.today())
        return self.storage.add_period_lock(key, text, actor)

    def list_period_locks(self, actor: Actor | None = None) -> list[PeriodLock]:
        require(actor, Permission.MANAGE_LOCKS)
        return self.storage.list_period_locks()

    def dashboard(self, month: str | None = None, actor: Actor | None = None) -> DashboardFigures:
        require(actor, Permission.VIEW_REPORTS)
        return self.storage.dashboard_figures(month or month_key(self.today()), self.today())

    def monthly_series(self, months: int = 12, actor: Actor | None = None) -> list[MonthlyPoint]:
        require(actor, Permission.VIEW_REPORTS)
        cur = self.today().replace(day=1)
        keys = []
        for _ in range(months):
            keys.append(month_key(cur))
            cur = (cur - dt.timedelta(days=1)).replace(day=1)
        return self.storage.monthly_series(sorted(keys))

    def monthly_points(self, months: list[str], actor: Actor | None = None) -> list[MonthlyPoint]:
        """Figures of the given months ("2026-10"), so a dashboard can cache closed months longer."""
        require(actor, Permission.VIEW_REPORTS)
        return self.storage.monthly_series(sorted(month_key(parse_date(f"{m}-01", "month")) for m in months))


def _new_bill(account: Account, service: str, period: BillingPeriod, due: dt.date, priced: PricedBill,
              carry: tuple[int, ...], **refs) -> NewBill:
    return NewBill(
        account_id=account.id, area_id=account.area_id, tariff_plan_version_id=priced.tariff_plan_version_id,
        billing_period_start=period.start, billing_period_end=period.end, due_date=due, service=service,
        tariff_kind=priced.tariff_kind, pricing_rule=priced.pricing_rule, category=priced.category,
        units=priced.units, motor_units=priced.motor_units, total_units=priced.total_units,
        rate_per_unit=priced.rate_per_unit, fixed_charge=priced.fixed_charge,
        previous_outstanding=priced.previous_outstanding, total_amount=priced.total_amount, lines=priced.lines,
        tariff_details=priced.tariff_details, carry_forward_bill_ids=tuple(carry), **refs,
    )


def _replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)

