"""The municipal utility's tables (seed 003, issue 14), on the one metadata of database/schema.py
(imported at its end, so every backend, the Supabase SQL and the fingerprint see them).

- user_areas: the areas a staff member works in (a city/tehsil, or union councils); an
  area-limited role sees only those (services/accounts/scopes.py).
- account_changes: the history of a consumer unit's billing name, mobile and address as survey
  imports change them (append-only).
- bank_files / bank_payments: each imported bank (1Link bill payment) file and every row of it with
  its outcome (matched, duplicate, refused and why); append-only. `bill_id` and `payment_id` are
  plain ids, not foreign keys, so archiving can move the bills and payments they name.
- tickets and field_visits: what staff raise and log about a unit (seed 003's tickets and
  compliance_visits), with the unit's area so scopes filter them without a join.
- The bill archive (services/municipal/archive.py): bills older than the cutoff move with their
  lines, payments, covered readings, notifications and payment events into *_archive tables of the
  same columns (no foreign keys), per run (archive_runs); archive_month_summaries keep each
  archived month's counts and sums per area in the live database. The move is checked (counts and
  sums equal before and after) and reversible (a run can be restored).
"""
from __future__ import annotations

import sqlalchemy as sa

from database.schema import (  # noqa: F401  (defined above the import in schema.py)
    Coordinate, Id, Money, UTCDateTime, _created, _fk, _in, _pk, metadata,
)

user_areas = sa.Table(
    "user_areas", metadata,
    _pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("assigned_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.UniqueConstraint("user_id", "area_id"),
    sa.Index(None, "area_id"),
)

ACCOUNT_CHANGE_FIELDS = ("name", "phone", "address", "category", "account_type", "area", "is_active", "gps")

account_changes = sa.Table(
    "account_changes", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    sa.Column("field", sa.String(32), nullable=False),  # name (billing name), phone (billing mobile), address ...
    sa.Column("old_value", sa.String(255), nullable=True),
    sa.Column("new_value", sa.String(255), nullable=True),
    sa.Column("source", sa.String(32), nullable=False, server_default="survey_import"),
    _fk("changed_by", "users.id"),
    sa.Column("changed_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.Index(None, "account_id", "created_at"),
)

BANK_OUTCOMES = ("matched", "duplicate", "refused_unknown", "refused_amount", "refused_expired", "refused_paid",
                 "refused_scope")

bank_files = sa.Table(
    "bank_files", metadata,
    _pk(),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),  # the same file twice: refused, nothing changes
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("matched_count", sa.Integer, nullable=False),
    sa.Column("duplicate_count", sa.Integer, nullable=False),
    sa.Column("refused_count", sa.Integer, nullable=False),
    sa.Column("matched_amount", Money, nullable=False),
    sa.Column("duplicate_amount", Money, nullable=False),
    sa.Column("refused_amount", Money, nullable=False),
    _fk("imported_by", "users.id"),
    sa.Column("imported_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.Index(None, "created_at"),
)

bank_payments = sa.Table(
    "bank_payments", metadata,
    _pk(),
    _fk("bank_file_id", "bank_files.id", nullable=False),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("psid", sa.String(17), nullable=True),
    sa.Column("consumer_number", sa.String(32), nullable=True),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("fine", Money, nullable=False, server_default="0"),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("paid_time", sa.String(8), nullable=False),  # HH:MM:SS, as the bank sends it
    sa.Column("bank", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("bill_id", Id, nullable=True),  # plain ids: archiving may move the bill and payment
    sa.Column("payment_id", Id, nullable=True),
    sa.Column("dedupe_key", sa.String(160), nullable=False),  # psid|transaction id|date|time
    _created(),
    sa.CheckConstraint(_in("outcome", BANK_OUTCOMES), name="outcome_valid"),
    sa.Index(None, "bank_file_id", "row_no"),
    sa.Index(None, "dedupe_key"),
    sa.Index(None, "bill_id"),
    # One matched row per payment (a duplicate is stored as 'duplicate' pointing at nothing new).
    sa.Index("uq_bank_payments_matched_key", "dedupe_key", unique=True,
             sqlite_where=sa.text("outcome = 'matched'"), postgresql_where=sa.text("outcome = 'matched'")),
)

TICKET_STATUSES = ("pending", "approved", "rejected")

tickets = sa.Table(
    "tickets", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),  # the unit's area when raised
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("details", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    _fk("raised_by", "users.id"),
    sa.Column("raised_by_name", sa.String(64), nullable=False, server_default="system"),
    sa.Column("resolution", sa.Text, nullable=True),
    _fk("resolved_by", "users.id"),
    sa.Column("resolved_by_name", sa.String(64), nullable=True),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    _created(),
    sa.CheckConstraint(_in("status", TICKET_STATUSES), name="status_valid"),
    sa.CheckConstraint("status = 'pending' OR resolution IS NOT NULL", name="resolved_has_resolution"),
    sa.Index(None, "account_id", "created_at"),
    sa.Index(None, "area_id", "status"),
)

VISIT_OUTCOMES = ("met", "not_home", "closed", "refused", "paid", "promised", "other")

field_visits = sa.Table(
    "field_visits", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("visited_on", sa.Date, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("photo_ref", sa.String(512), nullable=True),
    sa.Column("gps_lat", Coordinate, nullable=True),
    sa.Column("gps_lon", Coordinate, nullable=True),
    _fk("visited_by", "users.id"),
    sa.Column("visited_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.CheckConstraint(_in("outcome", VISIT_OUTCOMES), name="outcome_valid"),
    sa.CheckConstraint("(gps_lat IS NULL) = (gps_lon IS NULL)", name="gps_both_or_neither"),
    sa.Index(None, "account_id", "visited_on"),
    sa.Index(None, "area_id", "visited_on"),
    sa.Index(None, "visited_by", "visited_on"),
)

# ---- the bill archive -------------------------------------------------------------------------
ARCHIVE_STATUSES = ("archived", "restored")

archive_runs = sa.Table(
    "archive_runs", metadata,
    _pk(),
    sa.Column("cutoff", sa.Date, nullable=False),  # bills whose period ended before it
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("bills", sa.Integer, nullable=False),
    sa.Column("lines", sa.Integer, nullable=False),
    sa.Column("payments", sa.Integer, nullable=False),
    sa.Column("total_amount", Money, nullable=False),
    sa.Column("amount_paid", Money, nullable=False),
    sa.Column("payments_amount", Money, nullable=False),
    sa.Column("kept", sa.Integer, nullable=False, server_default="0"),  # old bills left live (still open, or referenced)
    sa.Column("started_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.Column("restored_at", UTCDateTime(), nullable=True),
    sa.Column("restored_by_name", sa.String(64), nullable=True),
    sa.CheckConstraint(_in("status", ARCHIVE_STATUSES), name="status_valid"),
)

# Per archived month (the bills' period start month, the payments' month) and area: what left the
# live tables, so reports of those months still add up.
archive_month_summaries = sa.Table(
    "archive_month_summaries", metadata,
    _pk(),
    _fk("archive_run_id", "archive_runs.id", nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("bills", sa.Integer, nullable=False),
    sa.Column("billed", Money, nullable=False),  # current charges (total - arrears carried in)
    sa.Column("total_amount", Money, nullable=False),
    sa.Column("amount_paid", Money, nullable=False),
    sa.Column("payments", sa.Integer, nullable=False),
    sa.Column("collected", Money, nullable=False),  # payments dated in the month (credits left out)
    sa.UniqueConstraint("archive_run_id", "month", "area_id"),
    sa.Index(None, "month", "area_id"),
)

ARCHIVED_TABLES = ("bills", "bill_lines", "bill_readings", "payments", "notifications", "payment_events")


def _archive_of(name: str, *indexes: tuple[str, ...], unique: tuple[str, ...] = ()) -> sa.Table:
    """`NAME_archive`: the live table's columns (same names and types, no defaults, no foreign keys or
    checks: what is archived was checked when it was stored), plus the run that moved it."""
    live = metadata.tables[name]
    cols = [sa.Column(c.name, c.type, primary_key=c.primary_key, autoincrement=False, nullable=c.nullable)
            for c in live.columns]
    extra = [sa.Index(None, *cols_) for cols_ in indexes]
    extra += [sa.Index(f"uq_{name}_archive_{'_'.join(u)}", *u, unique=True) for u in (unique,) if u]
    return sa.Table(f"{name}_archive", metadata, *cols, _fk("archive_run_id", "archive_runs.id", nullable=False),
                    sa.Index(None, "archive_run_id"), *extra)


bills_archive = _archive_of("bills", ("account_id", "billing_period_start"), ("area_id", "billing_period_start"),
                            unique=("psid",))
bill_lines_archive = _archive_of("bill_lines", ("bill_id",))
bill_readings_archive = _archive_of("bill_readings", ("bill_id",))
payments_archive = _archive_of("payments", ("bill_id",))
notifications_archive = _archive_of("notifications", ("bill_id",))
payment_events_archive = _archive_of("payment_events", ("bill_id",))

__all__ = ["user_areas", "account_changes", "bank_files", "bank_payments", "tickets", "field_visits", "archive_runs",
           "archive_month_summaries", "bills_archive", "bill_lines_archive", "bill_readings_archive",
           "payments_archive", "notifications_archive", "payment_events_archive", "ARCHIVED_TABLES",
           "BANK_OUTCOMES", "TICKET_STATUSES", "VISIT_OUTCOMES", "ACCOUNT_CHANGE_FIELDS", "ARCHIVE_STATUSES"]
