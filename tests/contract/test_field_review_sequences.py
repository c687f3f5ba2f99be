"""Ticket decisions over random sequences (hypothesis), on SQLite: whatever order supervisors approve,
reject or retry, (i) each ticket's first decision stands and every later one is refused (ConflictError),
(ii) the account holds exactly the category of the last approved ticket that proposed one (each applied
once, in the order approved; nothing on rejection), (iii) one ticket.apply audit entry per approval that
changed something, with the old and new value the model expects."""
import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from services.errors import ConflictError
from services.field.models import NewTicket
from services.storage.sql_backend import SqlStorage
from tests.factories import ADMIN, make_municipal

UNIT = "SP-KSR-0000001"  # category Small
CATEGORIES = ("Small", "Medium", "Large")
N = 4
OPS = hs.lists(hs.tuples(hs.integers(0, N - 1), hs.booleans()), max_size=12)
PROPOSALS = hs.lists(hs.sampled_from(CATEGORIES), min_size=N, max_size=N)
_counter = itertools.count()


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proposals=PROPOSALS, ops=OPS)
def test_decisions_hold_and_changes_apply_once_in_order(tmp_path, proposals, ops):
    st = SqlStorage(f"sqlite:///{tmp_path / f'seq{next(_counter)}.db'}")
    try:
        account = make_municipal(st)["accounts"][UNIT]
        t0 = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
        ids = [st.create_ticket(NewTicket(account_id=account, kind="wrong_category", description=f"ticket {i}",
                                          raised_at=t0, proposed_change={"category": c}), ADMIN).id
               for i, c in enumerate(proposals)]
        decided: dict[int, bool] = {}
        category, applies = "Small", []
        for i, approve in ops:
            if i in decided:
                try:
                    st.review_ticket(ids[i], approve=approve, reason="again", actor=ADMIN)
                except ConflictError:
                    continue
                raise AssertionError("a decided ticket was decided again")
            st.review_ticket(ids[i], approve=approve, reason=None if approve else "no", actor=ADMIN)
            decided[i] = approve
            if approve and proposals[i] != category:
                applies.append({"category": {"old": category, "new": proposals[i]}})
                category = proposals[i]
        for i, ticket_id in enumerate(ids):
            t = st.get_ticket(ticket_id)
            assert t.status == {True: "approved", False: "rejected", None: "pending"}[decided.get(i)]
        assert st.get_account(account_id=account).category == category
        audit = st.list_audit(action_prefix="ticket.apply", limit=100).items
        got = sorted((e.details["ticket_id"], e.details["category"]["old"], e.details["category"]["new"]) for e in audit)
        assert len(got) == len(applies)
        assert sorted((a["category"]["old"], a["category"]["new"]) for a in applies) == sorted(g[1:] for g in got)
    finally:
        st.dispose()
