"""The API answers a customer (issue 16) only about their own bills: another account's bill, its PDF,
its status change and its sending are 404, exactly as a bill that does not exist; the owner list of
another customer is 404. The actor comes from the real sign-in path (services/accounts/scopes.py:
actor_for reads the customer's linked accounts)."""
import datetime as dt

from services.accounts.scopes import actor_for
from services.models import BillFilter
from tests.api.conftest import build_svc
from tests.api.test_scoped_api import _client
from tests.factories import ADMIN, make_municipal

d = dt.date


def test_a_customer_gets_only_their_own_bills(storage, today, tmp_path):
    made = make_municipal(storage)
    svc = build_svc(storage, today, tmp_path)
    svc.db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bills = {b.account_code: b for b in svc.db.list_bills(BillFilter(), 0, 50).items}
    user = storage.create_user(username="shop1", role="customer", password_hash=None, actor=ADMIN)
    storage.link_customer_account(user.id, made["accounts"]["SP-KSR-0000001"], ADMIN)
    me = _client(svc, actor_for(storage, user))
    own, neighbour = bills["SP-KSR-0000001"], bills["SP-KSR-0000002"]  # same union council
    assert me.get(f"/api/bills/{own.id}").status_code == 200
    pdf = me.get(f"/api/bills/{own.id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    missing = me.get("/api/bills/999999")
    for path in (f"/api/bills/{neighbour.id}", f"/api/bills/{neighbour.id}/pdf"):
        refused = me.get(path)
        assert refused.status_code == missing.status_code == 404, path
    assert me.post(f"/api/bills/{neighbour.id}/send", json={"to": "x@example.com"}).status_code == 404
    put = me.put(f"/api/bills/{neighbour.id}/status", json={"status": "cancelled", "reason": "guessing ids"})
    assert put.status_code in (403, 404)
    put_own = me.put(f"/api/bills/{own.id}/status", json={"status": "cancelled", "reason": "not mine to cancel"})
    assert put_own.status_code == 403
    assert storage.get_bill(neighbour.id).status == neighbour.status == storage.get_bill(own.id).status
    # nothing of another account through the usage endpoints either
    assert me.get(f"/api/customers/{made['accounts']['SP-KSR-0000002']}/usage").status_code == 404
    # an area-limited agent of another council cannot fetch the PDF either (read through their scope)
    agent = storage.create_user(username="agent1", role="agent", password_hash=None, actor=ADMIN)
    storage.set_user_areas(agent.id, [made["areas"]["OKR/OKR-UC01"]], ADMIN)
    assert _client(svc, actor_for(storage, agent)).get(f"/api/bills/{own.id}/pdf").status_code == 404
