"""Undoing a review decision: an approved or rejected reading goes back to pending (issue 18).

A decision may be undone only while nothing was built on it:
- an approved reading: while no bill covers it (a bill's units never change). A later reading of
  the same meter being approved does not matter: approval changes no consumption, the chain is the
  same with the reading pending or approved.
- a rejected reading: rejecting took it out of its meter's chain and re-measured its follower from
  the reading before it (relink_after_rejection). Undoing puts it back exactly where it was, so it
  is refused when the chain moved since (a reading now sits between it and the reading it was
  measured from, or that reading was rejected meanwhile) or when the follower may no longer be
  re-measured (billed, or units an admin confirmed), or would go below it.
- a meter change's readings are part of that change, not a review decision: never undone here.
The storage checks these inside the meter's lock; database/review_undo_triggers.py holds the billed
and chain-place parts in the database too.
"""
from __future__ import annotations

from services.errors import ConflictError
from services.readings.rules import NeighbourReading, Relink, _check_relinkable

UNDOABLE = ("approved", "rejected")


def check_undoable(reading_id: int, status: str, source: str | None, bill_id: int | None) -> None:
    """The part of the rule that needs no chain: ConflictError saying why the decision stays."""
    if status not in UNDOABLE:
        raise ConflictError(f"Reading #{reading_id} is {status}; there is no review decision to undo.")
    if source == "meter_change":
        raise ConflictError(f"Reading #{reading_id} was recorded by a meter change, not decided at review; "
                            "it cannot go back to pending.")
    if bill_id is not None:
        raise ConflictError(f"Reading #{reading_id} cannot go back to pending: bill #{bill_id} covers it and a "
                            "billed reading never changes. Nothing was changed.")


def plan_undo_rejection(rejected: NeighbourReading, latest_before: NeighbourReading | None,
                        follower: NeighbourReading | None, follower_is_newer: bool = False) -> Relink | None:
    """Put a rejected reading back in its chain. `rejected.previous_reading_id` is the reading it was
    measured from (never changed by the rejection; on readings stored before readings named it, its
    consumption says which value it was measured from); `latest_before` the meter's last non-rejected
    reading before it now, `follower` the first after it now (with billed/approved_units read);
    `follower_is_newer`: it was stored after the rejection (typically the engineer's corrected
    reading), so it was never measured from the rejected one and putting that back would doubt it."""
    if rejected.previous_reading_id is not None:
        moved = latest_before is None or latest_before.id != rejected.previous_reading_id
    elif rejected.consumption is not None:  # stored before readings named their previous one: by value
        moved = latest_before is None or latest_before.reading_value + rejected.consumption != rejected.reading_value
    else:  # it was the first of its chain
        moved = latest_before is not None
    if moved:
        where = (f"reading #{latest_before.id} of {latest_before.reading_date} now comes before it"
                 if latest_before else "the reading it was measured from was rejected meanwhile")
        raise ConflictError(f"Reading #{rejected.id} cannot go back to pending: the meter's readings changed since it "
                            f"was rejected ({where}). Nothing was changed; submit the reading again instead.")
    if follower is None:
        return None
    if follower_is_newer:
        raise ConflictError(f"Reading #{rejected.id} cannot go back to pending: reading #{follower.id} of "
                            f"{follower.reading_date} was stored after it was rejected. Nothing was changed; reject "
                            f"reading #{follower.id} first if it is the wrong one.")

    def refused(problem: str) -> ConflictError:
        return ConflictError(f"Reading #{rejected.id} cannot go back to pending: reading #{follower.id} of "
                             f"{follower.reading_date} would be measured from it again and {problem}. Nothing was "
                             "changed.")

    _check_relinkable(follower, refused)
    if follower.reading_value < rejected.reading_value:
        raise refused(f"is lower ({follower.reading_value} against {rejected.reading_value})")
    return Relink(follower.id, rejected.id, follower.reading_value - rejected.reading_value)
