"""Time sources. Code takes a `now`/`today` callable so tests can inject a clock."""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def local_zone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("METERLINE_TIMEZONE", "Asia/Kolkata"))


def today() -> dt.date:
    """Today's date in the utility's time zone (METERLINE_TIMEZONE, default Asia/Kolkata)."""
    return dt.datetime.now(local_zone()).date()
