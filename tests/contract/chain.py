"""The consumption chain's invariant, checked on stored data (any backend).

For each meter: its non-rejected readings, ordered by (reading_date, id), form chains (a new
chain starts at a meter change's start reading). In each chain the first reading has no previous
reading and no consumption, every other one points at the reading before it with consumption =
its value - that value (never negative), so the chain's consumption sums to last - first.
"""
from __future__ import annotations

import concurrent.futures
import threading
from decimal import Decimal

from services.models import ReadingFilter


def meter_readings(storage, meter_id: int) -> list:
    out, offset = [], 0
    while True:
        page = storage.list_readings(ReadingFilter(status=None, meter_id=meter_id), offset, 200, with_total=False)
        out.extend(page.items)
        if len(page.items) < 200:
            return sorted(out, key=lambda x: (x.reading_date, x.id))
        offset += 200


def chain_problems(storage, meter_id: int, chain_starts: frozenset[int] = frozenset()) -> list[str]:
    live = [x for x in meter_readings(storage, meter_id) if x.status != "rejected"]
    problems, first, total = [], None, Decimal(0)
    for i, x in enumerate(live):
        if i == 0 or x.id in chain_starts:
            if (x.previous_reading_id, x.consumption) != (None, None):
                problems.append(f"#{x.id} starts a chain but has previous {x.previous_reading_id}, consumption {x.consumption}")
            if first is not None and total != live[i - 1].reading_value - first.reading_value:
                problems.append(f"chain ending at #{live[i - 1].id}: consumption sums to {total}")
            first, total = x, Decimal(0)
            continue
        prev = live[i - 1]
        if x.previous_reading_id != prev.id:
            problems.append(f"#{x.id} points at {x.previous_reading_id}, its predecessor is #{prev.id}")
        if x.consumption != x.reading_value - prev.reading_value or x.consumption < 0:
            problems.append(f"#{x.id} consumption {x.consumption}, should be {x.reading_value - prev.reading_value}")
        total += x.consumption or 0
    if first is not None and total != live[-1].reading_value - first.reading_value:
        problems.append(f"consumption sums to {total}, last - first is {live[-1].reading_value - first.reading_value}")
    return problems


def all_at_once(calls: list, workers: int | None = None) -> list:
    """Run the calls in threads released together; returns each call's result or the exception it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - the caller inspects it
            return exc

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or len(calls)) as pool:
        return list(pool.map(run, calls))
