"""The municipal utility's tables (seed 003, issue 14), on the one metadata of database/schema.py
(imported at its end, so every backend, the Supabase SQL and the fingerprint see them).

- user_areas: the areas a staff member works in (a city/tehsil, or union councils); an
  area-limited role sees only those (services/accounts/scopes.py).
- bank_files / bank_payments: each imported bank (1Link bill payment) file and every row of it with
  its outcome (matched, duplicate, refused and why); append-only in use. `bill_id` and `payment_id`
  are plain ids, not foreign keys: a row may name no bill (an unknown PSID).
"""
from __future__ import annotations

import sqlalchemy as sa

from database.schema import Id, Money, _created, _fk, _in, _pk, metadata  # defined above the import in schema.py

user_areas = sa.Table(
    "user_areas", metadata,
    _pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("area_id", "areas.id", nullable=False),
    sa.Column("assigned_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.UniqueConstraint("user_id", "area_id"),
    sa.Index(None, "area_id"),
)

BANK_OUTCOMES = ("matched", "duplicate", "refused_unknown", "refused_amount", "refused_expired", "refused_paid")

bank_files = sa.Table(
    "bank_files", metadata,
    _pk(),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),  # the same file twice: refused, nothing changes
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("matched_count", sa.Integer, nullable=False),
    sa.Column("duplicate_count", sa.Integer, nullable=False),
    sa.Column("refused_count", sa.Integer, nullable=False),
    sa.Column("matched_amount", Money, nullable=False),
    sa.Column("duplicate_amount", Money, nullable=False),
    sa.Column("refused_amount", Money, nullable=False),
    _fk("imported_by", "users.id"),
    sa.Column("imported_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.Index(None, "created_at"),
)

bank_payments = sa.Table(
    "bank_payments", metadata,
    _pk(),
    _fk("bank_file_id", "bank_files.id", nullable=False),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("psid", sa.String(17), nullable=True),
    sa.Column("consumer_number", sa.String(32), nullable=True),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("fine", Money, nullable=False, server_default="0"),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("paid_time", sa.String(8), nullable=False),  # HH:MM:SS, as the bank sends it
    sa.Column("bank", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("bill_id", Id, nullable=True),  # plain ids: a refused row may name no bill
    sa.Column("payment_id", Id, nullable=True),
    sa.Column("dedupe_key", sa.String(160), nullable=False),  # psid|transaction id|date|time
    _created(),
    sa.CheckConstraint(_in("outcome", BANK_OUTCOMES), name="outcome_valid"),
    sa.Index(None, "bank_file_id", "row_no"),
    sa.Index(None, "dedupe_key"),
    sa.Index(None, "bill_id"),
    # One matched row per payment (a duplicate is stored as 'duplicate' pointing at nothing new).
    sa.Index("uq_bank_payments_matched_key", "dedupe_key", unique=True,
             sqlite_where=sa.text("outcome = 'matched'"), postgresql_where=sa.text("outcome = 'matched'")),
)

__all__ = ["user_areas", "bank_files", "bank_payments", "BANK_OUTCOMES"]

# What a survey re-import changed in a unit's billing name, mobile or address (issue 14): one row
# per changed field, append-only; shown on the unit's page. Other survey fields are simply updated.
HISTORY_FIELDS = ("billing_name", "billing_mobile", "billing_address")

account_history = sa.Table(
    "account_history", metadata,
    _pk(),
    _fk("account_id", "accounts.id", nullable=False),
    sa.Column("field", sa.String(32), nullable=False),
    sa.Column("old_value", sa.String(255), nullable=True),
    sa.Column("new_value", sa.String(255), nullable=True),
    sa.Column("source", sa.String(64), nullable=False),  # "survey import: FILE"
    sa.Column("changed_by_name", sa.String(64), nullable=False, server_default="system"),
    _created(),
    sa.CheckConstraint(_in("field", HISTORY_FIELDS), name="field_valid"),
    sa.Index(None, "account_id", "created_at"),
)

__all__ += ["account_history", "HISTORY_FIELDS"]
