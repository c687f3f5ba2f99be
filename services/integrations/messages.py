"""Notification texts: one template per kind, every amount formatted exactly from its Decimal.

With OpenAI configured the *wording* of a template may be personalised to the situation
(partial payment, arrears, no payment link), but the model never sees the values and never
writes them: it rewrites the template with its {placeholders}, the result is checked (the same
placeholders, no digits, no stray braces) and the exact values are put in afterwards. So an
amount or a link can never be changed by the model, and no owner's name or phone leaves the
server. Any failure, timeout or bad answer falls back to the template.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Protocol

from services.models import Bill, PaymentResult
from services.money import format_money

log = logging.getLogger(__name__)

KINDS = ("bill_created", "payment_received", "reminder", "overdue")

TEMPLATES = {
    "bill_created": "Hello {owner}, your electricity bill for flat {flat} ({period}) is ready: {units} kWh, "
                    "{amount} due by {due}.{arrears} {pay}",
    "payment_received": "Thank you, {owner}. We received {paid} for flat {flat} on {paid_on}. {balance_line}",
    "reminder": "Reminder for {owner}: {balance} for flat {flat} is due on {due}. {pay}",
    "overdue": "{owner}, the bill for flat {flat} ({period}) was due on {due} and {balance} is still unpaid. {pay}",
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def day(d: dt.date | None) -> str:
    return f"{d.day} {d:%b %Y}" if d else "-"


def units(value: Decimal | None) -> str:
    return f"{(value or Decimal('0')):,.2f}"


def bill_values(bill: Bill, pay_url: str | None) -> dict[str, str]:
    """Every value a bill message may use, already formatted (Decimal in, exact text out)."""
    arrears = bill.previous_outstanding or Decimal("0")
    return {
        "owner": bill.contact_name or "resident",
        "flat": bill.account_code or f"#{bill.account_id}",
        "bill_id": str(bill.id),
        "period": f"{day(bill.billing_period_start)} to {day(bill.billing_period_end)}",
        "units": units(bill.total_units),
        "amount": format_money(bill.total_amount),
        "balance": format_money(bill.balance),
        "due": day(bill.due_date),
        "arrears": f" This includes {format_money(arrears)} brought forward." if arrears > 0 else "",
        "pay": f"Pay online: {pay_url}" if pay_url else "Please pay at the society office.",
    }


def payment_values(result: PaymentResult) -> dict[str, str]:
    bill, payment = result.bill, result.payment
    values = bill_values(bill, bill.payment_link_url)
    values.update(
        paid=format_money(payment.amount),
        paid_on=day(payment.paid_on),
        balance_line="The bill is now paid in full." if bill.balance <= 0
        else f"{format_money(bill.balance)} is still due by {day(bill.due_date)}.",
    )
    return values


def hints_for(kind: str, values: dict[str, str]) -> dict[str, bool]:
    """What the wording may adapt to; nothing that identifies a person."""
    return {"has_payment_link": values.get("pay", "").startswith("Pay online"),
            "has_arrears": bool(values.get("arrears")),
            "paid_in_full": values.get("balance_line", "").endswith("paid in full.")}


def render(template: str, values: dict[str, str]) -> str:
    """Fill {placeholders} by name only (never str.format on text a model wrote)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template).strip()


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def acceptable_rewrite(original: str, rewritten: str | None) -> bool:
    """The model kept exactly the template's placeholders and added no numbers or braces."""
    if not rewritten or len(rewritten) > 2 * len(original) + 200:
        return False
    if placeholders(rewritten) != placeholders(original):
        return False
    rest = _PLACEHOLDER.sub("", rewritten)
    return "{" not in rest and "}" not in rest and not re.search(r"\d", rest)


class Personaliser(Protocol):
    def rewrite(self, kind: str, template: str, hints: dict[str, bool]) -> str | None: ...


@dataclass(frozen=True)
class Composed:
    text: str
    personalised: bool
    note: str | None = None  # why the template was used although a personaliser is set


class MessageComposer:
    """Template text, optionally reworded by a personaliser.

    A reworded template is cached per (kind, situation), so a bill run of thousands of bills asks
    the model a handful of times; after a failure the model is left alone for `cooldown` seconds
    so a slow or down provider does not slow every bill."""

    def __init__(self, personaliser: Personaliser | None = None, *, cooldown: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.personaliser = personaliser
        self.cooldown = cooldown
        self.clock = clock
        self._cache: dict[tuple, str] = {}
        self._paused_until = 0.0

    def compose(self, kind: str, values: dict[str, str]) -> Composed:
        template = TEMPLATES[kind]
        if self.personaliser is None:
            return Composed(render(template, values), False)
        hints = hints_for(kind, values)
        key = (kind, tuple(sorted(hints.items())))
        if key not in self._cache:
            if self.clock() < self._paused_until:
                return Composed(render(template, values), False, "AI wording paused after a recent failure")
            try:
                rewritten = self.personaliser.rewrite(kind, template, hints)
            except Exception as exc:  # any provider failure falls back to the template
                log.warning("message personalisation failed: %s", exc.__class__.__name__)
                rewritten = None
            if not acceptable_rewrite(template, rewritten):
                self._paused_until = self.clock() + self.cooldown
                return Composed(render(template, values), False, "AI wording unavailable; template used")
            self._cache[key] = rewritten
        return Composed(render(self._cache[key], values), True)


class OpenAIPersonaliser:
    """Rewords a template with the OpenAI chat API (the client has a short timeout, no retries)."""

    SYSTEM = ("You reword short notifications for the residents of a housing society's electricity billing. "
              "You get a message template with placeholders in curly braces, like {amount}. Rewrite the wording "
              "to be warm, clear and brief. Keep every placeholder exactly as spelled, each once, and add no other "
              "curly braces, digits, amounts, dates or links. Reply with the template text only.")

    def __init__(self, client, model: str):
        self.client = client
        self.model = model

    def rewrite(self, kind: str, template: str, hints: dict[str, bool]) -> str | None:
        situation = ", ".join(k.replace("_", " ") for k, v in hints.items() if v) or "none"
        resp = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": self.SYSTEM},
                      {"role": "user", "content": f"Message kind: {kind}\nSituation: {situation}\nTemplate:\n{template}"}],
        )
        text = (resp.choices[0].message.content or "").strip() if resp.choices else ""
        return text.strip('"').strip() or None
