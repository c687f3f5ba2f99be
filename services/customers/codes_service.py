"""Sending and checking one-time codes (invitations, self-registration, a changed phone or e-mail).

Sent through services/customers/messenger.py: an e-mail address by e-mail when SMTP is configured,
a phone number by WhatsApp when that channel is configured; anything else, and every code while no
channel can carry it, is written to the notifications log with the code in its message (the offline
default: staff read it out from the Notifications page). A code that a provider carried is logged
with the code blanked out. Every code is a row in customer_codes (salted hash only) and every
send a row in notifications (kind `customer_code`).
"""
from __future__ import annotations

import datetime as dt

from services.clock import utcnow
from services.customers.codes import (
    CODE_TTL, MAX_ATTEMPTS, MAX_CODES_PER_WINDOW, RATE_WINDOW, CustomerCode, digest, mask, matches, new_code, new_salt,
)
from services.errors import RateLimitedError, ValidationError

KIND = "customer_code"
PURPOSE_WORDS = {"invite": "invitation", "register": "sign-up", "phone": "new phone number", "email": "new e-mail address"}


class CodeDesk:
    def __init__(self, storage, notifier=None, *, now=utcnow):
        self.storage = storage
        self.notifier = notifier  # services.integrations.notifications.Notifier, or None (offline)
        self.now = now
        from services.customers.messenger import CustomerMessenger

        self.messenger = CustomerMessenger(storage, notifier)

    def send(self, *, purpose: str, subject: str, recipient: str | None, utility_name: str,
             user_id: int | None = None, account_id: int | None = None, new_value: str | None = None,
             ttl: dt.timedelta = CODE_TTL, contact_id: int | None = None) -> tuple[CustomerCode, str]:
        """Make, store and send a code. Returns (its record, the masked recipient). RateLimitedError when
        MAX_CODES_PER_WINDOW were sent for `subject` in the last RATE_WINDOW."""
        now = self.now()
        if self.storage.count_customer_codes(subject, now - RATE_WINDOW) >= MAX_CODES_PER_WINDOW:
            minutes = int(RATE_WINDOW.total_seconds() // 60)
            raise RateLimitedError(f"{MAX_CODES_PER_WINDOW} codes were sent in the last {minutes} minutes. "
                                   f"Use the latest code, or try again in {minutes} minutes.",
                                   int(RATE_WINDOW.total_seconds()))
        code, salt = new_code(), new_salt()
        channel = self._channel_for(recipient)
        stored = self.storage.insert_customer_code({
            "purpose": purpose, "subject": subject, "user_id": user_id, "account_id": account_id,
            "new_value": new_value, "salt": salt, "code_hash": digest(salt, code), "channel": channel,
            "recipient": mask(recipient), "expires_at": now + ttl, "used_at": None, "attempts": 0})
        text = (f"{utility_name}: your {PURPOSE_WORDS[purpose]} code is {code}. It expires in "
                f"{_duration(ttl)}. Do not share it.")
        self._deliver(recipient, text, code, contact_id, utility_name)
        return stored, mask(recipient)

    def check(self, *, purpose: str | tuple[str, ...], subject: str, code: str) -> CustomerCode:
        """The open code of `subject` matching `code`, now used (single use); ValidationError otherwise."""
        purposes = (purpose,) if isinstance(purpose, str) else purpose
        found = [c for c in (self.storage.latest_customer_code(subject, p) for p in purposes) if c is not None]
        stored = max(found, key=lambda c: c.id) if found else None
        now = self.now()
        fix = "Ask for a new code."
        if stored is None:
            raise ValidationError("code", "no code was sent for this.", fix)
        if stored.used_at is not None:
            raise ValidationError("code", "was already used.", fix)
        if stored.expires_at <= now:
            raise ValidationError("code", "has expired.", fix)
        if stored.attempts >= MAX_ATTEMPTS:
            raise ValidationError("code", f"was typed wrong {MAX_ATTEMPTS} times and no longer works.", fix)
        if not matches(stored, code):
            self.storage.add_customer_code_attempt(stored.id)
            left = MAX_ATTEMPTS - stored.attempts - 1
            raise ValidationError("code", "is not the code we sent.",
                                  f"Type the {len(code or '') or 6}-digit code from the message ({left} tries left)."
                                  if left else fix)
        if not self.storage.spend_customer_code(stored.id, now):
            raise ValidationError("code", "was already used.", fix)
        return stored

    # ---- delivery: services/customers/messenger.py (e-mail, WhatsApp, or the log offline) ---------
    def _channel_for(self, recipient: str | None) -> str:
        return self.messenger.channel_for(recipient)

    def _deliver(self, recipient: str | None, text: str, code: str, contact_id: int | None, utility_name: str) -> None:
        # Delivered by a provider: the log keeps the message with the code blanked out. Offline the log row
        # is the delivery (staff read the code out), as before.
        self.messenger.send(KIND, recipient, f"{utility_name}: your one-time code", text, contact_id=contact_id,
                            logged_text=text.replace(code, "••••••"),
                            offline_note="no SMS/WhatsApp/e-mail channel carries codes here: read the code from "
                                         "this log (offline default)")


def _duration(ttl: dt.timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    return f"{minutes // 1440} days" if minutes >= 1440 else f"{minutes} minutes"

