"""Notifications: every attempt on every channel is a row in `notifications`.

A message goes to each known channel. A configured channel gets a `pending` row that becomes
`sent` (with the provider's message id) or `failed` (with the error, after bounded retries);
a channel that is not configured, or cannot reach this owner (no phone), gets a `skipped` row
saying why, which is the visible offline behaviour. Nothing here raises because a provider is
down. An admin may resend a failed row: a new row with `resend_of` pointing at it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from services.clock import utcnow
from services.errors import ConflictError, NotFoundError, ValidationError
from services.integrations.channels import Channel, RetryPolicy
from services.integrations.messages import KINDS, Composed, MessageComposer
from services.models import Bill, Notification, Page
from services.accounts.roles import Actor, Permission, require

log = logging.getLogger(__name__)

STATUSES = ("pending", "sent", "failed", "skipped")
# The log also holds bills emailed with their PDF (services/documents/delivery.py): kind
# bill_document, or reminder on channel email.
LOG_KINDS = KINDS + ("bill_document",)


@dataclass(frozen=True)
class ChannelStatus:
    name: str
    label: str
    configured: bool
    detail: str


class Notifier:
    def __init__(self, storage, channels: list[Channel], composer: MessageComposer | None = None, *,
                 policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep):
        self.storage = storage
        self.channels = {c.name: c for c in channels}
        self.composer = composer or MessageComposer()
        self.policy = policy or RetryPolicy()
        self.sleep = sleep

    # ---- sending ------------------------------------------------------------------------------
    def notify(self, kind: str, bill: Bill | None, values: dict[str, str]) -> tuple[list[Notification], Composed]:
        """Compose the message for `kind` and send it on every channel; one row per channel."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        composed = self.composer.compose(kind, values)
        rows = []
        for channel in self.channels.values():
            text = channel.text_for(kind, composed.text, bill)
            rows.append(self._send_one(channel, kind, text, bill_id=bill.id if bill else None,
                                       contact_id=bill.contact_id if bill else None, bill=bill))
        return rows, composed

    def _send_one(self, channel: Channel, kind: str, text: str, *, bill_id, contact_id, bill: Bill | None = None,
                  recipient: str | None = None, resend_of: int | None = None) -> Notification:
        base = {"kind": kind, "channel": channel.name, "message": text, "bill_id": bill_id, "contact_id": contact_id,
                "resend_of": resend_of}
        reason = channel.missing()
        if reason is None and recipient is None:
            recipient, reason = channel.recipient(bill)
        if reason is not None:
            return self.storage.insert_notification({**base, "recipient": recipient, "status": "skipped",
                                                     "error": reason, "attempts": 0})
        # The pending row is written first, so a crash mid-send still leaves a visible trace.
        row = self.storage.insert_notification({**base, "recipient": recipient, "status": "pending", "attempts": 0})
        try:
            result = channel.deliver(recipient, text, self.policy, self.sleep)
        except Exception as exc:  # a bug or an odd answer must not stop the caller's billing event
            log.exception("notification %s on %s crashed", row.id, channel.name)
            return self.storage.update_notification(row.id, {"status": "failed", "attempts": 1,
                                                             "error": channel.redact(f"{exc.__class__.__name__}: {exc}")[:500]})
        if result.ok:
            return self.storage.update_notification(row.id, {"status": "sent", "attempts": result.attempts,
                                                             "provider_message_id": result.provider_message_id,
                                                             "sent_at": utcnow()})
        log.warning("notification %s on %s failed: %s", row.id, channel.name, result.error)
        return self.storage.update_notification(row.id, {"status": "failed", "attempts": result.attempts,
                                                         "error": result.error})

    # ---- admin --------------------------------------------------------------------------------
    def resend(self, notification_id: int, actor: Actor) -> Notification:
        """Send a failed notification again, as a new row pointing at it. Audited."""
        actor = require(actor, Permission.MANAGE_NOTIFICATIONS)
        original = self.storage.get_notification(notification_id)
        if original is None:
            raise NotFoundError(f"Notification {notification_id} does not exist.")
        if original.status != "failed":
            raise ConflictError(f"Notification {notification_id} is {original.status}; only failed ones can be resent.")
        channel = self.channels.get(original.channel)
        if channel is None:
            raise ConflictError(f"Notification {notification_id} went to '{original.channel}', which is no longer a channel.")
        row = self._send_one(channel, original.kind, original.message, bill_id=original.bill_id,
                             contact_id=original.contact_id, recipient=original.recipient, resend_of=original.id)
        self.storage.write_audit(actor, "notification.resend", "notification", row.id,
                                 {"resend_of": original.id, "channel": row.channel, "status": row.status})
        return row

    def list_log(self, actor: Actor, *, status: str | None = None, kind: str | None = None,
                 bill_id: int | None = None, offset: int = 0, limit: int = 25) -> Page[Notification]:
        """The notifications log, newest first, filtered and paginated in the database."""
        require(actor, Permission.MANAGE_NOTIFICATIONS)
        if status and status not in STATUSES:
            raise ValidationError("status", f"'{status}' is not a notification status.", f"Use one of {', '.join(STATUSES)}.")
        if kind and kind not in LOG_KINDS:
            raise ValidationError("kind", f"'{kind}' is not a notification kind.", f"Use one of {', '.join(LOG_KINDS)}.")
        return self.storage.list_notifications(status=status or None, kind=kind or None, bill_id=bill_id,
                                               offset=max(offset, 0), limit=min(max(limit, 1), 200))

    def channel_status(self) -> list[ChannelStatus]:
        out = []
        for c in self.channels.values():
            reason = c.missing()
            out.append(ChannelStatus(c.name, c.label, reason is None, "configured" if reason is None else reason))
        return out
