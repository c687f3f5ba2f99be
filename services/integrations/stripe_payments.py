"""Stripe payment links: one per bill, for its balance, through the official stripe SDK.

Configured by STRIPE_API_KEY (without it the offline default NoPaymentLinks stays: bills are
stored and paid by hand). STRIPE_API_BASE points the SDK at another API host (the tests run a
loopback server). The link charges the bill's balance in INR paise and carries `bill_id`,
`amount_minor` and `currency` in its metadata; Stripe copies that metadata to the Checkout
Session the customer pays through, which is how POST /webhook/stripe finds the bill and checks
the amount (services/integrations/stripe_webhook.py).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import stripe

from services.config import load_dotenv_once
from services.errors import MeterlineError
from services.integrations.base import PaymentLink
from services.models import Bill
from services.money import minor_units
from services.accounts.roles import Actor

log = logging.getLogger("meterline.stripe")

CURRENCY = "inr"  # bills are in rupees; Stripe takes amounts in paise
OPEN_STATUSES = ("pending", "partially_paid", "overdue")
# Who stores links and Stripe payments in audit_log.
STRIPE_ACTOR = Actor(None, "stripe", "system", "stripe")


class PaymentLinkError(MeterlineError):
    """Stripe could not make the link (down, refused the request). The bill itself is stored."""


@dataclass(frozen=True)
class StripeSettings:
    api_key: str | None
    webhook_secret: str | None
    api_base: str | None
    timeout_seconds: float
    max_retries: int

    @classmethod
    def from_env(cls) -> "StripeSettings":
        load_dotenv_once()
        env = os.environ
        return cls(
            api_key=env.get("STRIPE_API_KEY") or None,
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            api_base=(env.get("STRIPE_API_BASE") or "").rstrip("/") or None,
            timeout_seconds=_number(env, "STRIPE_TIMEOUT_SECONDS", 15.0),
            max_retries=int(_number(env, "STRIPE_MAX_RETRIES", 2)),
        )


def _number(env, name: str, default: float) -> float:
    """A bad value is logged and replaced by the default rather than stopping the app."""
    try:
        value = float(env.get(name) or default)
    except ValueError:
        value = -1
    if value < 0:
        log.warning("%s=%r is not a number of zero or more; using %s", name, env.get(name), default)
        return default
    return value


def link_metadata(bill: Bill, amount_minor: int) -> dict[str, str]:
    return {"bill_id": str(bill.id), "amount_minor": str(amount_minor), "currency": CURRENCY,
            "account_code": bill.account_code or "", "source": "meterline"}


class StripePaymentLinks:
    """PaymentLinkProvider backed by Stripe Payment Links (they do not expire, unlike Checkout
    Sessions, so the link in a WhatsApp message still works on the due date)."""

    name = "stripe"

    def __init__(self, settings: StripeSettings):
        if not settings.api_key:
            raise ValueError("StripePaymentLinks needs STRIPE_API_KEY")
        self.client = stripe.StripeClient(
            settings.api_key,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            # The SDK retries network errors and 409/5xx itself, reusing the idempotency key.
            max_network_retries=settings.max_retries,
            http_client=stripe.RequestsClient(timeout=settings.timeout_seconds),
        )

    def create_payment_link(self, bill: Bill) -> PaymentLink | None:
        """A link for the bill's balance. The caller stores it on the bill (storage.set_payment_link,
        audited; the billing events do). The bill's current link is reused when it is active and for
        the same amount; a link for another amount is replaced and switched off. None for a bill with
        nothing to pay. Raises PaymentLinkError when Stripe fails (the bill stays stored)."""
        if bill.status not in OPEN_STATUSES or bill.balance <= 0:
            return None
        amount_minor = minor_units(bill.balance)
        try:
            if bill.payment_link_id:
                current = self._reusable(bill.payment_link_id, amount_minor)
                if current is not None:
                    return current
            link = self.client.v1.payment_links.create(
                params=self._link_params(bill, amount_minor),
                # Same bill and amount -> the same link, even when a retry follows a lost response.
                options={"idempotency_key": f"meterline-bill-{bill.id}-{amount_minor}"},
            )
        except stripe.StripeError as exc:
            log.warning("stripe payment link for bill %s failed: %s", bill.id, exc)
            raise PaymentLinkError(f"Stripe could not create a payment link for bill {bill.id}: "
                                   f"{exc.user_message or exc.__class__.__name__}. The bill is stored; "
                                   "try again later or take the payment by hand.") from exc
        if bill.payment_link_id and bill.payment_link_id != link.id:
            self._deactivate(bill.payment_link_id)
        return PaymentLink(link.id, link.url)

    def _link_params(self, bill: Bill, amount_minor: int) -> dict:
        meta = link_metadata(bill, amount_minor)
        period = f"{bill.billing_period_start:%d %b %Y} - {bill.billing_period_end:%d %b %Y}"
        return {
            "line_items": [{"quantity": 1, "price_data": {
                "currency": CURRENCY, "unit_amount": amount_minor,
                "product_data": {"name": f"Electricity bill {bill.account_code or bill.account_id}, {period}"},
            }}],
            "metadata": meta,
            "payment_intent_data": {"metadata": meta},
            # One bill, one payment: the link stops taking money after the first completed checkout.
            "restrictions": {"completed_sessions": {"limit": 1}},
        }

    def _reusable(self, link_id: str, amount_minor: int) -> PaymentLink | None:
        link = self.client.v1.payment_links.retrieve(link_id).to_dict()
        meta = link.get("metadata") or {}
        if link.get("active") and meta.get("amount_minor") == str(amount_minor):
            return PaymentLink(link["id"], link["url"])
        return None

    def _deactivate(self, link_id: str) -> None:
        """The old link asks for an amount no longer owed; switch it off (best effort, logged)."""
        try:
            self.client.v1.payment_links.update(link_id, params={"active": False})
        except stripe.StripeError as exc:
            log.warning("could not deactivate old payment link %s: %s", link_id, exc)


def wire_stripe(svc) -> None:
    """Replace the offline payment-link default when STRIPE_API_KEY is set (services/container.py)."""
    settings = StripeSettings.from_env()
    if settings.api_key:
        svc.payment_links = StripePaymentLinks(settings)
