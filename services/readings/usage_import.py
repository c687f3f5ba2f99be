"""Usage ingestion (issue 13): the one path by which a usage file, the meter-reading webhook's water
rows and the phone page's water capture become daily usage rows. Rules in services/readings/usage.py.

`plan_usage_import` resolves the parsed lines against what is stored and returns the batch to store
plus every problem, each with its row and column; `UsageImporter.run` stores the batch in one unit of
work (Storage.store_usage: all or nothing) and then runs anomaly detection for the months it touched.

Idempotent: a row whose day is already stored with the same quantity (or a register value already
stored for that meter and day) is counted as `unchanged` and stores nothing; the same file imported
twice stores nothing the second time and says so. A row that brings ANOTHER quantity for a stored day
is refused, naming the row: a stored day is never overwritten (correct it by a new bill cycle, not a
silent change).

Lookups are set-based (one query per chunk of customers, meters or days), except for register values:
each meter in the file costs one look at its latest reading (a file of daily usage rows has none).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from services.accounts.roles import Actor
from services.billing.periods import month_bounds
from services.errors import MasterDataError, RowProblem
from services.models import BatchReading, NewUsage, UsageBatch
from services.readings.usage import UsageLine, reading_span, spread

log = logging.getLogger("meterline.usage_import")


@dataclass(frozen=True)
class UsageImportResult:
    """What an import did (stored rows, repeated rows, register readings, anomalies found after it)."""

    label: str
    rows: int  # lines read
    stored: int = 0  # daily usage rows stored
    unchanged: int = 0  # lines already stored with the same value (nothing new)
    readings: int = 0  # register readings stored
    accounts: int = 0  # customers with rows stored
    first: dt.date | None = None
    last: dt.date | None = None
    anomalies: dict[str, int] = field(default_factory=dict)  # detection after the import: {method: added}
    detection_error: str | None = None
    detected: tuple[str, ...] = ()  # the months detection ran for ("2026-08"); today's month waits for the daily job

    @property
    def message(self) -> str:
        if not self.stored and not self.readings:
            return (f"{self.label}: nothing new. All {self.unchanged} row(s) are stored already with the same "
                    "values; nothing was changed.")
        text = (f"{self.label}: stored {self.stored} day(s) of usage for {self.accounts} customer(s), "
                f"{self.first} to {self.last}")
        if self.readings:
            text += f", from {self.readings} meter reading(s)" if self.stored else f"; {self.readings} meter reading(s)"
        if self.unchanged:
            text += f"; {self.unchanged} row(s) were stored already (unchanged)"
        found = sum(self.anomalies.values())
        if self.detected:
            text += (f". Anomaly detection ({', '.join(self.detected)}): {found} new "
                     f"anomal{'y' if found == 1 else 'ies'}.")
        else:
            text += ". Anomaly detection: with the daily job (today's usage is detected once the day is over)."
        if self.detection_error:
            text += f" (Detection did not finish: {self.detection_error}; the daily job runs it again.)"
        return text


@dataclass
class UsagePlan:
    batch: UsageBatch
    unchanged: int
    problems: list[RowProblem]


def _acct_code(code_of: dict[int, str], aid: int) -> str:
    return code_of.get(aid, f"#{aid}")


def plan_usage_import(storage, lines: list[UsageLine], *, locked_months: set[str], label: str | None = None
                      ) -> UsagePlan:
    """Resolve `lines` (parsed, valid one by one) against the stored customers, meters, readings and
    usage; every problem names its row and column. Read-only."""
    problems: list[RowProblem] = []
    meter_numbers = sorted({x.meter for x in lines if x.meter})
    meters = storage.master_data_state([], meter_numbers, []).meters if meter_numbers else {}
    codes = {x.customer for x in lines if x.customer} | {m["account_code"] for m in meters.values() if m.get("account_code")}
    account_ids = storage.lookup_ids("accounts", "code", sorted(codes)) if codes else {}
    code_of = {v: k for k, v in account_ids.items()}

    # 1. who: each line's account (and meter)
    resolved: list[tuple[UsageLine, int, int | None]] = []
    for x in lines:
        meter = meters.get(x.meter) if x.meter else None
        if x.meter and meter is None:
            problems.append(RowProblem(x.row, "meter", f"no meter {x.meter}; check the meter number."))
            continue
        if meter is not None and not meter.get("account_code"):
            problems.append(RowProblem(x.row, "meter", f"meter {x.meter} measures a shared motor, not a customer."))
            continue
        if meter is not None and meter.get("status") != "active":
            problems.append(RowProblem(x.row, "meter", f"meter {x.meter} is {meter.get('status')}, not active."))
            continue
        if x.customer and x.customer not in account_ids:
            problems.append(RowProblem(x.row, "customer", f"no customer {x.customer}; check the customer code."))
            continue
        if x.customer and meter is not None and meter["account_code"] != x.customer:
            problems.append(RowProblem(x.row, "meter", f"meter {x.meter} is customer {meter['account_code']}'s, "
                                                       f"not {x.customer}'s; fix one of the two."))
            continue
        if x.meter_value is not None and meter is None:
            problems.append(RowProblem(x.row, "meter", "is empty; a meter_value needs the meter it was read on."))
            continue
        aid = account_ids[x.customer] if x.customer else account_ids.get(meter["account_code"])
        if aid is None:
            problems.append(RowProblem(x.row, "meter", f"meter {x.meter}'s customer is unknown."))
            continue
        resolved.append((x, aid, meter["id"] if meter else None))

    # 2. the same day (or meter and day) twice in the file
    seen: dict[tuple, int] = {}
    unique = []
    for x, aid, mid in resolved:
        key = ("u", aid, x.usage_date) if x.usage is not None else ("m", mid, x.usage_date)
        if key in seen:
            what = "customer and date" if x.usage is not None else "meter and date"
            problems.append(RowProblem(x.row, "date", f"row {seen[key]} has the same {what} ({x.usage_date}); "
                                                      "give each day once."))
            continue
        seen[key] = x.row
        unique.append((x, aid, mid))
    if not unique:
        return UsagePlan(UsageBatch((), label=label), 0, problems)

    all_ids = sorted({aid for _, aid, _ in unique})
    billed = storage.usage_billed_to(all_ids)

    # 3. register values -> readings and the days they measured
    rows: list[NewUsage] = []
    readings: list[BatchReading] = []
    owner_row: dict[int, int] = {}  # index in rows -> file row
    unchanged = 0
    by_meter: dict[int, list[tuple[UsageLine, int]]] = defaultdict(list)
    for x, aid, mid in unique:
        if x.meter_value is not None:
            by_meter[mid].append((x, aid))
    for mid, items in by_meter.items():
        items.sort(key=lambda t: t[0].usage_date)
        latest = next(iter(storage.meter_history(mid, limit=1)), None)
        prev_id = latest.id if latest else None
        prev_date, prev_value = (latest.reading_date, latest.reading_value) if latest else (None, None)
        first_new = True
        for x, aid in items:
            if latest is not None and x.usage_date <= latest.reading_date:
                if storage.find_reading(mid, x.usage_date, x.meter_value) is not None:
                    unchanged += 1
                    continue
                problems.append(RowProblem(x.row, "meter_value", (
                    f"meter {x.meter}'s latest stored reading is {latest.reading_value} on {latest.reading_date}; "
                    f"this row ({x.meter_value} on {x.usage_date}) is not after it and differs from what is stored. "
                    "A file adds readings after the latest one only.")))
                continue
            consumption = None
            if prev_value is not None:
                consumption = x.meter_value - prev_value
                if consumption < 0:
                    problems.append(RowProblem(x.row, "meter_value", (
                        f"{x.meter_value} is lower than meter {x.meter}'s previous reading {prev_value} of "
                        f"{prev_date}; check the digits (a replaced meter is recorded on the Meters page first).")))
                    continue
                span = reading_span(x.usage_date, prev_date, billed.get(aid))
                if span is None:
                    if consumption > 0:
                        problems.append(RowProblem(x.row, "meter_value", (
                            f"every day since meter {x.meter}'s previous reading ({prev_date}) is billed already, so "
                            f"its {consumption} CCF could not be billed; check the date.")))
                        continue
                else:
                    ref = len(readings)
                    for day, q in spread(consumption, *span):
                        owner_row[len(rows)] = x.row
                        rows.append(NewUsage(aid, day, q, source="reading", meter_id=mid, reading_ref=ref))
            readings.append(BatchReading(mid, x.usage_date, x.meter_value, consumption,
                                         prev_id if first_new else None))
            first_new = False
            prev_date, prev_value = x.usage_date, x.meter_value

    # 4. daily usage rows
    for x, aid, mid in unique:
        if x.usage is not None:
            owner_row[len(rows)] = x.row
            rows.append(NewUsage(aid, x.usage_date, x.usage, source="import", meter_id=mid))

    # 5. against what is stored: the same value again is not new; another value, a billed day or a
    #    locked month refuses the row
    if rows:
        stored = storage.usage_quantities(all_ids, min(r.usage_date for r in rows), max(r.usage_date for r in rows))
    else:
        stored = {}
    keep: list[NewUsage] = []
    reported: set[int] = set()
    for i, r in enumerate(rows):
        row = owner_row[i]
        column = "usage_ccf" if r.source == "import" else "meter_value"
        code = _acct_code(code_of, r.account_id)
        had = stored.get((r.account_id, r.usage_date))
        if had is not None and r.source == "import" and had == r.quantity:
            unchanged += 1
            continue
        problem = None
        if had is not None:
            problem = (f"{code} already has {had} CCF stored for {r.usage_date}" +
                       (f"; this row says {r.quantity}. A stored day is never overwritten: remove the row, "
                        "or ask an administrator to correct the day." if r.source == "import" else
                        "; this reading's water would be counted twice. Remove the row or the day's usage."))
        elif r.usage_date.strftime("%Y-%m") in locked_months:
            problem = f"{r.usage_date:%Y-%m} is locked; usage of {r.usage_date} cannot be added."
        elif r.account_id in billed and r.usage_date <= billed[r.account_id]:
            problem = (f"{code} is billed up to {billed[r.account_id]}, so usage of {r.usage_date} cannot be added "
                       "(the bill would not count it).")
        if problem:
            if row not in reported:  # a reading spread over many days is reported once
                problems.append(RowProblem(row, column, problem))
                reported.add(row)
            continue
        keep.append(r)
    problems.sort(key=lambda p: p.row)
    return UsagePlan(UsageBatch(tuple(keep), tuple(readings), label=label), unchanged, problems)


def detection_actor(actor: Actor) -> Actor:
    """Detection after an import runs as the system on the importer's behalf (a field engineer may
    store usage but not review anomalies); audit_log says on whose behalf."""
    return Actor(None, "anomaly-detection", "system", f"after usage from {actor.username}"[:64])


def months_of(days) -> list[dt.date]:
    return sorted({d.replace(day=1) for d in days})


def read_usage_table(path, limits=None) -> tuple[list[str | None], list[tuple[int, tuple]]]:
    """A usage file's canonical columns (services.readings.usage.column_key; None for a column it
    ignores) and its data rows (row number, cells), read within the spreadsheet limits
    (services/master_data/spreadsheet.py: size, unpacked size, rows). MasterDataError for a file
    that cannot be read."""
    from pathlib import Path

    from services.master_data import spreadsheet as sheet
    from services.readings.usage import column_key

    limits = limits or sheet.ReadLimits.from_env()
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise sheet._file_problem(path, "unsupported file type; use .csv or .xlsx.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise sheet._file_problem(path, f"cannot be read ({exc.strerror or exc.__class__.__name__}).") from None
    if size > limits.max_bytes:
        raise sheet._file_problem(path, f"is {sheet._mib(size)}, over the limit of {sheet._mib(limits.max_bytes)}.")
    header, rows = (sheet._read_csv if path.suffix.lower() == ".csv" else sheet._read_xlsx)(path, limits)
    return [column_key(h) for h in header], rows


class UsageImporter:
    """Store parsed usage lines through DatabaseService `db` (its storage, today and locks)."""

    def __init__(self, db):
        self.db = db

    def run(self, lines: list[UsageLine], *, label: str, actor: Actor, rows_read: int | None = None,
            detect: bool = True, problems: list[RowProblem] = ()) -> UsageImportResult:
        """Store `lines` all or nothing; `problems` (the parser's) are listed with the ones resolving
        the lines finds, so a refused file names every problem at once."""
        storage = self.db.storage
        plan = plan_usage_import(storage, lines, locked_months=set(self.db.locked_months()), label=label)
        found = sorted([*problems, *plan.problems], key=lambda p: p.row)
        if found:
            raise MasterDataError(label, found[:1000], total=len(found))
        batch = plan.batch
        n = len(lines) if rows_read is None else rows_read
        if not batch.rows and not batch.readings:
            return UsageImportResult(label, n, unchanged=plan.unchanged)
        stored = storage.store_usage(batch, actor)
        days = [r.usage_date for r in batch.rows]
        result = UsageImportResult(label, n, stored=stored, unchanged=plan.unchanged, readings=len(batch.readings),
                                   accounts=len({r.account_id for r in batch.rows}),
                                   first=min(days) if days else None, last=max(days) if days else None)
        if detect and days:
            result = self._detect(result, days, {r.account_id for r in batch.rows}, actor)
        return result

    def _detect(self, result: UsageImportResult, days, accounts: set[int], actor: Actor) -> UsageImportResult:
        """Detection over the months the import touched, for the customers it touched (set-based in
        the database; a month detected again adds only what is new), up to yesterday. Nobody else's
        usage changed, so nobody else's findings can; the daily job still looks at everyone. The
        usage is stored whatever happens here."""
        found: dict[str, int] = {}
        done: list[str] = []
        yesterday = self.db.today() - dt.timedelta(days=1)
        try:
            for month in months_of(days):
                start, end = month_bounds(month)
                end = min(end, yesterday)
                if end < start:
                    continue
                for method, added in self.db.storage.detect_anomalies(start, end, _params(), detection_actor(actor),
                                                                      accounts=sorted(accounts)).items():
                    found[method] = found.get(method, 0) + added
                done.append(f"{month:%Y-%m}")
        except Exception as exc:  # noqa: BLE001 - stored usage stands; the daily job detects again
            log.exception("anomaly detection after %s failed", result.label)
            return UsageImportResult(**{**result.__dict__, "anomalies": found, "detected": tuple(done),
                                        "detection_error": str(exc)[:200]})
        return UsageImportResult(**{**result.__dict__, "anomalies": found, "detected": tuple(done)})


def _params():
    from services.readings.anomalies import DetectionParams

    return DetectionParams()

