"""The one definition of Meterline's schema.

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
from database.bill_estimates import HAS_ESTIMATE

SCHEMA_VERSION = 3

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
Coordinate = sa.Numeric(9, 6)


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


TEMPLATES = ("society", "municipal", "water")
SERVICES = ("electricity", "water", "sanitation")
TARIFF_KINDS = ("flat_rate", "tiered_seasonal", "category_fee")

# The utility this database serves (one row, id 1): chosen at setup from a template
# (services/accounts/utility.py); labels, money and dates of every page come from it.
utility_settings = sa.Table(
    "utility_settings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("template", sa.String(16), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("short_code", sa.String(8), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("account_label", sa.String(32), nullable=False),
    sa.Column("account_label_plural", sa.String(32), nullable=False),
    sa.Column("area_levels", Json, nullable=False),  # ["Block", "Floor"]: level names, top first
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("quantity_unit", sa.String(8), nullable=True),
    sa.Column("billing_day", sa.Integer, nullable=False),
    sa.Column("due_days", sa.Integer, nullable=False),
    sa.Column("plan_file", sa.String(255), nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False, server_default="system"),
    _updated(),
    sa.CheckConstraint("id = 1", name="one_row"),
    sa.CheckConstraint(_in("template", TEMPLATES), name="template_valid"),
    sa.CheckConstraint(_in("service", SERVICES), name="service_valid"),
    sa.CheckConstraint("billing_day BETWEEN 1 AND 28", name="billing_day_range"),
    sa.CheckConstraint("due_days BETWEEN 0 AND 90", name="due_days_range"),
)

# The utility's area hierarchy (Block > Floor; City/Tehsil > Union Council; Service area > Billing
# cycle). `path` joins the codes from the top ("B/FF"), so "everything under an area" is one
# prefix test on a small table. Every account sits in a leaf area.
areas = sa.Table(
    "areas", metadata,
    _pk(),
    _fk("parent_id", "areas.id"),
    sa.Column("level", sa.Integer, nullable=False),  # 1 at the top
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("path", sa.String(255), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=True),  # e.g. a union council's type: urban / rural
    sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
    _created(),
    sa.CheckConstraint("level >= 1", name="level_positive"),
    sa.CheckConstraint("(level = 1) = (parent_id IS NULL)", name="parent_by_level"),
    sa.Index(None, "parent_id", "code", unique=True),
)

# The billable unit: a flat, a consumer unit, a customer. `code` is what people quote (B17-FF,
# SP-KSR-4829173, HS0000001); category and account_type price and group it (2BHK / flat; Small /
# Bakery; residential / residential).
accounts = sa.Table(
    "accounts", metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False, server_default=""),  # the billing name
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("category", sa.String(32), nullable=True),
    sa.Column("account_type", sa.String(32), nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("address", sa.String(255), nullable=True),
    sa.Column("gps_lat", Coordinate, nullable=True),
    sa.Column("gps_lon", Coordinate, nullable=True),
    _created(),
    _updated(),
    sa.CheckConstraint("(gps_lat IS NULL) = (gps_lon IS NULL)", name="gps_both_or_neither"),
    sa.CheckConstraint("gps_lat IS NULL OR (gps_lat BETWEEN -90 AND 90 AND gps_lon BETWEEN -180 AND 180)",
                       name="gps_range"),
    sa.Index(None, "area_id", "code"),
    # A search by code prefix ('B17%'): PostgreSQL turns LIKE into a range of a btree only under the C
    # collation or with a pattern opclass (databases are created en_US.UTF-8 or C.UTF-8), so without
    # this index it scanned the accounts. SQLite's prefix search is a range on the unique index.
    sa.Index("ix_accounts_code_pattern", "code", postgresql_ops={"code": "varchar_pattern_ops"})
    .ddl_if(dialect="postgresql"),
    sa.Index(None, "category"),
    sa.Index(None, "is_active"),
)

contacts = sa.Table(
    "contacts", metadata,
    _pk(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("phone", sa.String(20), nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("address", sa.String(255), nullable=True),
    _created(),
    sa.Index(None, "name"),
    sa.Index(None, "phone"),
)

account_contacts = sa.Table(
    "account_contacts", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("contact_id", "contacts.id", nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="owner"),
    sa.Column("is_primary", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("account_id", "contact_id"),
    sa.Index(None, "contact_id"),
    # At most one primary contact per account.
    sa.Index("uq_account_contacts_primary", "account_id", unique=True,
             sqlite_where=sa.text("is_primary"), postgresql_where=sa.text("is_primary")),
)

# A municipal survey of the unit (seed 003's survey_units), 1:1 with its account.
account_surveys = sa.Table(
    "account_surveys", metadata,
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), primary_key=True, autoincrement=False),
    sa.Column("survey_id", sa.String(32), nullable=False, unique=True),
    sa.Column("surveyor_name", sa.String(128), nullable=True),
    sa.Column("surveyed_at", UTCDateTime(), nullable=True),
    sa.Column("survey_name", sa.String(128), nullable=True),
    sa.Column("survey_mobile", sa.String(20), nullable=True),
    sa.Column("survey_address", sa.String(255), nullable=True),
    sa.Column("house_type", sa.String(32), nullable=True),
    sa.Column("water_connection", sa.String(16), nullable=True),
    sa.Column("size_marla", sa.Numeric(8, 2), nullable=True),
    sa.Column("photo_ref", sa.String(512), nullable=True),
    sa.Column("gps_text", sa.String(128), nullable=True),
    # The survey's own words (seed 003 unit_specific_type / survey_category); the account's category
    # and type are the plan's tariff class derived from them (services/seeding/municipal.py).
    sa.Column("unit_type", sa.String(64), nullable=True),
    sa.Column("size_category", sa.String(16), nullable=True),
    sa.CheckConstraint("size_marla IS NULL OR size_marla >= 0", name="size_nonneg"),
)

# Tariff plans are data (services/tariffs/): a plan has one kind and numbered versions, each
# effective from a date, with the kind's parameters as JSON (Decimals as strings). Versions are
# append-only: editing a plan adds a version; a bill records the version that priced it.
tariff_plans = sa.Table(
    "tariff_plans", metadata,
    _pk(),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("unit", sa.String(8), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("notes", sa.Text, nullable=True),
    _created(),
    sa.CheckConstraint(_in("kind", TARIFF_KINDS), name="kind_valid"),
    sa.CheckConstraint(_in("service", SERVICES), name="service_valid"),
)

tariff_plan_versions = sa.Table(
    "tariff_plan_versions", metadata,
    _pk(),
    _fk("plan_id", "tariff_plans.id", nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("created_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.UniqueConstraint("plan_id", "version"),
    sa.UniqueConstraint("plan_id", "effective_from"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
)

# What an account is billed for, and by which plan: one row per account and service.
service_connections = sa.Table(
    "service_connections", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    sa.Column("service", sa.String(16), nullable=False),
    _fk("tariff_plan_id", "tariff_plans.id", nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("started_on", sa.Date, nullable=True),
    _created(),
    sa.UniqueConstraint("account_id", "service"),
    sa.CheckConstraint(_in("service", SERVICES), name="service_valid"),
    sa.Index(None, "tariff_plan_id"),
)

# The society's shared water motors: a motor's meter is split across the accounts it serves.
motors = sa.Table(
    "motors", metadata,
    _pk(),
    sa.Column("code", sa.String(32), nullable=False, unique=True),  # "MOTOR-B"
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    _created(),
)

account_motors = sa.Table(
    "account_motors", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("motor_id", "motors.id", nullable=False),
    sa.UniqueConstraint("account_id", "motor_id"),
    sa.Index(None, "motor_id"),
)

meters = sa.Table(
    "meters", metadata,
    _pk(),
    sa.Column("meter_number", sa.String(32), nullable=False, unique=True),
    _fk("account_id", "accounts.id"),
    _fk("motor_id", "motors.id"),
    sa.Column("service", sa.String(16), nullable=False, server_default="electricity"),
    sa.Column("unit", sa.String(8), nullable=False, server_default="kWh"),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("is_smart", sa.Boolean, nullable=False, server_default=sa.false()),
    _created(),
    sa.CheckConstraint(_in("status", METER_STATUSES), name="status_valid"),
    sa.CheckConstraint(_in("service", SERVICES), name="service_valid"),
    # A meter measures an account or a shared motor, never neither.
    sa.CheckConstraint("account_id IS NOT NULL OR motor_id IS NOT NULL", name="has_owner"),
    sa.Index(None, "account_id"),
    sa.Index("ix_meters_number_pattern", "meter_number", postgresql_ops={"meter_number": "varchar_pattern_ops"})
    .ddl_if(dialect="postgresql"),  # the engineer's meter search by prefix (see ix_accounts_code_pattern)
    sa.Index(None, "motor_id"),
    sa.Index(None, "status"),
)

# Measured quantity per account and day (water: daily CCF from interval meters or an import).
# A bill of a metered-usage plan charges the sum over its period (bills.usage_from..usage_to).
daily_usage = sa.Table(
    "daily_usage", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("meter_id", "meters.id"),
    sa.Column("usage_date", sa.Date, nullable=False),
    sa.Column("quantity", Energy, nullable=False),
    sa.Column("source", sa.String(16), nullable=False, server_default="import"),
    _fk("created_by", "users.id"),
    _created(),
    # A register reading's consumption spread over the days it measured (services/readings/usage.py).
    _fk("reading_id", "readings.id"),
    sa.CheckConstraint("quantity >= 0", name="quantity_nonneg"),
    sa.UniqueConstraint("account_id", "usage_date"),
    sa.Index(None, "usage_date", "account_id"),
    sa.Index(None, "reading_id", sqlite_where=sa.text("reading_id IS NOT NULL"),
             postgresql_where=sa.text("reading_id IS NOT NULL")),
)

ANOMALY_METHODS = ("zscore", "robust", "high_read", "continuous_flow", "zero_usage", "inactive_usage")
ANOMALY_STATUSES = ("open", "reviewed")
ANOMALY_OUTCOMES = ("leak_confirmed", "meter_fault", "genuine", "data_error", "customer_contacted", "no_action")

# Usage anomalies (services/readings/anomalies.py): at most one per account, method and period (the
# period's start), found set-based in SQL. What was found never changes; Operations records the
# review (outcome, note, who, when) once.
usage_anomalies = sa.Table(
    "usage_anomalies", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),  # the account's leaf area when found (filters without a join)
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("usage_date", sa.Date, nullable=False),  # the day that deviates most
    sa.Column("usage", Energy, nullable=False),
    sa.Column("baseline", sa.Numeric(14, 4), nullable=True),  # mean or median of the history (method's)
    sa.Column("spread", sa.Numeric(14, 4), nullable=True),  # sd or MAD
    sa.Column("score", sa.Numeric(14, 4), nullable=False),  # z, modified z, times the mean, zero days ...
    sa.Column("history_days", sa.Integer, nullable=False, server_default="0"),
    sa.Column("params", Json, nullable=True),  # the thresholds that found it
    sa.Column("detected_at", UTCDateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("detected_by", sa.String(64), nullable=False, server_default="system"),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    _fk("reviewed_by", "users.id"),
    sa.Column("reviewed_by_name", sa.String(64), nullable=True),
    sa.Column("reviewed_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("account_id", "method", "period_start"),
    sa.CheckConstraint(_in("method", ANOMALY_METHODS), name="method_valid"),
    sa.CheckConstraint(_in("status", ANOMALY_STATUSES), name="status_valid"),
    sa.CheckConstraint("outcome IS NULL OR " + _in("outcome", ANOMALY_OUTCOMES), name="outcome_valid"),
    sa.CheckConstraint("(status = 'reviewed') = (outcome IS NOT NULL AND reviewed_at IS NOT NULL)",
                       name="reviewed_has_outcome"),
    sa.CheckConstraint("usage_date BETWEEN period_start AND period_end", name="date_in_period"),
    sa.Index(None, "status", "usage_date", "id"),
    sa.Index(None, "account_id", "usage_date"),
    sa.Index(None, "period_start", "method"),
    sa.Index(None, "area_id", "status"),
)

# Derived, rebuilt at will (services/storage/sql_anomalies.py): the average daily usage of each
# customer type's active accounts per day (the season, the weather and the weekday every customer
# of the type shares), and each account's statistics over the days before a period (its own
# history), kept so that detection after every import does not read a year of rows again. An
# import of usage for a day drops the derived rows that day's usage fed.
usage_day_index = sa.Table(
    "usage_day_index", metadata,
    sa.Column("account_type", sa.String(32), primary_key=True),  # '' for accounts without a type
    sa.Column("usage_date", sa.Date, primary_key=True),
    sa.Column("accounts", sa.Integer, nullable=False),
    sa.Column("mean", sa.Numeric(14, 6), nullable=False),
)

usage_baselines = sa.Table(
    "usage_baselines", metadata,
    sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), primary_key=True, autoincrement=False),
    sa.Column("as_of", sa.Date, primary_key=True),  # the history is the window_days days before this day
    sa.Column("window_days", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("days", sa.Integer, nullable=False),  # rows of history found
    sa.Column("mean", sa.Numeric(14, 4), nullable=False),
    sa.Column("sd", sa.Numeric(14, 4), nullable=False),
    sa.Column("median", sa.Numeric(14, 4), nullable=False),
    sa.Column("mad", sa.Numeric(14, 4), nullable=False),
    sa.Column("adj_median", sa.Numeric(14, 4), nullable=True),  # of usage / the type's average that day
    sa.Column("adj_mad", sa.Numeric(14, 4), nullable=True),
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
# Usernames are case-insensitive (a phone capitalises "Engineer"): one user per lower(username), on every
# backend (SQLite, PostgreSQL, Supabase: database/supabase_schema.sql is generated from this). Added after
# version 3: migrations._create_missing_indexes creates it on an existing database.
sa.Index("uq_users_username_lower", sa.func.lower(users.c.username), unique=True)

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
    sa.Column("motor_share", Energy, nullable=True),  # kWh of the shared motor billed to this account
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
    # The reviewer's "flagged only" queue, newest first: a block's walks these few rows, not every
    # pending reading (818 ms on PostgreSQL at 300,000 flats, where 2% of a month's are flagged).
    # SQLite has no statistics and ties an equality on status between this index and the status
    # indexes, so there the index holds every flagged reading and the queue's status test is kept
    # off the indexes (sql_readings); a scan of a partial index is then estimated the cheapest.
    sa.Index("ix_readings_flagged_queue", "reading_date", "id",
             postgresql_where=sa.text("status = 'pending' AND flags IS NOT NULL"),
             sqlite_where=sa.text("flags IS NOT NULL")),
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
    sa.Column("service", sa.String(16), nullable=False, server_default="electricity"),
    _fk("area_id", "areas.id"),  # a run limited to one area (e.g. a billing cycle); NULL: every account
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
    _fk("account_id", "accounts.id", nullable=False),
    sa.Column("service", sa.String(16), nullable=False, server_default="electricity"),
    # The account's leaf area when the bill was issued: lists, reports and staff scopes filter
    # bills by area without a join, and a bill keeps the area it was issued in.
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("billing_period_start", sa.Date, nullable=False),
    sa.Column("billing_period_end", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    # Every input of the arithmetic, so the total can be recomputed and checked.
    sa.Column("tariff_kind", sa.String(32), nullable=False, server_default="flat_rate"),
    sa.Column("pricing_rule", sa.String(32), nullable=False, server_default="master_data"),
    _fk("tariff_plan_version_id", "tariff_plan_versions.id", nullable=False),
    sa.Column("category", sa.String(32), nullable=True),  # the account's category when priced
    sa.Column("units", Energy, nullable=False),  # the account's own metered quantity (kWh, CCF; 0 for a fee)
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
    # The payment id banks collect the bill by (services/billing/psid.py), set when the bill is stored;
    # NULL on bills stored before Meterline gave every bill one.
    sa.Column("psid", sa.String(17), nullable=True),
    # Provenance.
    _fk("last_reading_id", "readings.id"),  # the last reading the bill covers (see bill_readings)
    _fk("motor_reading_id", "readings.id"),
    _fk("first_reading_id", "readings.id"),  # the first reading the bill covers
    sa.Column("usage_from", sa.Date, nullable=True),  # the days of daily_usage the bill charges
    sa.Column("usage_to", sa.Date, nullable=True),
    _fk("reissue_of", "bills.id"),  # the bill this one replaces (a re-issue)
    _fk("superseded_by", "bills.id"),  # set once, when a re-issue replaces this bill (status superseded)
    _fk("bill_run_id", "bill_runs.id"),
    _fk("created_by", "users.id"),
    sa.Column("created_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    _updated(),
    # The bill's number, BC-2026-000123: gapless per utility and year (database/bill_numbers.py).
    sa.Column("bill_number", sa.String(32), nullable=True),
    # No overwrite (seed 002): one bill per account, service and period start.
    sa.UniqueConstraint("account_id", "service", "billing_period_start"),
    sa.CheckConstraint(_in("service", SERVICES), name="service_valid"),
    sa.CheckConstraint("(usage_from IS NULL) = (usage_to IS NULL) AND (usage_from IS NULL OR usage_to >= usage_from)",
                       name="usage_span"),
    sa.CheckConstraint("billing_period_end >= billing_period_start", name="period_order"),
    sa.CheckConstraint("due_date >= billing_period_start", name="due_after_start"),
    sa.CheckConstraint("units >= 0", name="units_nonneg"),
    sa.CheckConstraint("motor_units >= 0", name="motor_units_nonneg"),
    sa.CheckConstraint("total_units >= 0", name="total_units_nonneg"),
    sa.CheckConstraint("rate_per_unit >= 0", name="rate_nonneg"),
    sa.CheckConstraint("fixed_charge >= 0", name="fixed_charge_nonneg"),
    sa.CheckConstraint("previous_outstanding >= 0", name="previous_outstanding_nonneg"),
    sa.CheckConstraint("total_amount >= 0", name="total_amount_nonneg"),
    sa.CheckConstraint("amount_paid >= 0 AND amount_paid <= total_amount", name="amount_paid_range"),
    sa.CheckConstraint(_in("status", BILL_STATUSES), name="status_valid"),
    sa.Index(None, "billing_period_start", "status"),
    # The bills list's default order (newest month first, then newest bill): its first page without
    # sorting a month of 300,000 bills by id (issue 19).
    sa.Index(None, "billing_period_start", "id"),
    # Bills page by status, newest period first, in index order; dashboard sums read from the index alone.
    sa.Index(None, "status", "billing_period_start", "id"),
    sa.Index("ix_bills_period_status_amounts", "billing_period_start", "status", "total_amount", "previous_outstanding"),
    sa.Index("ix_bills_status_balances", "status", "total_amount", "amount_paid"),
    sa.Index(None, "status", "due_date"),
    # Arrears aging (issue 14): the open bills by area and due date with their balances, read from the
    # index alone (a covering index: the report never reads the bills' rows).
    sa.Index("ix_bills_open_area_due", "status", "area_id", "due_date", "total_amount", "amount_paid"),
    # Estimated bills and the bills that trued them up (database/bill_estimates.py): a few of millions.
    sa.Index("ix_bills_estimates", "account_id", sqlite_where=sa.text(HAS_ESTIMATE["sqlite"]),
             postgresql_where=sa.text(HAS_ESTIMATE["postgresql"])),
    # A bill month's bills per area with their amounts (collection per union council, staff performance),
    # read from the index alone.
    sa.Index("ix_bills_month_area_amounts", "billing_period_start", "area_id", "status", "total_amount",
             "previous_outstanding", "amount_paid"),
    sa.Index(None, "account_id", "status"),
    sa.Index(None, "area_id", "billing_period_start"),
    sa.Index(None, "last_reading_id"),
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
    sa.Index("uq_bills_psid", "psid", unique=True),  # one bill per payment id, across the system
    sa.Index(None, "bill_number", unique=True),
)

# One counter per bill number series ("BC-2026": the utility's short code and the year of issue).
# It only counts up (a trigger): a number handed out is never handed out again (database/bill_numbers.py).
bill_number_series = sa.Table(
    "bill_number_series", metadata,
    sa.Column("series", sa.String(16), primary_key=True),
    sa.Column("last_number", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("last_number >= 0", name="last_number_nonneg"),
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
    # An area-limited dashboard's collected: its bills' payments of a month, from the index alone.
    sa.Index("ix_payments_bill_paid_amount", "bill_id", "paid_on", "amount"),
    sa.Index(None, "credit_from_bill", unique=True),  # a replaced bill's payments are credited once
)

# Which readings a bill covers: every approved reading of the account's meter(s) after its last billed
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

# The lines of a bill (usage per block or rate, seasonal adjustment, fixed charge, each fee,
# arrears, credit), each rounded to 2 places half-up; their sum is the bill's total. Append-only.
bill_lines = sa.Table(
    "bill_lines", metadata,
    _pk(),
    _fk("bill_id", "bills.id", nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("code", sa.String(32), nullable=False),  # energy, tier_1, seasonal, fee_base, fixed, arrears
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("quantity", sa.Numeric(14, 2), nullable=True),
    sa.Column("unit", sa.String(8), nullable=True),
    sa.Column("rate", Rate, nullable=True),
    sa.Column("amount", Money, nullable=False),
    sa.UniqueConstraint("bill_id", "seq"),
)

notifications = sa.Table(
    "notifications", metadata,
    _pk(),
    _fk("bill_id", "bills.id"),
    _fk("contact_id", "contacts.id"),
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
    # An email of a bill goes out once per bill and kind unless a resend is asked for (resend_of):
    # a second sender finds the key taken (services/documents/delivery.py).
    sa.Index("uq_notifications_email_once", "bill_id", "kind", unique=True,
             sqlite_where=sa.text("channel = 'email' AND status IN ('pending', 'sent') AND resend_of IS NULL"),
             postgresql_where=sa.text("channel = 'email' AND status IN ('pending', 'sent') AND resend_of IS NULL")),
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

# The municipal utility's tables (issue 14): staff areas and bank payment files. Defined on the same
# metadata.
from database.schema_municipal import *  # noqa: E402,F401,F403
# The customer portal's tables (issue 16).
from database.schema_customers import *  # noqa: E402,F401,F403
# Field operations (issue 15): visits and tickets.
from database.schema_field import *  # noqa: E402,F401,F403

# Columns of an issued bill that may change after insert (payment status and links).
BILL_MUTABLE_COLUMNS = (
    "status", "amount_paid", "paid_at", "carried_forward_to", "superseded_by", "overdue_notified_at",
    "payment_link_id", "payment_link_url", "updated_at",
)
# bill_number is not among them: it may go from empty to a number once (an upgraded database's
# backfill), never change after that (its own trigger, database/bill_numbers.py).
BILL_IMMUTABLE_COLUMNS = tuple(c.name for c in bills.columns
                               if c.name not in BILL_MUTABLE_COLUMNS and c.name not in ("id", "bill_number"))

# Tamper evidence (docs/trust.md): one chain over every issued bill of the utility, in the order
# bills were stored. A seal's hash is sha256(previous seal's hash + the bill's canonical content:
# every input of its arithmetic, its lines, totals, number and PSID); database/bill_chain.py.
# Append-only (database/bill_chain.py triggers); `python -m scripts.verify_chain` walks it.
bill_seals = sa.Table(
    "bill_seals", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    _fk("bill_id", "bills.id", nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("sealed_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("bill_id"),
    sa.CheckConstraint("seq >= 1", name="seq_positive"),
)

# The dashboard's and reports' per-month, per-area summary rows (database/bill_totals.py): every bill
# counted once, under its bill month, area, due date, status and payment state, kept by triggers on
# bills in the same statement that changes a bill, so they are exact whatever wrote the bill. Money
# and units in minor units (hundredths), exact on SQLite too. scripts/verify_billing compares them
# with a recomputation from the bills.
bill_month_totals = sa.Table(
    "bill_month_totals", metadata,
    sa.Column("bill_month", sa.String(7), primary_key=True),  # YYYY-MM of billing_period_start
    sa.Column("area_id", Id, primary_key=True, autoincrement=False),
    sa.Column("due_date", sa.Date, primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("paid_any", sa.Boolean, primary_key=True),  # amount_paid > 0
    sa.Column("arrears", sa.Boolean, primary_key=True),  # previous_outstanding > 0
    sa.Column("bills", sa.BigInteger, nullable=False),
    sa.Column("units", sa.BigInteger, nullable=False),  # total_units x 100
    sa.Column("billed", sa.BigInteger, nullable=False),  # (total_amount - previous_outstanding) x 100
    sa.Column("due", sa.BigInteger, nullable=False),  # total_amount x 100
    sa.Column("paid", sa.BigInteger, nullable=False),  # amount_paid x 100
)

# Consumer analytics' payment patterns (issue 14; services/reports/analytics.py), counted per leaf area
# for one as-of date and window by the consumer_patterns job. Grouping every bill of 12 months per unit
# takes seconds at 300,000 units; reading these rows takes milliseconds. A refresh rewrites its
# (as_of, months) whole; the report reads them when they exist for its date, else counts live.
consumer_pattern_totals = sa.Table(
    "consumer_pattern_totals", metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("months", sa.Integer, primary_key=True),
    sa.Column("area_id", Id, sa.ForeignKey("areas.id"), primary_key=True, autoincrement=False),
    sa.Column("billed", sa.Integer, nullable=False),
    sa.Column("on_time", sa.Integer, nullable=False),
    sa.Column("late", sa.Integer, nullable=False),
    sa.Column("partial", sa.Integer, nullable=False),
    sa.Column("never_paid", sa.Integer, nullable=False),
    sa.Column("computed_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("months >= 1", name="months_positive"),
)

# Reused or stale meter photos (docs/trust.md, services/photo_checks.py): each stored reading photo's
# 64-bit perceptual hash, split into four 16-bit bands, each indexed. Two photos within Hamming
# distance 3 share at least one band exactly (pigeonhole), so the lookup reads the rows of four
# index keys, never the table. taken_at: the photo's EXIF capture time, when it has one.
photo_hashes = sa.Table(
    "photo_hashes", metadata,
    _pk(),
    _fk("reading_id", "readings.id", nullable=False),
    _fk("meter_id", "meters.id", nullable=False),
    sa.Column("reading_date", sa.Date, nullable=False),
    sa.Column("phash", sa.String(16), nullable=False),  # hex, as imagehash prints it
    sa.Column("band0", sa.Integer, nullable=False),
    sa.Column("band1", sa.Integer, nullable=False),
    sa.Column("band2", sa.Integer, nullable=False),
    sa.Column("band3", sa.Integer, nullable=False),
    sa.Column("taken_at", sa.DateTime, nullable=True),  # EXIF DateTimeOriginal, camera-local time
    sa.Column("photo_ref", sa.String(512), nullable=True),
    _created(),
    sa.UniqueConstraint("reading_id"),
    sa.CheckConstraint("band0 BETWEEN 0 AND 65535 AND band1 BETWEEN 0 AND 65535 AND band2 BETWEEN 0 AND 65535 "
                       "AND band3 BETWEEN 0 AND 65535", name="bands_16bit"),
    sa.Index(None, "band0"), sa.Index(None, "band1"), sa.Index(None, "band2"), sa.Index(None, "band3"),
)

# A month run's manifest (docs/trust.md, services/billing/manifest.py), dry or real: counts, units and
# amounts per area and category, what was skipped and why, and (dry runs) the diff against the last
# run of the previous period. bill_run_id is NULL for a dry run (nothing was stored).
bill_run_manifests = sa.Table(
    "bill_run_manifests", metadata,
    _pk(),
    _fk("bill_run_id", "bill_runs.id"),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("service", sa.String(16), nullable=False),
    sa.Column("billing_period_start", sa.Date, nullable=False),
    sa.Column("billing_period_end", sa.Date, nullable=False),
    _fk("area_id", "areas.id"),
    sa.Column("manifest", Json, nullable=False),
    sa.Column("chain_head", sa.String(128), nullable=True),  # the bills' chain head after a real run
    sa.Column("created_by", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.Index(None, "service", "billing_period_start", "id"),
    sa.Index(None, "bill_run_id"),
)

# The bill archive (issue 14): copies of the bills' tables for settled bills older than a year.
from database.schema_archive import *  # noqa: E402,F401,F403
