"""Rolling-origin backtest of the usage forecast (services/readings/forecasts.py) on the demo
water customers: for each of the last 3 full months before `--today`, every customer's month is
forecast from the days before it only, and compared with what was measured and with
seasonal-naive (the same days a year earlier).

    python -m scripts.forecast_backtest                     # 1,000 customers, today 2026-11-22
    python -m scripts.forecast_backtest --customers 300 --months 3 --today 2026-11-22

Prints, for the method and for seasonal-naive: MASE (mean absolute error / seasonal-naive's on
the same customer-months: below 1 beats it), MAPE over the customer-months with usage (it is
undefined at zero), and the share of actuals inside the 90% prediction interval.

The usage is the demo generator's (services/demo/water.py: the customers and the seasonal,
weekly and random shape the seeded database holds), over 3 years ending yesterday: the seeded
database keeps 400 days, less than a seasonal-naive forecast of the last 3 months needs (the same
month a year earlier) and than the seasonal model's year of history. Closed accounts (all zero)
are left out. Pure: no database.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import defaultdict

from services.billing.periods import month_bounds
from services.demo import water as demo
from services.readings.forecasts import forecast_period, score, seasonal_naive

HISTORY_DAYS = 3 * 365


def months_before(today: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    out, first = [], today.replace(day=1)
    for _ in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        out.append(month_bounds(first))
    return list(reversed(out))


def backtest(n: int, today: dt.date, months: int = 3, level: float = 0.9) -> dict:
    end = today - dt.timedelta(days=1)
    periods = months_before(today, months)
    cases, by_method, per_month = [], defaultdict(list), defaultdict(list)
    for c in demo.customers(n):
        if not c.is_active:
            continue
        usage = list(demo.daily_usage(c, end, HISTORY_DAYS))
        for start, stop in periods:
            history = [(d, q) for d, q in usage if d < start]
            actual = sum((q for d, q in usage if start <= d <= stop), start=type(usage[0][1])("0"))
            f = forecast_period(history, start, stop, level=level)
            naive = seasonal_naive(history, start, stop)
            if f is None or naive is None:
                continue
            case = (actual, f.expected, f.low, f.high, naive)
            cases.append(case)
            by_method[f.method].append(case)
            per_month[start].append(case)
    return {"periods": periods, "overall": score(cases), "by_method": {m: score(v) for m, v in by_method.items()},
            "per_month": {m: score(v) for m, v in sorted(per_month.items())}}


def _fmt(x, pct=False):
    if x is None:
        return "   n/a"
    return f"{x:6.1f}%" if pct else f"{x:6.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.forecast_backtest", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--customers", type=int, default=demo.DEFAULT_CUSTOMERS, help="demo customers (default 1000)")
    ap.add_argument("--months", type=int, default=3, help="months of rolling origins (default 3)")
    ap.add_argument("--today", default="2026-11-22", help="the backtest's today (YYYY-MM-DD, default 2026-11-22)")
    args = ap.parse_args(argv)
    if args.customers < 1 or args.months < 1:
        ap.error("--customers and --months must be at least 1")
    t0 = time.time()
    r = backtest(args.customers, dt.date.fromisoformat(args.today), args.months)
    o = r["overall"]
    first, last = r["periods"][0][0], r["periods"][-1][1]
    print(f"Rolling-origin backtest, {args.customers:,} demo customers, months {first:%Y-%m} to {last:%Y-%m}: "
          f"{o.cases:,} customer-months ({time.time() - t0:.1f} s)")
    print(f"{'':24s} {'MASE':>7s} {'MAPE':>7s} {'coverage (90%)':>15s}")
    print(f"{'forecast (chosen)':24s} {_fmt(o.mase)} {_fmt(o.mape, True)} {_fmt(100 * o.coverage if o.coverage is not None else None, True):>15s}")
    print(f"{'seasonal-naive':24s} {_fmt(1.0 if o.mase is not None else None)} {_fmt(o.naive_mape, True)} {'-':>15s}")
    for m, s in r["by_method"].items():
        print(f"  by {m:21s} {_fmt(s.mase)} {_fmt(s.mape, True)} {_fmt(100 * s.coverage, True):>15s}  ({s.cases:,} cases)")
    for start, s in r["per_month"].items():
        print(f"  {start:%Y-%m}{'':15s} {_fmt(s.mase)} {_fmt(s.mape, True)} {_fmt(100 * s.coverage, True):>15s}")
    verdict = "beats" if o.mase is not None and o.mase < 1 else "does NOT beat"
    print(f"The forecast {verdict} seasonal-naive (MASE {_fmt(o.mase).strip()}).")
    return 0 if o.mase is not None and o.mase < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
