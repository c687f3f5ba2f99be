"""SQL backend part: usage anomaly detection, set-based (services/readings/anomalies.py is the
reference it is tested against), and the anomalies list and review.

Detection of a period [start, end] runs a few statements, each over the whole utility at once:
1. usage_day_index: the average daily usage of each customer type's active accounts, for the
   days of the history window and the period that do not have it yet;
2. usage_baselines: for the accounts with usage in the period and no baseline for it yet, the
   statistics of their history (the baseline_days days before `start`): count, mean, sample sd,
   median and MAD of the usage, and median and MAD of usage / the type's average that day
   (on PostgreSQL with ordered-set aggregates, _BASELINE_PG; SQLite has no percentile function and
   takes the middle values by their positions in sorted scratch tables, sqlite_baselines.py);
3. the period's rows joined once to their baseline and day index, keeping only the rows that meet
   the row rule of a method asked for (_ROW_RULES), into the scratch table detect_period;
4. one INSERT ... SELECT per method over detect_period: the rows that break its rule, the one with
   the highest score per account (the earliest day on a tie), unless that account already has an
   anomaly of the method for the period.
With an account limit (after an import: the customers it touched) steps 2 and 3 take only those
accounts (the scratch table detect_accounts), so the work follows the import's size, not the
utility's; the day index is the whole utility's, as it must be.
Steps 1, 3 and 4 are the same SQL on SQLite and PostgreSQL (only date arithmetic differs); the Supabase function
meterline_detect_usage_anomalies (database/supabase/80_functions_water.sql) is its PL/pgSQL twin.
"""
from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa

from database import schema as s
from services.clock import utcnow
from services.errors import ConflictError, NotFoundError
from services.models import AnomalyCount, AnomalyFilter, Page, UsageAnomaly
from services.readings.anomalies import DetectionParams
from services.storage.sql_common import read_tx, write_tx
from services.storage import sqlite_baselines
from services.storage.sql_readings import area_subtree

ua, a, ar = s.usage_anomalies, s.accounts, s.areas

# PostgreSQL's baselines (SQLite's: services/storage/sqlite_baselines.py, the same statistics).
# The history's rows of the accounts being given a baseline: usage, and usage / the type's average.
_BASELINE_HISTORY = """
INSERT INTO usage_baselines (account_id, as_of, window_days, days, mean, sd, median, mad, adj_median, adj_mad)
WITH targets AS (
  SELECT DISTINCT u.account_id FROM daily_usage u
   WHERE u.usage_date BETWEEN :start AND :end{only}
     AND NOT EXISTS (SELECT 1 FROM usage_baselines x
                      WHERE x.account_id = u.account_id AND x.as_of = :start AND x.window_days = :window)
), h AS (
  SELECT u.account_id, u.quantity AS q,
         CASE WHEN ix.mean > 0 THEN u.quantity / ix.mean END AS r
    FROM daily_usage u
    JOIN targets t ON t.account_id = u.account_id
    JOIN accounts ac ON ac.id = u.account_id
    LEFT JOIN usage_day_index ix ON ix.account_type = COALESCE(ac.account_type, '') AND ix.usage_date = u.usage_date
   WHERE u.usage_date BETWEEN :h0 AND :h1
"""

# The statistics with ordered-set aggregates, one pass for the medians and one for the MADs. The median
# of n values is the mean of the values at positions ceil(n/2) and floor(n/2) + 1, which
# percentile_disc(0.5) and percentile_disc(0.5 + 1e-10) give (the two middle values).
_MID = ("(percentile_disc(0.5) WITHIN GROUP (ORDER BY {x}) "
        "+ percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY {x})) / 2")
_BASELINE_PG = _BASELINE_HISTORY + f"""), st AS (
  SELECT account_id, COUNT(*) AS n, AVG(q) AS mean, SUM(q * q) AS ss, {_MID.format(x="q")} AS med,
         COUNT(r) AS rn, {_MID.format(x="r")} AS amed
    FROM h GROUP BY account_id HAVING COUNT(*) >= 2
), dev AS (
  SELECT h.account_id, {_MID.format(x="ABS(h.q - st.med)")} AS mad, {_MID.format(x="ABS(h.r - st.amed)")} AS amad
    FROM h JOIN st ON st.account_id = h.account_id GROUP BY h.account_id
)
SELECT st.account_id, :start, :window, st.n, ROUND(st.mean, 4),
       ROUND(CASE WHEN (st.ss - st.n * st.mean * st.mean) > 0
                  THEN SQRT((st.ss - st.n * st.mean * st.mean) / (st.n - 1)) ELSE 0 END, 4),
       ROUND(st.med, 4), ROUND(dev.mad, 4),
       CASE WHEN st.rn >= 2 THEN ROUND(st.amed, 4) END, CASE WHEN st.rn >= 2 THEN ROUND(dev.amad, 4) END
  FROM st JOIN dev ON dev.account_id = st.account_id
"""

# The period's rows with what every method needs, written once into the scratch table detect_period
# that every method's statement reads (one join of the period's rows, not one per method).
_PERIOD_COLUMNS = ("account_id", "usage_date", "q", "is_active", "area_id", "days", "mean", "sd", "median", "mad",
                   "adj_median", "adj_mad", "ix")
_PERIOD_TYPES = ("bigint", "date", "numeric", "boolean", "bigint", "integer", "numeric", "numeric", "numeric",
                 "numeric", "numeric", "numeric", "numeric")
_PERIOD = """
  SELECT u.account_id, u.usage_date, u.quantity AS q, ac.is_active, ac.area_id,
         bl.days, bl.mean, bl.sd, bl.median, bl.mad, bl.adj_median, bl.adj_mad, ix.mean AS ix
    FROM daily_usage u
    JOIN accounts ac ON ac.id = u.account_id
    LEFT JOIN usage_baselines bl ON bl.account_id = u.account_id AND bl.as_of = :start AND bl.window_days = :window
    LEFT JOIN usage_day_index ix ON ix.account_type = COALESCE(ac.account_type, '') AND ix.usage_date = u.usage_date
   WHERE u.usage_date BETWEEN :start AND :end{only}
"""
# An account limit (Storage.detect_anomalies(accounts=...)): the scratch table detect_accounts.
_ONLY = " AND u.account_id IN (SELECT account_id FROM detect_accounts)"
_ENOUGH = "p.is_active = :true AND p.days >= :min_days"

# The rule a period row must meet to be a candidate of each method (on top of _ENOUGH, except for
# inactive_usage). detect_period keeps only the rows that meet one of the rules asked for, so every
# method reads the few rows that matter, not the whole period.
_ROW_RULES = {
    "zscore": "sd > 0 AND q > mean + :k * sd",
    "robust": "adj_mad > 0 AND ix > 0 AND 0.6745 * (q / ix - adj_median) / adj_mad > :robust",
    "high_read": "mean > 0 AND q > :high_factor * mean AND q - mean >= :high_floor",
    "continuous_flow": ("median > 0 AND q >= CASE WHEN :flow_factor * median > :flow_floor "
                        "THEN :flow_factor * median ELSE :flow_floor END"),
    "zero_usage": "q = 0 AND mean >= :zero_min_mean",
}
_INACTIVE_RULE = "p.is_active = :false AND q > 0"

# Per method: (candidate rows of the period: account_id, usage_date, usage, baseline, spread, score,
# history_days, area_id, and `rank_score`, the order of "worst"), as a SELECT over p (the period rows).
# continuous_flow orders only the days that meet its rule: flow_days of them within flow_days - 1
# days are flow_days days in a row all above the threshold, the rule itself.
_METHODS = {
    "zscore": f"""
      SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread, (q - mean) / sd AS score,
             (q - mean) / sd AS rank_score, days, area_id
        FROM p WHERE {_ENOUGH} AND {_ROW_RULES["zscore"]}""",
    "robust": f"""
      SELECT account_id, usage_date, q AS usage, adj_median * ix AS baseline, adj_mad * ix AS spread,
             0.6745 * (q / ix - adj_median) / adj_mad AS score, 0.6745 * (q / ix - adj_median) / adj_mad AS rank_score,
             days, area_id
        FROM p WHERE {_ENOUGH} AND {_ROW_RULES["robust"]}""",
    "high_read": f"""
      SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread, q / mean AS score,
             q / mean AS rank_score, days, area_id
        FROM p WHERE {_ENOUGH} AND {_ROW_RULES["high_read"]}""",
    "continuous_flow": f"""
      SELECT account_id, usage_date, low AS usage, median AS baseline, mad AS spread, low / median AS score,
             low / median AS rank_score, days, area_id
        FROM (SELECT p.*, MIN(q) OVER w AS low, COUNT(*) OVER w AS cnt, MIN(usage_date) OVER w AS first_day
                FROM p WHERE {_ENOUGH} AND {_ROW_RULES["continuous_flow"]}
              WINDOW w AS (PARTITION BY account_id ORDER BY usage_date
                           ROWS BETWEEN {{flow_preceding}} PRECEDING AND CURRENT ROW)) f
       WHERE cnt = :flow_days AND {{span}} = :flow_days - 1""",
    "zero_usage": f"""
      SELECT account_id, MIN(usage_date) AS usage_date, 0 AS usage, MAX(mean) AS baseline, MAX(sd) AS spread,
             COUNT(*) AS score, COUNT(*) AS rank_score, MAX(days) AS days, MAX(area_id) AS area_id
        FROM p WHERE {_ENOUGH} AND {_ROW_RULES["zero_usage"]}
       GROUP BY account_id HAVING COUNT(*) >= :zero_min_days""",
    "inactive_usage": f"""
      SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread,
             SUM(q) OVER (PARTITION BY account_id) AS score, q AS rank_score, COALESCE(days, 0) AS days, area_id
        FROM p WHERE {_INACTIVE_RULE}""",
}


def _period_rows(methods) -> str:
    """The SELECT that fills detect_period: the period's rows that meet a rule of `methods`."""
    rules = [f"({_ROW_RULES[m]})" for m in methods if m in _ROW_RULES]
    keep = [f"({_ENOUGH} AND ({' OR '.join(rules)}))"] if rules else []
    if "inactive_usage" in methods:
        keep.append(f"({_INACTIVE_RULE})")
    return f"SELECT * FROM ({_PERIOD}) p WHERE {' OR '.join(keep) or '1 = 0'}"


_INSERT = """
INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                             spread, score, history_days, params, detected_at, detected_by, status)
WITH p AS ({period}), c AS ({candidates}), w AS (
  SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
)
SELECT account_id, area_id, :method, :start, :end, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
       ROUND(score, 4), days, :params, :now, :actor, 'open'
  FROM w
 WHERE pick = 1
   AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                    WHERE x.account_id = w.account_id AND x.method = :method AND x.period_start = :start)
"""


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


class AnomaliesPart:
    def _detection_sql(self, method: str) -> str:
        span = ("CAST(julianday(usage_date) - julianday(first_day) AS INTEGER)" if self.dialect == "sqlite"
                else "(usage_date - first_day)")
        cands = _METHODS[method]
        if method == "continuous_flow":
            cands = cands.replace("{flow_preceding}", ":flow_preceding_literal").replace("{span}", span)
        sql = _INSERT.format(period="SELECT * FROM detect_period", candidates=cands)
        if self.dialect == "postgresql":
            sql = (sql.replace(":params", "CAST(:params AS JSONB)").replace(":method", "CAST(:method AS VARCHAR(32))")
                   + " ON CONFLICT DO NOTHING")
        return sql

    def detect_anomalies(self, start, end, params: DetectionParams, actor, accounts=None) -> dict[str, int]:
        if accounts is not None and not accounts:
            return {m: 0 for m in params.methods}
        h0, h1 = start - dt.timedelta(days=params.baseline_days), start - dt.timedelta(days=1)
        now = utcnow()
        binds = dict(start=start, end=end, h0=h0, h1=h1, window=params.baseline_days, min_days=params.min_history_days,
                     k=params.k, robust=params.robust_threshold, high_factor=params.high_factor,
                     high_floor=params.high_floor, flow_days=params.flow_days, flow_factor=params.flow_factor,
                     flow_floor=params.flow_floor, zero_min_mean=params.zero_min_mean,
                     zero_min_days=params.zero_min_days, true=True, false=False,
                     params=json.dumps(params.as_dict()), now=now, actor=actor.username)
        if self.dialect == "sqlite":
            binds = {k: (float(v) if hasattr(v, "as_tuple") else v) for k, v in binds.items()}
        counts: dict[str, int] = {}
        only = "" if accounts is None else _ONLY
        with write_tx(self.engine) as conn:
            self._ensure_day_index(conn, h0, end)
            if accounts is not None:
                self._scratch(conn, "detect_accounts", ("account_id",), ("bigint PRIMARY KEY",))
                conn.execute(sa.text("INSERT INTO detect_accounts (account_id) VALUES (:a)"),
                             [{"a": x} for x in sorted(set(accounts))])
            history = {k: binds[k] for k in ("start", "end", "h0", "h1", "window")}
            if self.dialect == "postgresql":
                conn.execute(sa.text(_BASELINE_PG.replace("{only}", only)), history)
            else:
                sqlite_baselines.fill_baselines(conn, history, limited=accounts is not None)
            self._scratch(conn, "detect_period", _PERIOD_COLUMNS, _PERIOD_TYPES)
            fill = f"INSERT INTO detect_period ({', '.join(_PERIOD_COLUMNS)}) " + _period_rows(params.methods)
            fill = fill.replace("{only}", only)
            conn.execute(sa.text(fill), {k: binds[k] for k in set(re.findall(r"(?<!:):(\w+)", fill))})
            if self.dialect == "postgresql":
                conn.exec_driver_sql("ANALYZE detect_period")  # a temporary table is never analysed on its own
            for method in params.methods:
                sql = self._detection_sql(method).replace(":flow_preceding_literal", str(params.flow_days - 1))
                stmt = sa.text(sql).bindparams(sa.bindparam("now", type_=s.UTCDateTime()))
                values = {**binds, "method": method}
                used = {k: values[k] for k in set(re.findall(r"(?<!:):(\w+)", sql))}
                counts[method] = conn.execute(stmt, used).rowcount
            if self.dialect == "sqlite":  # PostgreSQL drops them at commit
                for name in ("detect_period",) if accounts is None else ("detect_period", "detect_accounts"):
                    conn.exec_driver_sql(f"DELETE FROM temp.{name}")
            self._audit(conn, actor, "usage.detect", "usage_anomalies", None, {
                "period_start": start, "period_end": end, "found": counts, "params": params.as_dict(),
                **({} if accounts is None else {"accounts": len(set(accounts))})})
        return counts

    def _scratch(self, conn, name: str, columns, pg_types) -> None:
        """An empty scratch table for this transaction: on PostgreSQL dropped at commit, on SQLite
        (no ON COMMIT there) kept per connection and emptied before and after use."""
        if self.dialect == "postgresql":
            cols = ", ".join(f"{c} {t}" for c, t in zip(columns, pg_types))
            conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols}) ON COMMIT DROP")
        else:
            cols = ", ".join(f"{c} INTEGER PRIMARY KEY" if "PRIMARY KEY" in t else c for c, t in zip(columns, pg_types))
            conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols})")
            conn.exec_driver_sql(f"DELETE FROM temp.{name}")

    def _ensure_day_index(self, conn, first: dt.date, last: dt.date) -> None:
        ix = s.usage_day_index
        have = {d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in conn.execute(
            sa.select(ix.c.usage_date).where(ix.c.usage_date.between(first, last)).distinct()).scalars()}
        u = s.daily_usage
        # Only days that have usage: a day without any (before the utility's first usage, or not yet
        # imported) has no index row to write and would otherwise be searched for again every time.
        probe = sa.select(sa.literal(1)).select_from(u).where(u.c.usage_date == sa.bindparam("day")).limit(1)
        missing = [d for d in _dates(first, last) if d not in have and conn.execute(probe, {"day": d}).first()]
        kind = sa.func.coalesce(a.c.account_type, "")
        for i in range(0, len(missing), 400):
            conn.execute(ix.insert().from_select(
                ["account_type", "usage_date", "accounts", "mean"],
                sa.select(kind, u.c.usage_date, sa.func.count(), sa.func.round(sa.func.avg(u.c.quantity), 6))
                .select_from(u.join(a, a.c.id == u.c.account_id))
                .where(a.c.is_active.is_(True), u.c.usage_date.in_(missing[i:i + 400]))
                .group_by(kind, u.c.usage_date)))

    # ---- list and review --------------------------------------------------------------------------
    def _anomaly_select(self):
        return (sa.select(ua, a.c.code.label("account_code"), a.c.name.label("account_name"),
                          a.c.account_type, ar.c.path.label("area_path"))
                .select_from(ua.join(a, a.c.id == ua.c.account_id).join(ar, ar.c.id == ua.c.area_id)))

    def _anomaly_where(self, q, flt: AnomalyFilter):
        if flt.status:
            q = q.where(ua.c.status == flt.status)
        if flt.area_id is not None:
            q = q.where(ua.c.area_id.in_(area_subtree(flt.area_id)))
        if flt.method:
            q = q.where(ua.c.method == flt.method)
        if flt.account_type:
            q = q.where(ua.c.account_id.in_(sa.select(a.c.id).where(a.c.account_type == flt.account_type)))
        if flt.account_id is not None:
            q = q.where(ua.c.account_id == flt.account_id)
        if flt.min_score is not None:
            q = q.where(ua.c.score >= flt.min_score)
        if flt.date_from is not None:
            q = q.where(ua.c.usage_date >= flt.date_from)
        if flt.date_to is not None:
            q = q.where(ua.c.usage_date <= flt.date_to)
        return q

    def list_anomalies(self, flt, offset=0, limit=50, with_total=True) -> Page[UsageAnomaly]:
        q = self._anomaly_where(self._anomaly_select(), flt).order_by(ua.c.usage_date.desc(), ua.c.id.desc())
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.offset(offset).limit(limit)).mappings().all()
            total = None
            if with_total:
                total = conn.execute(self._anomaly_where(sa.select(sa.func.count()).select_from(ua), flt)).scalar_one()
        return Page([UsageAnomaly.from_row(x) for x in rows], offset, limit, total)

    def get_anomaly(self, anomaly_id) -> UsageAnomaly | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(self._anomaly_select().where(ua.c.id == anomaly_id)).mappings().first()
        return UsageAnomaly.from_row(row) if row else None

    def review_anomaly(self, anomaly_id, *, outcome, note, actor) -> UsageAnomaly:
        now = utcnow()
        with write_tx(self.engine) as conn:
            changed = conn.execute(ua.update().where(ua.c.id == anomaly_id, ua.c.status == "open").values(
                status="reviewed", outcome=outcome, review_note=note, reviewed_by=actor.user_id,
                reviewed_by_name=actor.username, reviewed_at=now)).rowcount
            if not changed:
                row = conn.execute(sa.select(ua.c.status, ua.c.reviewed_by_name, ua.c.outcome)
                                   .where(ua.c.id == anomaly_id)).first()
                if row is None:
                    raise NotFoundError(f"Anomaly {anomaly_id} does not exist.")
                raise ConflictError(f"Anomaly {anomaly_id} was reviewed already by {row[1]} "
                                    f"({(row[2] or '').replace('_', ' ')}).")
            self._audit(conn, actor, "anomaly.review", "usage_anomaly", anomaly_id, {"outcome": outcome, "note": note})
        return self.get_anomaly(anomaly_id)

    def anomaly_counts(self, start, end) -> list[AnomalyCount]:
        q = (sa.select(ua.c.period_start, ua.c.method, sa.func.count(),
                       sa.func.sum(sa.case((ua.c.status == "reviewed", 1), else_=0)))
             .where(ua.c.period_start.between(start, end)).group_by(ua.c.period_start, ua.c.method)
             .order_by(ua.c.period_start, ua.c.method))
        with read_tx(self.engine) as conn:
            return [AnomalyCount(d if isinstance(d, dt.date) else dt.date.fromisoformat(d), m, n, int(rv or 0))
                    for d, m, n, rv in conn.execute(q)]
