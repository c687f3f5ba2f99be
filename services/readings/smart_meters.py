"""Smart-meter collection: fetch readings from the configured HTTP endpoint and store each one
through the same validation as a reading typed in by a field engineer.

The endpoint (SMART_METER_URL; SMART_METER_TOKEN, when set, is sent as a Bearer token) answers
GET with a JSON list of objects: {"meter_number": "19152159", "reading": 1234.5,
"timestamp": "2026-11-22T06:00:00+05:30"}. The timestamp may be ISO 8601 (a date, or a date and
time; without a zone it is taken in the utility's zone) or Unix seconds; its date in the
configured zone is the reading date.

Each reading is stored in its own unit of work (DatabaseService.insert_meter_reading, source
"smart"), so a bad row stores nothing and never stops the others. The same reading sent again
is a duplicate and stores nothing. Two readings of one meter on one day: the later one is
stored, the earlier counted as superseded. Every bad row is counted with its reason.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.errors import MeterlineError, ValidationError


class SmartMeterError(MeterlineError):
    """The endpoint could not be read (nothing was stored)."""


@dataclass(frozen=True)
class SmartRow:
    row: int  # position in the answer, from 1
    meter_number: str
    reading: object
    at: dt.datetime  # aware, in the configured zone


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"  # never echo a query string (may hold a key)


def fetch(url: str, token: str | None, timeout: float) -> list:
    import httpx

    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        resp = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SmartMeterError(f"Could not reach the smart-meter endpoint {_where(url)}: "
                              f"{exc.__class__.__name__}. Check SMART_METER_URL and that the service is up.") from None
    if resp.status_code != 200:
        raise SmartMeterError(f"The smart-meter endpoint {_where(url)} answered HTTP {resp.status_code}; "
                              "nothing was stored. Check SMART_METER_URL and SMART_METER_TOKEN.")
    try:
        data = resp.json()
    except ValueError:
        raise SmartMeterError(f"The smart-meter endpoint {_where(url)} did not answer JSON; nothing was stored.") from None
    if not isinstance(data, list):
        raise SmartMeterError(f"The smart-meter endpoint {_where(url)} answered a JSON {type(data).__name__}, "
                              "not a list of readings; nothing was stored.")
    return data


def parse_timestamp(value, zone) -> dt.datetime:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).astimezone(zone)
    text = str(value).strip()
    if len(text) == 10:  # a date only
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12), zone)
    at = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return (at.replace(tzinfo=zone) if at.tzinfo is None else at).astimezone(zone)


def parse_row(i: int, raw, zone) -> SmartRow:
    """One row of the answer, checked for shape; the reading itself is checked when stored."""
    if not isinstance(raw, dict):
        raise ValidationError("row", f"is a {type(raw).__name__}, not an object.",
                              "Send {\"meter_number\", \"reading\", \"timestamp\"} objects.")
    number = raw.get("meter_number")
    if isinstance(number, bool) or not isinstance(number, (str, int)) or not str(number).strip():
        raise ValidationError("meter_number", "is missing.", "Send the meter's number, e.g. \"19152159\".")
    if raw.get("reading") in (None, ""):
        raise ValidationError("reading", "is missing.", "Send the register value in kWh.")
    try:
        at = parse_timestamp(raw.get("timestamp"), zone)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValidationError("timestamp", f"'{raw.get('timestamp')}' is not a time.",
                              "Send ISO 8601 (2026-11-22T06:00:00+05:30) or Unix seconds.") from None
    return SmartRow(i, str(number).strip(), raw["reading"], at)


def collect(ctx) -> None:
    """The smart_meter_collection job body (ctx: services.jobs.definitions.JobContext); fills ctx.counts."""
    from services.jobs.definitions import MAX_PROBLEMS

    cfg = ctx.config
    if not cfg.smart_meter_url:  # optional integration: not set up is not a failure
        ctx.counts["note"] = "SMART_METER_URL is not set: there is no smart-meter endpoint; nothing was collected."
        return
    rows = fetch(cfg.smart_meter_url, cfg.smart_meter_token, cfg.smart_meter_timeout_s)
    counts = ctx.counts
    counts.update(received=len(rows), stored=0, duplicates=0, superseded=0, flagged=0, bad=0, problems=[])

    def bad(row: int, meter: str | None, exc: Exception) -> None:
        counts["bad"] += 1
        if len(counts["problems"]) < MAX_PROBLEMS:
            counts["problems"].append({"row": row, "meter_number": meter, "reason": str(exc)})

    latest: dict[tuple[str, dt.date], SmartRow] = {}
    for i, raw in enumerate(rows, start=1):
        try:
            row = parse_row(i, raw, cfg.zone)
        except ValidationError as exc:
            bad(i, raw.get("meter_number") if isinstance(raw, dict) else None, exc)
            continue
        key = (row.meter_number, row.at.date())
        kept = latest.get(key)
        if kept is not None:
            counts["superseded"] += 1
            if kept.at > row.at:
                continue
        latest[key] = row
    # Oldest first, so each reading's consumption is against the one before it.
    for row in sorted(latest.values(), key=lambda x: (x.at, x.row)):
        try:
            out = ctx.db.insert_meter_reading(meter_number=row.meter_number, reading_value=row.reading,
                                              reading_date=row.at.date(), source="smart", actor=ctx.actor)
        except MeterlineError as exc:  # validation, unknown meter, ...: this row only, nothing stored
            bad(row.row, row.meter_number, exc)
            continue
        if not out.created:
            counts["duplicates"] += 1
            continue
        counts["stored"] += 1
        if out.flags:
            counts["flagged"] += 1
