"""Bank / biller payment files (issue 14): a CSV of payments collected by banks against PSIDs, in a
layout modeled on 1Link's bill-payment fields, matched to bills and recorded as payments.

Layout (UTF-8 CSV, a header row, columns in any order, names case-insensitive):

| column | required | meaning |
| --- | --- | --- |
| psid | yes | the bill's 17-digit PSID (spaces or dashes between groups allowed) |
| consumer_number | no | the consumer unit's code; when given it must be the bill's |
| transaction_id | yes | the bank's transaction id (1-64 characters) |
| amount | yes | the bill amount paid, 2 decimals at most, > 0 |
| date | yes | YYYY-MM-DD, not in the future |
| time | yes | HH:MM:SS (HH:MM accepted) |
| bank | no | the collecting bank |
| channel | no | branch, ATM, internet, mobile, ... |
| fine | no | a late-payment surcharge the bank collected on top (kept on the row, not applied) |

Validation is all-or-nothing: any malformed row or column stops the import naming each row and
column (MasterDataError), and nothing is stored. A well-formed row then gets one outcome:

- matched: the PSID is a live bill's, the amount is its open balance; recorded as a payment
  (method bank_transfer, reference "<bank> <transaction id>"), idempotent on the row's key;
- duplicate: the same PSID, transaction id, date and time as a row already recorded (in this file
  or an earlier one): nothing changes;
- refused_unknown: no bill has this PSID (or the check digit is wrong, or the consumer number is
  another unit's); refused_expired: the bill was replaced by a re-issue or its balance carried into
  a newer bill, so its PSID expired; refused_paid: nothing is owed on it (an archived bill's PSID too: it
  was settled); refused_amount: the
  amount is not the bill's open balance. Refused rows are reported and not applied.

The same file imported twice (the same bytes) changes nothing: the first import's summary is shown.
Every row and its outcome are stored (bank_files, bank_payments).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from services.billing.psid import bill_id_of, is_valid, normalize
from services.errors import DuplicateError, MasterDataError, RowProblem

COLUMNS = ("psid", "consumer_number", "transaction_id", "amount", "date", "time", "bank", "channel", "fine")
REQUIRED = ("psid", "transaction_id", "amount", "date", "time")
MAX_ROWS = 200_000
MAX_BYTES = 50 * 1024 * 1024
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
REFUSED = ("refused_unknown", "refused_expired", "refused_paid", "refused_amount")


@dataclass(frozen=True)
class BankRow:
    row_no: int
    psid: str
    consumer_number: str | None
    transaction_id: str
    amount: Decimal
    fine: Decimal
    paid_on: dt.date
    paid_time: str
    bank: str | None
    channel: str | None

    @property
    def dedupe_key(self) -> str:
        return f"{self.psid}|{self.transaction_id}|{self.paid_on.isoformat()}|{self.paid_time}"


@dataclass
class RowOutcome:
    row: BankRow
    outcome: str
    reason: str | None = None
    bill_id: int | None = None
    payment_id: int | None = None


@dataclass
class ImportSummary:
    file_id: int | None
    file_name: str
    already_imported: bool
    counts: dict[str, int] = field(default_factory=dict)    # matched / duplicate / refused
    amounts: dict[str, Decimal] = field(default_factory=dict)
    outcomes: list[RowOutcome] = field(default_factory=list)  # this import's rows (empty when already imported)


def _money(text: str) -> Decimal | None:
    try:
        v = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not v.is_finite() or v != v.quantize(Decimal("0.01")) or v < 0:
        return None
    return v.quantize(Decimal("0.01"))


def parse(content: bytes, today: dt.date) -> list[BankRow]:
    """The rows of a bank file, or MasterDataError naming every bad row and column (nothing stored)."""
    if len(content) > MAX_BYTES:
        raise MasterDataError("bank file", [RowProblem(0, None, f"is larger than {MAX_BYTES // 1024 // 1024} MB; "
                                                             "split it by date")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MasterDataError("bank file", [RowProblem(0, None, "is not UTF-8 text; save it as CSV UTF-8")]) from None
    if "\x00" in text:
        raise MasterDataError("bank file", [RowProblem(0, None, "contains a NUL character; it is not a CSV file")])
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise MasterDataError("bank file", [RowProblem(0, None, "is empty; it needs a header row: " + ", ".join(REQUIRED))])
    names = [h.strip().lower().replace(" ", "_") for h in header]
    problems = [RowProblem(0, c, "is missing from the header") for c in REQUIRED if c not in names]
    problems += [RowProblem(0, h, f"is not a column of the layout ({', '.join(COLUMNS)})")
                 for h in names if h and h not in COLUMNS]
    if len(set(n for n in names if n)) != len([n for n in names if n]):
        problems.append(RowProblem(0, None, "names a column twice"))
    if problems:
        raise MasterDataError("bank file", problems)
    out: list[BankRow] = []
    for line_no, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(out) >= MAX_ROWS:
            raise MasterDataError("bank file", [RowProblem(line_no, None, f"more than {MAX_ROWS:,} rows; split the file")])
        rec = {n: (values[i].strip() if i < len(values) else "") for i, n in enumerate(names) if n}
        bad = len(problems)

        def need(col: str) -> str:
            v = rec.get(col, "")
            if not v:
                problems.append(RowProblem(line_no, col, "is empty"))
            return v

        raw_psid = need("psid")
        psid = normalize(raw_psid) if raw_psid else None
        if raw_psid and (psid is None or len(psid) != 17):
            problems.append(RowProblem(line_no, "psid", f"'{raw_psid[:40]}' is not 17 digits"))
        txn = need("transaction_id")
        if len(txn) > 64:
            problems.append(RowProblem(line_no, "transaction_id", "is longer than 64 characters"))
        raw_amount = need("amount")
        amount = _money(raw_amount) if raw_amount else None
        if raw_amount and (amount is None or amount == 0):
            problems.append(RowProblem(line_no, "amount", f"'{raw_amount[:20]}' is not an amount above 0 with 2 decimals at most"))
        raw_fine = rec.get("fine", "") or "0"
        fine = _money(raw_fine)
        if fine is None:
            problems.append(RowProblem(line_no, "fine", f"'{raw_fine[:20]}' is not an amount with 2 decimals at most"))
        raw_date = need("date")
        paid_on = None
        if raw_date:
            try:
                paid_on = dt.date.fromisoformat(raw_date)
            except ValueError:
                problems.append(RowProblem(line_no, "date", f"'{raw_date[:20]}' is not a date YYYY-MM-DD"))
            else:
                if paid_on > today:
                    problems.append(RowProblem(line_no, "date", f"{paid_on} is in the future"))
        raw_time = need("time")
        m = _TIME.match(raw_time) if raw_time else None
        if raw_time and m is None:
            problems.append(RowProblem(line_no, "time", f"'{raw_time[:20]}' is not a time HH:MM:SS"))
        for col, limit in (("bank", 64), ("channel", 32), ("consumer_number", 32)):
            if len(rec.get(col, "")) > limit:
                problems.append(RowProblem(line_no, col, f"is longer than {limit} characters"))
        if len(problems) == bad:
            out.append(BankRow(line_no, psid, rec.get("consumer_number") or None, txn, amount, fine, paid_on,
                               f"{m.group(1)}:{m.group(2)}:{m.group(3) or '00'}", rec.get("bank") or None,
                               rec.get("channel") or None))
    if problems:
        raise MasterDataError("bank file", problems[:500], len(problems))
    if not out:
        raise MasterDataError("bank file", [RowProblem(0, None, "has no payment rows")])
    return out


def external_id(row: BankRow) -> str:
    """The payment's idempotency key: the same bank row is recorded once, whatever file carries it."""
    return "bank:" + hashlib.sha256(row.dedupe_key.encode()).hexdigest()[:40]


def import_file(db, content: bytes, file_name: str, actor) -> ImportSummary:
    """Match and record a bank file (see the module docstring). `db` is the DatabaseService."""
    from services.accounts.roles import Permission, require

    actor = require(actor, Permission.IMPORT_BANK_FILE)
    storage = db.storage
    sha = hashlib.sha256(content).hexdigest()
    earlier = storage.bank_file_by_sha(sha)
    if earlier is not None:
        return _summary_of(earlier, already=True)
    rows = parse(content, db.today())
    outcomes: list[RowOutcome] = []
    seen: set[str] = set()
    for row in rows:
        outcomes.append(_one(db, storage, row, seen, actor))
    file_row = {"file_name": (file_name or "bank.csv")[:255], "sha256": sha, "row_count": len(rows)}
    for kind in ("matched", "duplicate", "refused"):
        mine = [o for o in outcomes if (o.outcome in REFUSED if kind == "refused" else o.outcome == kind)]
        file_row[f"{kind}_count"] = len(mine)
        file_row[f"{kind}_amount"] = sum((o.row.amount for o in mine), Decimal("0.00"))
    try:
        stored = storage.record_bank_file(file_row, [_stored(o) for o in outcomes], actor)
    except DuplicateError:  # the same file, imported at the same moment by someone else: theirs stands
        return _summary_of(storage.bank_file_by_sha(sha), already=True)
    summary = _summary_of(stored, already=False)
    summary.outcomes = outcomes
    return summary


def _one(db, storage, row: BankRow, seen: set[str], actor) -> RowOutcome:
    key = row.dedupe_key
    if key in seen:
        return RowOutcome(row, "duplicate", "the same payment appears earlier in this file")
    seen.add(key)
    bill_id = bill_id_of(row.psid) if is_valid(row.psid) else None
    bill = storage.get_bill(bill_id) if bill_id else None
    if bill is None and bill_id:  # a settled bill moved to the archive (issue 14) keeps its PSID findable
        old = storage.find_archived_bills(psid=row.psid, limit=1).items
        if old:
            return RowOutcome(row, "refused_paid", f"nothing is owed on bill #{old[0].id}: it was settled ({old[0].status}) "
                                                   f"and is in the bill archive", old[0].id)
    if bill is None or bill.psid != row.psid:
        why = "the check digit is wrong" if not is_valid(row.psid) else "no bill has this PSID"
        return RowOutcome(row, "refused_unknown", why)
    ext = external_id(row)
    if any(p.external_id == ext for p in storage.list_payments(bill.id)):
        return RowOutcome(row, "duplicate", "this payment was recorded by an earlier file", bill.id)
    if row.consumer_number and row.consumer_number.upper() != bill.account_code:
        return RowOutcome(row, "refused_unknown", f"the PSID is a bill of {bill.account_code}, not of "
                                                  f"{row.consumer_number}", bill.id)
    if bill.status == "superseded" or bill.carried_forward_to:
        newer = bill.superseded_by or bill.carried_forward_to
        return RowOutcome(row, "refused_expired", f"the PSID expired: bill #{bill.id} was replaced by bill #{newer}; "
                                                  "the consumer must pay that bill", bill.id)
    if bill.status not in ("pending", "overdue", "partially_paid") or bill.balance <= 0:
        return RowOutcome(row, "refused_paid", f"nothing is owed on bill #{bill.id} ({bill.status})", bill.id)
    if row.amount != bill.balance:
        return RowOutcome(row, "refused_amount", f"paid {row.amount}, but the bill's open balance is {bill.balance}",
                          bill.id)
    reference = f"{row.bank or 'bank'} {row.transaction_id}"[:128]
    result = db.record_payment(bill.id, row.amount, paid_on=row.paid_on, method="bank_transfer", reference=reference,
                               actor=actor, external_id=ext)
    if not result.applied:
        return RowOutcome(row, "duplicate", "this payment was recorded by an earlier file", bill.id, result.payment.id)
    return RowOutcome(row, "matched", None, bill.id, result.payment.id)


def _stored(o: RowOutcome) -> dict:
    r = o.row
    return {"row_no": r.row_no, "psid": r.psid, "consumer_number": r.consumer_number, "transaction_id": r.transaction_id,
            "amount": r.amount, "fine": r.fine, "paid_on": r.paid_on, "paid_time": r.paid_time, "bank": r.bank,
            "channel": r.channel, "outcome": o.outcome, "reason": o.reason, "bill_id": o.bill_id,
            "payment_id": o.payment_id, "dedupe_key": r.dedupe_key}


def _summary_of(f, already: bool) -> ImportSummary:
    return ImportSummary(f.id, f.file_name, already,
                         {"matched": f.matched_count, "duplicate": f.duplicate_count, "refused": f.refused_count},
                         {"matched": f.matched_amount, "duplicate": f.duplicate_amount, "refused": f.refused_amount})
