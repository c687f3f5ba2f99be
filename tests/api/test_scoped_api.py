"""The API answers an area-limited user (an AGENT of one union council) only about their areas:
a bill of another council is 404, exactly as a bill that does not exist; changing it is refused
the same way. The actor comes from the real ApiAuthenticator path (services/accounts/scopes.py)."""
import datetime as dt

from fastapi.testclient import TestClient

from services.api import create_app
from services.accounts.api_auth import ApiPrincipal
from services.accounts.roles import Actor
from services.accounts.scopes import actor_for
from services.models import BillFilter
from tests.api.conftest import build_svc
from tests.factories import ADMIN, make_municipal

d = dt.date


class FixedPrincipal:
    """An authenticator that signs every request in as one user (the scope read as for a real sign-in)."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.enabled = True

    def authenticate(self, header, client=None) -> ApiPrincipal:
        return ApiPrincipal(self.actor, "jwt", {})


def _client(svc, actor) -> TestClient:
    client = TestClient(create_app(svc, authenticator=FixedPrincipal(actor)), raise_server_exceptions=False)
    client.headers["Authorization"] = "Bearer x"
    return client


def test_an_agent_gets_only_bills_of_their_union_council(storage, today, tmp_path):
    made = make_municipal(storage)
    svc = build_svc(storage, today, tmp_path)
    svc.db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bills = {b.account_code: b for b in svc.db.list_bills(BillFilter(), 0, 50).items}
    user = storage.create_user(username="agent1", role="agent", password_hash=None, actor=ADMIN)
    storage.set_user_areas(user.id, [made["areas"]["KSR/KSR-UC01"]], ADMIN)
    agent = _client(svc, actor_for(storage, user))
    own, other = bills["SP-KSR-0000001"], bills["SP-OKR-0000004"]
    assert agent.get(f"/api/bills/{own.id}").status_code == 200
    missing = agent.get("/api/bills/999999")
    refused = agent.get(f"/api/bills/{other.id}")
    assert refused.status_code == missing.status_code == 404
    assert str(refused.json()).replace(str(other.id), "N") == str(missing.json()).replace("999999", "N")
    # a change names the bill: not found either, and nothing changes
    put = agent.put(f"/api/bills/{other.id}/status", json={"status": "cancelled", "reason": "guessing ids"})
    assert put.status_code in (403, 404)
    assert storage.get_bill(other.id).status == other.status
    # the head office sees every bill
    head = storage.create_user(username="head1", role="head", password_hash=None, actor=ADMIN)
    assert _client(svc, actor_for(storage, head)).get(f"/api/bills/{other.id}").status_code == 200


def test_an_area_limited_role_without_areas_sees_nothing(storage, today, tmp_path):
    """A header token configured with an area-limited role has no user and so no areas: it sees nothing."""
    make_municipal(storage)
    svc = build_svc(storage, today, tmp_path)
    svc.db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bill = svc.db.list_bills(BillFilter(), 0, 1).items[0]
    actor = Actor(None, "api-token", "agent", "api")
    assert actor.scope.is_nothing
    assert _client(svc, actor).get(f"/api/bills/{bill.id}").status_code == 404
