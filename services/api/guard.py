"""The API's front door (ASGI middleware, before routing): what is refused before a request body
is read.

1. Per-client throttle (API_RATE_LIMIT requests per API_RATE_WINDOW_SECONDS, by client address;
   X-Forwarded-For only from TRUSTED_PROXIES): 429 with Retry-After.
2. Authentication first: every path but the public ones (`public_paths`) gets its bearer token
   checked here, so a caller without valid credentials is answered 401 before one byte of its
   body is read. A client whose authentications keep failing (LOGIN_RATE_LIMIT per
   LOGIN_RATE_WINDOW_SECONDS) gets 429 before its token is even looked at. The verified principal
   is passed on to the route (deps.principal).
3. Body cap (API_MAX_BODY_BYTES, default 1 MB): a Content-Length over it is refused with 413
   unread; a chunked or streamed body is read only up to the cap, then 413. Below the cap the body
   is read once into memory and handed to the route.
A refusal before the body was read closes the connection (`Connection: close`), so the server
does not go on receiving, even to discard, what the client keeps sending.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.api.errors import error_body, service_error_response
from services.errors import AuthenticationError, ConfigurationError, MeterlineError, RateLimitedError
from services.photos import human_size
from services.accounts.throttle import ThrottleSettings, client_address, wait_text

log = logging.getLogger("meterline.api")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # a meter reading is ~200 bytes; a Stripe event a few KB
PRINCIPAL_KEY = "meterline_principal"  # in scope["state"]: the caller the guard authenticated


@dataclass(frozen=True)
class GuardSettings:
    throttle: ThrottleSettings = ThrottleSettings()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls) -> "GuardSettings":
        """API_MAX_BODY_BYTES and the throttle's variables (services/accounts/throttle.py)."""
        raw = (os.environ.get("API_MAX_BODY_BYTES") or "").strip()
        try:
            cap = int(raw) if raw else DEFAULT_MAX_BODY_BYTES
        except ValueError:
            raise ConfigurationError(f"API_MAX_BODY_BYTES must be a whole number of bytes, not '{raw}'.") from None
        if cap < 1024:
            raise ConfigurationError(f"API_MAX_BODY_BYTES is {cap}; use at least 1024 bytes.")
        return cls(ThrottleSettings.from_env(), cap)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def public_paths(api: FastAPI) -> frozenset[str]:
    """Paths answered without a bearer token: operations of the API document with no security
    requirement (a route that depends on deps.principal has one), and the document itself. Any
    other path, unknown ones included, is authenticated before its body is read (fail closed)."""
    doc = api.openapi()
    public = {path for path, ops in doc.get("paths", {}).items()
              if "{" not in path and all(not op.get("security") for op in ops.values() if isinstance(op, dict))}
    public.update(u for u in (api.openapi_url, api.docs_url, api.redoc_url, api.swagger_ui_oauth2_redirect_url) if u)
    return frozenset(public)


class RequestGuard:
    def __init__(self, app, *, api: FastAPI, settings: GuardSettings):
        self.app = app
        self.api = api
        self.settings = settings
        self.requests = settings.throttle.api_window()
        self.sign_ins = settings.throttle.login_window()  # failed authentications per client
        self._public: frozenset[str] | None = None

    def _is_protected(self, scope) -> bool:
        if self._public is None:
            self._public = public_paths(self.api)
        return scope["path"] not in self._public

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        peer = (scope.get("client") or (None,))[0]
        client = client_address(peer, _header(scope, b"x-forwarded-for"), self.settings.throttle.trusted_proxies)
        has_body = _header(scope, b"transfer-encoding") is not None or (_header(scope, b"content-length") or "0") != "0"

        async def refuse(response):
            if has_body:  # the body is unread: do not keep receiving it after answering
                response.headers["Connection"] = "close"
            await response(scope, receive, send)

        def refusal(exc: MeterlineError):
            return service_error_response(exc, scope["method"], scope["path"])

        wait = self.requests.hit(client)
        if wait is not None:
            log.warning("API throttled client %s: %s %s", client, scope["method"], scope["path"])
            limit = self.settings.throttle
            return await refuse(refusal(RateLimitedError(
                f"Too many requests from your address (at most {limit.api_requests} per "
                f"{limit.api_window_seconds} s). Retry after {wait_text(wait)}.", wait)))

        if self._is_protected(scope):
            wait = self.sign_ins.retry_after(client)
            if wait is not None:
                log.warning("API authentication throttled for client %s", client)
                return await refuse(refusal(RateLimitedError(
                    f"Too many failed authentications from your address. Retry after {wait_text(wait)}.", wait)))
            try:
                who = await run_in_threadpool(self.api.state.authenticator.authenticate,
                                              _header(scope, b"authorization"), f"api {client}")
            except AuthenticationError as exc:
                self.sign_ins.hit(client)
                return await refuse(refusal(exc))
            except MeterlineError as exc:  # the database or Auth0 did not answer: 503
                return await refuse(refusal(exc))
            scope.setdefault("state", {})[PRINCIPAL_KEY] = who

        cap = self.settings.max_body_bytes
        too_large = error_body("payload_too_large", f"The request body is over the {human_size(cap)} limit.",
                               [{"field": "body", "message": f"is over {human_size(cap)}",
                                 "fix": "Send a smaller body; the API takes JSON objects of a few KB."}])
        length = _header(scope, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > cap):
            return await refuse(JSONResponse(too_large, status_code=413))

        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                log.warning("API body over %s from client %s: %s %s", cap, client, scope["method"], scope["path"])
                return await refuse(JSONResponse(too_large, status_code=413))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
