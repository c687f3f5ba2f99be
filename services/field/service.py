"""Field operations (issue 15): the rules, called by the pages and the API with the actor.

Every call checks the actor's permission here (services/accounts/roles.py) and goes through the
actor's scoped view of storage (db.for_actor), so an agent of one union council can neither read
nor act on another's units, visits or tickets (NotFoundError, as for a record that does not exist).
Bad input raises ValidationError naming the field and the fix, before anything is stored.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from services.accounts.roles import ROLES, Permission, require
from services.clock import utcnow
from services.errors import NotFoundError, PermissionDeniedError, ValidationError
from services.field import geo
from services.field.models import (
    TICKET_KINDS, VISIT_OUTCOMES, NewTicket, NewVisit, Ticket, TicketFilter, Visit, VisitFilter,
)
from services.models import Page

MAX_TEXT = 2000
# Who a new ticket is assigned to: the area-limited roles that resolve tickets (supervisor, manager),
# the one assigned nearest to the unit's area first (services/storage/base.py: area_staff).
ASSIGNEE_ROLES = tuple(name for name, role in ROLES.items() if role.scoped and Permission.RESOLVE_TICKET in role.permissions)
CONTACT_FIELDS = ("name", "phone", "email", "address")


def _text(field: str, value: str | None, *, required: bool, minimum: int = 5) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(field, "is required.", f"Write what happened ({minimum} characters at least).")
        return None
    if required and len(text) < minimum:
        raise ValidationError(field, f"is too short ({len(text)} characters).",
                              f"Write what happened ({minimum} characters at least).")
    if len(text) > MAX_TEXT:
        raise ValidationError(field, f"is {len(text)} characters long.", f"Keep it under {MAX_TEXT} characters.")
    return text


def _coordinate(field: str, value, low: int, high: int) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(field, f"{value!r} is not a number.", "Capture the position again.") from None
    if not d.is_finite() or not low <= d <= high:
        raise ValidationError(field, f"{value} is outside {low}..{high}.", "Capture the position again.")
    return d.quantize(Decimal("0.000001"))


def position_from_browser(result) -> tuple[tuple[Decimal, Decimal, Decimal | None] | None, str | None]:
    """The browser's geolocation answer (streamlit-js-eval getLocation: {"coords": {...}} or
    {"error": {"code", "message"}}) as ((lat, lon, accuracy), None) or (None, a message for the agent)."""
    if not result:
        return None, None  # not answered yet
    if "error" in result:
        code = (result.get("error") or {}).get("code")
        if code == 1:
            return None, ("The phone refused to share its location. Allow location for this site in the browser's "
                          "settings (and turn location on), then capture again; or log the visit without a position "
                          "(the supervisor sees that it has none).")
        return None, ("The phone could not find its position (" + str((result.get("error") or {}).get("message") or
                                                                       "no fix") + "). Step outside and capture again.")
    coords = result.get("coords") or {}
    try:
        lat = _coordinate("gps_lat", coords.get("latitude"), -90, 90)
        lon = _coordinate("gps_lon", coords.get("longitude"), -180, 180)
    except ValidationError as exc:
        return None, str(exc)
    acc = coords.get("accuracy")
    accuracy = Decimal(str(acc)).quantize(Decimal("0.1")) if acc is not None else None
    return (lat, lon, accuracy), None


# ---- visits ------------------------------------------------------------------------------------
def log_visit(db, account_id: int, outcome: str, *, notes: str | None = None, photo_ref: str | None = None,
              position: tuple | None = None, actor, radius_m: int | None = None,
              copy_photo: Callable[[str], str | None] | None = None) -> Visit:
    """Store the agent's visit: the distance from the phone to the unit's surveyed GPS is computed
    and a visit farther than the radius (FIELD_VISIT_RADIUS_M) is flagged for the supervisor.

    copy_photo(photo_ref) makes the remote copy of the photo (services/integrations/cloudinary_photos.py:
    remote_copy) and returns its URL or None; it is called only once every check has passed, so a
    refused visit uploads nothing, and the URL is stored with the visit (`photo_url`), as a reading's."""
    actor = require(actor, Permission.LOG_VISIT)
    if outcome not in VISIT_OUTCOMES:
        raise ValidationError("outcome", f"{outcome!r} is not an outcome.", "Choose one of: "
                              + ", ".join(VISIT_OUTCOMES.values()) + ".")
    view = db.for_actor(actor).storage
    account = view.get_account(account_id=account_id)
    if account is None:
        raise NotFoundError(f"Account {account_id} does not exist.")
    lat = lon = accuracy = None
    if position is not None:
        lat = _coordinate("gps_lat", position[0], -90, 90)
        lon = _coordinate("gps_lon", position[1], -180, 180)
        accuracy = position[2] if len(position) > 2 else None
    radius = radius_m if radius_m is not None else geo.visit_radius_m()
    unit = (account.gps_lat, account.gps_lon) if account.gps_lat is not None else None
    distance = geo.distance_m((lat, lon) if lat is not None else None, unit)
    text = _text("notes", notes, required=False)
    photo_url = copy_photo(photo_ref) if copy_photo is not None and photo_ref else None
    now = utcnow()
    return view.create_visit(NewVisit(
        account_id=account.id, outcome=outcome, visited_at=now, visit_date=db.today(),
        notes=text, photo_ref=photo_ref, photo_url=photo_url, gps_lat=lat, gps_lon=lon,
        gps_accuracy_m=accuracy, distance_m=distance, radius_m=radius, flagged=geo.is_flagged(distance, radius)), actor)


def review_visit(db, visit_id: int, *, approve: bool, reason: str | None, actor) -> Visit:
    actor = require(actor, Permission.REVIEW_VISITS)
    why = _text("reason", reason, required=not approve)
    return db.for_actor(actor).storage.review_visit(visit_id, approve=approve, reason=why, actor=actor)


def list_visits(db, flt: VisitFilter, offset: int, limit: int, actor) -> Page[Visit]:
    """Visits in the actor's areas (who may see the visits page: LOG_VISIT), filtered and paged in the database."""
    actor = require(actor, Permission.LOG_VISIT)
    return db.for_actor(actor).storage.list_visits(flt, offset, limit)


def get_visit(db, visit_id: int, actor) -> Visit:
    """One visit in the actor's areas; NotFoundError for one outside them, as for one that does not exist."""
    actor = require(actor, Permission.LOG_VISIT)
    visit = db.for_actor(actor).storage.get_visit(visit_id)
    if visit is None:
        raise NotFoundError(f"Visit {visit_id} does not exist.")
    return visit


def visits_per_agent(db, start: dt.date, end: dt.date, actor):
    """Visits per agent in [start, end], in the actor's areas (the staff performance report)."""
    if end < start:
        raise ValidationError("end", f"{end} is before {start}.", "Choose an end on or after the start.")
    return db.for_actor(actor).storage.visits_per_agent(start, end)


# ---- tickets -----------------------------------------------------------------------------------
def proposed_change(*, category: str | None = None, account_type: str | None = None, deactivate: bool = False,
                    contact: dict | None = None) -> dict | None:
    """The data change a ticket proposes, checked: a new category/type, deactivation, a corrected
    contact (name, phone, email, address). None when nothing is proposed."""
    out: dict = {}
    for field, value in (("category", category), ("account_type", account_type)):
        text = (value or "").strip()
        if text:
            if len(text) > 32:
                raise ValidationError(field, f"{text!r} is longer than 32 characters.", "Use the category's name.")
            out[field] = text
    if deactivate:
        out["active"] = False
    fixed = {k: (v or "").strip() for k, v in (contact or {}).items() if k in CONTACT_FIELDS and (v or "").strip()}
    if "phone" in fixed and (len(fixed["phone"]) > 20 or not any(ch.isdigit() for ch in fixed["phone"])):
        raise ValidationError("phone", f"{fixed['phone']!r} is not a phone number.", "Write it as +92 300 1234567.")
    if "email" in fixed and "@" not in fixed["email"]:
        raise ValidationError("email", f"{fixed['email']!r} is not an e-mail address.", "Write it as name@example.com.")
    if fixed:
        out["contact"] = fixed
    return out or None


def raise_ticket(db, account_id: int, kind: str, description: str, *, actor, source: str = "unit",
                 visit_id: int | None = None, bill_id: int | None = None, change: dict | None = None,
                 photo_refs: tuple[str, ...] = (), photo_urls: tuple[str | None, ...] = ()) -> Ticket:
    """photo_urls[i] is the remote copy of photo_refs[i] (or None), stored with the attachment."""
    actor = require(actor, Permission.RAISE_TICKET)
    if is_customer(actor) and source != "portal":
        # A customer reports a problem with their own bill (services/customers/portal.py: report_problem),
        # never a staff ticket proposing a change to the unit.
        raise PermissionDeniedError(f"Customer '{actor.username}' reports a problem from a bill, in the portal.")
    if kind not in TICKET_KINDS:
        raise ValidationError("kind", f"{kind!r} is not a ticket kind.", "Choose one of: "
                              + ", ".join(TICKET_KINDS.values()) + ".")
    text = _text("description", description, required=True)
    view = db.for_actor(actor).storage
    account = view.get_account(account_id=account_id)
    if account is None:
        raise NotFoundError(f"Account {account_id} does not exist.")
    if visit_id is not None:
        visit = view.get_visit(visit_id)
        if visit is None:
            raise NotFoundError(f"Visit {visit_id} does not exist.")
        if visit.account_id != account_id:
            raise ValidationError("visit", f"visit {visit_id} is of another unit.", "Raise the ticket from that visit.")
        source = "visit"
        if not photo_refs and visit.photo_ref:  # a ticket from a visit carries its photo (and the remote URL)
            photo_refs, photo_urls = (visit.photo_ref,), (visit.photo_url,)
    elif bill_id is not None and source == "unit":
        source = "bill"
    assignee = next(iter(view.area_staff(account.area_id, ASSIGNEE_ROLES, 1)), (None, None))
    return view.create_ticket(NewTicket(
        account_id=account_id, kind=kind, description=text, raised_at=utcnow(), source=source, bill_id=bill_id,
        visit_id=visit_id, proposed_change=change or None, assignee_id=assignee[0], assignee_name=assignee[1],
        photo_refs=tuple(photo_refs), photo_urls=tuple(photo_urls)), actor)


def is_customer(actor) -> bool:
    role = ROLES.get(actor.role)
    return bool(role is not None and role.customer)


def list_tickets(db, flt: TicketFilter, offset: int, limit: int, actor) -> Page[Ticket]:
    """Tickets the actor may see (staff: their areas; a customer: their own accounts, as the portal
    shows them), filtered and paged in the database."""
    actor = require(actor, Permission.RAISE_TICKET)
    return db.for_actor(actor).storage.list_tickets(flt, offset, limit)


def get_ticket(db, ticket_id: int, actor) -> Ticket:
    """One ticket the actor may see; NotFoundError for another's, as for one that does not exist."""
    actor = require(actor, Permission.RAISE_TICKET)
    ticket = db.for_actor(actor).storage.get_ticket(ticket_id)
    if ticket is None:
        raise NotFoundError(f"Ticket {ticket_id} does not exist.")
    return ticket


def ticket_notes(db, ticket_id: int, actor):
    """A ticket's comments and photos (staff: what the ticket manager shows)."""
    get_ticket(db, ticket_id, actor)
    return db.for_actor(actor).storage.list_ticket_notes(ticket_id)


def review_ticket(db, ticket_id: int, *, approve: bool, reason: str | None, actor) -> Ticket:
    """Approve (applying the proposed change in the same unit of work, audited) or reject with a reason."""
    actor = require(actor, Permission.RESOLVE_TICKET)
    why = _text("reason", reason, required=not approve)
    return db.for_actor(actor).storage.review_ticket(ticket_id, approve=approve, reason=why, actor=actor)


def comment(db, ticket_id: int, body: str, actor):
    actor = require(actor, Permission.RAISE_TICKET)
    text = _text("comment", body, required=True, minimum=2)
    return db.for_actor(actor).storage.add_ticket_comment(ticket_id, text, actor)


def ticket_queue(db, *, status: str | None, area_id: int | None, older_than_days: int | None, kind: str | None,
                 offset: int, limit: int, actor, now: dt.datetime | None = None,
                 assignee_id: int | None = None) -> Page[Ticket]:
    """The ticket manager's queue: by status, area and age, oldest first, paged in the database."""
    before = None
    if older_than_days:
        before = (now or utcnow()) - dt.timedelta(days=int(older_than_days))
    flt = TicketFilter(status=status or None, area_id=area_id, kind=kind or None, raised_before=before,
                       assignee_id=assignee_id)
    return db.for_actor(actor).storage.list_tickets(flt, offset, limit)
