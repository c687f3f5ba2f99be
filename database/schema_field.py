"""Field operations (issue 15): compliance visits and complaint tickets, on the one metadata of
database/schema.py (imported at its end, so every backend, the Supabase SQL, the staff-scope
policies and the fingerprint see them).

- field_visits: an agent's visit to a unit (outcome, notes, photo, the phone's GPS position and its
  distance to the unit's surveyed position, flagged beyond the radius), approved or rejected once
  by a supervisor.
- tickets: a complaint raised from a unit, a bill or a visit, optionally proposing a data change
  (`proposed_change`: a new category, deactivation, a corrected contact) that approval applies in
  the same transaction (`applied` records what changed); comments and photo attachments are
  append-only rows of their own.

Both carry the unit's leaf area (`area_id`) so scoped reads filter without a join. Status goes
PENDING -> APPROVED | REJECTED only, and a decided row never changes again (database/field_triggers.py).
"""
from __future__ import annotations

import sqlalchemy as sa

from database.schema import Coordinate, Json, UTCDateTime, _created, _fk, _in, _pk, metadata

FIELD_STATUSES = ("pending", "approved", "rejected")
VISIT_OUTCOMES = ("paid", "promised", "refused", "closed", "not_found")
TICKET_KINDS = ("wrong_category", "closed_business", "duplicate_unit", "wrong_reading", "meter_fault",
                "payment_not_posted", "other")
TICKET_SOURCES = ("unit", "bill", "visit", "portal")

_DECIDED = ("(status = 'pending') = (reviewed_at IS NULL AND reviewed_by_name IS NULL)", "decided_has_reviewer")
_REASON = ("status <> 'rejected' OR (review_reason IS NOT NULL AND review_reason <> '')", "rejected_has_reason")


def _review_columns() -> list:
    return [
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        _fk("reviewed_by", "users.id"),
        sa.Column("reviewed_by_name", sa.String(64), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_reason", sa.Text, nullable=True),
        sa.CheckConstraint(_in("status", FIELD_STATUSES), name="status_valid"),
        sa.CheckConstraint(_DECIDED[0], name=_DECIDED[1]),
        sa.CheckConstraint(_REASON[0], name=_REASON[1]),
    ]


field_visits = sa.Table(
    "field_visits", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),  # the unit's leaf area when logged (scoped reads, no join)
    _fk("agent_id", "users.id"),
    sa.Column("agent_name", sa.String(64), nullable=False),
    sa.Column("visited_at", UTCDateTime(), nullable=False),
    sa.Column("visit_date", sa.Date, nullable=False),  # the utility's local day of visited_at
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("photo_ref", sa.String(512), nullable=True),  # services/photos.py reference
    sa.Column("photo_url", sa.String(1024), nullable=True),  # remote copy (Cloudinary/Drive) when configured
    sa.Column("gps_lat", Coordinate, nullable=True),  # the phone's position (none: refused or unavailable)
    sa.Column("gps_lon", Coordinate, nullable=True),
    sa.Column("gps_accuracy_m", sa.Numeric(10, 1), nullable=True),
    sa.Column("distance_m", sa.Numeric(12, 1), nullable=True),  # to the unit's surveyed GPS (none: either unknown)
    sa.Column("radius_m", sa.Integer, nullable=True),  # the radius in force when logged
    sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),  # farther than radius_m
    *_review_columns(),
    _created(),
    sa.CheckConstraint(_in("outcome", VISIT_OUTCOMES), name="outcome_valid"),
    sa.CheckConstraint("(gps_lat IS NULL) = (gps_lon IS NULL)", name="gps_both_or_neither"),
    sa.CheckConstraint("gps_lat IS NULL OR (gps_lat BETWEEN -90 AND 90 AND gps_lon BETWEEN -180 AND 180)",
                       name="gps_range"),
    sa.CheckConstraint("distance_m IS NULL OR distance_m >= 0", name="distance_nonneg"),
    sa.Index(None, "area_id", "status", "visited_at"),
    sa.Index(None, "account_id", "visited_at"),
    sa.Index(None, "agent_id", "visit_date"),
    sa.Index(None, "visit_date", "area_id"),
)

tickets = sa.Table(
    "tickets", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("source", sa.String(8), nullable=False, server_default="unit"),
    _fk("bill_id", "bills.id"),
    _fk("visit_id", "field_visits.id"),
    sa.Column("proposed_change", Json, nullable=True),  # {"category": .., "account_type": ..} | {"active": false} | {"contact": {..}}
    _fk("raised_by", "users.id"),
    sa.Column("raised_by_name", sa.String(64), nullable=False),
    sa.Column("raised_at", UTCDateTime(), nullable=False),
    _fk("assignee_id", "users.id"),  # a supervisor of the unit's area
    sa.Column("assignee_name", sa.String(64), nullable=True),
    sa.Column("applied", Json, nullable=True),  # what approval changed: {field: {old, new}}
    *_review_columns(),
    sa.CheckConstraint(_in("kind", TICKET_KINDS), name="kind_valid"),
    sa.CheckConstraint(_in("source", TICKET_SOURCES), name="source_valid"),
    sa.CheckConstraint("description <> ''", name="description_given"),
    sa.CheckConstraint("applied IS NULL OR status = 'approved'", name="applied_only_when_approved"),
    sa.Index(None, "status", "raised_at", "id"),
    sa.Index(None, "area_id", "status", "raised_at"),
    sa.Index(None, "account_id", "raised_at"),
    sa.Index(None, "visit_id"),
)

ticket_comments = sa.Table(
    "ticket_comments", metadata,
    _pk(),
    _fk("ticket_id", "tickets.id", nullable=False),
    _fk("author_id", "users.id"),
    sa.Column("author_name", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    _created(),
    sa.CheckConstraint("body <> ''", name="body_given"),
    sa.Index(None, "ticket_id", "id"),
)

ticket_attachments = sa.Table(
    "ticket_attachments", metadata,
    _pk(),
    _fk("ticket_id", "tickets.id", nullable=False),
    sa.Column("photo_ref", sa.String(512), nullable=False),  # services/photos.py reference
    sa.Column("photo_url", sa.String(1024), nullable=True),  # remote copy (Cloudinary/Drive) when configured
    sa.Column("added_by_name", sa.String(64), nullable=False),
    _created(),
    sa.Index(None, "ticket_id", "id"),
)

# Columns of a visit / ticket that never change after insert (the review columns and a ticket's
# assignee and `applied` are the only ones that do, and only while pending: database/field_triggers.py).
VISIT_FIXED_COLUMNS = tuple(c.name for c in field_visits.columns
                            if c.name not in ("status", "reviewed_by", "reviewed_by_name", "reviewed_at",
                                              "review_reason"))
TICKET_FIXED_COLUMNS = tuple(c.name for c in tickets.columns
                             if c.name not in ("status", "reviewed_by", "reviewed_by_name", "reviewed_at",
                                               "review_reason", "assignee_id", "assignee_name", "applied"))

__all__ = ["field_visits", "tickets", "ticket_comments", "ticket_attachments", "FIELD_STATUSES", "VISIT_OUTCOMES",
           "TICKET_KINDS", "TICKET_SOURCES", "VISIT_FIXED_COLUMNS", "TICKET_FIXED_COLUMNS"]
