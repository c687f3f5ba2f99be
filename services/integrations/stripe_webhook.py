"""Stripe webhook events -> payments on bills. Safe to receive twice and in any order.

1. The `Stripe-Signature` header is checked on the raw body with the SDK
   (`stripe.Webhook.construct_event`, 300 s tolerance, STRIPE_WEBHOOK_SECRET). A bad, missing or
   stale signature raises SignatureRefused: nothing is written, one log line says why.
2. A paid Checkout Session (`checkout.session.completed` with payment_status "paid", or
   `checkout.session.async_payment_succeeded`) is matched to its bill by `metadata.bill_id`.
   The amount is refused (outcome `refused_amount`, logged) when it differs from the amount the
   link was made for (`metadata.amount_minor`) or is more than the bill still owes; a currency
   other than INR is `refused_currency`. Otherwise it is recorded with method `stripe`: the bill
   becomes paid, or partially paid when less than the balance arrived.
3. The payment's idempotency key is the Checkout Session id, so the two events Stripe may send
   for one session, or one event delivered again, pay once; its reference is the event that
   made it. Every event is stored in payment_events under its unique event id with its outcome;
   a redelivered event changes nothing and answers with the outcome stored the first time (and
   deliveries racing each other reach the same outcome).
4. Only the delivery that applied the payment calls `events.payment_received` (the confirmation).
5. A signed event that cannot be used is still acknowledged (200, so Stripe stops retrying) and
   recorded with its outcome: a NUL character anywhere in it (`refused_invalid`, stored with the
   NULs replaced), a Checkout Session already recorded on another bill
   (`refused_duplicate_session`: one session never pays two bills).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from decimal import Decimal

import stripe

from services import clock
from services.errors import ConflictError, MeterlineError, ValidationError
from services.integrations.stripe_payments import CURRENCY, STRIPE_ACTOR
from services.money import from_minor_units
from services.text import NUL_PROBLEM, first_nul, without_nul

log = logging.getLogger("meterline.stripe")

TOLERANCE_SECONDS = 300
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


class SignatureRefused(MeterlineError):
    """The body is not a genuine, recent Stripe event. Nothing was written."""


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    event_type: str
    outcome: str  # applied / duplicate / refused_amount / refused_currency / refused_state /
    #               refused_duplicate_session / refused_invalid / unmatched / awaiting_payment /
    #               payment_failed / ignored
    message: str
    bill_id: int | None = None
    bill_status: str | None = None
    redelivered: bool = False  # this event id was already processed; nothing changed now


def verify(payload: bytes, signature: str | None, secret: str) -> tuple[stripe.Event, dict]:
    """The SDK's check of the signature and its age; returns the event and its parsed body."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
        raw = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe webhook refused: %s", exc)
        raise SignatureRefused(f"Stripe-Signature check failed: {exc}") from None
    except Exception as exc:  # signed, but not a JSON event object
        log.warning("stripe webhook refused: body is not a Stripe event (%s)", exc.__class__.__name__)
        raise SignatureRefused("The body is not a JSON Stripe event.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str):
        log.warning("stripe webhook refused: event without id or type")
        raise SignatureRefused("The body is not a Stripe event (no id or type).")
    return event, raw


class StripeWebhookProcessor:
    def __init__(self, svc, secret: str):
        self.svc = svc
        self.db = svc.db
        self.secret = secret

    def handle(self, payload: bytes, signature: str | None) -> WebhookResult:
        event, raw = verify(payload, signature, self.secret)
        bad = first_nul(raw)
        if bad is not None:
            # Genuine but unusable: refuse it, keep it on record (storable), and answer 200 so
            # Stripe does not retry it for days.
            raw = without_nul(raw)
        event_id, etype = raw["id"][:255], raw["type"][:64]
        obj = _dict((raw.get("data") or {}).get("object") if isinstance(raw.get("data"), dict) else None)
        bill_ref = _bill_id(obj)
        bill = self.db.storage.get_bill(bill_ref) if bill_ref else None
        if bad is not None:
            outcome, message, result = ("refused_invalid", f"{bad} {NUL_PROBLEM} The event was not applied; "
                                        "fix it at its source (the payment link's metadata).", None)
        else:
            outcome, message, result = self._decide(event_id, etype, raw, obj, bill)
        amount = _amount(obj.get("amount_total"))
        row = {
            "bill_id": bill.id if bill else None, "provider": "stripe", "event_type": etype,
            "stripe_event_id": event_id, "payment_link_id": _str(obj.get("payment_link"), 128),
            "amount": amount, "currency": _str(obj.get("currency"), 8), "outcome": outcome,
            "event_data": {"session_id": _str(obj.get("id"), 255), "payment_status": _str(obj.get("payment_status"), 32),
                           "amount_total": _str(obj.get("amount_total"), 32), "metadata": _dict(obj.get("metadata")),
                           "message": message},
        }
        if result is not None and result.applied:
            # Exactly one delivery inserts the payment, so exactly one confirmation is sent, even
            # when a concurrent delivery of the same event stores the event row first.
            try:
                self.svc.events.payment_received(result, STRIPE_ACTOR)
            except Exception:  # the payment is stored; a failed confirmation shows in the notifications log
                log.exception("payment confirmation for bill %s failed", result.bill.id)
        stored, created = self.db.storage.record_payment_event(row)
        if not created:
            # Redelivered: answer as the first time. Any payment was keyed on the session, so
            # even the race of two deliveries at once paid only once.
            first = stored.event_data or {}
            now = self.db.storage.get_bill(stored.bill_id) if stored.bill_id else None
            return WebhookResult(event_id, stored.event_type, stored.outcome, first.get("message", ""),
                                 stored.bill_id, now.status if now else None, redelivered=True)
        if outcome.startswith("refused") or outcome == "unmatched":
            log.warning("stripe event %s (%s) %s: %s", event_id, etype, outcome, message)
        now = self.db.storage.get_bill(bill.id) if bill else None
        return WebhookResult(event_id, etype, outcome, message, bill.id if bill else None,
                             now.status if now else None)

    def _decide(self, event_id: str, etype: str, raw: dict, obj: dict, bill):
        """(outcome, message, PaymentResult | None) for one verified event. Every delivery of one event
        reaches the same outcome and message, even deliveries racing each other: a session's payment
        records the event that made it (reference), so "applied" vs "duplicate" is read from it."""
        if etype == "checkout.session.async_payment_failed":
            return "payment_failed", "The customer's delayed payment failed; the bill is unchanged.", None
        if etype not in PAID_EVENTS:
            return "ignored", f"Event type {etype} does not change bills.", None
        if etype == "checkout.session.completed" and obj.get("payment_status") != "paid":
            return ("awaiting_payment", "Checkout finished but the money has not arrived yet (delayed payment "
                    "method); the bill changes when Stripe confirms it.", None)
        if bill is None:
            return "unmatched", "The session's metadata.bill_id names no bill; nothing was recorded.", None
        session_id = obj.get("id")
        if not isinstance(session_id, str) or not session_id:
            return "unmatched", "The event has no Checkout Session id; nothing was recorded.", None
        session_id = session_id[:255]
        known = self._session_outcome(bill, session_id, event_id)
        if known is not None:
            return (*known, None)
        currency = str(obj.get("currency") or "").lower()
        if currency != CURRENCY:
            return "refused_currency", f"Paid in '{currency}', but bills are in {CURRENCY.upper()}.", None
        amount_minor = obj.get("amount_total")
        amount = _amount(amount_minor)
        if amount is None or amount <= 0:
            return "refused_amount", f"amount_total {amount_minor!r} is not a positive amount in paise.", None
        meta_amount = _dict(obj.get("metadata")).get("amount_minor")
        if meta_amount is not None and str(meta_amount) != str(amount_minor):
            expected = _amount(meta_amount)
            return "refused_amount", f"Paid {amount} but the link was made for {expected if expected is not None else meta_amount}.", None
        if amount > bill.balance:
            return "refused_amount", (f"Paid {amount} but bill {bill.id} only owes {bill.balance} (status "
                                      f"{bill.status}); refund or credit the difference."), None
        try:
            result = self.db.record_payment(bill.id, amount, paid_on=self._paid_on(raw), method="stripe",
                                            reference=event_id[:128], external_id=session_id, actor=STRIPE_ACTOR)
        except (ValidationError, ConflictError) as exc:
            # The bill changed between the checks and the write: maybe by this very session, paid
            # at the same moment through another delivery; otherwise the refusal stands.
            known = self._session_outcome(bill, session_id, event_id)
            if known is not None:
                return (*known, None)
            if isinstance(exc, ValidationError):
                return "refused_amount", str(exc), None
            return "refused_state", str(exc), None  # carried forward, cancelled or paid meanwhile
        if not result.applied:
            if result.payment.bill_id != bill.id:
                return "refused_duplicate_session", (
                    f"Checkout Session {session_id} was already recorded on bill {result.payment.bill_id} (by event "
                    f"{result.payment.reference}); nothing was recorded on bill {bill.id}."), None
            return (*_recorded(result.payment, bill.id, session_id, event_id), None)
        return (*_recorded(result.payment, bill.id, session_id, event_id), result)

    def _session_outcome(self, bill, session_id: str, event_id: str) -> tuple[str, str] | None:
        payment = next((p for p in self.db.storage.list_payments(bill.id) if p.external_id == session_id), None)
        return _recorded(payment, bill.id, session_id, event_id) if payment else None

    def _paid_on(self, raw: dict) -> dt.date:
        created = raw.get("created")
        today = self.db.today()
        if not isinstance(created, int) or isinstance(created, bool) or not 0 < created < 2 ** 40:
            return today
        day = dt.datetime.fromtimestamp(created, dt.timezone.utc).astimezone(clock.local_zone()).date()
        return min(day, today)  # never "in the future" for the service's clock


def _recorded(payment, bill_id: int, session_id: str, event_id: str) -> tuple[str, str]:
    if payment.reference == event_id[:128]:
        return "applied", f"Recorded {payment.amount} on bill {bill_id} (Checkout Session {session_id})."
    return "duplicate", (f"Checkout Session {session_id} was already recorded on bill {bill_id} "
                         f"(by event {payment.reference}); nothing changed.")


def _bill_id(obj: dict) -> int | None:
    raw = _dict(obj.get("metadata")).get("bill_id")
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2 ** 63 else None


def _amount(minor) -> Decimal | None:
    """Paise -> rupees; None for anything that is not a storable whole number of paise."""
    if isinstance(minor, bool):
        return None
    try:
        value = int(str(minor))
    except (TypeError, ValueError):
        return None
    return from_minor_units(value) if abs(value) < 10 ** 12 else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None
