"""Consumer analytics and staff performance (issue 14, seed 003 phase 3): their rows and definitions.

Consumer analytics, per area (city/tehsil or union council), as of a date over the last `months`
bill months (bills whose period starts on or after the window's first day and whose due date has
passed; replaced and cancelled bills left out):
- active / inactive: the consumer units in the area, whatever their bills;
- billed: the units with at least one such bill; each has one payment pattern:
  - on time: every bill paid in full, no payment of it dated after its due date (the payment's
    paid_on, not when it was recorded; a re-issue's credit does not count);
  - late: every bill settled, at least one after its due date (a bill whose unpaid balance was
    carried into a newer bill counts as settled late: it is paid, if at all, with that bill);
  - partial: something paid, but not every bill settled;
  - never paid: nothing paid on any of them.

Staff performance, for a bill month, per staff member of an area-limited role (agent, supervisor,
manager): the bills of that month in the areas assigned to them (each area once, whatever
overlaps), what those bills ask for (due), what was collected on them and how many are paid in
full; the collection rate = collected / due; the field visits each logged in that month (issue 15:
Storage.visits_per_agent, counted in the database). An area-limited reader sees only the bills and
visits of their own areas.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

PATTERNS = ("on_time", "late", "partial", "never_paid")
PATTERN_LABELS = {"on_time": "always on time", "late": "late", "partial": "partial", "never_paid": "never paid"}
STAFF_ROLES = ("agent", "supervisor", "manager")
WINDOWS = (3, 6, 12)  # the report's "over the last" choices, counted ahead by the consumer_patterns job


@dataclass(frozen=True)
class ConsumerRow:
    area_id: int | None
    area_path: str
    area_name: str
    active: int
    inactive: int
    billed: int
    on_time: int
    late: int
    partial: int
    never_paid: int


@dataclass(frozen=True)
class StaffRow:
    user_id: int
    username: str
    display_name: str
    role: str
    areas: str  # the assigned area paths, comma separated
    bills: int
    due: Decimal
    collected: Decimal
    paid: int
    visits: int | None = None  # field visits logged in the month (with_visits); None: not counted

    @property
    def rate(self) -> Decimal | None:
        if not self.due:
            return None
        return (self.collected * 100 / self.due).quantize(Decimal("0.1"))


def window_start(as_of: dt.date, months: int) -> dt.date:
    """The first day of the window: the 1st of the month `months - 1` months before as_of's month."""
    first = as_of.replace(day=1)
    for _ in range(max(months, 1) - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def month_days(month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a bill month ("2026-10")."""
    first = dt.date.fromisoformat(f"{month}-01")
    return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def with_visits(rows: list[StaffRow], agent_visits) -> list[StaffRow]:
    """The rows with each staff member's field visits of the month (AgentVisits by agent_id; 0 when none)."""
    from dataclasses import replace

    counts = {v.agent_id: v.visits for v in agent_visits if v.agent_id is not None}
    return [replace(r, visits=counts.get(r.user_id, 0)) for r in rows]
