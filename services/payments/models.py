"""Records of imported bank payment files (services/payments/bank_files.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.models import Record


@dataclass(frozen=True)
class BankFile(Record):
    id: int
    file_name: str
    sha256: str
    row_count: int
    matched_count: int
    duplicate_count: int
    refused_count: int
    matched_amount: Decimal
    duplicate_amount: Decimal
    refused_amount: Decimal
    imported_by: int | None = None
    imported_by_name: str = "system"
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class BankPaymentRow(Record):
    id: int
    bank_file_id: int
    row_no: int
    transaction_id: str
    amount: Decimal
    paid_on: dt.date
    paid_time: str
    outcome: str
    dedupe_key: str
    psid: str | None = None
    consumer_number: str | None = None
    fine: Decimal = Decimal("0")
    bank: str | None = None
    channel: str | None = None
    reason: str | None = None
    bill_id: int | None = None
    payment_id: int | None = None
    created_at: dt.datetime | None = None
