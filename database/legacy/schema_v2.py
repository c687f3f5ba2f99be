"""Meterline schema version 2 (issue 11: bill coverage, re-issues, meter changes), FROZEN: the shape
the upgrade to version 3 copies from (database/migrations.py). Do not edit.

SQLAlchemy Core metadata drives SQLite and PostgreSQL (and `database/supabase_schema.sql`
is generated from it). Business rules the database can hold are here as constraints and
triggers (see `database/triggers.py`), so a direct SQL write cannot break them either.

Money columns are NUMERIC(14,2); rates NUMERIC(10,4); energy NUMERIC(12,2) kWh.
On SQLite NUMERIC values come back through SQLAlchemy's Decimal conversion at the
column's scale, so 2-place amounts round-trip exactly; sums are taken in integer
minor units (see `services/storage/sql_common.money_sum`).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 2

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT identity on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
Money = sa.Numeric(14, 2)
Energy = sa.Numeric(12, 2)
Rate = sa.Numeric(10, 4)


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use services.clock.utcnow()")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # rows written by plain SQL on SQLite
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _pk() -> sa.Column:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)


def _created() -> sa.Column:
    return sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp())


def _updated() -> sa.Column:
    return sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp())


def _fk(name: str, target: str, nullable: bool = True, ondelete: str | None = None) -> sa.Column:
    return sa.Column(name, Id, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


READING_STATUSES = ("pending", "approved", "rejected")
# superseded: replaced by a re-issue (bills.superseded_by); terminal, never open, never summed.
BILL_STATUSES = ("pending", "partially_paid", "paid", "overdue", "carried_forward", "cancelled", "superseded")
OPEN_BILL_STATUSES = ("pending", "partially_paid", "overdue")
METER_STATUSES = ("active", "inactive", "replaced")
NOTIFICATION_STATUSES = ("pending", "sent", "failed", "skipped")
RUN_STATUSES = ("running", "completed", "failed", "refused")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


floors = sa.Table(
    "floors", metadata,
    _pk(),
    sa.Column("code", sa.String(8), nullable=False, unique=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
)

flat_types = sa.Table(
    "flat_types", metadata,
    _pk(),
    sa.Column("name", sa.String(16), nullable=False, unique=True),  # "2BHK"
    sa.Column("bhk", sa.Integer, nullable=True),
    sa.CheckConstraint("bhk IS NULL OR bhk > 0", name="bhk_positive"),
)

flats = sa.Table(
    "flats", metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),  # "B17-FF"
    sa.Column("block", sa.String(8), nullable=False, server_default=""),
    _fk("floor_id", "floors.id"),
    _fk("type_id", "flat_types.id"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    _created(),
    sa.Index(None, "block", "floor_id"),
    sa.Index(None, "floor_id"),
    sa.Index(None, "type_id"),
)

owners = sa.Table(
    "owners", metadata,
    _pk(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("phone", sa.String(20), nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    _created(),
    sa.Index(None, "name"),
)

flat_owners = sa.Table(
    "flat_owners", metadata,
    _pk(),
    _fk("flat_id", "flats.id", nullable=False),
    _fk("owner_id", "owners.id", nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("flat_id", "owner_id"),
    sa.Index(None, "owner_id"),
    # At most one primary owner per flat.
    sa.Index("uq_flat_owners_primary", "flat_id", unique=True,
             sqlite_where=sa.text("is_primary"), postgresql_where=sa.text("is_primary")),
)

motors = sa.Table(
    "motors", metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),  # "MOTOR-B"
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    _created(),
)

flat_motors = sa.Table(
    "flat_motors", metadata,
    _pk(),
    _fk("flat_id", "flats.id", nullable=False),
    _fk("motor_id", "motors.id", nullable=False),
    sa.UniqueConstraint("flat_id", "motor_id"),
    sa.Index(None, "motor_id"),
)

meters = sa.Table(
    "meters", metadata,
    _pk(),
    sa.Column("meter_number", sa.String(32), nullable=False, unique=True),
    _fk("flat_id", "flats.id"),
    _fk("motor_id", "motors.id"),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("is_smart", sa.Boolean, nullable=False, server_default=sa.false()),
    _created(),
    sa.CheckConstraint(_in("status", METER_STATUSES), name="status_valid"),
    # A meter measures a flat or a shared motor, never neither.
    sa.CheckConstraint("flat_id IS NOT NULL OR motor_id IS NOT NULL", name="has_owner"),
    sa.Index(None, "flat_id"),
    sa.Index(None, "motor_id"),
    sa.Index(None, "status"),
)

users = sa.Table(
    "users", metadata,
    _pk(),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False, server_default=""),
    sa.Column("email", sa.String(254), nullable=True, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),  # argon2id; NULL for SSO-only users
    sa.Column("auth_provider", sa.String(16), nullable=False, server_default="local"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("failed_login_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    # Sign-ins reserved but not yet verified, and when the newest was reserved: a reservation is
    # taken before the password hash is checked, so parallel attempts cannot pass the lockout.
    sa.Column("login_attempts_in_flight", sa.Integer, nullable=False, server_default="0"),
    sa.Column("login_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("password_changed_at", UTCDateTime(), nullable=True),
    _created(),
    _updated(),
    sa.CheckConstraint("failed_login_count >= 0", name="failed_login_count_nonneg"),
    sa.CheckConstraint("password_hash IS NULL OR password_hash LIKE '$argon2id$%' OR password_hash LIKE '$2b$%'",
                       name="password_hash_is_hash"),
)

user_sessions = sa.Table(
    "user_sessions", metadata,
    _pk(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the session token
    _fk("user_id", "users.id", nullable=False),
    sa.Column("client", sa.String(128), nullable=True),
    _created(),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),  # absolute limit
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_reason", sa.String(64), nullable=True),
    sa.Index(None, "user_id"),
)

readings = sa.Table(
    "readings", metadata,
    _pk(),
    _fk("meter_id", "meters.id", nullable=False),
    sa.Column("reading_value", Energy, nullable=False),
    sa.Column("reading_date", sa.Date, nullable=False),
    sa.Column("consumption", Energy, nullable=True),  # this - previous reading of the meter; NULL for the first
    _fk("previous_reading_id", "readings.id"),
    sa.Column("motor_reading_value", Energy, nullable=True),
    sa.Column("motor_share", Energy, nullable=True),  # kWh of the shared motor billed to this flat
    _fk("motor_reading_id", "readings.id"),
    sa.Column("photo_ref", sa.String(512), nullable=True),  # local path under data/meter_photos/
    sa.Column("photo_url", sa.String(1024), nullable=True),  # remote copy (Cloudinary) when configured
    sa.Column("source", sa.String(16), nullable=False, server_default="ui"),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("flags", Json, nullable=True),  # [{"code":..., "reason":...}] from the statistical check
    sa.Column("ai_opinion", Json, nullable=True),
    sa.Column("approved_units", Energy, nullable=True),  # monthly units the admin confirmed
    sa.Column("rejection_reason", sa.Text, nullable=True),
    _fk("submitted_by", "users.id"),
    _fk("reviewed_by", "users.id"),
    sa.Column("reviewed_at", UTCDateTime(), nullable=True),
    _created(),
    _updated(),
    sa.CheckConstraint("reading_value >= 0", name="reading_value_nonneg"),
    sa.CheckConstraint("consumption IS NULL OR consumption >= 0", name="consumption_nonneg"),
    sa.CheckConstraint("motor_reading_value IS NULL OR motor_reading_value >= 0", name="motor_reading_nonneg"),
    sa.CheckConstraint("motor_share IS NULL OR motor_share >= 0", name="motor_share_nonneg"),
    sa.CheckConstraint("approved_units IS NULL OR approved_units >= 0", name="approved_units_nonneg"),
    sa.CheckConstraint(_in("status", READING_STATUSES), name="status_valid"),
    sa.CheckConstraint("status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"),
    # A double tap (same meter, date and value) must not store a second row.
    sa.UniqueConstraint("meter_id", "reading_date", "reading_value"),
    sa.Index(None, "meter_id", "reading_date"),
    sa.Index(None, "status", "reading_date"),
    # Review queue: pending readings newest first, in index order (PostgreSQL would sort them all).
    sa.Index(None, "status", "reading_date", "id"),
    sa.Index(None, "reading_date"),
    # "My submissions", newest first: all of an engineer's readings, and those of one status.
    sa.Index(None, "submitted_by", "reading_date", "id"),
    sa.Index(None, "submitted_by", "status", "reading_date", "id"),
)

METER_CHANGE_KINDS = ("replacement", "rollover")

# An admin's record of a meter replacement or register rollover (services/readings/meter_changes.py): the
# old chain's final reading and the new chain's start reading. Append-only (database/triggers.py).
meter_changes = sa.Table(
    "meter_changes", metadata,
    _pk(),
    sa.Column("kind", sa.String(16), nullable=False),
    _fk("old_meter_id", "meters.id", nullable=False),
    _fk("new_meter_id", "meters.id", nullable=False),  # the same meter for a rollover
    sa.Column("change_date", sa.Date, nullable=False),
    _fk("final_reading_id", "readings.id", nullable=False),
    _fk("start_reading_id", "readings.id", nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    _fk("recorded_by", "users.id"),
    sa.Column("recorded_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.UniqueConstraint("start_reading_id"),
    sa.CheckConstraint(_in("kind", METER_CHANGE_KINDS), name="kind_valid"),
    sa.CheckConstraint("(kind = 'rollover') = (new_meter_id = old_meter_id)", name="rollover_same_meter"),
    sa.CheckConstraint("final_reading_id <> start_reading_id", name="two_readings"),
    sa.Index(None, "old_meter_id"),
    sa.Index(None, "new_meter_id"),
)

period_locks = sa.Table(
    "period_locks", metadata,
    _pk(),
    sa.Column("month", sa.String(7), nullable=False, unique=True),  # "2025-11"
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("locked_by", sa.String(64), nullable=False, server_default="system"),
    sa.Column("locked_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("bill_count_at_lock", sa.Integer, nullable=True),
    sa.CheckConstraint("month LIKE '____-__'", name="month_format"),
)

bill_runs = sa.Table(
    "bill_runs", metadata,
    _pk(),
    sa.Column("billing_period_start", sa.Date, nullable=False),
    sa.Column("billing_period_end", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="running"),
    sa.Column("created_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refused_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_amount", Money, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_by", sa.String(64), nullable=False, server_default="system"),
    sa.Column("started_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint(_in("status", RUN_STATUSES), name="status_valid"),
    sa.CheckConstraint("billing_period_end >= billing_period_start", name="period_order"),
    sa.CheckConstraint("created_count >= 0 AND skipped_count >= 0 AND refused_count >= 0", name="counts_nonneg"),
    sa.Index(None, "billing_period_start", "billing_period_end"),
)

bills = sa.Table(
    "bills", metadata,
    _pk(),
    _fk("flat_id", "flats.id", nullable=False),
    sa.Column("billing_period_start", sa.Date, nullable=False),
    sa.Column("billing_period_end", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    # Every input of the arithmetic, so the total can be recomputed and checked.
    sa.Column("tariff_kind", sa.String(32), nullable=False, server_default="flat_rate"),
    sa.Column("pricing_rule", sa.String(32), nullable=False, server_default="master_data"),
    sa.Column("flat_units", Energy, nullable=False),
    sa.Column("motor_units", Energy, nullable=False, server_default="0"),
    sa.Column("total_units", Energy, nullable=False),
    sa.Column("rate_per_unit", Rate, nullable=False),
    sa.Column("fixed_charge", Money, nullable=False, server_default="0"),
    sa.Column("previous_outstanding", Money, nullable=False, server_default="0"),
    sa.Column("tariff_details", Json, nullable=True),  # extra inputs of other tariff kinds
    sa.Column("total_amount", Money, nullable=False),
    # Payment status: the only part of an issued bill that may change.
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("amount_paid", Money, nullable=False, server_default="0"),
    sa.Column("paid_at", UTCDateTime(), nullable=True),
    _fk("carried_forward_to", "bills.id"),
    sa.Column("overdue_notified_at", UTCDateTime(), nullable=True),
    sa.Column("payment_link_id", sa.String(128), nullable=True),
    sa.Column("payment_link_url", sa.String(1024), nullable=True),
    # Provenance.
    _fk("flat_reading_id", "readings.id"),  # the last reading the bill covers (see bill_readings)
    _fk("motor_reading_id", "readings.id"),
    _fk("first_reading_id", "readings.id"),  # the first reading the bill covers
    _fk("reissue_of", "bills.id"),  # the bill this one replaces (a re-issue)
    _fk("superseded_by", "bills.id"),  # set once, when a re-issue replaces this bill (status superseded)
    _fk("bill_run_id", "bill_runs.id"),
    _fk("created_by", "users.id"),
    sa.Column("created_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    _updated(),
    sa.UniqueConstraint("flat_id", "billing_period_start"),
    sa.CheckConstraint("billing_period_end >= billing_period_start", name="period_order"),
    sa.CheckConstraint("due_date >= billing_period_start", name="due_after_start"),
    sa.CheckConstraint("flat_units >= 0", name="flat_units_nonneg"),
    sa.CheckConstraint("motor_units >= 0", name="motor_units_nonneg"),
    sa.CheckConstraint("total_units >= 0", name="total_units_nonneg"),
    sa.CheckConstraint("rate_per_unit >= 0", name="rate_nonneg"),
    sa.CheckConstraint("fixed_charge >= 0", name="fixed_charge_nonneg"),
    sa.CheckConstraint("previous_outstanding >= 0", name="previous_outstanding_nonneg"),
    sa.CheckConstraint("total_amount >= 0", name="total_amount_nonneg"),
    sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= total_amount", name="amount_paid_range"),
    sa.CheckConstraint(_in("status", BILL_STATUSES), name="status_valid"),
    sa.Index(None, "billing_period_start", "status"),
    # Bills page by status, newest period first, in index order; dashboard sums read from the index alone.
    sa.Index(None, "status", "billing_period_start", "id"),
    sa.Index("ix_bills_period_status_amounts", "billing_period_start", "status", "total_amount", "previous_outstanding"),
    sa.Index("ix_bills_status_balances", "status", "total_amount", "amount_paid"),
    sa.Index(None, "status", "due_date"),
    sa.Index(None, "flat_id", "status"),
    sa.Index(None, "flat_reading_id"),
    sa.Index(None, "motor_reading_id"),
    sa.Index(None, "reissue_of"),
    # Partial: most bills are neither superseded nor carried forward, and a bill run inserts 300,000.
    sa.Index(None, "superseded_by", sqlite_where=sa.text("superseded_by IS NOT NULL"),
             postgresql_where=sa.text("superseded_by IS NOT NULL")),
    # A re-issue moves the bills carried into the one it replaces.
    sa.Index(None, "carried_forward_to", sqlite_where=sa.text("carried_forward_to IS NOT NULL"),
             postgresql_where=sa.text("carried_forward_to IS NOT NULL")),
    sa.Index(None, "bill_run_id"),
    sa.Index(None, "created_at"),
)

payments = sa.Table(
    "payments", metadata,
    _pk(),
    _fk("bill_id", "bills.id", nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),  # cash / upi / bank_transfer / cheque / card / stripe
    sa.Column("reference", sa.String(128), nullable=True),
    # Idempotency key of the source (e.g. a Stripe event id): one payment per external event.
    sa.Column("external_id", sa.String(255), nullable=True, unique=True),
    # A re-issue's credit (method "credit"): the money paid on the bill it replaced, moved once.
    _fk("credit_from_bill", "bills.id"),
    _fk("recorded_by", "users.id"),
    sa.Column("recorded_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index(None, "bill_id"),
    sa.Index(None, "paid_on"),
    sa.Index(None, "paid_on", "amount"),  # collected per month, from the index alone
    sa.Index(None, "credit_from_bill", unique=True),  # a replaced bill's payments are credited once
)

# Which readings a bill covers: every approved reading of the flat's meter(s) after its last billed
# reading up to the reading billed (services/billing/coverage.py). Rows are append-only; a re-issue
# releases the replaced bill's rows (superseded_by is set by a trigger when the bill is superseded)
# and the replacement adds its own. A reading is covered by at most one bill that is not superseded
# (the partial unique index; a trigger gives the readable refusal).
bill_readings = sa.Table(
    "bill_readings", metadata,
    _pk(),
    _fk("bill_id", "bills.id", nullable=False),
    _fk("reading_id", "readings.id", nullable=False),
    sa.Column("units", Energy, nullable=False),  # the reading's billable units when billed
    sa.Column("motor_units", Energy, nullable=False, server_default="0"),  # its motor share billed
    _fk("superseded_by", "bills.id"),  # the replacement bill, once this bill is superseded
    sa.CheckConstraint("units >= 0", name="units_nonneg"),
    sa.CheckConstraint("motor_units >= 0", name="motor_units_nonneg"),
    sa.UniqueConstraint("bill_id", "reading_id"),
    sa.Index("uq_bill_readings_current_reading", "reading_id", unique=True,
             sqlite_where=sa.text("superseded_by IS NULL"), postgresql_where=sa.text("superseded_by IS NULL")),
)

notifications = sa.Table(
    "notifications", metadata,
    _pk(),
    _fk("bill_id", "bills.id"),
    _fk("owner_id", "owners.id"),
    sa.Column("kind", sa.String(32), nullable=False),  # bill_created / payment_received / reminder / overdue
    sa.Column("channel", sa.String(16), nullable=False),  # discord / whatsapp / log
    sa.Column("recipient", sa.String(254), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("provider_message_id", sa.String(255), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _fk("resend_of", "notifications.id"),
    _created(),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="status_valid"),
    sa.CheckConstraint("attempts >= 0", name="attempts_nonneg"),
    sa.Index(None, "bill_id"),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "created_at"),
)

payment_events = sa.Table(
    "payment_events", metadata,
    _pk(),
    _fk("bill_id", "bills.id"),
    sa.Column("provider", sa.String(16), nullable=False, server_default="stripe"),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("stripe_event_id", sa.String(255), nullable=True, unique=True),
    sa.Column("payment_link_id", sa.String(128), nullable=True),
    sa.Column("amount", Money, nullable=True),
    sa.Column("currency", sa.String(8), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),  # applied / duplicate / refused_amount / refused_currency / ignored
    sa.Column("event_data", Json, nullable=True),
    sa.Column("received_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.Index(None, "bill_id"),
)

job_runs = sa.Table(
    "job_runs", metadata,
    _pk(),
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("run_key", sa.String(64), nullable=False),  # job's period, e.g. "2026-11" or "2026-11-22"
    sa.Column("status", sa.String(16), nullable=False, server_default="running"),
    sa.Column("counts", Json, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("host", sa.String(128), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("job_id", "run_key"),  # one run per job and period, across replicas
    sa.CheckConstraint(_in("status", RUN_STATUSES), name="status_valid"),
    sa.Index(None, "started_at"),
)

audit_log = sa.Table(
    "audit_log", metadata,
    _pk(),
    sa.Column("occurred_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    _fk("actor_id", "users.id"),
    sa.Column("actor_name", sa.String(64), nullable=False),
    sa.Column("client", sa.String(128), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),  # "bill.create", "reading.approve", "login.failed"
    sa.Column("entity_type", sa.String(32), nullable=True),
    sa.Column("entity_id", sa.String(64), nullable=True),
    sa.Column("details", Json, nullable=True),
    sa.Index(None, "occurred_at"),
    sa.Index(None, "entity_type", "entity_id"),
    sa.Index(None, "action", "occurred_at"),
)

# Supabase only: a big master data import is sent in parts and applied by one /rpc call in one
# transaction (database/supabase/70_functions_master_data.sql); the SQL backends write in one
# transaction directly and leave this table empty. It is here so every backend has one schema.
master_data_staging = sa.Table(
    "master_data_staging", metadata,
    sa.Column("import_id", sa.String(36), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("changes", Json, nullable=False),
    sa.Column("staged_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.CheckConstraint("part > 0", name="part_positive"),
)

schema_info = sa.Table(
    "schema_info", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

# Columns of an issued bill that may change after insert (payment status and links).
BILL_MUTABLE_COLUMNS = (
    "status", "amount_paid", "paid_at", "carried_forward_to", "superseded_by", "overdue_notified_at",
    "payment_link_id", "payment_link_url", "updated_at",
)
BILL_IMMUTABLE_COLUMNS = tuple(c.name for c in bills.columns if c.name not in BILL_MUTABLE_COLUMNS and c.name != "id")
