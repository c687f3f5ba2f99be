"""Notification channels (Discord webhook, WhatsApp Business Cloud API) and the retry rule.

Each channel sends one text and says what the provider answered. `deliver` retries a bounded
number of times with exponential backoff on 429 (honouring Retry-After) and 5xx and on network
errors, never on other 4xx (a bad token or number will not fix itself). Sleep is injectable so
tests do not wait. Errors are stored without secrets (tokens and webhook URLs are masked).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import re
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import requests

from services.models import Bill

DEFAULT_WHATSAPP_API_BASE = "https://graph.facebook.com/v21.0"
DISCORD_MAX_CHARS = 2000
WHATSAPP_MAX_CHARS = 4096


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_seconds: float = 1.0  # 1, 2, 4, ... between attempts
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 60.0  # a provider asking for a longer wait is not waited for
    timeout_seconds: float = 10.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * (2 ** (attempt - 1)), self.max_backoff_seconds)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    provider_message_id: str | None = None
    error: str | None = None


def retry_after_seconds(value: str | None, now: Callable[[], dt.datetime] | None = None) -> float | None:
    """Retry-After as seconds: a number ("7", Discord's "1.5") or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = (now or (lambda: dt.datetime.now(dt.timezone.utc)))()
    return max((when - current).total_seconds(), 0.0)


class Channel:
    """One provider. Subclasses build the request and read the answer."""

    name = "channel"
    label = "Channel"

    def __init__(self, session: requests.Session | None = None):
        self.session = session or requests.Session()

    # configuration -------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return not self.missing()

    def missing(self) -> str | None:
        """Why the channel is not configured (None when it is)."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        return []

    # per message ---------------------------------------------------------------------------
    def recipient(self, bill: Bill | None) -> tuple[str | None, str | None]:
        """(recipient, None) or (None, why this message cannot go to this channel)."""
        raise NotImplementedError

    def text_for(self, kind: str, text: str, bill: Bill | None) -> str:
        return text

    def post(self, recipient: str, text: str, timeout: float) -> requests.Response:
        raise NotImplementedError

    def message_id(self, response: requests.Response) -> str | None:
        return None

    def error_of(self, response: requests.Response) -> str:
        return f"HTTP {response.status_code}: {response.text[:300]}"

    def redact(self, text: str) -> str:
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    def deliver(self, recipient: str, text: str, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> Delivery:
        error = "not attempted"
        for attempt in range(1, policy.max_attempts + 1):
            wait = policy.backoff(attempt)
            try:
                resp = self.post(recipient, text, policy.timeout_seconds)
            except requests.RequestException as exc:  # network down, refused, timed out: worth retrying
                error = self.redact(f"{exc.__class__.__name__}: {exc}")[:500]
            else:
                if resp.status_code < 300:
                    return Delivery(True, attempt, self.message_id(resp))
                error = self.redact(self.error_of(resp))[:500]
                if resp.status_code == 429:
                    asked = retry_after_seconds(resp.headers.get("Retry-After"))
                    if asked is not None and asked > policy.max_retry_after_seconds:
                        return Delivery(False, attempt, error=f"{error} (rate limited: the provider asked to wait "
                                                                f"{asked:.0f} s; resend later)")
                    wait = asked if asked is not None else wait
                elif resp.status_code < 500:
                    return Delivery(False, attempt, error=error)  # 4xx other than 429: retrying cannot help
            if attempt < policy.max_attempts:
                sleep(wait)
        return Delivery(False, policy.max_attempts, error=f"{error} (gave up after {policy.max_attempts} attempts)")


class DiscordChannel(Channel):
    """Posts to a Discord channel webhook (the society's staff channel)."""

    name = "discord"
    label = "Discord"

    def __init__(self, webhook_url: str | None, session: requests.Session | None = None):
        super().__init__(session)
        self.webhook_url = (webhook_url or "").strip()

    def missing(self) -> str | None:
        return None if self.webhook_url else "Discord is not configured (set DISCORD_WEBHOOK_URL)."

    def secrets(self) -> list[str]:
        parts = urlsplit(self.webhook_url).path.rstrip("/").split("/")
        return [self.webhook_url, parts[-1] if len(parts) > 1 else ""]  # the URL and its token part

    def recipient(self, bill):
        # The webhook id (not its token) says which channel got it.
        m = re.search(r"/webhooks/(\d+)/", self.webhook_url)
        return (f"discord webhook {m.group(1)}" if m else "discord webhook"), None

    def text_for(self, kind, text, bill):
        tag = kind.replace("_", " ")
        head = f"[{tag}] bill #{bill.id} {bill.account_code or ''}: ".replace(" :", ":") if bill else f"[{tag}] "
        return (head + text)[:DISCORD_MAX_CHARS]

    def post(self, recipient, text, timeout):
        # wait=true makes Discord answer with the message (and its id); no mentions may ping anyone.
        return self.session.post(self.webhook_url, params={"wait": "true"}, timeout=timeout,
                                 json={"content": text, "allowed_mentions": {"parse": []}})

    def message_id(self, response):
        try:
            return str(response.json().get("id")) or None
        except ValueError:
            return None

    def error_of(self, response):
        try:
            msg = response.json().get("message")
        except ValueError:
            msg = None
        return f"HTTP {response.status_code}: {msg or response.text[:300]}"


class WhatsAppChannel(Channel):
    """Sends a text message to the flat owner's phone through the WhatsApp Business Cloud API."""

    name = "whatsapp"
    label = "WhatsApp"

    def __init__(self, phone_number_id: str | None, access_token: str | None, api_base: str | None = None,
                 session: requests.Session | None = None):
        super().__init__(session)
        self.phone_number_id = (phone_number_id or "").strip()
        self.access_token = (access_token or "").strip()
        self.api_base = (api_base or DEFAULT_WHATSAPP_API_BASE).rstrip("/")

    def missing(self) -> str | None:
        need = [n for n, v in (("WHATSAPP_PHONE_NUMBER_ID", self.phone_number_id),
                               ("WHATSAPP_ACCESS_TOKEN", self.access_token)) if not v]
        return f"WhatsApp is not configured (set {' and '.join(need)})." if need else None

    def secrets(self) -> list[str]:
        return [self.access_token]

    def recipient(self, bill):
        phone = (bill.contact_phone if bill else None) or ""
        digits = re.sub(r"[\s\-()]", "", phone).lstrip("+")
        if not digits:
            who = f"flat {bill.account_code}" if bill and bill.account_code else "this bill"
            return None, f"No owner phone number for {who}: add one in the master data."
        if not digits.isdigit() or not 8 <= len(digits) <= 15:
            return None, f"The owner phone '{phone}' is not an international number (like +919800000001)."
        return digits, None

    def text_for(self, kind, text, bill):
        return text[:WHATSAPP_MAX_CHARS]

    def post(self, recipient, text, timeout):
        return self.session.post(
            f"{self.api_base}/{self.phone_number_id}/messages", timeout=timeout,
            headers={"Authorization": f"Bearer {self.access_token}"},
            json={"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient,
                  "type": "text", "text": {"preview_url": True, "body": text}},
        )

    def message_id(self, response):
        try:
            messages = response.json().get("messages") or []
        except ValueError:
            return None
        return messages[0].get("id") if messages else None

    def error_of(self, response):
        try:
            err = response.json().get("error") or {}
        except ValueError:
            err = {}
        if err:
            return f"HTTP {response.status_code}: {err.get('message', '')} (code {err.get('code')})"
        return f"HTTP {response.status_code}: {response.text[:300]}"
