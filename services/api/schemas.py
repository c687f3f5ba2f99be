"""Request and response bodies of the API (pydantic). Money and kWh travel as decimal strings
("3394.00"), never floats, so nothing is lost between the database and the client."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from database.schema import BILL_STATUSES
from services.database_service import PAYMENT_METHODS

MAX_ID = 2 ** 63 - 1
Kwh = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False,
                               description="kWh, at most 2 decimals, as a number or a decimal string")]
BillStatus = Literal[BILL_STATUSES]  # type: ignore[valid-type]
PaymentMethod = Literal[PAYMENT_METHODS]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MeterReadingIn(Strict):
    """One meter reading from a field device or another system. Name the meter by its number or id."""

    meter_number: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                     examples=["19152159"])
    meter_id: int | None = Field(None, ge=1, le=MAX_ID)
    reading_value: Kwh = Field(examples=["10450.5"])
    reading_date: dt.date | None = Field(None, description="YYYY-MM-DD in the utility's time zone; default today")
    motor_reading_value: Kwh | None = Field(None, description="the shared motor meter's register, if read too")
    motor_share: Kwh | None = Field(None, description="this flat's share of the motor's kWh for the period")

    @model_validator(mode="after")
    def one_meter(self):
        if (self.meter_number is None) == (self.meter_id is None):
            raise PydanticCustomError("one_meter", "send exactly one of meter_number and meter_id")
        return self


class BillStatusIn(Strict):
    status: BillStatus = Field(description="pending (reopen / not overdue), overdue, cancelled, or paid "
                                           "(records a payment of the whole balance)")
    reason: str | None = Field(None, max_length=500, description="why; required except for paid")
    payment_method: PaymentMethod = Field("bank_transfer", description="for status paid")
    paid_on: dt.date | None = Field(None, description="for status paid; default today")


class WebhookCheckOut(BaseModel):
    status: Literal["ok"]
    webhook: str
    authenticated_as: str
    role: str
    method: str = Field(description="jwt (Auth0) or header_token")
    message: str


class BillSendIn(Strict):
    channel: Literal["email"] = Field("email", description="email: the bill's PDF attached")
    to: str | None = Field(None, max_length=254, description="send to this address instead of the owner's")
    resend: bool = Field(False, description="send again even though this bill was already sent on this channel")


class BillSendOut(BaseModel):
    bill_id: int
    bill_number: str
    status: Literal["sent", "failed", "skipped", "pending", "already_sent"] = Field(
        description="sent; failed (after retries: see error); skipped (email not configured or no address: see "
                    "error); already_sent (an earlier send stands: pass resend=true to send again)")
    notification_id: int = Field(description="the row in the notifications log")
    recipient: str | None
    attempts: int
    error: str | None
    message: str


class FlagOut(BaseModel):
    code: str
    reason: str


class ReadingOut(BaseModel):
    id: int
    meter_id: int
    meter_number: str | None
    account_code: str | None
    reading_value: Decimal
    reading_date: dt.date
    consumption: Decimal | None
    motor_share: Decimal | None
    status: str
    source: str
    flags: list[FlagOut]


class PaymentOut(BaseModel):
    id: int
    amount: Decimal
    paid_on: dt.date
    method: str
    reference: str | None
    recorded_by: str


class BillOut(BaseModel):
    id: int
    account_id: int
    account_code: str | None
    contact_id: int | None
    contact_name: str | None
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    status: str
    units: Decimal
    motor_units: Decimal
    total_units: Decimal
    rate_per_unit: Decimal
    fixed_charge: Decimal
    previous_outstanding: Decimal
    total_amount: Decimal
    amount_paid: Decimal
    balance: Decimal
    pricing_rule: str
    tariff_kind: str
    payment_link_url: str | None
    carried_forward_to: int | None
    reissue_of: int | None  # the bill this one replaced (a re-issue)
    superseded_by: int | None = None  # the bill that replaced this one (status superseded)
    first_reading_id: int | None = None  # the first and last readings the bill covers
    last_reading_id: int | None = None
    service: str = "electricity"
    area_path: str | None = None  # the account's area when the bill was issued, e.g. "B/FF"
    category: str | None = None
    plan_code: str | None = None  # the tariff plan and version that priced it
    plan_version: int | None = None
    flat_code: str | None = Field(None, deprecated=True, description="the same as account_code")
    owner_name: str | None = Field(None, deprecated=True, description="the same as contact_name")
    flat_units: Decimal | None = Field(None, deprecated=True, description="the same as units")


class BillLineOut(BaseModel):
    seq: int
    code: str
    label: str
    quantity: Decimal | None
    unit: str | None
    rate: Decimal | None
    amount: Decimal


class BillDetailOut(BillOut):
    payments: list[PaymentOut]
    arithmetic_ok: bool
    lines: list[BillLineOut] = Field(description="each rounded to 2 places half-up; they add up to total_amount")


class BillPageOut(BaseModel):
    items: list[BillOut]
    offset: int
    limit: int
    total: int | None
    has_next: bool


class NotificationOut(BaseModel):
    id: int
    kind: str
    channel: str
    status: str
    error: str | None


class MeterReadingOut(BaseModel):
    outcome: Literal["billed", "review", "approved", "rejected", "stored"] = Field(
        description="billed: approved and billed now; review: waits in the admin review queue (see message); "
                    "approved: approved but not billed yet; rejected: an admin rejected it; "
                    "stored: kept for the month-end run")
    message: str
    reading: ReadingOut
    bill: BillOut | None
    payment_link_url: str | None
    notifications: list[NotificationOut]


class StripeWebhookOut(BaseModel):
    received: bool = True
    event_id: str
    event_type: str
    outcome: str
    message: str
    bill_id: int | None
    bill_status: str | None
    redelivered: bool


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    backend: str
    integrations: dict[str, str]


class JobRunOut(BaseModel):
    id: int | None = None
    job_id: str
    run_key: str | None = None
    status: str
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    counts: dict | None = None
    error: str | None = None


class JobLastRunOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int | None = None
    run_key: str | None = None
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict | None = None
    error: str | None = None


class JobStatusOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    schedule: str
    next_run: str | None = Field(None, description="ISO 8601 in the job's time zone")
    last_run: JobLastRunOut | None


class RunJobOut(BaseModel):
    started: bool
    message: str
    run: JobRunOut | None


class FieldErrorOut(BaseModel):
    field: str
    message: str
    fix: str | None


class ErrorOut(BaseModel):
    error: str = Field(description="validation_error, authentication_required, forbidden, not_found, conflict, "
                                   "period_locked, bad_signature, payload_too_large, rate_limited, unavailable, "
                                   "internal_error")
    message: str
    fields: list[FieldErrorOut] = []


# ---- water usage (issue 13) ----------------------------------------------------------------------
Ccf = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False,
                               description="CCF, a decimal string with at most 2 places", examples=["0.45"])]


class UsageRowIn(Strict):
    """One day of a customer's water: its usage in CCF, or the meter's register that day. Name the
    customer (its code), the meter (its number), or both."""

    customer: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                 examples=["HS0000001"])
    meter: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    date: dt.date = Field(description="the day, YYYY-MM-DD (not in the future)")
    usage_ccf: Ccf | None = None
    meter_value: Ccf | None = Field(None, description="the register; its consumption since the previous reading "
                                                      "is spread evenly over the days it measured")


class UsageRowsIn(Strict):
    rows: list[UsageRowIn] = Field(min_length=1, max_length=5000)


class UsageImportOut(BaseModel):
    message: str
    stored: int = Field(description="days of usage stored")
    unchanged: int = Field(description="rows already stored with the same values (a repeat stores nothing)")
    readings: int = Field(description="meter readings stored")
    customers: int
    first_day: dt.date | None
    last_day: dt.date | None
    anomalies: dict[str, int] = Field(description="new anomalies per method, from detection of the months touched")
