"""Usage anomalies: the detection methods, their parameters and a pure reference implementation.

Detection looks at one period (a calendar month, or the days of it measured so far) of each
customer's daily usage and compares it with the customer's own history: the `baseline_days`
days before the period starts (default 365). Each method records at most one anomaly per
customer and period: the day that deviates most. The storage backends run the same rules
set-based in SQL (services/storage/sql_anomalies.py, database/supabase/80_functions_water.sql);
`detect` below is the reference they are tested against (tests/contract/test_anomalies.py).

Methods (seed 004's 2-sigma rule, a robust rule beside it, and the rule families utilities run):

| method          | flags a day (or the period) when                                                  |
| zscore          | usage > mean + k x standard deviation of the baseline (k = 2, seed 004)             |
| robust          | modified z-score 0.6745 x (r - median) / MAD > 3.5 (Iglewicz and Hoaglin), where r  |
|                 | is the day's usage / the average usage that day of the customer's type (the         |
|                 | season, the weather and the weekday everyone shares taken out), and the median and  |
|                 | MAD are of the customer's own r over its history                                    |
| high_read       | usage > 2 x the baseline mean, and at least 1.00 CCF above it (absolute floor)     |
| continuous_flow | every day of `flow_days` (7) consecutive days >= 1.5 x the baseline median and     |
|                 | >= 0.10 CCF (water kept running: a leak)                                            |
| zero_usage      | an active account with >= 7 days of 0.00 in the period although its baseline mean |
|                 | is at least 0.05 CCF a day (a stuck or bypassed meter)                             |
| inactive_usage  | a closed (inactive) account with usage above 0.00 on any day                       |

All but inactive_usage need a baseline of at least `min_history_days` (28) days of rows:
below that nothing is flagged (a new customer's usage says nothing about "their normal" yet).
A baseline with no spread (sd 0 or MAD 0, e.g. a meter that always reads the same) flags
nothing for zscore / robust: a deviation cannot be scaled by a zero spread.

Statistics: the mean, the sample standard deviation (n - 1), the median (the middle value, or
the mean of the two middle values) and the MAD (the median of the absolute deviations from the
median) of the baseline's daily values, each rounded to 4 places half-up before comparing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

METHODS = ("zscore", "robust", "high_read", "continuous_flow", "zero_usage", "inactive_usage")
METHOD_LABELS = {
    "zscore": "2-sigma (mean + k sd)", "robust": "robust (median and MAD)", "high_read": "high read (2x average)",
    "continuous_flow": "continuous flow", "zero_usage": "zero usage (active)", "inactive_usage": "usage on a closed account",
}
# The review outcomes Operations records (usage_anomalies.outcome).
OUTCOMES = ("leak_confirmed", "meter_fault", "genuine", "data_error", "customer_contacted", "no_action")
OUTCOME_LABELS = {"leak_confirmed": "leak confirmed", "meter_fault": "meter fault", "genuine": "genuine usage",
                  "data_error": "data error", "customer_contacted": "customer contacted", "no_action": "no action needed"}
MAD_SCALE = Decimal("0.6745")  # MAD / 0.6745 estimates the standard deviation of normal data
P4 = Decimal("0.0001")


@dataclass(frozen=True)
class DetectionParams:
    """The thresholds of every method (docs/water.md, "Anomaly methods"). Defaults as documented above."""

    k: Decimal = Decimal("2")
    robust_threshold: Decimal = Decimal("3.5")
    baseline_days: int = 365
    min_history_days: int = 28
    high_factor: Decimal = Decimal("2")
    high_floor: Decimal = Decimal("1.00")  # CCF above the average, so a tiny customer's 0.2 -> 0.5 is no "high read"
    flow_days: int = 7
    flow_factor: Decimal = Decimal("1.5")
    flow_floor: Decimal = Decimal("0.10")
    zero_min_days: int = 7
    zero_min_mean: Decimal = Decimal("0.05")
    methods: tuple[str, ...] = METHODS

    def __post_init__(self):
        for name in ("k", "robust_threshold", "high_factor", "high_floor", "flow_factor", "flow_floor", "zero_min_mean"):
            object.__setattr__(self, name, Decimal(str(getattr(self, name))))
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown anomaly method(s) {unknown}: use {', '.join(METHODS)}")
        if self.baseline_days < self.min_history_days or self.min_history_days < 2:
            raise ValueError("baseline_days must be at least min_history_days, and min_history_days at least 2")
        if self.flow_days < 2 or self.zero_min_days < 1:
            raise ValueError("flow_days must be at least 2 and zero_min_days at least 1")

    def with_changes(self, **changes) -> "DetectionParams":
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Baseline:
    days: int
    mean: Decimal
    sd: Decimal
    median: Decimal
    mad: Decimal
    adj_median: Decimal | None = None  # of usage / the type's average that day
    adj_mad: Decimal | None = None


@dataclass(frozen=True)
class Finding:
    """One anomaly found: the method, the day, its usage and the baseline it was judged by."""

    account_id: int
    method: str
    usage_date: dt.date
    usage: Decimal
    baseline: Decimal | None  # the mean (zscore, high_read, zero_usage, inactive_usage) or median (robust, flow)
    spread: Decimal | None  # sd or MAD
    score: Decimal  # how far: z, modified z, times the mean, days of zero, ...
    period_start: dt.date = field(default=dt.date.min)


def _r4(x: Decimal) -> Decimal:
    return x.quantize(P4, rounding=ROUND_HALF_UP)


def _median(sorted_values: Sequence[Decimal]) -> Decimal:
    n = len(sorted_values)
    return (sorted_values[(n + 1) // 2 - 1] + sorted_values[(n + 2) // 2 - 1]) / 2


def _stats(values: Iterable[Decimal]) -> tuple[int, Decimal, Decimal, Decimal, Decimal] | None:
    xs = sorted(Decimal(v) for v in values)
    n = len(xs)
    if n < 2:
        return None
    mean = sum(xs) / n
    var = (sum(x * x for x in xs) - n * mean * mean) / (n - 1)
    sd = var.sqrt() if var > 0 else Decimal(0)
    med = _median(xs)
    mad = _median(sorted(abs(x - med) for x in xs))
    return n, _r4(mean), _r4(sd), _r4(med), _r4(mad)


def ratio(usage: Decimal, index_mean: Decimal | None) -> Decimal | None:
    """A day's usage relative to its customer type's average that day (None when that is 0 or unknown)."""
    return None if not index_mean else Decimal(usage) / Decimal(index_mean)


def baseline(history: Iterable[tuple[dt.date, Decimal]], index: dict[dt.date, Decimal] | None = None) -> Baseline | None:
    """The statistics of a customer's history: its daily values, and (with the type's daily
    averages) their ratios to the type's average. None without at least two days."""
    days = [(d, Decimal(q)) for d, q in history]
    raw = _stats(q for _, q in days)
    if raw is None:
        return None
    adj = _stats(r for r in (ratio(q, (index or {}).get(d)) for d, q in days) if r is not None)
    return Baseline(*raw, adj[3] if adj else None, adj[4] if adj else None)


def day_index(rows: Iterable[tuple[dt.date, str | None, Decimal]]) -> dict[tuple[str, dt.date], Decimal]:
    """{(account type, day): the average usage that day} of (day, type, usage) rows of active accounts
    (rounded to 6 places half-up, as stored in usage_day_index)."""
    sums: dict[tuple[str, dt.date], list] = {}
    for d, t, q in rows:
        acc = sums.setdefault((t or "", d), [Decimal(0), 0])
        acc[0] += Decimal(q)
        acc[1] += 1
    return {k: (v[0] / v[1]).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP) for k, v in sums.items()}


def detect(account_id: int, *, is_active: bool, history: Iterable[tuple[dt.date, Decimal]],
           period: Sequence[tuple[dt.date, Decimal]], index: dict[dt.date, Decimal] | None = None,
           params: DetectionParams = DetectionParams(), period_start: dt.date | None = None) -> list[Finding]:
    """Every method's finding for one account: `history` = (date, usage) of its days in the baseline
    window, `period` = those of the period, `index` = {date: its type's average usage that day}."""
    days = sorted((d, Decimal(q)) for d, q in period)
    if not days:
        return []
    index = index or {}
    start = period_start or days[0][0]
    b = baseline(history, index)
    enough = b is not None and b.days >= params.min_history_days
    out: list[Finding] = []

    def add(method, day, usage, base, spread, score):
        if method in params.methods:
            out.append(Finding(account_id, method, day, usage, None if base is None else _r4(base),
                               None if spread is None else _r4(spread), _r4(Decimal(score)), start))

    def worst(candidates):  # the highest score; the earliest day on a tie
        return max(candidates, key=lambda c: (c[-1], -c[0].toordinal())) if candidates else None

    if not is_active:
        hit = worst([(d, q, q) for d, q in days if q > 0])
        if hit:
            add("inactive_usage", hit[0], hit[1], b.mean if b else None, b.sd if b else None,
                sum(q for _, q in days))
        return out
    if not enough:
        return out
    if b.sd > 0:
        hit = worst([(d, q, (q - b.mean) / b.sd) for d, q in days if q > b.mean + params.k * b.sd])
        if hit:
            add("zscore", hit[0], hit[1], b.mean, b.sd, hit[2])
    if b.adj_mad:
        scored = []
        for d, q in days:
            r = ratio(q, index.get(d))
            if r is not None:
                z = MAD_SCALE * (r - b.adj_median) / b.adj_mad
                if z > params.robust_threshold:
                    scored.append((d, q, z))
        hit = worst(scored)
        if hit:
            m = Decimal(index[hit[0]])
            add("robust", hit[0], hit[1], b.adj_median * m, b.adj_mad * m, hit[2])
    if b.mean > 0:
        hit = worst([(d, q, q / b.mean) for d, q in days if q > params.high_factor * b.mean
                     and q - b.mean >= params.high_floor])
        if hit:
            add("high_read", hit[0], hit[1], b.mean, b.sd, hit[2])
    if b.median > 0:
        floor = max(params.flow_factor * b.median, params.flow_floor)
        windows = []  # (end day, the lowest usage of the flow_days consecutive days ending on it)
        for i in range(params.flow_days - 1, len(days)):
            span = days[i - params.flow_days + 1:i + 1]
            if (span[-1][0] - span[0][0]).days == params.flow_days - 1:
                low = min(q for _, q in span)
                windows.append((span[-1][0], low, low / b.median))
        hit = worst([w for w in windows if w[1] >= floor])
        if hit:
            add("continuous_flow", hit[0], hit[1], b.median, b.mad, hit[2])
    zeros = [d for d, q in days if q == 0]
    if len(zeros) >= params.zero_min_days and b.mean >= params.zero_min_mean:
        add("zero_usage", zeros[0], Decimal("0.00"), b.mean, b.sd, len(zeros))
    return out
