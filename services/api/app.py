"""FastAPI app factory. `python app.py` serves it with uvicorn (port 5000)."""
from __future__ import annotations

from fastapi import FastAPI

from services.api import (
    errors, routes_bills, routes_company, routes_documents, routes_field, routes_system, routes_usage, routes_webhooks,
)
from services.api.guard import GuardSettings, RequestGuard
from services.api.ingest import IngestSettings
from services.accounts.api_auth import ApiAuthenticator
from services.container import Services, build_services
from services.integrations.stripe_payments import StripeSettings

DESCRIPTION = """Meterline's HTTP API: meter readings from devices and other systems, Stripe payment
events, bills, and the scheduled jobs. Every endpoint except `/health` and `/webhook/stripe` needs
`Authorization: Bearer <token>` (a token from `POST /api/auth/login`, an Auth0 access token, or the
HEADER_AUTH_TOKEN). Money and kWh are
decimal strings. Errors are JSON: `{"error", "message", "fields": [{"field", "message", "fix"}]}`.
Credentials are checked before a body is read; bodies over API_MAX_BODY_BYTES (1 MB) get 413, and a
client sending too many requests (or failing to authenticate too often) gets 429 with Retry-After."""


def create_app(services: Services | None = None, *, authenticator: ApiAuthenticator | None = None,
               ingest_settings: IngestSettings | None = None, stripe_webhook_secret: str | None = None,
               guard_settings: GuardSettings | None = None, local_tokens=None) -> FastAPI:
    """Build the app over `services` (default: build_services() from the environment). Anything
    not passed is read from the environment (AUTO_BILLING, BILL_DUE_DAYS, STRIPE_WEBHOOK_SECRET,
    AUTH0_* / HEADER_AUTH_TOKEN, API_MAX_BODY_BYTES, API_RATE_*, LOGIN_RATE_*, TRUSTED_PROXIES)."""
    svc = services or build_services()
    app = FastAPI(title="Meterline API", version="1.0", description=DESCRIPTION)
    app.state.services = svc
    app.state.authenticator = authenticator or ApiAuthenticator.from_settings(svc.db.storage)
    if local_tokens is not None:  # tokens of POST /api/auth/login (services/accounts/api_tokens.py)
        app.state.authenticator.local_tokens = local_tokens
    app.state.ingest_settings = ingest_settings or IngestSettings.from_env()
    app.state.stripe_webhook_secret = stripe_webhook_secret or StripeSettings.from_env().webhook_secret
    errors.install(app)
    app.include_router(routes_system.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_company.router)  # sign-in tokens, customers, bills list, the month run
    app.include_router(routes_bills.router)
    app.include_router(routes_documents.router)  # signed links to bill PDFs (public, checked by signature)
    app.include_router(routes_usage.router)
    app.include_router(routes_field.router)  # visits and tickets (issue 15), scoped as the pages
    # Throttle, authenticate and cap the body before any route reads it (services/api/guard.py).
    app.add_middleware(RequestGuard, api=app, settings=guard_settings or GuardSettings.from_env())
    return app
