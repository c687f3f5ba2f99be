"""One-time codes (invitations, self-registration, a changed phone or e-mail). Pure: no database.

A code is 6 random digits (secrets). Only sha256(salt + code) is stored, with a random salt per
code; checking compares digests in constant time. A code expires (CODE_TTL), is used once, and
allows MAX_ATTEMPTS wrong tries; at most MAX_CODES_PER_WINDOW codes are sent per subject (an
account or a user) per RATE_WINDOW (the rate limit: nobody can make us text a phone all night).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

CODE_DIGITS = 6
CODE_TTL = dt.timedelta(minutes=15)
INVITE_TTL = dt.timedelta(days=7)  # an invitation sent by staff lasts longer than a code asked for now
MAX_ATTEMPTS = 5
MAX_CODES_PER_WINDOW = 3
RATE_WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class CustomerCode:
    """A stored code (never the code itself)."""

    id: int
    purpose: str  # invite / register / phone / email
    subject: str  # "account:12" / "user:5"
    user_id: int | None
    account_id: int | None
    new_value: str | None
    salt: str
    code_hash: str
    channel: str
    recipient: str | None
    expires_at: dt.datetime
    used_at: dt.datetime | None
    attempts: int
    created_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row) -> "CustomerCode":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row})

    def open_at(self, now: dt.datetime) -> bool:
        return self.used_at is None and self.expires_at > now and self.attempts < MAX_ATTEMPTS


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def new_salt() -> str:
    return secrets.token_hex(16)


def digest(salt: str, code: str) -> str:
    return hashlib.sha256((salt + code.strip()).encode()).hexdigest()


def matches(stored: CustomerCode, code: str) -> bool:
    return hmac.compare_digest(stored.code_hash, digest(stored.salt, code or ""))


def mask(recipient: str | None) -> str:
    """'+92 300 1234567' -> '•••••••4567'; 'ali@example.com' -> 'a•••@example.com'."""
    if not recipient:
        return "(none on file)"
    if "@" in recipient:
        name, _, host = recipient.partition("@")
        return f"{name[:1]}•••@{host}"
    digits = recipient.strip()
    return "•" * max(len(digits) - 4, 0) + digits[-4:]
