"""Records of field operations (tables in database/schema_field.py), passed between the storage
backends, the services (services/field/) and the UI."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.models import Record

STATUSES = ("pending", "approved", "rejected")
VISIT_OUTCOMES = {"paid": "Paid on the spot", "promised": "Promised to pay", "refused": "Refused",
                  "closed": "Closed", "not_found": "Not found"}
TICKET_KINDS = {"wrong_category": "Wrong category or fee", "closed_business": "Closed business",
                "duplicate_unit": "Duplicate unit", "wrong_reading": "Wrong reading", "meter_fault": "Meter fault",
                "payment_not_posted": "Payment not posted", "other": "Other"}
# What a customer may report from the portal about their own bill (the rest are the office's findings).
CUSTOMER_TICKET_KINDS = ("wrong_reading", "meter_fault", "payment_not_posted", "wrong_category", "other")


@dataclass(frozen=True)
class NewVisit:
    account_id: int
    outcome: str
    visited_at: dt.datetime
    visit_date: dt.date
    notes: str | None = None
    photo_ref: str | None = None
    gps_lat: Decimal | None = None
    gps_lon: Decimal | None = None
    gps_accuracy_m: Decimal | None = None
    distance_m: Decimal | None = None
    radius_m: int | None = None
    flagged: bool = False
    photo_url: str | None = None  # the remote copy's URL (Cloudinary/Drive) when configured


@dataclass(frozen=True)
class Visit(Record):
    id: int
    account_id: int
    area_id: int
    agent_name: str
    visited_at: dt.datetime
    visit_date: dt.date
    outcome: str
    status: str
    agent_id: int | None = None
    notes: str | None = None
    photo_ref: str | None = None
    gps_lat: Decimal | None = None
    gps_lon: Decimal | None = None
    gps_accuracy_m: Decimal | None = None
    distance_m: Decimal | None = None
    radius_m: int | None = None
    flagged: bool = False
    reviewed_by: int | None = None
    reviewed_by_name: str | None = None
    reviewed_at: dt.datetime | None = None
    review_reason: str | None = None
    created_at: dt.datetime | None = None
    photo_url: str | None = None  # the remote copy's URL (Cloudinary/Drive) when configured
    # Joined, for display.
    account_code: str | None = None
    account_name: str | None = None
    area_path: str | None = None
    unit_lat: Decimal | None = None
    unit_lon: Decimal | None = None


@dataclass(frozen=True)
class VisitFilter:
    status: str | None = None  # pending | approved | rejected | None for all
    area_id: int | None = None  # an area at any level: everything under it
    account_id: int | None = None
    agent_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    flagged: bool | None = None
    newest_first: bool = True


@dataclass(frozen=True)
class NewTicket:
    account_id: int
    kind: str
    description: str
    raised_at: dt.datetime
    source: str = "unit"  # unit | bill | visit | portal
    bill_id: int | None = None
    visit_id: int | None = None
    proposed_change: dict | None = None  # {"category", "account_type"} | {"active": False} | {"contact": {...}}
    assignee_id: int | None = None
    assignee_name: str | None = None
    photo_refs: tuple[str, ...] = ()
    photo_urls: tuple[str | None, ...] = ()  # the remote copy of photo_refs[i] (or None), when configured

    def attachments(self) -> list[tuple[str, str | None]]:
        """The photos as (photo_ref, remote URL or None), the URLs aligned with the refs."""
        urls = tuple(self.photo_urls or ())
        return [(ref, urls[i] if i < len(urls) else None) for i, ref in enumerate(self.photo_refs)]


@dataclass(frozen=True)
class Ticket(Record):
    id: int
    account_id: int
    area_id: int
    kind: str
    description: str
    source: str
    raised_by_name: str
    raised_at: dt.datetime
    status: str
    raised_by: int | None = None
    bill_id: int | None = None
    visit_id: int | None = None
    proposed_change: dict | None = None
    assignee_id: int | None = None
    assignee_name: str | None = None
    applied: dict | None = None
    reviewed_by: int | None = None
    reviewed_by_name: str | None = None
    reviewed_at: dt.datetime | None = None
    review_reason: str | None = None
    # Joined, for display.
    account_code: str | None = None
    account_name: str | None = None
    area_path: str | None = None
    comments: int = 0
    attachments: int = 0

    def age_days(self, today: dt.date) -> int:
        return max(0, (today - self.raised_at.date()).days)


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = "pending"
    area_id: int | None = None
    account_id: int | None = None
    kind: str | None = None
    visit_id: int | None = None
    assignee_id: int | None = None
    raised_before: dt.datetime | None = None  # older than: the age filter
    oldest_first: bool = True


@dataclass(frozen=True)
class TicketNote(Record):
    """A comment or an attachment (photo reference) of a ticket."""

    id: int
    ticket_id: int
    author_name: str
    created_at: dt.datetime
    body: str | None = None
    photo_ref: str | None = None
    photo_url: str | None = None


@dataclass(frozen=True)
class AgentVisits(Record):
    """Visits an agent logged in a period (field_visits grouped in the database)."""

    agent_name: str
    visits: int
    agent_id: int | None = None
    approved: int = 0
    rejected: int = 0
    pending: int = 0
    flagged: int = 0
    units: int = 0
