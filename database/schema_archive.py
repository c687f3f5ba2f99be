"""The bill archive (issue 14, seed 003's plan): settled bills older than a year leave the live tables.

Each archived table has the columns of its live table, with the same ids and values, and no foreign
keys (the rows it pointed at may stay live, or move too). A row is in exactly one of the two: the
archive writes the copy and deletes the live row in one transaction, a restore does the reverse, and
triggers (database/archive_triggers.py) refuse a live row's delete unless its copy is in the archive,
an archived row's delete unless its live copy is back, and any update of an archived row.

What stays live: the per-month, per-area summary rows (bill_month_totals: the dashboard and reports
keep counting archived months), the bank files' rows (bank_payments names bills by plain id), and
bill_archive_months below: what each archived month held, counted before the move and checked after.
"""
from __future__ import annotations

import sqlalchemy as sa

from database.schema import (Id, Money, UTCDateTime, bill_lines, bill_readings, bill_seals, bills, metadata,
                             notifications, payment_events, payments)

# The live tables a bill's rows live in, parents first (the order a restore inserts in; the archive
# deletes in reverse).
ARCHIVED_FROM = (bills, bill_lines, bill_readings, payments, payment_events, notifications, bill_seals)


def _copy(live: sa.Table, *indexes: tuple[str, ...], unique: tuple[str, ...] = ()) -> sa.Table:
    cols = [sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, autoincrement=False)
            for c in live.columns]
    idx = [sa.Index(None, *cols_) for cols_ in indexes] + [sa.Index(None, c, unique=True) for c in unique]
    return sa.Table(f"archived_{live.name}", metadata, *cols, *idx)


archived_bills = _copy(bills, ("account_id", "service", "billing_period_start"), ("billing_period_start",),
                       ("area_id", "billing_period_start"), unique=("psid", "bill_number"))
archived_bill_lines = _copy(bill_lines, ("bill_id",))
archived_bill_readings = _copy(bill_readings, ("bill_id",), ("reading_id",))
archived_payments = _copy(payments, ("bill_id",))
archived_payment_events = _copy(payment_events, ("bill_id",))
archived_notifications = _copy(notifications, ("bill_id",))
archived_bill_seals = _copy(bill_seals, ("bill_id",))

ARCHIVE_TABLES = {t.name: metadata.tables[f"archived_{t.name}"] for t in ARCHIVED_FROM}

# One row per archived bill month: what moved, counted in the live tables before the move and in the
# archive after it (they must be equal, or the move is rolled back). Deleted by a restore of the month.
bill_archive_months = sa.Table(
    "bill_archive_months", metadata,
    sa.Column("bill_month", sa.String(7), primary_key=True),  # YYYY-MM of billing_period_start
    sa.Column("bills", sa.BigInteger, nullable=False),
    sa.Column("total_amount", Money, nullable=False),
    sa.Column("amount_paid", Money, nullable=False),
    sa.Column("lines", sa.BigInteger, nullable=False),
    sa.Column("line_amount", Money, nullable=False),
    sa.Column("payments", sa.BigInteger, nullable=False),
    sa.Column("payment_amount", Money, nullable=False),
    sa.Column("other_rows", sa.BigInteger, nullable=False),  # readings covered, events, notifications, seals
    sa.Column("kept_live", sa.BigInteger, nullable=False),  # the month's bills that stayed (open, latest, ticket)
    sa.Column("archived_at", UTCDateTime(), nullable=False),
    sa.Column("archived_by", sa.String(64), nullable=False),
    sa.Column("archived_by_id", Id, nullable=True),
    sa.CheckConstraint("bills >= 0 AND lines >= 0 AND payments >= 0 AND other_rows >= 0 AND kept_live >= 0",
                       name="counts_nonneg"),
)

__all__ = ["archived_bills", "archived_bill_lines", "archived_bill_readings", "archived_payments",
           "archived_payment_events", "archived_notifications", "archived_bill_seals", "bill_archive_months",
           "ARCHIVED_FROM", "ARCHIVE_TABLES"]
