"""Every error the API returns is JSON: {"error", "message", "fields": [{"field", "message", "fix"}]}.

Typed service errors map to status codes here, so routes never build error responses by hand
and bad input can never surface as a 500.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import (
    AuthenticationError, BillCollisionError, BillImmutableError, ConfigurationError, ConflictError, DuplicateError,
    MeterlineError, NotFoundError, PeriodLockedError, PermissionDeniedError, RateLimitedError, StorageError,
    MasterDataError, ValidationError, ValidationErrors,
)
from services.integrations.stripe_webhook import SignatureRefused

log = logging.getLogger("meterline.api")

# pydantic error type -> what to do about it
FIXES = {
    "missing": "Add this field.",
    "extra_forbidden": "Remove this field; the API document at /docs lists the fields.",
    "decimal_parsing": "Send a number such as 1234.5 (or the same as a string).",
    "decimal_type": "Send a number such as 1234.5 (or the same as a string).",
    "decimal_max_places": "Round it to 2 decimal places.",
    "decimal_max_digits": "Check the value for extra digits (at most 10 before the decimal point).",
    "decimal_whole_digits": "Check the value for extra digits (at most 10 before the decimal point).",
    "finite_number": "Send a finite number.",
    "greater_than_equal": "Send zero or more.",
    "less_than_equal": "Send a smaller number.",
    "int_parsing": "Send a whole number.",
    "int_type": "Send a whole number.",
    "int_from_float": "Send a whole number.",
    "date_from_datetime_parsing": "Use YYYY-MM-DD, e.g. 2026-11-20.",
    "date_parsing": "Use YYYY-MM-DD, e.g. 2026-11-20.",
    "date_type": "Use YYYY-MM-DD, e.g. 2026-11-20.",
    "date_from_datetime_inexact": "Use a date without a time, YYYY-MM-DD.",
    "string_type": "Send text.",
    "string_too_short": "Send a non-empty value.",
    "string_too_long": "Shorten it.",
    "string_pattern_mismatch": "Use letters, digits, '-' and '_' only.",
    "literal_error": "Use one of the values the message lists.",
    "enum": "Use one of the values the message lists.",
    "json_invalid": "Send a valid JSON object with Content-Type: application/json.",
    "model_attributes_type": "Send a JSON object.",
    "dict_type": "Send a JSON object.",
    "value_error": "See the message.",
    "one_meter": "Send meter_number (e.g. 19152159) or meter_id, not both.",
}


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def error_body(code: str, message: str, fields: list[dict] | None = None) -> dict:
    return {"error": code, "message": message, "fields": fields or []}


def _json(status: int, code: str, message: str, fields: list[dict] | None = None, headers=None) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields), status_code=status, headers=headers)


def _field(e: ValidationError) -> dict:
    return {"field": e.field, "message": e.message, "fix": e.fix}


# (error class, status, code); the first match wins, so subclasses come first.
SERVICE_ERRORS = (
    (ValidationError, 422, "validation_error"),
    (ValidationErrors, 422, "validation_error"),
    (AuthenticationError, 401, "authentication_required"),
    (PermissionDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (PeriodLockedError, 409, "period_locked"),
    (BillCollisionError, 409, "conflict"),
    (BillImmutableError, 409, "conflict"),
    (ConflictError, 409, "conflict"),
    (DuplicateError, 409, "conflict"),
    (SignatureRefused, 400, "bad_signature"),
    (RateLimitedError, 429, "rate_limited"),
    (StorageError, 503, "unavailable"),
    (ConfigurationError, 503, "unavailable"),
    (MeterlineError, 400, "bad_request"),
)


def service_error_response(exc: MeterlineError, method: str, path: str, headers: dict | None = None) -> JSONResponse:
    """The JSON answer for a typed service error (also used by the request guard, before routing)."""
    for cls, status, code in SERVICE_ERRORS:
        if isinstance(exc, cls):
            break
    if isinstance(exc, ValidationError):
        return _json(status, code, str(exc), [_field(exc)], headers=headers)
    if isinstance(exc, ValidationErrors):
        return _json(status, code, str(exc), [_field(e) for e in exc.errors], headers=headers)
    if isinstance(exc, MasterDataError):  # rows of a usage upload: each problem names its row and field
        fields = [{"field": f"rows[{p.row - 1}].{p.column or 'row'}" if p.row else (p.column or "rows"),
                   "message": p.message, "fix": "Correct that row and send the rows again; nothing was stored."}
                  for p in exc.problems]
        return _json(422, "validation_error", str(exc), fields, headers=headers)
    if status >= 500:
        log.error("%s %s: %s", method, path, exc)
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        extra["Retry-After"] = str(exc.retry_after)
    return _json(status, code, str(exc), headers=extra or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError):
        fields = []
        for err in exc.errors():
            loc = tuple(err.get("loc") or ())
            name = _field_name(loc)
            if err.get("type") == "json_invalid":
                name = "body"  # the loc is a character position, not a field
            elif err.get("type") == "one_meter":
                name = "meter_number"
            fields.append({"field": name, "message": str(err.get("msg", "is not valid")).removeprefix("Value error, "),
                           "fix": FIXES.get(err.get("type"), "Check the value against the API document at /docs.")})
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return _json(422, "validation_error", f"The request has {len(fields)} problem(s): {summary}", fields)

    @app.exception_handler(MeterlineError)
    async def _service_error(request: Request, exc: MeterlineError):
        return service_error_response(exc, request.method, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 401: "authentication_required", 403: "forbidden"}
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"No endpoint {request.method} {request.url.path}; the API document is at /docs."
        return _json(exc.status_code, codes.get(exc.status_code, "http_error"), message,
                     headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # A bug, not bad input: log the traceback, tell the client nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(500, "internal_error", "Something went wrong on the server; it was logged.")
