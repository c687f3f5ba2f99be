"""POST /webhook/meter-reading: store a reading and, when it is clean, bill it at once.

Rules (docs/api-and-integrations.md):
- The reading is validated and stored by DatabaseService.insert_meter_reading (source
  "webhook", the caller as submitter). Refusals name the field and store nothing.
- Auto-billing (AUTO_BILLING, on unless set to false): a flat meter's reading with no flags is
  approved and billed for the calendar month of its reading date, due BILL_DUE_DAYS (default
  15) days after that month's last day, then `events.bill_created` makes the payment link and
  notifies. Approval and billing are done as the caller when the caller may review readings and
  create bills (an admin); otherwise as the `auto-billing` system identity on the caller's
  behalf (a field engineer's clean reading is approved by the configured policy, and audit_log
  says so).
- The bill covers every approved reading of the flat since its last billed one (services/billing/coverage.py).
  An earlier reading of the meter still pending review holds it back: the reading is approved
  but not billed, and the response names the pending reading; once that one is reviewed, the
  month-end run (or an admin) bills both together.
- Not billed, waiting in the admin review queue instead (the response says why): a flagged
  reading; a shared motor meter's reading; a flat that already has a bill for that month; any
  reading when auto-billing is off.
- With auto-billing on, a reading dated in a locked month is refused whole (409), nothing stored.
- The same reading again (same meter, date and value) stores nothing and returns the same
  response as the first time: the response is built only from what is stored, and the meter is
  held (DatabaseService.meter_lock) from storing to answering, so a copy sent at the same moment
  waits for the first to be billed and answered.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
import os
from dataclasses import dataclass

from services.api.schemas import MeterReadingIn
from services.api.serialize import bill_out, notification_out, reading_out
from services.config import load_dotenv_once
from services.errors import BillCollisionError, ConflictError, PeriodLockedError, ValidationError
from services.models import Bill, BillFilter, Reading
from services.money import format_money
from services.billing.periods import BillingPeriod, month_key
from services.accounts.roles import Actor, Permission

log = logging.getLogger("meterline.api")


@dataclass(frozen=True)
class IngestSettings:
    auto_billing: bool = True
    due_days: int = 15

    @classmethod
    def from_env(cls) -> "IngestSettings":
        load_dotenv_once()
        raw = os.environ.get("AUTO_BILLING", "true").strip().lower()
        days = int(os.environ.get("BILL_DUE_DAYS") or 15)
        if days < 0:
            raise ValueError("BILL_DUE_DAYS must be zero or more")
        return cls(auto_billing=raw not in ("0", "false", "no", "off"), due_days=days)


def billing_actor(submitter: Actor) -> Actor:
    if submitter.can(Permission.REVIEW_READINGS) and submitter.can(Permission.CREATE_BILL):
        return submitter
    return Actor(None, "auto-billing", "system", f"for {submitter.username}"[:64])


class MeterReadingIngest:
    def __init__(self, svc, settings: IngestSettings):
        self.svc = svc
        self.db = svc.db
        self.settings = settings

    def submit(self, body: MeterReadingIn, actor: Actor) -> dict:
        date = body.reading_date or self.db.today()
        if self._bills_usage():
            return self._submit_water(body, date, actor)
        if self.settings.auto_billing and month_key(date) in self.db.locked_months():
            m = month_key(date)
            raise PeriodLockedError(m, f"Billing period {m} is locked: a reading dated {date} would be billed in it, "
                                       "so it was refused and nothing was stored.")
        # The meter is held from storing to describing: the same reading sent again at the same moment
        # waits for this one's approval, bill and follow-ups, and then describes the same stored state.
        with self.db.meter_lock(meter_id=body.meter_id, meter_number=body.meter_number):
            outcome = self.db.insert_meter_reading(
                meter_id=body.meter_id, meter_number=body.meter_number, reading_value=body.reading_value,
                reading_date=date, motor_reading_value=body.motor_reading_value, motor_share=body.motor_share,
                source="webhook", actor=actor)
            reading = outcome.reading
            if outcome.created and self.settings.auto_billing and not outcome.flags and reading.consumption is not None:
                self._bill(reading, actor)
            return self.describe(reading.id)

    def _bills_usage(self) -> bool:
        """The utility bills daily usage (water): a register reading becomes usage rows."""
        from services.billing.pricing import QUANTITY_SOURCE

        return any(QUANTITY_SOURCE.get(sp.plan.kind) == "usage" for sp in self.db.tariff_plans())

    def _submit_water(self, body: MeterReadingIn, date: dt.date, actor: Actor) -> dict:
        """A water meter's register: stored through the usage importer (the reading, and its
        consumption spread over the days it measured; the same reading again stores nothing), then
        described like any reading; the month run bills the usage."""
        from services.errors import NotFoundError

        meter = self.db.storage.get_meter(meter_id=body.meter_id, meter_number=body.meter_number)
        if meter is None:
            raise ValidationError("meter_number" if body.meter_number else "meter_id", "no such meter.",
                                  "Check the meter number.")
        with self.db.meter_lock(meter_id=meter.id):
            result = self.db.submit_usage([{"meter": meter.meter_number, "date": date, "meter_value": body.reading_value}],
                                          label=f"webhook {actor.username}"[:64], actor=actor)
            stored = self.db.storage.find_reading(meter.id, date, body.reading_value.quantize(Decimal("0.01")))
            if stored is None:
                raise NotFoundError(f"The reading of meter {meter.meter_number} on {date} was not found after storing.")
            out = self.describe(stored.id)
        return {**out, "outcome": "stored", "message": result.message}

    def _bill(self, reading: Reading, actor: Actor) -> None:
        meter = self.db.storage.meter_choice(reading.meter_id)
        if meter is None or self._month_bill(meter.account_id, reading.reading_date) is not None:
            return  # a motor meter, or the flat is already billed for the month: admin review
        period = BillingPeriod.for_month(reading.reading_date)
        biller = billing_actor(actor)
        try:
            self.db.approve_reading(reading.id, actor=biller)
            bill = self.db.bill_reading(reading.id, period.start, period.end,
                                        period.end + dt.timedelta(days=self.settings.due_days), actor=biller)
        except (PeriodLockedError, BillCollisionError, ConflictError, ValidationError) as exc:
            # Approved but not billed (e.g. the month was locked a moment ago): the month-end run or
            # an admin bills it; the response says "approved".
            log.warning("auto-billing reading %s stopped: %s", reading.id, exc)
            return
        try:
            self.svc.events.bill_created(bill, biller)
        except Exception:  # the bill is stored; link and notifications are follow-ups
            log.exception("follow-ups of bill %s failed", bill.id)

    def _pending_before(self, r: Reading):
        """The first reading of the flat still pending review between its last billed reading and `r`."""
        if r.account_id is None:
            return None
        chain = self.db.storage.coverage_chain(r.account_id, r.id)
        return next((c for c in chain if c.status == "pending"), None)

    def _month_bill(self, account_id: int, day: dt.date) -> Bill | None:
        page = self.db.list_bills(BillFilter(account_id=account_id, period_month=month_key(day)), 0, 1, with_total=False)
        return page.items[0] if page.items else None

    def describe(self, reading_id: int) -> dict:
        """The response, from stored state only (so a repeated request gets the same answer)."""
        r = self.db.get_reading(reading_id)
        bill = self.db.storage.get_bill(r.bill_id) if r.bill_id and r.account_id else None
        outcome, message = self._explain(r, bill)
        notes = self.db.storage.list_notifications(bill_id=bill.id, kind="bill_created", limit=20).items if bill else []
        return {"outcome": outcome, "message": message, "reading": reading_out(r),
                "bill": bill_out(bill) if bill else None,
                "payment_link_url": bill.payment_link_url if bill else None,
                "notifications": [notification_out(n) for n in notes]}

    def _explain(self, r: Reading, bill: Bill | None) -> tuple[str, str]:
        if bill is not None:
            return "billed", (f"Billed: bill {bill.id} for {bill.billing_period_start} to {bill.billing_period_end}, "
                              f"total {format_money(bill.total_amount)}, due {bill.due_date}.")
        if r.status == "rejected":
            return "rejected", f"An admin rejected this reading: {r.rejection_reason or 'no reason given'}."
        if r.status == "approved":
            waiting = self._pending_before(r)
            if waiting is not None:
                return "approved", (f"Approved but not billed yet: reading #{waiting.reading_id} of "
                                    f"{waiting.reading_date} of this meter is still waiting for review, and a bill covers "
                                    "every reading since the last one billed. Once it is reviewed, the month-end bill "
                                    "run (or an admin) bills both together.")
            return "approved", "Approved but not billed yet: the month-end bill run (or an admin) bills it."
        queue = "It waits in the admin review queue and was not billed."
        if r.flags:
            reasons = "; ".join(str(f.get("reason")) for f in r.flags)
            return "review", f"Flagged for review: {reasons}. {queue}"
        if r.account_id is None:
            return "review", f"A shared motor meter's reading is not billed on its own. {queue}"
        if not self.settings.auto_billing:
            return "review", f"Stored. Auto-billing is off (AUTO_BILLING=false). {queue}"
        existing = self._month_bill(r.account_id, r.reading_date)
        if existing is not None:
            return "review", (f"Flat {r.account_code} already has bill {existing.id} for {month_key(r.reading_date)}, "
                              f"so this reading was not billed automatically. {queue}")
        return "review", f"Stored but not billed automatically. {queue}"
