"""Signed links to a bill's PDF, for messages that cannot carry a file (WhatsApp, Discord).

`PUBLIC_BASE_URL` (where the API is reachable from outside, e.g. https://billing.example.com) and
`BILL_LINK_SECRET` (32 characters or more, random) turn them on; `BILL_LINK_DAYS` (60) is how long
a link works. A link names one bill and its expiry, signed with HMAC-SHA256 over both, so it opens
that bill's PDF and nothing else, and stops working at its expiry; it needs no sign-in (the owner
has none), which is why it is long, random-looking and short-lived. GET /documents/bill.pdf
(services/api/routes_documents.py) checks it in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from services.config import load_dotenv_once

MIN_SECRET = 32
PATH = "/documents/bill.pdf"


@dataclass(frozen=True)
class BillLinks:
    secret: str
    base_url: str
    days: int = 60

    @classmethod
    def from_env(cls) -> "BillLinks | None":
        load_dotenv_once()
        secret, base = os.environ.get("BILL_LINK_SECRET") or "", (os.environ.get("PUBLIC_BASE_URL") or "").strip()
        if len(secret) < MIN_SECRET or not base.startswith(("https://", "http://")):
            return None
        try:
            days = max(int(os.environ.get("BILL_LINK_DAYS") or 60), 1)
        except ValueError:
            days = 60
        return cls(secret, base.rstrip("/"), days)

    def signature(self, bill_id: int, expires: int) -> str:
        return hmac.new(self.secret.encode(), f"bill-pdf:{bill_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, bill_id: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.days * 86400)
        query = urlencode({"bill": bill_id, "exp": expires, "sig": self.signature(bill_id, expires)})
        return f"{self.base_url}{PATH}?{query}"

    def verify(self, bill_id: int, expires: int, sig: str, now: float | None = None) -> str | None:
        """None when the link is good; otherwise why not."""
        if not hmac.compare_digest(self.signature(bill_id, expires), sig or ""):
            return "This link is not valid."
        if expires < (now if now is not None else time.time()):
            return "This link has expired; ask for the bill again."
        return None
