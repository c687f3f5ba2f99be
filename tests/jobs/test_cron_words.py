"""Scheduled jobs in words (issue 18): no raw crontab line or JSON on the page."""
import pytest

from services.jobs.cron_words import CUSTOM, counts_in_words, cron_in_words


@pytest.mark.parametrize("expr, words", [
    ("0 2 1 * *", "on the 1st of every month at 02:00"),
    ("0 10 * * *", "every day at 10:00"),
    ("0 8 * * sun", "every Sunday at 08:00"),
    ("30 6 * * 1-5", "every Monday, Tuesday, Wednesday, Thursday and Friday at 06:30"),
    ("0 6 1,15 * *", "on the 1st and 15th of every month at 06:00"),
    ("0 0 22 3 *", "on the 22nd of March at 00:00"),
    ("0 7 * * 0,7", "every Sunday at 07:00"),
    ("*/5 * * * *", CUSTOM),
    ("0 2 1 * mon", CUSTOM),
    ("0 25 * * *", CUSTOM),
    ("not a line", CUSTOM),
])
def test_cron_in_words(expr, words):
    assert cron_in_words(expr) == words


def test_counts_in_words():
    assert counts_in_words({"created": 312, "skipped": 2, "run_by": "admin", "problems": [1]}) == "created 312, skipped 2"
    assert counts_in_words({"marked_overdue": 1200, "due_date": "2026-11-30"}) == "marked overdue 1,200, due date: 2026-11-30"
    assert counts_in_words({}) == "-"
