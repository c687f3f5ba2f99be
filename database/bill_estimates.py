"""SQL for estimated bills and their true-up (services/billing/estimates.py).

What a bill estimated or deducted lives in its `tariff_details["estimate"]`: sealed with the rest of
its inputs (database/bill_chain.py) and stored by every backend's insert as it is. The partial index
`ix_bills_estimates` (schema.py) holds only the bills that have one, so the run's per-batch look for
open estimates reads a handful of index entries, not every bill of the batch's accounts. Its
predicate is written here once per dialect: a query uses the index only with the very same text.
"""
from __future__ import annotations

import sqlalchemy as sa

HAS_ESTIMATE = {
    "sqlite": "json_extract(tariff_details, '$.estimate') IS NOT NULL",
    "postgresql": "(tariff_details -> 'estimate') IS NOT NULL",
}
_ENTRY = {"sqlite": "json_extract(tariff_details, '$.estimate')", "postgresql": "tariff_details -> 'estimate'"}
_DEDUCTED = {
    "sqlite": "COALESCE(CAST(json_extract(tariff_details, '$.estimate.deducted_units') AS NUMERIC), 0)",
    "postgresql": "COALESCE((tariff_details #>> '{estimate,deducted_units}')::numeric, 0)",
}


def deducted_units(dialect: str):
    """The units of earlier estimates a bill deducted (0 for most bills)."""
    return sa.literal_column(_DEDUCTED[dialect], sa.Numeric(12, 2))


def open_estimate_rows(dialect: str, excluding: bool):
    """(id, account_id, billing_period_start, its estimate entry) of the standing bills with an estimate entry of the accounts
    `:ids` (expanding) and `:service`, but the bill `:excluding` when asked. On SQLite named through
    the partial index: its planner would take the (account, service, period) unique index and read
    every bill of the accounts (12 a year each) to test their JSON."""
    sqlite = dialect == "sqlite"
    q = sa.text(
        f"SELECT id, account_id, billing_period_start, {_ENTRY[dialect]} AS estimate FROM {'bills INDEXED BY ix_bills_estimates' if sqlite else 'bills'} "
        f"WHERE account_id {'IN :ids' if sqlite else '= ANY(:ids)'} AND service = :service "
        f"AND status NOT IN ('superseded', 'cancelled') AND {HAS_ESTIMATE[dialect]}"
        + (" AND id <> :excluding" if excluding else ""))
    # PostgreSQL: the batch's ids as one array parameter, not a thousand
    return q.bindparams(sa.bindparam("ids", expanding=True)) if sqlite else q


ESTIMATED = {  # the entry is an estimate (not a bill that deducted one)
    "sqlite": "json_extract(tariff_details, '$.estimate.estimated') = 1",
    "postgresql": "(tariff_details #>> '{estimate,estimated}') = 'true'",
}


def first_estimates(dialect: str):
    """(account_id, the period start of its first standing estimated bill) of the accounts in the window
    (:lo, :hi] with one, of :service: through the partial index, a handful of entries."""
    sqlite = dialect == "sqlite"
    return sa.text(
        f"SELECT account_id, min(billing_period_start) FROM {'bills INDEXED BY ix_bills_estimates' if sqlite else 'bills'} "
        "WHERE account_id > :lo AND account_id <= :hi AND service = :service "
        f"AND status NOT IN ('superseded', 'cancelled') AND {HAS_ESTIMATE[dialect]} AND {ESTIMATED[dialect]} "
        "GROUP BY account_id")
