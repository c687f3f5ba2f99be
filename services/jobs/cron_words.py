"""A crontab line in words for the Scheduled jobs page: "0 2 1 * *" -> "on the 1st of every month at
02:00". Covers the shapes a schedule of this app takes (a fixed time; every day, some weekdays, some
days of the month, some months); anything else is said as "on a custom schedule", and the line
itself stays on System status and in the configuration (JOB_*_CRON)."""
from __future__ import annotations

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(DAYS[:7])}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
CUSTOM = "on a custom schedule"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _numbers(field: str, low: int, high: int, names: dict[str, int] | None = None) -> list[int] | None:
    """'1,15' -> [1, 15]; 'mon-fri' -> [1..5]; None for '*', steps or anything out of range."""
    out: list[int] = []
    for part in field.lower().split(","):
        ends = part.split("-")
        if len(ends) > 2:
            return None
        try:
            values = [names[e] if names and e in names else int(e) for e in ends]
        except ValueError:
            return None
        a, b = values[0], values[-1]
        if not (low <= a <= high and low <= b <= high and a <= b):
            return None
        out.extend(range(a, b + 1))
    return out


def cron_in_words(expr: str) -> str:
    fields = (expr or "").split()
    if len(fields) != 5:
        return CUSTOM
    minute, hour, dom, month, dow = fields
    if not (minute.isdigit() and hour.isdigit() and int(minute) < 60 and int(hour) < 24):
        return CUSTOM
    at = f"at {int(hour):02d}:{int(minute):02d}"
    days = None if dom == "*" else _numbers(dom, 1, 31)
    months = None if month == "*" else _numbers(month, 1, 12)
    weekdays = None if dow == "*" else _numbers(dow, 0, 7, DAY_NAMES)
    if (dom != "*" and days is None) or (month != "*" and months is None) or (dow != "*" and weekdays is None):
        return CUSTOM
    of = "every month" if months is None else _and([MONTHS[m - 1] for m in months])
    if days is None and weekdays is None:
        when = "every day" if months is None else f"every day in {of}"
    elif days is not None and weekdays is None:
        when = f"on the {_and([ordinal(d) for d in days])} of {of}"
    elif days is None:
        names = sorted({d % 7 for d in weekdays})
        when = "every " + _and([DAYS[d] for d in names]) + ("" if months is None else f" in {of}")
    else:
        return CUSTOM  # day of month OR weekday (cron's rule) is too subtle to say briefly
    return f"{when} {at}"


def counts_in_words(counts: dict | None) -> str:
    """A run's counts as a short sentence: {"created": 312, "skipped": 2} -> "created 312, skipped 2"."""
    parts = []
    for key, value in (counts or {}).items():
        if key in ("problems", "run_by") or value in (None, "", [], {}):
            continue
        label = key.replace("_", " ")
        parts.append(f"{label} {value:,}" if isinstance(value, int) and not isinstance(value, bool)
                     else f"{label}: {value}")
    return ", ".join(parts) or "-"
