"""Field operations over the API (issue 15): visits and tickets.

GET /api/visits, GET /api/visits/{id}, POST /api/visits, GET /api/tickets, GET /api/tickets/{id},
POST /api/tickets. Access is the services' and the storage scope's, never the route's: every call goes
through services/field/service.py with the caller's actor, which checks the permission the pages check
(403 before anything is read) and reads through DatabaseService.for_actor (an area-limited caller's
areas, a customer's own accounts), so a visit or ticket the caller may not see is 404 exactly like one
that does not exist. Lists are filtered and paged in the database. Bad input is refused by the same
rules and messages as the pages (ValidationError naming the field: 422); a customer raises a ticket as
the portal lets them, about one of their bills (services/customers/portal.py: report_problem).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.accounts.api_auth import ApiPrincipal
from services.api.deps import principal, services
from services.api.schemas import MAX_ID, ErrorOut, Strict
from services.clock import utcnow
from services.container import Services
from services.errors import ValidationError
from services.field import service as field
from services.field.models import STATUSES, Ticket, TicketFilter, TicketNote, Visit, VisitFilter

router = APIRouter(tags=["field"])
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
Status = Literal[STATUSES]  # type: ignore[valid-type]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Coordinate = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=12, description="decimal degrees")]


# ---- bodies -------------------------------------------------------------------------------------
class VisitIn(Strict):
    """A visit as the agent logs it on the Log a visit page (the photo is taken on the page)."""

    account_id: Id
    # No length or choice limits here: the service refuses with the page's message, naming the field.
    outcome: str = Field(description="paid | promised | refused | closed | not_found", examples=["promised"])
    notes: str | None = Field(None, description=f"at most {field.MAX_TEXT} characters")
    gps_lat: Coordinate | None = Field(None, description="the phone's position; both or neither")
    gps_lon: Coordinate | None = None
    gps_accuracy_m: Annotated[Decimal, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def both_or_neither(self):
        if (self.gps_lat is None) != (self.gps_lon is None):
            raise PydanticCustomError("gps_pair", "send both gps_lat and gps_lon, or neither")
        return self


class ContactChangeIn(Strict):
    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=500)


class ChangeIn(Strict):
    """What approval applies to the unit (in the same transaction, audited)."""

    category: str | None = Field(None, max_length=64)
    account_type: str | None = Field(None, max_length=64)
    deactivate: bool = False
    contact: ContactChangeIn | None = None


class TicketIn(Strict):
    """A ticket as the pages raise it: about a unit, from one of its bills or visits. A customer raises
    one about one of their bills (bill_id), of the kinds the portal offers, proposing no change."""

    account_id: Id | None = Field(None, description="the unit (staff); a customer leaves it out: the bill names it")
    kind: str = Field(examples=["wrong_category"], description="wrong_category | closed_business | duplicate_unit | "
                      "wrong_reading | meter_fault | payment_not_posted | other (a customer: not the first three's "
                      "office findings but the portal's kinds)")
    description: str = Field(description=f"5 to {field.MAX_TEXT} characters")
    visit_id: Id | None = None
    bill_id: Id | None = None
    proposed_change: ChangeIn | None = None


# ---- answers ------------------------------------------------------------------------------------
class VisitOut(BaseModel):
    id: int
    account_id: int
    account_code: str | None
    area_path: str | None
    agent_id: int | None
    agent_name: str
    visited_at: dt.datetime
    visit_date: dt.date
    outcome: str
    notes: str | None
    photo_ref: str | None
    photo_url: str | None = Field(description="the photo's remote copy (Cloudinary/Drive), when configured")
    gps_lat: Decimal | None
    gps_lon: Decimal | None
    gps_accuracy_m: Decimal | None
    distance_m: Decimal | None = Field(description="metres from the unit's surveyed position")
    radius_m: int | None
    flagged: bool = Field(description="farther than radius_m from the unit")
    status: str
    reviewed_by_name: str | None
    reviewed_at: dt.datetime | None
    review_reason: str | None


class VisitPageOut(BaseModel):
    items: list[VisitOut]
    offset: int
    limit: int
    total: int | None
    has_next: bool


class NoteOut(BaseModel):
    id: int
    author_name: str
    created_at: dt.datetime
    body: str | None
    photo_ref: str | None
    photo_url: str | None


class TicketOut(BaseModel):
    id: int
    account_id: int
    account_code: str | None
    area_path: str | None
    kind: str
    description: str
    source: str
    bill_id: int | None
    visit_id: int | None
    raised_by_name: str | None = Field(description="null for a customer")
    raised_at: dt.datetime
    status: str
    review_reason: str | None
    reviewed_at: dt.datetime | None
    proposed_change: dict | None = Field(None, description="staff only")
    applied: dict | None = Field(None, description="staff only")
    assignee_name: str | None = Field(None, description="staff only")
    comments: int
    attachments: int
    notes: list[NoteOut] | None = Field(None, description="comments and photos (staff, detail only)")


class TicketPageOut(BaseModel):
    items: list[TicketOut]
    offset: int
    limit: int
    total: int | None
    has_next: bool


def _visit_out(v: Visit) -> dict:
    return {k: getattr(v, k) for k in VisitOut.model_fields}


def _is_customer(who: ApiPrincipal) -> bool:
    return field.is_customer(who.actor)


def _ticket_out(t: Ticket, *, staff: bool, notes: list[TicketNote] | None = None) -> dict:
    out = {k: getattr(t, k) for k in TicketOut.model_fields if k != "notes"}
    if not staff:  # what the portal shows a customer: the kind, the answer and its reason
        out.update(raised_by_name=None, proposed_change=None, applied=None, assignee_name=None)
    if notes is not None:
        out["notes"] = [{k: getattr(n, k) for k in NoteOut.model_fields} for n in notes]
    return out


def _page(page, items: list[dict]) -> dict:
    return {"items": items, "offset": page.offset, "limit": page.limit, "total": page.total,
            "has_next": page.has_next}


# ---- visits -------------------------------------------------------------------------------------
@router.get("/api/visits", response_model=VisitPageOut, responses=ERRORS)
def list_visits(offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(50, ge=1, le=200),
                status: Status | None = Query(None), area_id: int | None = Query(None, ge=1, le=MAX_ID,
                                                                                 description="an area at any level"),
                account_id: int | None = Query(None, ge=1, le=MAX_ID), agent_id: int | None = Query(None, ge=1, le=MAX_ID),
                date_from: dt.date | None = Query(None), date_to: dt.date | None = Query(None),
                flagged: bool | None = Query(None), oldest_first: bool = Query(False),
                who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Visits in the caller's areas, newest first (or oldest_first), filtered and paged in the database."""
    if date_from and date_to and date_to < date_from:
        raise ValidationError("date_to", f"{date_to} is before {date_from}.", "Choose an end on or after the start.")
    flt = VisitFilter(status=status, area_id=area_id, account_id=account_id, agent_id=agent_id, date_from=date_from,
                      date_to=date_to, flagged=flagged, newest_first=not oldest_first)
    page = field.list_visits(svc.db, flt, offset, limit, who.actor)
    return _page(page, [_visit_out(v) for v in page.items])


@router.get("/api/visits/{visit_id}", response_model=VisitOut, responses=ERRORS)
def get_visit(visit_id: int = Path(ge=1, le=MAX_ID), who: ApiPrincipal = Depends(principal),
              svc: Services = Depends(services)):
    """One visit; 404 for one outside the caller's areas, as for one that does not exist."""
    return _visit_out(field.get_visit(svc.db, visit_id, who.actor))


@router.post("/api/visits", response_model=VisitOut, status_code=201, responses=ERRORS)
def log_visit(body: VisitIn, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Log a visit as the Log a visit page does: the distance to the unit's surveyed position is computed
    and a visit farther than FIELD_VISIT_RADIUS_M is flagged for the supervisor."""
    position = None
    if body.gps_lat is not None:
        position = (body.gps_lat, body.gps_lon, body.gps_accuracy_m)
    return _visit_out(field.log_visit(svc.db, body.account_id, body.outcome, notes=body.notes, position=position,
                                      actor=who.actor))


# ---- tickets ------------------------------------------------------------------------------------
@router.get("/api/tickets", response_model=TicketPageOut, responses=ERRORS)
def list_tickets(offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(50, ge=1, le=200),
                 status: Status | None = Query(None, description="none: every status"),
                 area_id: int | None = Query(None, ge=1, le=MAX_ID), account_id: int | None = Query(None, ge=1, le=MAX_ID),
                 kind: str | None = Query(None, max_length=32), visit_id: int | None = Query(None, ge=1, le=MAX_ID),
                 older_than_days: int | None = Query(None, ge=1, le=36500), newest_first: bool = Query(False),
                 who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Tickets the caller may see (staff: their areas; a customer: their own accounts), oldest first
    (the ticket manager's queue) or newest_first, filtered and paged in the database."""
    before = None
    if older_than_days:
        before = utcnow() - dt.timedelta(days=older_than_days)
    flt = TicketFilter(status=status, area_id=area_id, account_id=account_id, kind=kind or None, visit_id=visit_id,
                       raised_before=before, oldest_first=not newest_first)
    page = field.list_tickets(svc.db, flt, offset, limit, who.actor)
    staff = not _is_customer(who)
    return _page(page, [_ticket_out(t, staff=staff) for t in page.items])


@router.get("/api/tickets/{ticket_id}", response_model=TicketOut, responses=ERRORS)
def get_ticket(ticket_id: int = Path(ge=1, le=MAX_ID), who: ApiPrincipal = Depends(principal),
               svc: Services = Depends(services)):
    """One ticket (staff: with its comments and photos); 404 for one the caller may not see."""
    ticket = field.get_ticket(svc.db, ticket_id, who.actor)
    if _is_customer(who):
        return _ticket_out(ticket, staff=False)
    return _ticket_out(ticket, staff=True, notes=field.ticket_notes(svc.db, ticket_id, who.actor))


@router.post("/api/tickets", response_model=TicketOut, status_code=201, responses=ERRORS)
def raise_ticket(body: TicketIn, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Raise a ticket as the pages do (assigned to a supervisor of the unit's area, audited). Staff name
    the unit and may raise it from one of its visits or bills and propose a change; a customer names
    one of their bills and one of the portal's kinds, as on My bills."""
    if _is_customer(who):
        from services.customers.portal import CustomerPortal

        if body.bill_id is None:
            raise ValidationError("bill_id", "is required for a customer.", "Name the bill the problem is about.")
        if body.proposed_change is not None or body.visit_id is not None:
            field_name = "proposed_change" if body.proposed_change is not None else "visit_id"
            raise ValidationError(field_name, "is for staff.", f"Leave {field_name} out; describe the problem.")
        ticket = CustomerPortal(svc).report_problem(who.actor, body.bill_id, body.kind, body.description)
        return _ticket_out(ticket, staff=False)
    if body.account_id is None:
        raise ValidationError("account_id", "is required.", "Name the unit the ticket is about.")
    change = None
    if body.proposed_change is not None:
        c = body.proposed_change
        change = field.proposed_change(category=c.category, account_type=c.account_type, deactivate=c.deactivate,
                                       contact=c.contact.model_dump() if c.contact else None)
    ticket = field.raise_ticket(svc.db, body.account_id, body.kind, body.description, actor=who.actor,
                                visit_id=body.visit_id, bill_id=body.bill_id, change=change)
    return _ticket_out(ticket, staff=True, notes=field.ticket_notes(svc.db, ticket.id, who.actor))
