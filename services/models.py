"""Plain records passed between the storage backends, the services and the UI."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")


def from_mapping(cls, m):
    """Build a dataclass from a row mapping, ignoring keys the class does not have."""
    names = cls._field_names()
    return cls(**{k: m[k] for k in m.keys() if k in names})


_DEFAULTS: dict[type, tuple[dict, tuple, frozenset]] = {}  # defaults, factories, names


def quick(cls, **values):
    """An instance of the frozen dataclass `cls` with these field values (the rest at their defaults),
    made without the generated __init__. A frozen dataclass's __init__ sets each field through
    object.__setattr__ (about 0.2 us a field): the month run makes a few records per bill, a few
    hundred thousand bills a run, and that was a fifth of its pricing time. The instance is the
    same (equal, frozen, same fields); unknown names are refused as __init__ would. Only for
    classes without __post_init__."""
    known = _DEFAULTS.get(cls)
    if known is None:
        fields = dataclasses.fields(cls)
        if hasattr(cls, "__post_init__"):
            raise TypeError(f"{cls.__name__} has a __post_init__; build it with its constructor")
        known = _DEFAULTS[cls] = (
            {f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
            tuple((f.name, f.default_factory) for f in fields if f.default_factory is not dataclasses.MISSING),
            frozenset(f.name for f in fields))
    defaults, factories, names = known
    obj = object.__new__(cls)
    state = obj.__dict__
    state.update(defaults)
    for name, factory in factories:
        state[name] = factory()
    state.update(values)
    if state.keys() != names:
        unknown, missing = sorted(set(state) - names), sorted(names - set(state))
        raise TypeError(f"{cls.__name__}: " + "; ".join(
            ([f"no field(s) {unknown}"] if unknown else []) + ([f"missing field(s) {missing}"] if missing else [])))
    return obj


class Record:
    @classmethod
    def _field_names(cls) -> frozenset[str]:
        cached = cls.__dict__.get("_names_cache")
        if cached is None:
            cached = frozenset(f.name for f in dataclasses.fields(cls))
            setattr(cls, "_names_cache", cached)
        return cached

    @classmethod
    def from_row(cls, m):
        return from_mapping(cls, m)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    offset: int
    limit: int
    total: int | None = None  # None when the caller did not ask for a count

    @property
    def has_next(self) -> bool:
        if self.total is not None:
            return self.offset + len(self.items) < self.total
        return len(self.items) >= self.limit


@dataclass(frozen=True)
class Area(Record):
    """A node of the utility's area hierarchy (Block > Floor; City/Tehsil > Union Council; ...)."""

    id: int
    level: int
    code: str
    name: str
    path: str  # codes from the top joined by "/": "B/FF"
    parent_id: int | None = None
    kind: str | None = None
    sort_order: int = 0

    @property
    def top_code(self) -> str:
        return self.path.split("/", 1)[0]


@dataclass(frozen=True)
class Account(Record):
    """The billable unit: a flat, a consumer unit, a customer (with its area and primary contact)."""

    id: int
    code: str
    area_id: int
    name: str = ""
    area_path: str | None = None  # "B/FF"
    area_name: str | None = None  # the leaf area's name: "First Floor"
    category: str | None = None  # 2BHK; Small; residential
    account_type: str | None = None  # flat; Bakery; commercial
    is_active: bool = True
    address: str | None = None
    gps_lat: Decimal | None = None
    gps_lon: Decimal | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_id: int | None = None
    created_at: dt.datetime | None = None

    @property
    def top_area_code(self) -> str:
        """The code of the account's top-level area (the society's block)."""
        return (self.area_path or "").split("/", 1)[0]


@dataclass(frozen=True)
class ServiceConnection(Record):
    id: int
    account_id: int
    service: str
    tariff_plan_id: int
    is_active: bool = True
    started_on: dt.date | None = None
    plan_code: str | None = None
    plan_kind: str | None = None


@dataclass(frozen=True)
class StoredPlan:
    """A tariff plan as stored: the pure plan (services.tariffs.TariffPlan) and the ids of its rows."""

    id: int
    plan: object  # services.tariffs.TariffPlan
    version_ids: dict  # {version number: tariff_plan_versions.id}

    def version_id(self, version: int) -> int:
        return self.version_ids[version]


@dataclass(frozen=True)
class UsageTotal:
    """An account's measured quantity over a span of days (daily_usage aggregated in the database)."""

    account_id: int
    first_date: dt.date
    last_date: dt.date
    days: int
    quantity: Decimal
    # A bill run's candidate: the first day its bill charges (the day after the account's last billed
    # day, which is before the period when usage came after its month's run); None: the period start
    since: dt.date | None = None


@dataclass(frozen=True)
class DailyUsage(Record):
    id: int
    account_id: int
    usage_date: dt.date
    quantity: Decimal
    source: str = "import"
    meter_id: int | None = None


@dataclass(frozen=True)
class MeterChoice(Record):
    """An active meter as the field engineer picks it."""

    meter_id: int
    meter_number: str
    account_id: int
    account_code: str
    area_path: str | None = None
    area_name: str | None = None
    category: str | None = None
    unit: str = "kWh"
    contact_name: str | None = None
    contact_phone: str | None = None
    motor_code: str | None = None
    motor_meter_id: int | None = None
    motor_meter_number: str | None = None

    @property
    def label(self) -> str:
        parts = [self.account_code, self.area_name or self.area_path or "", self.contact_name or "(no name)",
                 f"meter {self.meter_number}"]
        return " - ".join(p for p in parts if p)


@dataclass(frozen=True)
class Reading(Record):
    id: int
    meter_id: int
    reading_value: Decimal
    reading_date: dt.date
    status: str
    consumption: Decimal | None = None
    previous_reading_id: int | None = None
    motor_reading_value: Decimal | None = None
    motor_share: Decimal | None = None
    motor_reading_id: int | None = None
    photo_ref: str | None = None
    photo_url: str | None = None
    source: str = "ui"
    flags: list | None = None
    ai_opinion: dict | None = None
    approved_units: Decimal | None = None
    rejection_reason: str | None = None
    submitted_by: int | None = None
    reviewed_by: int | None = None
    reviewed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    # Joined, for display.
    meter_number: str | None = None
    account_id: int | None = None
    account_code: str | None = None
    area_path: str | None = None
    contact_name: str | None = None
    unit: str | None = None
    submitted_by_name: str | None = None
    bill_id: int | None = None  # the bill that references this reading, if any

    @property
    def billable_units(self) -> Decimal | None:
        """Monthly units for billing: what the admin confirmed, else the computed consumption."""
        return self.approved_units if self.approved_units is not None else self.consumption


@dataclass(frozen=True)
class NewReading:
    meter_id: int
    reading_value: Decimal
    reading_date: dt.date
    consumption: Decimal | None
    previous_reading_id: int | None
    motor_reading_value: Decimal | None = None
    motor_share: Decimal | None = None
    motor_reading_id: int | None = None
    photo_ref: str | None = None
    photo_url: str | None = None
    source: str = "ui"
    flags: list | None = None
    ai_opinion: dict | None = None
    status: str = "pending"


@dataclass(frozen=True)
class Bill(Record):
    id: int
    account_id: int
    area_id: int
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    tariff_kind: str
    pricing_rule: str
    units: Decimal  # the account's own metered quantity (kWh, CCF; 0 for a fixed fee)
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal
    status: str
    service: str = "electricity"
    tariff_plan_version_id: int | None = None
    category: str | None = None
    amount_paid: Decimal = Decimal("0")
    tariff_details: dict | None = None
    paid_at: dt.datetime | None = None
    carried_forward_to: int | None = None
    overdue_notified_at: dt.datetime | None = None
    payment_link_id: str | None = None
    payment_link_url: str | None = None
    psid: str | None = None  # the payment id banks collect it by (services/billing/psid.py)
    last_reading_id: int | None = None  # the last reading the bill covers
    motor_reading_id: int | None = None
    first_reading_id: int | None = None  # the first reading the bill covers
    usage_from: dt.date | None = None  # the days of daily usage it charges
    usage_to: dt.date | None = None
    reissue_of: int | None = None  # the bill this one replaced
    superseded_by: int | None = None  # the bill that replaced this one (status superseded)
    bill_run_id: int | None = None
    created_by: int | None = None
    created_by_name: str = "system"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    bill_number: str | None = None  # BC-2026-000123 (database/bill_numbers.py); None only before the backfill
    # Joined, for display.
    account_code: str | None = None
    area_path: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_id: int | None = None
    plan_code: str | None = None
    plan_version: int | None = None
    contact_email: str | None = None

    @property
    def number(self) -> str:
        """The bill's number as people quote it (its id before it had one)."""
        return self.bill_number or f"#{self.id}"

    @property
    def balance(self) -> Decimal:
        return self.total_amount - self.amount_paid

    @property
    def current_charges(self) -> Decimal:
        """This period's charges, without the arrears carried in from earlier bills."""
        return self.total_amount - self.previous_outstanding

    @property
    def energy_charge(self) -> Decimal:
        return self.total_units * self.rate_per_unit


@dataclass(frozen=True)
class BillLine(Record):
    """One line of a bill, rounded to 2 places half-up; a bill's lines sum to its total."""

    seq: int
    code: str
    label: str
    amount: Decimal
    quantity: Decimal | None = None
    unit: str | None = None
    rate: Decimal | None = None
    id: int | None = None
    bill_id: int | None = None


@dataclass(frozen=True)
class BilledReading:
    """A reading a bill covers, as its document prints it."""

    reading_id: int
    reading_date: dt.date
    reading_value: Decimal
    units: Decimal  # what the bill charged for it
    motor_units: Decimal = Decimal("0")
    meter_number: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class UsagePoint:
    """One month of an account's bills (not superseded or cancelled): its quantity and current charges."""

    month: str  # "2026-10": the month the bill's period starts in
    quantity: Decimal
    charges: Decimal


@dataclass(frozen=True)
class BillParts:
    """What a bill's document shows besides the bill row (Storage.bill_document_parts)."""

    lines: tuple = ()  # tuple[BillLine, ...] in order
    readings: tuple = ()  # tuple[BilledReading, ...], oldest first
    history: tuple = ()  # tuple[UsagePoint, ...]: the account's months up to and including this bill's, oldest first
    account_name: str | None = None
    address: str | None = None
    replaces_number: str | None = None  # the number of the bill this one replaced (a re-issue)
    replaced_by_number: str | None = None  # the number of the bill that replaced this one


@dataclass(frozen=True)
class NewBill:
    """A priced bill ready to store. Every input of the arithmetic is here, with its lines."""

    account_id: int
    area_id: int
    tariff_plan_version_id: int
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    tariff_kind: str
    pricing_rule: str
    units: Decimal
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal
    service: str = "electricity"
    category: str | None = None
    lines: tuple = ()  # tuple[BillLine, ...]; their amounts sum to total_amount
    last_reading_id: int | None = None  # the last reading covered (the one billed)
    motor_reading_id: int | None = None
    bill_run_id: int | None = None
    tariff_details: dict | None = None
    first_reading_id: int | None = None  # the first reading covered
    usage_from: dt.date | None = None
    usage_to: dt.date | None = None
    # A re-issue: the bill this one replaces (it becomes superseded). Stored as bills.reissue_of.
    reissue_of: int | None = None
    # Open bills whose balance previous_outstanding absorbs; they become carried_forward.
    carry_forward_bill_ids: tuple[int, ...] = ()
    # Every reading the bill covers (bill_readings rows), oldest first.
    covered: tuple = ()  # tuple[services.billing.coverage.CoveredReading, ...]
    # A re-issue: what was paid on the replaced bill when it was priced; credited to this bill.
    replaced_paid: Decimal = Decimal("0")
    credit_paid_on: dt.date | None = None
    # The admin's monthly units on "Bill a reading": the billed reading's new confirmed units.
    confirm_units: tuple[int, Decimal] | None = None  # (reading id, approved_units)
    # The bill number series it takes its number from ("BC-2026": short code and year of issue);
    # None: the storage uses the utility's short code and the current year (database/bill_numbers.py).
    number_series: str | None = None
    # What the storage encoded ahead of its transaction (Storage.prepare_bill_batch, in the month
    # run's helper thread): on the SQL backend (tariff_details as canonical JSON, the seal's content
    # after the number and PSID). None: encoded when stored.
    encoded: tuple | None = None


# NewBill fields that are not bills columns (what the bill carries, covers and credits).
NEW_BILL_LINKS = frozenset({"carry_forward_bill_ids", "covered", "replaced_paid", "credit_paid_on", "confirm_units",
                            "lines", "number_series", "encoded"})


@dataclass(frozen=True)
class Payment(Record):
    id: int
    bill_id: int
    amount: Decimal
    paid_on: dt.date
    method: str
    reference: str | None = None
    external_id: str | None = None
    credit_from_bill: int | None = None  # method "credit": moved from the bill a re-issue replaced
    recorded_by: int | None = None
    recorded_by_name: str = "system"
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class PaymentResult:
    bill: Bill
    payment: Payment
    applied: bool  # False when the external_id was already recorded (a replay)


@dataclass(frozen=True)
class RunCandidate:
    """One account not yet billed for a period, as the bill run sees it: for a metered plan its
    readings after each meter's last billed reading (dated up to the period end, approved or
    pending, oldest first; services.billing.coverage.run_chain picks what the bill covers) or its
    daily usage in the period, and its open bills."""

    account_id: int
    account_code: str
    category: str | None
    tail: tuple  # tuple[services.billing.coverage.ChainReading, ...]
    outstanding: Decimal
    open_bill_ids: tuple[int, ...] = ()
    area_id: int | None = None
    account_type: str | None = None
    service: str = "electricity"
    tariff_plan_id: int | None = None
    usage: UsageTotal | None = None  # daily-usage plans: the period's measured quantity


@dataclass(frozen=True)
class BatchResult:
    """What storage.insert_bill_batch stored. `stale`: accounts left out because their open bills or
    readings changed after they were priced (a payment, a single bill); price them again."""

    created: int
    skipped: int
    total_amount: Decimal
    stale: tuple[int, ...] = ()


@dataclass(frozen=True)
class BillRunSummary:
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date
    dry_run: bool
    created: int = 0
    skipped: int = 0  # already billed for the period
    refused: int = 0  # refused by a period lock
    missing_units: int = 0  # approved reading with no units (a meter's first reading)
    total_amount: Decimal = Decimal("0")
    run_id: int | None = None
    status: str = "completed"
    message: str = ""
    waiting: int = 0  # an approved reading in the period waits behind a pending one (review it first)
    changed: tuple[int, ...] = ()  # accounts skipped: they changed twice while being billed (a payment); run again
    estimated: int = 0  # of `created`: estimated bills (no reading in the period; services/billing/estimates.py)
    no_basis: int = 0  # no reading in the period and too little history to estimate (an estimating run)


@dataclass(frozen=True)
class PeriodLock(Record):
    id: int
    month: str
    reason: str
    locked_by: str
    locked_at: dt.datetime
    bill_count_at_lock: int | None = None


@dataclass(frozen=True)
class BillRun(Record):
    id: int
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    status: str
    created_count: int
    skipped_count: int
    refused_count: int
    total_amount: Decimal
    started_by: str
    started_at: dt.datetime
    error: str | None = None
    finished_at: dt.datetime | None = None
    service: str = "electricity"
    area_id: int | None = None  # a run limited to one area (a billing cycle)


@dataclass(frozen=True)
class ReadingFilter:
    status: str | None = "pending"
    unbilled_only: bool = False
    area_id: int | None = None  # an area at any level: everything under it
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    flagged_only: bool = False
    unflagged_only: bool = False
    submitted_by: int | None = None
    meter_id: int | None = None
    account_code: str | None = None  # prefix match
    account_id: int | None = None  # exactly this account's meters (its page, its timeline)
    account_meters_only: bool = False  # exclude shared-motor meters
    # The order of the whole list, in the database: a key of READING_SORTS.
    sort: str = "date"
    descending: bool = True


@dataclass(frozen=True)
class AccountFilter:
    area_id: int | None = None  # an area at any level: everything under it
    category: str | None = None
    account_type: str | None = None
    is_active: bool | None = None
    search: str | None = None  # account code prefix, or part of its name or its primary contact's


_BILL_NUMBER = re.compile(r"[A-Za-z0-9]{1,8}-\d{4}(-\d*)?")


def looks_like_bill_number(term: str | None) -> bool:
    """A search for a bill number or its start (BC-2026-000123, BC-2026-0001, BC-2026), not an
    account code (B17-FF, SP-KSR-4829173, HS0000001) or a name."""
    return bool(term and _BILL_NUMBER.fullmatch(term.strip()))


# The columns a list may be sorted by, across every row in the database (a whitelist: nothing a
# user sends reaches ORDER BY). Keys are the lists' column names; values the stored column.
BILL_SORTS = {"period": "billing_period_start", "number": "bill_number", "account": "account_code",
              "total": "total_amount", "paid": "amount_paid", "status": "status", "due": "due_date", "bill": "id"}
READING_SORTS = {"date": "reading_date", "reading": "reading_value", "used": "consumption", "status": "status",
                 "account": "account_code", "reading_id": "id"}


def sort_column(sorts: dict[str, str], key: str) -> str:
    """The stored column of a sort key, or a ValidationError naming the keys there are."""
    from services.errors import ValidationError  # errors imports nothing from here; keeps models first

    if key not in sorts:
        raise ValidationError("sort", f"cannot be {key!r}.", f"Sort by one of: {', '.join(sorts)}.")
    return sorts[key]


@dataclass(frozen=True)
class BillFilter:
    period_month: str | None = None  # "2026-10": bills whose period starts in that month
    statuses: tuple[str, ...] = ()
    area_id: int | None = None  # an area at any level: everything under it
    overdue_only: bool = False  # open bills past their due date (as of `as_of`)
    as_of: dt.date | None = None
    search: str | None = None  # account code prefix or contact name; or a bill number (or its start)
    account_id: int | None = None
    contact_id: int | None = None
    category: str | None = None
    service: str | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    bill_run_id: int | None = None  # the bills a month run stored
    # The order of the whole list, in the database: a key of BILL_SORTS (amounts sort as numbers).
    sort: str = "period"
    descending: bool = True


@dataclass(frozen=True)
class User(Record):
    id: int
    username: str
    role: str
    display_name: str = ""
    email: str | None = None
    password_hash: str | None = None
    auth_provider: str = "local"
    is_active: bool = True
    failed_login_count: int = 0
    locked_until: dt.datetime | None = None
    login_attempts_in_flight: int = 0
    login_attempt_at: dt.datetime | None = None
    password_changed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class UserSession(Record):
    id: int
    token_hash: str
    user_id: int
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    created_at: dt.datetime | None = None
    client: str | None = None
    revoked_at: dt.datetime | None = None
    revoked_reason: str | None = None


@dataclass(frozen=True)
class AuditEntry(Record):
    id: int
    occurred_at: dt.datetime
    actor_name: str
    action: str
    actor_id: int | None = None
    client: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    details: dict | None = None


@dataclass(frozen=True)
class Notification(Record):
    id: int
    kind: str
    channel: str
    message: str
    status: str
    bill_id: int | None = None
    contact_id: int | None = None
    recipient: str | None = None
    provider_message_id: str | None = None
    error: str | None = None
    attempts: int = 0
    resend_of: int | None = None
    created_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None


@dataclass(frozen=True)
class PaymentEvent(Record):
    id: int
    event_type: str
    outcome: str
    provider: str = "stripe"
    bill_id: int | None = None
    stripe_event_id: str | None = None
    payment_link_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    event_data: dict | None = None
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class JobRun(Record):
    id: int
    job_id: str
    run_key: str
    status: str
    started_at: dt.datetime
    counts: dict | None = None
    error: str | None = None
    host: str | None = None
    finished_at: dt.datetime | None = None


@dataclass(frozen=True)
class DashboardFigures:
    month: str
    billed: Decimal
    bill_count: int
    collected: Decimal
    outstanding: Decimal
    pending_readings: int
    overdue_count: int

    @property
    def collection_rate(self) -> Decimal | None:
        if not self.billed:
            return None
        return (self.collected / self.billed * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class MonthlyPoint:
    month: str
    consumption: Decimal
    billed: Decimal
    collected: Decimal
    bill_count: int = 0


@dataclass
class TableCounts:
    counts: dict[str, int] = field(default_factory=dict)


# ---- water: usage, anomalies (issue 13) -------------------------------------------------------
@dataclass(frozen=True)
class NewUsage:
    """A day's usage to store (services/readings/usage.py). `reading_ref`: the index, in the same
    UsageBatch's `readings`, of the register reading it was measured by; `reading_id`: a stored one."""

    account_id: int
    usage_date: dt.date
    quantity: Decimal
    source: str = "import"  # import | reading | interval
    meter_id: int | None = None
    reading_ref: int | None = None
    reading_id: int | None = None


@dataclass(frozen=True)
class BatchReading:
    """A register value of a usage file, stored as an approved reading of its meter's chain: the
    first of a meter in the batch follows `previous_reading_id` (the meter's last reading when the
    batch was made, checked again when it is stored), the next ones the one before in the batch."""

    meter_id: int
    reading_date: dt.date
    reading_value: Decimal
    consumption: Decimal | None
    previous_reading_id: int | None


@dataclass(frozen=True)
class UsageBatch:
    """One unit of work of usage (Storage.store_usage): rows, and the register readings they come from."""

    rows: tuple[NewUsage, ...]
    readings: tuple[BatchReading, ...] = ()
    approve_reading_id: int | None = None  # a pending reading approved together with its usage rows
    approve_consumption: Decimal | None = None  # ... as it was when its usage was worked out
    label: str | None = None  # what it came from (a file name), for the audit


@dataclass(frozen=True)
class UsageMonth:
    month: str  # "2026-07"
    days: int  # days with usage
    quantity: Decimal
    peak: Decimal  # the highest day
    zero_days: int = 0


@dataclass(frozen=True)
class UsageAnomaly(Record):
    id: int
    account_id: int
    area_id: int
    method: str
    period_start: dt.date
    period_end: dt.date
    usage_date: dt.date
    usage: Decimal
    score: Decimal
    status: str
    baseline: Decimal | None = None
    spread: Decimal | None = None
    history_days: int = 0
    params: dict | None = None
    detected_at: dt.datetime | None = None
    detected_by: str = "system"
    outcome: str | None = None
    review_note: str | None = None
    reviewed_by: int | None = None
    reviewed_by_name: str | None = None
    reviewed_at: dt.datetime | None = None
    # Joined, for display.
    account_code: str | None = None
    account_name: str | None = None
    account_type: str | None = None
    area_path: str | None = None


@dataclass(frozen=True)
class AnomalyFilter:
    status: str | None = "open"  # open | reviewed | None for both
    area_id: int | None = None  # an area at any level: everything under it
    method: str | None = None
    account_type: str | None = None
    account_id: int | None = None
    min_score: Decimal | None = None  # the size of the deviation (the method's score)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class AnomalyCount:
    """Accounts a method flagged in a period (usage_anomalies grouped in the database)."""

    period_start: dt.date
    method: str
    accounts: int
    reviewed: int = 0


@dataclass(frozen=True)
class Contact(Record):
    id: int
    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
