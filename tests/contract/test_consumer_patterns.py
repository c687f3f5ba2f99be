"""Consumer analytics counted ahead (issue 14): after the consumer_patterns job's count, the report
gives the very figures it counts live, in every reader's scope; a payment after the count shows once
counted again. SQL backends (on Supabase the report always counts live, and the job says so)."""
import datetime as dt

import pytest

from services.accounts.scopes import Scope
from services.errors import ConfigurationError
from services.models import BillFilter
from services.reports.analytics import WINDOWS
from tests.contract.test_analytics import AS_OF
from tests.contract.test_reports import town  # noqa: F401  (three billed months with payments)
from tests.factories import ADMIN


def _rows(view, months=12):
    return {top: [(r.area_path, r.active, r.inactive, r.billed, r.on_time, r.late, r.partial, r.never_paid)
                  for r in view.consumer_analytics(AS_OF, months, top)] for top in (True, False)}


def test_counted_ahead_the_report_gives_what_it_counts_live(storage, town):  # noqa: F811
    if not hasattr(storage, "engine"):
        with pytest.raises(ConfigurationError, match="counts them live"):
            storage.refresh_consumer_patterns(AS_OF, 12)
        assert storage.consumer_patterns_computed_at(AS_OF, 12) is None
        return
    agent = storage.scoped(Scope.of(["KSR/KSR-UC01"]))
    live = {m: _rows(storage, m) for m in WINDOWS}
    live_agent = _rows(agent)
    assert storage.consumer_patterns_computed_at(AS_OF, 12) is None
    for m in WINDOWS:
        assert storage.refresh_consumer_patterns(AS_OF, m) > 0
    assert storage.consumer_patterns_computed_at(AS_OF, 12) is not None
    assert storage.consumer_patterns_computed_at(AS_OF - dt.timedelta(days=1), 12) is None  # another day: live
    assert {m: _rows(storage, m) for m in WINDOWS} == live
    assert _rows(agent) == live_agent and {p for p, *_ in live_agent[False]} == {"KSR/KSR-UC01"}

    # A payment after the count: the counted rows stand until the next count, which shows it.
    unpaid = next(b for b in storage.list_bills(BillFilter(area_id=None), 0, 500).items
                  if b.status in ("pending", "overdue") and b.amount_paid == 0 and b.due_date <= AS_OF)
    storage.record_payment(unpaid.id, amount=unpaid.balance, paid_on=dt.date(2026, 11, 20), method="cash",
                           reference=None, actor=ADMIN)
    assert _rows(storage) == live[12]
    storage.refresh_consumer_patterns(AS_OF, 12)
    counted_again = _rows(storage)
    storage.refresh_consumer_patterns(AS_OF - dt.timedelta(days=1), 12)  # a count of another day is not read
    assert counted_again == _rows(storage) != live[12]
    with storage.engine.begin() as c:  # the live figures now: no count for the day
        import sqlalchemy as sa

        c.execute(sa.text("DELETE FROM consumer_pattern_totals"))
    assert _rows(storage) == counted_again
