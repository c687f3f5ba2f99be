"""Interfaces of the optional integrations and their offline defaults.

Every integration is optional: with none configured the product works fully, and each default
below says what it did instead (status `skipped` with a reason where it is user-visible).
Implementations: Stripe payment links (services/integrations/stripe_payments.py), Cloudinary
photos, Discord/WhatsApp notifications and OpenAI advice (services/integrations/*), wired in
services/container.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from services.models import Bill, Notification, PaymentResult, Reading
from services.accounts.roles import Actor


@dataclass(frozen=True)
class PaymentLink:
    link_id: str
    url: str


class PaymentLinkProvider(Protocol):
    name: str

    def create_payment_link(self, bill: Bill) -> PaymentLink | None:
        """A link the customer pays the bill's balance with, carrying the bill id and amount in
        metadata; None when not configured (the bill is still stored and payable by hand)."""


class RemotePhotoStore(Protocol):
    name: str

    def upload(self, path: Path, public_id: str) -> str | None:
        """Upload a stored meter photo; return its URL, or None when not configured."""


class ReadingAdvisor(Protocol):
    name: str

    def advise(self, reading: Reading, history: list[Reading], flags: list[dict]) -> dict | None:
        """An opinion beside the deterministic checks (never the only gate); None when not configured
        or when the model fails or times out."""


@dataclass
class EventReport:
    """What the follow-ups of a billing event did, for the UI and the API response."""

    payment_link_url: str | None = None
    notifications: list[Notification] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


class BillingEvents(Protocol):
    def bill_created(self, bill: Bill, actor: Actor) -> EventReport: ...

    def payment_received(self, result: PaymentResult, actor: Actor) -> EventReport: ...

    def payment_reminder(self, bill: Bill) -> EventReport: ...

    def bill_overdue(self, bill: Bill) -> EventReport: ...


class NoPaymentLinks:
    name = "none"

    def create_payment_link(self, bill: Bill) -> PaymentLink | None:
        return None


class NoRemotePhotos:
    name = "none"

    def upload(self, path: Path, public_id: str) -> str | None:
        return None


class NoAdvisor:
    name = "none"

    def advise(self, reading, history, flags) -> dict | None:
        return None


class NoEvents:
    """Placeholder until the notifications integration is wired: does nothing, says so."""

    def _report(self) -> EventReport:
        return EventReport(messages=["Notifications are not set up: nothing was sent."])

    def bill_created(self, bill, actor) -> EventReport:
        return self._report()

    def payment_received(self, result, actor) -> EventReport:
        return self._report()

    def payment_reminder(self, bill) -> EventReport:
        return self._report()

    def bill_overdue(self, bill) -> EventReport:
        return self._report()
