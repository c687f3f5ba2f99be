"""The water part of the facade (issue 13): anomaly detection, the anomaly list and review,
usage history and forecasts per customer, and contact changes. DatabaseService inherits it, so
pages, scripts and the API call db.detect_usage_anomalies(...) like every other service method;
permissions are checked here (services/accounts/roles.py), rules in the pure modules
(services/readings/anomalies.py, forecasts.py), the set-based work in storage."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from services.accounts.roles import Actor, Permission, require
from services.billing.periods import month_bounds
from services.errors import NotFoundError, ValidationError
from services.models import AnomalyFilter, Contact, DailyUsage, Page, UsageAnomaly, UsageMonth
from services.readings.anomalies import OUTCOME_LABELS, OUTCOMES, DetectionParams
from services.readings.forecasts import Forecast, forecast_period
from services.text import refuses_nul

PHONE_CHARS = re.compile(r"[\s().\-]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NOTE_MAX = 1000


def normalize_phone(value: str | None) -> str | None:
    """A phone as typed ('(530) 555-0142', '+1 530 555 0142'), kept as typed when it has 7 to 15
    digits and nothing but digits, spaces, brackets, dots, dashes and a leading +; '' -> None."""
    text = (value or "").strip()
    if not text:
        return None
    digits = PHONE_CHARS.sub("", text)
    if not re.fullmatch(r"\+?\d{7,15}", digits):
        raise ValidationError("phone", f"'{text}' is not a phone number.",
                              "Type 7 to 15 digits, e.g. (530) 555-0142 or +1 530 555 0142.")
    return text


@refuses_nul()
class WaterServiceMixin:
    # ---- anomalies ----------------------------------------------------------------------------
    def detect_usage_anomalies(self, start: dt.date, end: dt.date, params: DetectionParams | None = None, *,
                               actor: Actor | None = None) -> dict[str, int]:
        """Run every method over [start, end] (set-based in the database); returns {method: added}."""
        actor = require(actor, Permission.REVIEW_ANOMALIES)
        if end < start:
            raise ValidationError("period_end", f"{end} is before {start}.", "Choose an end on or after the start.")
        return self.storage.detect_anomalies(start, end, params or DetectionParams(), actor)

    def detect_month_anomalies(self, month: dt.date, params: DetectionParams | None = None, *,
                               actor: Actor | None = None) -> dict[str, int]:
        """The calendar month of `month`, up to yesterday when it is the current month."""
        start, end = month_bounds(month)
        end = min(end, self.today() - dt.timedelta(days=1))
        if end < start:
            return {}
        return self.detect_usage_anomalies(start, end, params, actor=actor)

    def list_anomalies(self, flt: AnomalyFilter | None = None, offset: int = 0, limit: int = 50, *,
                       actor: Actor | None = None) -> Page[UsageAnomaly]:
        require(actor, Permission.REVIEW_ANOMALIES)
        return self.storage.list_anomalies(flt or AnomalyFilter(), offset, min(max(limit, 1), 500))

    def get_anomaly(self, anomaly_id: int, *, actor: Actor | None = None) -> UsageAnomaly:
        require(actor, Permission.REVIEW_ANOMALIES)
        found = self.storage.get_anomaly(anomaly_id)
        if found is None:
            raise NotFoundError(f"Anomaly {anomaly_id} does not exist.")
        return found

    def review_anomaly(self, anomaly_id: int, outcome: str, note: str | None = None, *,
                       actor: Actor | None = None) -> UsageAnomaly:
        actor = require(actor, Permission.REVIEW_ANOMALIES)
        if outcome not in OUTCOMES:
            raise ValidationError("outcome", f"'{outcome}' is not an outcome.",
                                  "Choose one of: " + ", ".join(OUTCOME_LABELS.values()) + ".")
        note = (note or "").strip() or None
        if note and len(note) > NOTE_MAX:
            raise ValidationError("note", f"is {len(note)} characters long.", f"Keep it to {NOTE_MAX}.")
        return self.storage.review_anomaly(anomaly_id, outcome=outcome, note=note, actor=actor)

    def anomaly_counts(self, start: dt.date, end: dt.date, *, actor: Actor | None = None):
        require(actor, Permission.REVIEW_ANOMALIES)
        return self.storage.anomaly_counts(start, end)

    # ---- usage history and forecasts -----------------------------------------------------------
    def daily_usage(self, account_id: int, start: dt.date, end: dt.date, *, actor: Actor | None = None
                    ) -> list[DailyUsage]:
        require(actor, Permission.VIEW_BILLS)
        if (end - start).days > 800:
            raise ValidationError("period", "is longer than 800 days.", "Choose a shorter period, or see it by month.")
        return self.storage.list_daily_usage(account_id, start, end)

    def usage_by_month(self, account_id: int, start: dt.date, end: dt.date, *, actor: Actor | None = None
                       ) -> list[UsageMonth]:
        require(actor, Permission.VIEW_BILLS)
        return self.storage.usage_months(account_id, start, end)

    def forecast_next_period(self, account_id: int, *, actor: Actor | None = None) -> Forecast | None:
        """The anticipated usage of the current calendar month (measured days counted, the rest
        forecast) from the customer's last two years (services/readings/forecasts.py)."""
        require(actor, Permission.VIEW_BILLS)
        start, end = month_bounds(self.today())
        rows = self.storage.list_daily_usage(account_id, start - dt.timedelta(days=730), end)
        return forecast_period([(r.usage_date, r.quantity) for r in rows], start, end)

    def detect_after_run(self, start: dt.date, end: dt.date, actor: Actor) -> dict[str, int]:
        """After a month run of a utility that bills daily usage: detect the period's anomalies
        (set-based; a period detected before adds only what is new), as the system on the runner's
        behalf. The bills stand whatever happens here (a failure is logged; the daily job detects
        again). Other utilities: nothing."""
        import logging

        from services.billing.pricing import QUANTITY_SOURCE
        from services.readings.usage_import import detection_actor

        if not any(QUANTITY_SOURCE.get(sp.plan.kind) == "usage" for sp in self.tariff_plans()):
            return {}
        end = min(end, self.today() - dt.timedelta(days=1))
        if end < start:
            return {}
        try:
            return self.storage.detect_anomalies(start, end, DetectionParams(), detection_actor(actor))
        except Exception:  # noqa: BLE001 - the run's bills are stored; detection is a follow-up
            logging.getLogger("meterline.water").exception("anomaly detection after the run of %s failed", start)
            return {}

    # ---- usage ingestion (services/readings/usage_import.py) ------------------------------------
    def import_usage_file(self, path, *, label: str | None = None, actor: Actor | None = None,
                          detect: bool = True) -> "UsageImportResult":
        """Import a CSV/xlsx usage file (customer or meter, date, usage_ccf or meter_value): all or
        nothing, every problem named by row and column (MasterDataError); the same rows again store
        nothing; then anomaly detection for the months it touched."""
        from pathlib import Path

        from services.errors import MasterDataError
        from services.readings.usage import parse_lines
        from services.readings.usage_import import UsageImporter, read_usage_table

        actor = require(actor, Permission.IMPORT_USAGE)
        label = label or Path(path).name
        columns, rows = read_usage_table(path)
        lines, problems = parse_lines(columns, rows, today=self.today())
        if problems and not lines:
            raise MasterDataError(label, problems[:1000], total=len(problems))
        return UsageImporter(self).run(lines, label=label, actor=actor, rows_read=len(rows), detect=detect,
                                       problems=problems)

    def submit_usage(self, entries: list[dict], *, label: str, actor: Actor | None = None,
                     detect: bool = True) -> "UsageImportResult":
        """Usage from the phone page or the webhook: `entries` are rows like a usage file's ({customer
        or meter, date, usage_ccf or meter_value}), numbered from 1; the same rules, all or nothing."""
        from services.errors import MasterDataError
        from services.readings.usage import COLUMN_LABELS, parse_lines
        from services.readings.usage_import import UsageImporter

        actor = require(actor, Permission.SUBMIT_READING)
        columns = list(COLUMN_LABELS)
        rows = [(i, tuple(e.get(c) for c in columns)) for i, e in enumerate(entries, start=1)]
        lines, problems = parse_lines(columns, rows, today=self.today())
        if problems and not lines:
            raise MasterDataError(label, problems, total=len(problems))
        return UsageImporter(self).run(lines, label=label, actor=actor, rows_read=len(rows), detect=detect,
                                       problems=problems)

    def anticipated_bill(self, account_id: int, *, actor: Actor | None = None):
        """The customer's next bill, anticipated: forecast usage and its interval priced by the
        customer's plan (services/billing/anticipated.py). None without enough history."""
        from services.billing.anticipated import anticipated_bill

        return anticipated_bill(self, account_id, actor=actor)

    # ---- contacts -----------------------------------------------------------------------------
    def update_contact(self, contact_id: int, *, name: str | None = None, phone: str | None = None,
                       email: str | None = None, address: str | None = None, actor: Actor | None = None) -> Contact:
        """Change the fields given (None leaves a field as it is; '' clears phone, email or address).
        Audited with the old and new values."""
        actor = require(actor, Permission.EDIT_CONTACTS)
        if self.storage.get_contact(contact_id) is None:
            raise NotFoundError(f"Contact {contact_id} does not exist.")
        changes: dict = {}
        if name is not None:
            if not name.strip():
                raise ValidationError("name", "is required.", "Type the customer's name.")
            changes["name"] = name.strip()[:200]
        if phone is not None:
            changes["phone"] = normalize_phone(phone)
        if email is not None:
            text = email.strip()
            if text and not EMAIL.fullmatch(text):
                raise ValidationError("email", f"'{text}' is not an e-mail address.", "Type it as name@example.com.")
            changes["email"] = text or None
        if address is not None:
            changes["address"] = address.strip() or None
        return self.storage.update_contact(contact_id, changes, actor)

    def get_contact(self, contact_id: int, *, actor: Actor | None = None) -> Contact:
        require(actor, Permission.VIEW_BILLS)
        found = self.storage.get_contact(contact_id)
        if found is None:
            raise NotFoundError(f"Contact {contact_id} does not exist.")
        return found


def band(anomaly: UsageAnomaly, k: Decimal = Decimal("2")) -> tuple[Decimal, Decimal] | None:
    """The usual range the anomaly was judged against: baseline +/- k x spread (never below 0)."""
    if anomaly.baseline is None:
        return None
    spread = anomaly.spread or Decimal("0")
    return max(anomaly.baseline - k * spread, Decimal("0")), anomaly.baseline + k * spread
