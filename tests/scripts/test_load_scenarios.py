"""The load test's staff count a reading another reviewer decided first as a conflict, wherever the
inbox shows it (the approve click, or the row's message when the inbox is opened again), and any
other alert as an error."""
import asyncio
import concurrent.futures
import random

from scripts.load_client import RunResult, Widget
from scripts.load_scenarios import Person, Plan, Recorder

RACED = "Reading \\#266\\: Reading 266 is already approved; only pending readings can be reviewed."


class _Session:
    def __init__(self, errors, widgets=()):
        self.errors, self.widgets = errors, list(widgets)

    async def rerun(self, *_, **__):
        return RunResult(seconds=0.01, elements=[], widgets=self.widgets, errors=self.errors, texts=list(self.errors))


def _reviewer_opens_inbox_showing(errors, widgets=(), seed=1) -> Recorder:
    rec = Recorder()
    person = Person("http://127.0.0.1:1", Plan("reviewer", "u", "p", "a"), rec, (0, 0), b"", random.Random(seed))
    person.s = _Session(errors, widgets)
    # A thread of its own: in the whole suite the browser tests' Playwright (sync API) keeps an event
    # loop running in the main thread, where asyncio.run refuses to start another.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, person.reviewer()).result()
    return rec


def test_a_raced_reading_shown_again_on_opening_the_inbox_is_a_conflict():
    rec = _reviewer_opens_inbox_showing([RACED])
    assert rec.conflicts == {"review_open": 1} and rec.errors["review_open"] == []


def test_any_other_alert_on_the_inbox_is_an_error():
    rec = _reviewer_opens_inbox_showing(["Could not load the readings: the database is down"])
    assert rec.conflicts == {} and len(rec.errors["review_open"]) == 1


def test_a_raced_reading_still_shown_after_the_filter_is_set_is_a_conflict():
    # The reviewer sets "Flagged only" to the value it has: the list is the same, so is the row's message.
    seed = next(k for k in range(100) if random.Random(k).random() < 0.3)  # a reviewer who filters
    rec = _reviewer_opens_inbox_showing([RACED], [Widget("checkbox", "w1", "Flagged only")], seed)
    assert rec.conflicts == {"review_open": 1, "review_filter": 1}
    assert rec.errors.get("review_filter", []) == []
