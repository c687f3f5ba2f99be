"""POST /webhook/meter-reading, GET /webhook/meter-reading/test and POST /webhook/stripe."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.api.deps import principal, services
from services.api.errors import error_body
from services.api.ingest import MeterReadingIngest
from services.api.schemas import (
    ErrorOut, MeterReadingIn, MeterReadingOut, StripeWebhookOut, UsageImportOut, UsageRowsIn, WebhookCheckOut,
)
from services.accounts.api_auth import ApiPrincipal
from services.container import Services
from services.integrations.stripe_webhook import StripeWebhookProcessor

router = APIRouter(tags=["webhooks"])

MAX_STRIPE_BODY = 1024 * 1024  # Stripe events are a few KB; refuse anything absurd before verifying


@router.post("/webhook/meter-reading", response_model=MeterReadingOut,
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 409: {"model": ErrorOut},
                        422: {"model": ErrorOut}})
def meter_reading(body: MeterReadingIn, request: Request, who: ApiPrincipal = Depends(principal),
                  svc: Services = Depends(services)):
    """Store a meter reading; bill it at once when it is clean and auto-billing is on (the response
    says what happened: billed, or waiting in the admin review queue and why). Sending the same
    reading again stores nothing and returns the same response."""
    ingest = MeterReadingIngest(svc, request.app.state.ingest_settings)
    return ingest.submit(body, who.actor)


@router.post("/webhook/usage", response_model=UsageImportOut,
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 409: {"model": ErrorOut},
                        422: {"model": ErrorOut}})
def usage_rows(body: UsageRowsIn, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Water: days of usage (usage_ccf) or meter registers (meter_value) per customer or meter, stored
    all or nothing by the same rules as a usage file (docs/water.md): every problem is answered 422
    naming `rows[i].field`; rows already stored with the same values are counted as unchanged, so
    sending the same rows again stores nothing; another value for a stored day is refused. Anomaly
    detection then runs for the months the rows touched."""
    entries = [r.model_dump() for r in body.rows]
    result = svc.db.submit_usage(entries, label=f"webhook {who.actor.username}"[:64], actor=who.actor)
    return usage_import_out(result)


def usage_import_out(result) -> dict:
    return {"message": result.message, "stored": result.stored, "unchanged": result.unchanged,
            "readings": result.readings, "customers": result.accounts, "first_day": result.first,
            "last_day": result.last, "anomalies": result.anomalies}


@router.get("/webhook/meter-reading/test", response_model=WebhookCheckOut,
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})
def meter_reading_test(who: ApiPrincipal = Depends(principal)):
    """A harmless check for ops: the webhook is reachable and the caller's token works and may
    submit readings (401 when the token is not accepted, 403 when its role may not submit).
    Reads and writes nothing."""
    from services.accounts.roles import Permission, require

    require(who.actor, Permission.SUBMIT_READING)
    return WebhookCheckOut(status="ok", webhook="/webhook/meter-reading", authenticated_as=who.actor.username,
                           role=who.actor.role, method=who.method,
                           message="The token works: POST readings to /webhook/meter-reading.")


@router.post("/webhook/stripe", response_model=StripeWebhookOut,
             responses={400: {"model": ErrorOut}, 503: {"model": ErrorOut}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"type": "object", "description": "a Stripe event, signed by Stripe"}}}}})
async def stripe_webhook(request: Request, svc: Services = Depends(services)):
    """Stripe events (Checkout Session completed / async payment succeeded or failed). Needs a valid
    `Stripe-Signature` no older than 300 s; otherwise 400 and nothing is stored. No bearer token:
    the signature is the authentication."""
    secret = request.app.state.stripe_webhook_secret
    if not secret:
        return JSONResponse(error_body("unavailable", "Stripe webhooks are not set up: set STRIPE_WEBHOOK_SECRET "
                                                      "(the endpoint's signing secret, whsec_...)."), status_code=503)
    payload = await request.body()
    if len(payload) > MAX_STRIPE_BODY:
        return JSONResponse(error_body("bad_signature", "The body is too large for a Stripe event."), status_code=400)
    processor = StripeWebhookProcessor(svc, secret)
    # The processor does blocking database work; run it off the event loop.
    result = await run_in_threadpool(processor.handle, payload, request.headers.get("stripe-signature"))
    return {"received": True, **result.__dict__}
