"""The company API (issue 13, seed 004's endpoints): local sign-in tokens, customers and bills.

POST /api/auth/login, GET /api/auth/me, GET /api/customers, GET /api/customers/{id}, GET /api/bills,
POST /api/bills/generate. Access is the services' and the storage scope's, never the route's: every
read goes through DatabaseService.for_actor(actor) (an area-limited caller's view), so a record the
caller may not see is answered 404 like one that does not exist; a role without the permission gets
403 before anything is read."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from services.accounts.api_auth import ApiPrincipal
from services.accounts.roles import ROLES, Permission, require
from services.api.deps import principal, services
from services.api.schemas import MAX_ID, BillPageOut, BillStatus, ErrorOut, Strict
from services.api.serialize import bill_page_out
from services.billing.periods import month_bounds
from services.container import Services
from services.errors import AuthenticationError, NotFoundError, ValidationError
from services.models import AccountFilter, BillFilter

router = APIRouter(tags=["company"])
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}


# ---- sign-in ------------------------------------------------------------------------------------
class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int | None
    username: str
    role: str
    role_label: str | None
    areas: list[str] | None = Field(description="the area paths an area-limited user works in; None: everything")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")
    expires_at: dt.datetime
    user: UserOut


class MeOut(UserOut):
    method: str = Field(description="how the caller authenticated: local, jwt (Auth0) or header_token")


def _user_out(actor) -> dict:
    scope = actor.scope
    areas = None if scope.is_everything else sorted(getattr(scope, "paths", ()) or ())
    role = ROLES.get(actor.role)
    return {"id": actor.user_id, "username": actor.username, "role": actor.role,
            "role_label": role.label if role else None, "areas": areas}


@router.post("/api/auth/login", response_model=TokenOut,
             responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut},
                        503: {"model": ErrorOut}})
def login(body: LoginIn, request: Request, svc: Services = Depends(services)):
    """A local account's username and password for a short-lived access token (an HS256 JWT; send it
    as `Authorization: Bearer <token>`). The app's sign-in: lockout after repeated failures, throttled
    per client (429), the same answer for every refusal (401), audited."""
    tokens = request.app.state.authenticator.local_tokens
    if tokens is None:
        raise AuthenticationError("Local API sign-in is not set up on this server.")
    from services.accounts.auth import AuthService, token_hash

    auth = svc.auth or AuthService(svc.db.storage)
    host = request.client.host if request.client else "unknown"
    signed = auth.login(body.username, body.password, client=f"api {host}", client_ip=host)
    issued = tokens.issue(signed.actor, signed.session_id, token_hash(signed.token))
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in, expires_at=issued.expires_at,
                    user=UserOut(**_user_out(signed.actor)))


@router.get("/api/auth/me", response_model=MeOut, responses={401: {"model": ErrorOut}})
def me(who: ApiPrincipal = Depends(principal)):
    """The caller: user, role and the areas they may see."""
    return MeOut(**_user_out(who.actor), method=who.method)


# ---- customers ------------------------------------------------------------------------------------
class CustomerOut(BaseModel):
    id: int
    code: str
    name: str
    customer_type: str | None
    category: str | None
    area_id: int
    area_path: str | None
    area_name: str | None
    is_active: bool
    contact_name: str | None
    contact_phone: str | None


class CustomerPageOut(BaseModel):
    items: list[CustomerOut]
    offset: int
    limit: int
    total: int | None
    has_next: bool


def _customer_out(a) -> CustomerOut:
    return CustomerOut(id=a.id, code=a.code, name=a.name, customer_type=a.account_type, category=a.category,
                       area_id=a.area_id, area_path=a.area_path, area_name=a.area_name, is_active=a.is_active,
                       contact_name=a.contact_name, contact_phone=a.contact_phone)


@router.get("/api/customers", response_model=CustomerPageOut, responses=ERRORS)
def customers(search: str | None = Query(None, max_length=64, description="code prefix, or part of the name or "
                                                                          "the primary contact's name"),
              area_id: int | None = Query(None, ge=1, le=MAX_ID, description="an area (service area, cycle) "
                                                                             "at any level: everything under it"),
              customer_type: str | None = Query(None, max_length=32), category: str | None = Query(None, max_length=32),
              active: bool | None = None, offset: int = Query(0, ge=0, le=10_000_000),
              limit: int = Query(50, ge=1, le=200), who: ApiPrincipal = Depends(principal),
              svc: Services = Depends(services)):
    """Customers by code, filtered and paginated in the database, as the caller's scope sees them."""
    flt = AccountFilter(area_id=area_id, category=category, account_type=customer_type, is_active=active,
                        search=(search or "").strip() or None)
    page = svc.db.for_actor(who.actor).list_accounts(flt, offset, limit, actor=who.actor)
    return CustomerPageOut(items=[_customer_out(a) for a in page.items], offset=offset, limit=limit, total=page.total,
                           has_next=page.has_next)


@router.get("/api/customers/{customer_id}", response_model=CustomerOut, responses=ERRORS)
def customer(customer_id: int = Path(ge=1, le=MAX_ID), who: ApiPrincipal = Depends(principal),
             svc: Services = Depends(services)):
    """One customer; 404 when there is none, or the caller's scope does not include it."""
    require(who.actor, Permission.VIEW_BILLS)
    found = svc.db.for_actor(who.actor).storage.get_account(account_id=customer_id)
    if found is None:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return _customer_out(found)


# ---- bills ----------------------------------------------------------------------------------------
@router.get("/api/bills", response_model=BillPageOut, responses=ERRORS)
def bills(customer_id: int | None = Query(None, ge=1, le=MAX_ID), period: str | None = Query(
              None, pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM: bills whose period starts then"),
          status: list[BillStatus] = Query(default=[], description="only these statuses (repeatable)"),
          area_id: int | None = Query(None, ge=1, le=MAX_ID), search: str | None = Query(None, max_length=64),
          offset: int = Query(0, ge=0, le=10_000_000), limit: int = Query(50, ge=1, le=200),
          who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Bills, newest period first, filtered and paginated in the database; an area-limited caller's
    scope filters them in the storage."""
    flt = BillFilter(account_id=customer_id, period_month=period, statuses=tuple(status), area_id=area_id,
                     search=(search or "").strip() or None)
    page = svc.db.for_actor(who.actor).list_bills(flt, offset, limit, actor=who.actor)
    return bill_page_out(page)


class GenerateIn(Strict):
    period: str = Field(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="the month to bill, YYYY-MM",
                        examples=["2026-10"])
    area_id: int | None = Field(None, ge=1, le=MAX_ID, description="only customers under this area (a billing "
                                                                  "cycle); default all")
    due_date: dt.date | None = Field(None, description="default: the utility's due days after the period's end")
    dry_run: bool = False
    estimate: bool = Field(False, description="a metered plan: bill an estimate to accounts with no reading (or "
                                              "daily usage) in the month (their next actual reading or usage trues it "
                                              "up)")


class GenerateOut(BaseModel):
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date
    dry_run: bool
    created: int
    skipped: int = Field(description="already billed for the period (running again creates no duplicates)")
    refused: int
    total_amount: Decimal
    run_id: int | None
    status: str
    message: str
    estimated: int = Field(0, description="of `created`: estimated bills (no reading or usage in the month)")


@router.post("/api/bills/generate", response_model=GenerateOut, responses={**ERRORS, 409: {"model": ErrorOut}})
def generate(body: GenerateIn, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """The month run for a period (and optionally one area or billing cycle): Billing and admins only.
    Idempotent: customers already billed for the period are skipped and counted."""
    require(who.actor, Permission.RUN_BILLING)
    start, end = month_bounds(dt.date.fromisoformat(body.period + "-01"))
    due = body.due_date or end + dt.timedelta(days=svc.db.utility().due_days)
    if not start <= due <= end + dt.timedelta(days=366):
        raise ValidationError("due_date", f"{due} is not between the period start {start} and a year after its end.",
                              "Pick a due date after the period, within a year.")
    db = svc.db.for_actor(who.actor)
    if body.area_id is not None and db.storage.get_area(area_id=body.area_id) is None:
        raise ValidationError("area_id", f"there is no area {body.area_id}.", "Give an area id from the utility's "
                                                                            "areas, or leave it out for all.")
    s = db.generate_bills_for_month(start, end, due, dry_run=body.dry_run, actor=who.actor, area_id=body.area_id,
                                    estimate=body.estimate)
    if not body.dry_run and s.run_id is not None:
        _customer_alerts(svc, db, s.run_id, who.actor)
    return GenerateOut(period_start=s.period_start, period_end=s.period_end, due_date=s.due_date, dry_run=s.dry_run,
                       created=s.created, skipped=s.skipped, refused=s.refused, total_amount=s.total_amount,
                       run_id=s.run_id, status=s.status, message=s.message, estimated=s.estimated)


def _customer_alerts(svc, db, run_id: int, actor) -> None:
    """The portal's bill-ready alert to customers who opted in (services/customers/alerts.py); the run
    stands whatever happens here."""
    import logging

    from services.customers.alerts import CustomerAlerts

    try:
        CustomerAlerts.of(svc).run_bills_ready(db, run_id, actor)
    except Exception:  # noqa: BLE001 - logged; the bills are stored
        logging.getLogger(__name__).exception("bill-ready alerts after run %s failed", run_id)
