"""Plain records passed between the storage backends, the services and the UI."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")


def from_mapping(cls, m):
    """Build a dataclass from a row mapping, ignoring keys the class does not have."""
    names = cls._field_names()
    return cls(**{k: m[k] for k in m.keys() if k in names})


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
class Flat(Record):
    id: int
    code: str
    block: str
    floor_code: str | None = None
    floor_name: str | None = None
    flat_type: str | None = None
    is_active: bool = True
    owner_name: str | None = None
    owner_phone: str | None = None
    owner_id: int | None = None


@dataclass(frozen=True)
class MeterChoice(Record):
    """An active meter as the field engineer picks it."""

    meter_id: int
    meter_number: str
    flat_id: int
    flat_code: str
    block: str
    floor_code: str | None = None
    floor_name: str | None = None
    flat_type: str | None = None
    owner_name: str | None = None
    owner_phone: str | None = None
    motor_code: str | None = None
    motor_meter_id: int | None = None
    motor_meter_number: str | None = None

    @property
    def label(self) -> str:
        parts = [self.flat_code, self.floor_name or self.floor_code or "", self.owner_name or "(no owner)",
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
    flat_id: int | None = None
    flat_code: str | None = None
    block: str | None = None
    floor_code: str | None = None
    owner_name: str | None = None
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
    flat_id: int
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    tariff_kind: str
    pricing_rule: str
    flat_units: Decimal
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal
    status: str
    amount_paid: Decimal = Decimal("0")
    tariff_details: dict | None = None
    paid_at: dt.datetime | None = None
    carried_forward_to: int | None = None
    overdue_notified_at: dt.datetime | None = None
    payment_link_id: str | None = None
    payment_link_url: str | None = None
    flat_reading_id: int | None = None  # the last reading the bill covers
    motor_reading_id: int | None = None
    first_reading_id: int | None = None  # the first reading the bill covers
    reissue_of: int | None = None  # the bill this one replaced
    superseded_by: int | None = None  # the bill that replaced this one (status superseded)
    bill_run_id: int | None = None
    created_by: int | None = None
    created_by_name: str = "system"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    # Joined, for display.
    flat_code: str | None = None
    block: str | None = None
    floor_code: str | None = None
    owner_name: str | None = None
    owner_phone: str | None = None
    owner_id: int | None = None

    @property
    def balance(self) -> Decimal:
        return self.total_amount - self.amount_paid

    @property
    def energy_charge(self) -> Decimal:
        return self.total_units * self.rate_per_unit


@dataclass(frozen=True)
class NewBill:
    """A priced bill ready to store. Every input of the arithmetic is here."""

    flat_id: int
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    tariff_kind: str
    pricing_rule: str
    flat_units: Decimal
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal
    flat_reading_id: int | None = None  # the last reading covered (the one billed)
    motor_reading_id: int | None = None
    bill_run_id: int | None = None
    tariff_details: dict | None = None
    first_reading_id: int | None = None  # the first reading covered
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


# NewBill fields that are not bills columns (what the bill carries, covers and credits).
NEW_BILL_LINKS = frozenset({"carry_forward_bill_ids", "covered", "replaced_paid", "credit_paid_on", "confirm_units"})


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
    """One flat not yet billed for a period, as the bill run sees it: its readings after each
    meter's last billed reading (dated up to the period end, approved or pending, oldest first;
    services.billing.coverage.run_chain picks what the bill covers) and its open bills."""

    flat_id: int
    flat_code: str
    flat_type: str | None
    tail: tuple  # tuple[services.billing.coverage.ChainReading, ...]
    outstanding: Decimal
    open_bill_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    """What storage.insert_bill_batch stored. `stale`: flats left out because their open bills or
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
    changed: tuple[int, ...] = ()  # flats skipped: they changed twice while being billed (a payment); run again


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


@dataclass(frozen=True)
class ReadingFilter:
    status: str | None = "pending"
    unbilled_only: bool = False
    block: str | None = None
    floor_code: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    flagged_only: bool = False
    unflagged_only: bool = False
    submitted_by: int | None = None
    meter_id: int | None = None
    flat_code: str | None = None  # prefix match
    flat_meters_only: bool = False  # exclude shared-motor meters


@dataclass(frozen=True)
class BillFilter:
    period_month: str | None = None  # "2026-10": bills whose period starts in that month
    statuses: tuple[str, ...] = ()
    block: str | None = None
    overdue_only: bool = False  # open bills past their due date (as of `as_of`)
    as_of: dt.date | None = None
    search: str | None = None  # flat code prefix or owner name
    flat_id: int | None = None
    owner_id: int | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None


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
    owner_id: int | None = None
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
