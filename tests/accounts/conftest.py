"""Accounts tests run on SQLite and on the real PostgreSQL server (tests/backends.py)."""
import datetime as dt

import pytest

from tests.backends import FACTORIES

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    """An injected clock the tests move by hand."""

    def __init__(self, start: dt.datetime = T0):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    st = FACTORIES[request.param](request, tmp_path)
    yield st
    st.dispose()


@pytest.fixture
def sqlite_storage(request, tmp_path):
    st = FACTORIES["sqlite"](request, tmp_path)
    yield st
    st.dispose()


@pytest.fixture
def clock():
    return Clock()
