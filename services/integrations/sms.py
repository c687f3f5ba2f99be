"""SMS through Twilio's Messages API, for the customer portal's one-time codes and alerts
(services/customers/messenger.py): a phone that WhatsApp does not reach gets a text.

TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (all three, or SMS is off);
TWILIO_API_BASE only for tests (a loopback server standing in for api.twilio.com). Sent with Twilio's
own SDK (`twilio`: Client.messages.create, its HTTP client pointed at TWILIO_API_BASE when set); the
retry rule is the channels' (services/integrations/channels.py): 429 and 5xx retried, other 4xx not
(the SDK's own retries are off, so there is one rule). The token never appears in an error.
"""
from __future__ import annotations

import os
import re

from dataclasses import dataclass, field

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from services.config import load_dotenv_once
from services.integrations.channels import Channel

DEFAULT_TWILIO_API_BASE = "https://api.twilio.com"
SMS_MAX_CHARS = 1600


class _ToBase(TwilioHttpClient):
    """The SDK's HTTP client, sending what it addresses to api.twilio.com to another base instead."""

    def __init__(self, base: str, timeout: float | None):
        super().__init__(timeout=timeout)
        self.base = base

    def request(self, method, url, *args, **kwargs):
        if url.startswith(DEFAULT_TWILIO_API_BASE):
            url = self.base + url[len(DEFAULT_TWILIO_API_BASE):]
        return super().request(method, url, *args, **kwargs)


@dataclass
class _Answer:
    """What the SDK answered, in the shape Channel.deliver reads (status, JSON body, headers)."""
    status_code: int
    body: dict
    headers: dict = field(default_factory=dict)

    def json(self) -> dict:
        return self.body

    @property
    def text(self) -> str:
        return str(self.body)


class TwilioSmsChannel(Channel):
    name = "sms"
    label = "SMS"

    def __init__(self, account_sid: str | None, auth_token: str | None, from_number: str | None,
                 api_base: str | None = None, session: requests.Session | None = None):
        super().__init__(session)
        self.account_sid = (account_sid or "").strip()
        self.auth_token = (auth_token or "").strip()
        self.from_number = (from_number or "").strip()
        self.api_base = (api_base or DEFAULT_TWILIO_API_BASE).rstrip("/")

    @classmethod
    def from_env(cls) -> "TwilioSmsChannel":
        load_dotenv_once()
        env = os.environ
        return cls(env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN"), env.get("TWILIO_FROM_NUMBER"),
                   env.get("TWILIO_API_BASE"))

    def missing(self) -> str | None:
        need = [n for n, v in (("TWILIO_ACCOUNT_SID", self.account_sid), ("TWILIO_AUTH_TOKEN", self.auth_token),
                               ("TWILIO_FROM_NUMBER", self.from_number)) if not v]
        return f"SMS is not configured (set {' and '.join(need)})." if need else None

    def secrets(self) -> list[str]:
        return [self.auth_token]

    @staticmethod
    def number(phone: str) -> str | None:
        """'+1 (530) 555-0142' -> '+15305550142'; None when it is not an international number."""
        digits = re.sub(r"[\s\-().]", "", phone or "").lstrip("+")
        return f"+{digits}" if digits.isdigit() and 8 <= len(digits) <= 15 else None

    def post(self, recipient, text, timeout):
        http = (_ToBase(self.api_base, timeout) if self.api_base != DEFAULT_TWILIO_API_BASE
                else TwilioHttpClient(timeout=timeout))
        client = Client(self.account_sid, self.auth_token, http_client=http)
        try:
            sent = client.messages.create(to=recipient, from_=self.from_number, body=text[:SMS_MAX_CHARS])
        except TwilioRestException as exc:
            return _Answer(exc.status, {"code": exc.code, "message": exc.msg})
        return _Answer(201, {"sid": sent.sid})

    def message_id(self, response):
        try:
            return response.json().get("sid")
        except ValueError:
            return None

    def error_of(self, response):
        try:
            err = response.json()
        except ValueError:
            err = {}
        if isinstance(err, dict) and err.get("message"):
            return f"HTTP {response.status_code}: {err.get('message')} (code {err.get('code')})"
        return f"HTTP {response.status_code}: {response.text[:300]}"
