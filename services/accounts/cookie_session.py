"""The browser's sign-in across reloads: an HttpOnly cookie carrying the session token.

A Streamlit script cannot set a cookie (it talks to the browser over a websocket), and JavaScript
must not be able to read the token (HttpOnly). So the handover is:

1. The sign-in form (ui/auth.py) creates the server-side session as before and asks `HANDOFFS`
   for a one-time code (random, 256 bits, valid 60 s, usable once; only its SHA-256 is kept).
2. The page sends that code, never the token, to `POST /_meterline/session` (ui/web_routes.py, a
   route on Streamlit's own Starlette server, web.py). The route swaps the code for the token and
   answers with `Set-Cookie: meterline_session=<token>; HttpOnly; Secure; SameSite=Strict; Path=/`.
3. On a reload the new websocket's request carries the cookie; st.context.cookies gives it to
   require_actor, which validates it like any session token (services/accounts/auth.py: the
   database keeps only its SHA-256; revoked, 30 min idle or 12 h old ends it).

Signing out revokes the session in the database first (so a copied cookie is worthless at once),
then `POST /_meterline/session/end` clears the cookie. The cookie lives at most the absolute
timeout (Max-Age); the server-side checks are what end a session.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time

COOKIE_NAME = "meterline_session"
START_PATH = "/_meterline/session"
END_PATH = "/_meterline/session/end"
HANDOFF_SECONDS = 60


def cookie_secure() -> bool:
    """Secure unless SESSION_COOKIE_SECURE=false (plain http on a private network: the browser would
    drop a Secure cookie there, and a reload would sign out). Browsers accept Secure on http://localhost."""
    return os.environ.get("SESSION_COOKIE_SECURE", "true").strip().lower() not in ("0", "false", "no")


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class Handoffs:
    """One-time codes that stand for a session token for a few seconds, in this process's memory
    (the sign-in form and the cookie route run in the same server process)."""

    def __init__(self, ttl_seconds: float = HANDOFF_SECONDS, clock=time.monotonic):
        self.ttl = ttl_seconds
        self.clock = clock
        self._codes: dict[str, tuple[str, str, float]] = {}  # digest -> (digest, token, expires)
        self._lock = threading.Lock()

    def issue(self, token: str) -> str:
        code = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            for key in [k for k, (_, _, exp) in self._codes.items() if exp <= now]:
                del self._codes[key]  # expired codes never pile up
            self._codes[_digest(code)] = (_digest(code), token, now + self.ttl)
        return code

    def take(self, code: str | None) -> str | None:
        """The token for `code`, once; None for an unknown, used or expired code."""
        if not code or len(code) > 128:
            return None
        wanted = _digest(code)
        with self._lock:
            entry = self._codes.pop(wanted, None)
        if entry is None or not hmac.compare_digest(entry[0], wanted) or entry[2] <= self.clock():
            return None
        return entry[1]


HANDOFFS = Handoffs()
