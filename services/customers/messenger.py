"""Delivering one message to one customer (a one-time code, an alert) on the right channel.

- an e-mail address goes by e-mail when SMTP is configured (services/integrations/email.py);
- a phone number goes by WhatsApp when that channel is configured, else by SMS (Twilio:
  services/integrations/sms.py) when that is configured;
- otherwise, the offline default: a `skipped` row in the notifications log holding the message, with
  the reason, so staff can read it out.

Every attempt is a row in `notifications` (kind `customer_code` or `customer_alert`); the recipient
is stored masked. A provider that fails leaves a `failed` row with the error, never an exception.
"""
from __future__ import annotations

import logging
import re
import time

from services.clock import utcnow
from services.customers.codes import mask
from services.integrations.channels import RetryPolicy
from services.integrations.email import SmtpMailer, SmtpSettings, valid_address
from services.models import Notification

log = logging.getLogger(__name__)


class CustomerMessenger:
    def __init__(self, storage, notifier=None, *, mailer: SmtpMailer | None = None, sms=None,
                 policy: RetryPolicy | None = None):
        self.storage = storage
        self.notifier = notifier  # services.integrations.notifications.Notifier, or None (offline)
        self._mailer = mailer
        self._sms = sms
        self.policy = policy or getattr(notifier, "policy", None) or RetryPolicy()
        self.sleep = getattr(notifier, "sleep", None) or time.sleep

    @property
    def mailer(self) -> SmtpMailer:
        # Read from the environment when first needed, so a configured .env (or a test's) applies.
        if self._mailer is None:
            self._mailer = SmtpMailer(SmtpSettings.from_env())
        return self._mailer

    @property
    def sms(self):
        if self._sms is None:
            from services.integrations.sms import TwilioSmsChannel

            self._sms = TwilioSmsChannel.from_env()
        return self._sms

    def channel_for(self, recipient: str | None) -> str:
        """email / whatsapp / sms / log: where a message to `recipient` would go now."""
        if not recipient:
            return "log"
        if "@" in recipient:
            return "email" if valid_address(recipient) and self.mailer.missing() is None else "log"
        if self._whatsapp() is not None:
            return "whatsapp"
        return "sms" if self.sms.missing() is None and self.sms.number(recipient) else "log"

    def send(self, kind: str, recipient: str | None, subject: str, text: str, *,
             contact_id: int | None = None, offline_note: str | None = None, logged_text: str | None = None) -> Notification:
        """Send `text`. `logged_text` is what the log keeps when a provider carried the message (a code's
        text without the code); offline the log row holds `text` itself, since it IS the delivery."""
        channel = self.channel_for(recipient)
        base = {"kind": kind, "bill_id": None, "contact_id": contact_id, "message": logged_text or text}
        if channel in ("whatsapp", "email", "sms"):
            return self._provider(channel, base, recipient, subject, text)
        base["message"] = text
        why = offline_note or ("no e-mail (SMTP), WhatsApp or SMS channel reaches this recipient here: the message "
                               "is kept in this log (offline default)")
        if not recipient:
            why = "no phone or e-mail on file: the message is kept in this log"
        return self.storage.insert_notification({**base, "channel": "log", "recipient": mask(recipient),
                                                 "status": "skipped", "attempts": 0, "error": why})

    def _provider(self, channel: str, base: dict, recipient: str, subject: str, text: str) -> Notification:
        row = self.storage.insert_notification({**base, "channel": channel, "recipient": mask(recipient),
                                                "status": "pending", "attempts": 0})
        redact = {"email": lambda: self.mailer.redact, "sms": lambda: self.sms.redact,
                  "whatsapp": lambda: self._whatsapp().redact}[channel]()
        try:
            if channel == "email":
                result = self.mailer.send(self.mailer.message(recipient, subject, text), self.policy)
            elif channel == "sms":
                result = self.sms.deliver(self.sms.number(recipient), text, self.policy, self.sleep)
            else:
                digits = re.sub(r"[\s\-()]", "", recipient).lstrip("+")
                result = self._whatsapp().deliver(digits, text, self.policy, self.sleep)
        except Exception as exc:  # a bug or an odd answer must not stop the caller
            log.exception("customer message %s on %s crashed", row.id, channel)
            return self.storage.update_notification(row.id, {"status": "failed", "attempts": 1,
                                                             "error": redact(f"{exc.__class__.__name__}: {exc}")[:500]})
        if result.ok:
            return self.storage.update_notification(row.id, {"status": "sent", "attempts": result.attempts,
                                                             "provider_message_id": result.provider_message_id,
                                                             "sent_at": utcnow()})
        return self.storage.update_notification(row.id, {"status": "failed", "attempts": result.attempts,
                                                         "error": result.error})

    def _whatsapp(self):
        channels = getattr(self.notifier, "channels", {}) or {}
        ch = channels.get("whatsapp")
        return ch if ch is not None and ch.missing() is None else None
