"""The customer portal's tables (issue 16), on the one metadata of database/schema.py (imported at
its end, so every backend, the Supabase SQL and the fingerprint see them).

- customer_accounts: which utility accounts a customer user (role `customer`) may see; their scope
  is exactly these accounts (services/accounts/scopes.py: Scope.of_accounts).
- customer_codes: one-time codes (an invitation, a self-registration, a changed phone or e-mail):
  only a salted SHA-256 of the code is kept; each expires, is used once (`used_at`, set by a
  conditional update so two tries cannot both win) and allows a few wrong tries (`attempts`).
  `subject` says whose code it is ("account:12", "user:5"), which the rate limit counts by.
- customer_preferences: a customer's opt-ins (alerts, reminders, paperless), one row per kind.
- customer_alerts_sent: one row per alert sent to a customer (bill ready, due-date reminder, high usage,
  leak) for one bill or anomaly (`ref`: "bill:12", "anomaly:7"); the unique (user, kind, ref) is what
  makes an alert go out at most once, whichever process or replica tries first.
"""
from __future__ import annotations

import sqlalchemy as sa

from database.schema import Json, _created, _fk, _in, _pk, _updated, metadata, UTCDateTime  # noqa: F401

CODE_PURPOSES = ("invite", "register", "phone", "email")
PREFERENCE_KINDS = ("high_usage_alert", "leak_alert", "bill_ready", "due_reminder", "paperless")
ALERT_KINDS = ("high_usage_alert", "leak_alert", "bill_ready", "due_reminder")

customer_accounts = sa.Table(
    "customer_accounts", metadata,
    _pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("account_id", "accounts.id", nullable=False),
    _created(),
    sa.UniqueConstraint("user_id", "account_id"),
    sa.Index(None, "account_id"),
)

customer_codes = sa.Table(
    "customer_codes", metadata,
    _pk(),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),  # "account:12" / "user:5": the rate limit's key
    _fk("user_id", "users.id"),
    _fk("account_id", "accounts.id"),
    sa.Column("new_value", sa.String(254), nullable=True),  # the phone or e-mail that takes effect when confirmed
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),  # sha256(salt + code), hex
    sa.Column("channel", sa.String(16), nullable=False),  # sms / whatsapp / email / log
    sa.Column("recipient", sa.String(254), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _created(),
    sa.CheckConstraint(_in("purpose", CODE_PURPOSES), name="purpose_valid"),
    sa.CheckConstraint("attempts >= 0", name="attempts_nonneg"),
    sa.Index(None, "subject", "created_at"),
)

customer_preferences = sa.Table(
    "customer_preferences", metadata,
    _fk("user_id", "users.id", nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    _updated(),
    sa.PrimaryKeyConstraint("user_id", "kind"),
    sa.CheckConstraint(_in("kind", PREFERENCE_KINDS), name="kind_valid"),
)

customer_alerts_sent = sa.Table(
    "customer_alerts_sent", metadata,
    _pk(),
    _fk("user_id", "users.id", nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False),  # "bill:12" / "anomaly:7": what the alert is about
    _fk("account_id", "accounts.id", nullable=False),
    _created(),
    sa.UniqueConstraint("user_id", "kind", "ref"),
    sa.CheckConstraint(_in("kind", ALERT_KINDS), name="kind_valid"),
)

__all__ = ["customer_accounts", "customer_codes", "customer_preferences", "customer_alerts_sent", "CODE_PURPOSES",
           "PREFERENCE_KINDS", "ALERT_KINDS"]
