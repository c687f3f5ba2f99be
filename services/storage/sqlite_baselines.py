"""SQLite's usage baselines (the rows of usage_baselines that anomaly detection compares a period
with): per account without one, the count, mean, sample sd, median and MAD of its history's daily
usage, and the median and MAD of usage / its type's average that day.

PostgreSQL computes them in one statement with ordered-set aggregates (sql_anomalies._BASELINE_PG).
SQLite has no percentile function, and numbering every history row with ROW_NUMBER over four
windows (the form this replaces) read the history four times and sorted it in the virtual machine:
43 s for 100,000 customers with a month of history. Here the history is read once into a scratch
table, and each kind of value is written in (account, value) order into a rowid table of its own,
so an account's k-th smallest value is the row at the account's first position + k - 1: a
primary-key lookup. Positions come from each account's count, summed in account order. The medians
are the same arithmetic as before (the mean of the two middle values, which are one value when the
count is odd), so both backends still find exactly what the reference implementation finds.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

_SCRATCH = {
    "bl_accounts": "account_id INTEGER PRIMARY KEY, kind",
    "bl_history": "account_id INTEGER, q, r",
    "bl_counts": "account_id INTEGER PRIMARY KEY, n, mean, ss, rn, fq, fr",
    "bl_middle": "account_id INTEGER PRIMARY KEY, med, amed",
    # The sorted values: usage, usage / the day's index, and their absolute deviations from the medians.
    "bl_q": "v", "bl_r": "v", "bl_dq": "v", "bl_dr": "v",
}

# The accounts with usage in the period and no baseline for it yet ({only}: an import's accounts).
_ACCOUNTS = """
INSERT INTO bl_accounts (account_id, kind)
SELECT ac.id, COALESCE(ac.account_type, '') FROM accounts ac
 WHERE EXISTS (SELECT 1 FROM daily_usage u WHERE u.account_id = ac.id AND u.usage_date BETWEEN :start AND :end)
   AND NOT EXISTS (SELECT 1 FROM usage_baselines x
                    WHERE x.account_id = ac.id AND x.as_of = :start AND x.window_days = :window){only}
"""
_ONLY = " AND ac.id IN (SELECT account_id FROM detect_accounts)"

# CROSS JOIN keeps SQLite's join order: account by account through the (account, day) key, rather
# than the history window's days through the day index (6.1 s against 3.0 s at 100,000 customers, and
# nothing to read when every account has its baseline).
_HISTORY = """
INSERT INTO bl_history (account_id, q, r)
SELECT t.account_id, u.quantity, CASE WHEN ix.mean > 0 THEN u.quantity / ix.mean END
  FROM bl_accounts t
 CROSS JOIN daily_usage u ON u.account_id = t.account_id
  LEFT JOIN usage_day_index ix ON ix.account_type = t.kind AND ix.usage_date = u.usage_date
 WHERE u.usage_date BETWEEN :h0 AND :h1
"""

# fq / fr: how many values (of usage / of ratios) the accounts before this one have, i.e. this
# account's offset in bl_q and bl_dq / in bl_r and bl_dr.
_COUNTS = """
INSERT INTO bl_counts (account_id, n, mean, ss, rn, fq, fr)
SELECT account_id, n, mean, ss, rn, SUM(n) OVER w - n, SUM(rn) OVER w - rn
  FROM (SELECT account_id, COUNT(*) AS n, AVG(q) AS mean, SUM(q * q) AS ss, COUNT(r) AS rn
          FROM bl_history GROUP BY account_id)
WINDOW w AS (ORDER BY account_id ROWS UNBOUNDED PRECEDING)
"""
_SORTED = {
    "bl_q": "SELECT q FROM bl_history ORDER BY account_id, q",
    "bl_r": "SELECT r FROM bl_history WHERE r IS NOT NULL ORDER BY account_id, r",
    # Every account's rows keep their places (the deviation is NULL where no median is taken), so the
    # offsets of bl_counts hold here too.
    "bl_dq": "SELECT ABS(h.q - m.med) AS v FROM bl_history h LEFT JOIN bl_middle m ON m.account_id = h.account_id "
             "ORDER BY h.account_id, v",
    "bl_dr": "SELECT ABS(h.r - m.amed) AS v FROM bl_history h LEFT JOIN bl_middle m ON m.account_id = h.account_id "
             "WHERE h.r IS NOT NULL ORDER BY h.account_id, v",
}


def _middle(table: str, first: str, count: str) -> str:
    """The median of an account's values in `table`: the mean of the values at 0-based offsets
    (count - 1) / 2 and count / 2 (the same row when count is odd). :base_<table> is the table's
    first rowid."""
    at = f"(SELECT v FROM {table} WHERE rowid = :base_{table} + {first} + %s)"
    return f"(({at % f'({count} - 1) / 2'} + {at % f'{count} / 2'}) / 2.0)"


_MIDDLE = f"""
INSERT INTO bl_middle (account_id, med, amed)
SELECT c.account_id, {_middle("bl_q", "c.fq", "c.n")}, CASE WHEN c.rn > 0 THEN {_middle("bl_r", "c.fr", "c.rn")} END
  FROM bl_counts c WHERE c.n >= 2
"""
_BASELINES = f"""
INSERT INTO usage_baselines (account_id, as_of, window_days, days, mean, sd, median, mad, adj_median, adj_mad)
SELECT c.account_id, :start, :window, c.n, ROUND(c.mean, 4),
       ROUND(CASE WHEN (c.ss - c.n * c.mean * c.mean) > 0
                  THEN SQRT((c.ss - c.n * c.mean * c.mean) / (c.n - 1)) ELSE 0 END, 4),
       ROUND(m.med, 4), ROUND({_middle("bl_dq", "c.fq", "c.n")}, 4),
       CASE WHEN c.rn >= 2 THEN ROUND(m.amed, 4) END,
       CASE WHEN c.rn >= 2 THEN ROUND({_middle("bl_dr", "c.fr", "c.rn")}, 4) END
  FROM bl_counts c JOIN bl_middle m ON m.account_id = c.account_id
"""


def fill_baselines(conn, binds: dict, limited: bool) -> None:
    """Write the missing baselines of period [start, end] from history [h0, h1] (binds); `limited`:
    only the accounts in the scratch table detect_accounts. Runs in the caller's transaction."""
    def run(sql: str, **extra) -> None:
        values = {**binds, **extra}
        conn.execute(sa.text(sql), {k: values[k] for k in set(re.findall(r"(?<!:):(\w+)", sql))})

    for name, columns in _SCRATCH.items():
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns})")
    try:
        run(_ACCOUNTS.replace("{only}", _ONLY if limited else ""))
        run(_HISTORY)
        run(_COUNTS)
        bases = {}
        for table in ("bl_q", "bl_r"):
            run(f"INSERT INTO {table} (v) {_SORTED[table]}")
            bases[f"base_{table}"] = _first_rowid(conn, table)
        run(_MIDDLE, **bases)
        for table in ("bl_dq", "bl_dr"):
            run(f"INSERT INTO {table} (v) {_SORTED[table]}")
            bases[f"base_{table}"] = _first_rowid(conn, table)
        run(_BASELINES, **bases)
    finally:
        for name in _SCRATCH:  # frees the temporary file's pages for the next detection
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")


def _first_rowid(conn, table: str) -> int:
    return conn.exec_driver_sql(f"SELECT COALESCE(MIN(rowid), 0) FROM {table}").scalar_one()
