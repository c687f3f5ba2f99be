"""Bills stored through the Supabase REST backend are sealed onto the same chain the SQL backends
keep (docs/trust.md): database/bill_chain.verify, walking the PostgreSQL database behind the fake
PostgREST, recomputes every hash and finds them intact; a bill changed by direct SQL with the triggers
off is named; a bill whose sealing call failed is stored, reported unsealed, and sealed afterwards."""
import datetime as dt
from decimal import Decimal as D

import psycopg
import pytest
import sqlalchemy as sa

from database import bill_chain
from services.errors import StorageError
from tests.factories import ADMIN, make_society, raw_bill
from tests.supabase.harness import start_supabase

OCT = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture
def rest(request):
    storage, fake = start_supabase(request)
    make_society(storage)
    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(fake.conninfo),
                              poolclass=sa.pool.NullPool)
    yield storage, engine, fake
    engine.dispose()


def verify(engine) -> bill_chain.ChainReport:
    with engine.connect() as conn:
        return bill_chain.verify(conn)


def test_rest_bills_verify_on_the_database_and_a_direct_edit_is_named(rest):
    storage, engine, fake = rest
    single = storage.insert_bill(raw_bill(storage, "B17-FF", *OCT, units=D("123.45")), ADMIN)
    storage.insert_bill_batch([raw_bill(storage, c, *OCT) for c in ("A1-GF", "C14-SF", "D3-SF")], ADMIN)
    report = verify(engine)
    assert report.ok and report.checked == 4, report.text()
    assert report.head == storage.bill_chain_head()  # the head the REST backend reads is the walked one
    with psycopg.connect(fake.conninfo, autocommit=True) as c:
        c.execute("SET session_replication_role = replica")  # every trigger off
        c.execute("UPDATE bills SET total_amount = total_amount - 100 WHERE id = %s", [single.id])
    broken = verify(engine)
    assert not broken.ok and broken.bill_id == single.id and "was changed after it was issued" in broken.first_problem


def test_a_bill_whose_sealing_failed_is_stored_reported_unsealed_and_sealed_later(rest, monkeypatch):
    storage, engine, fake = rest
    storage.insert_bill(raw_bill(storage, "B17-FF", *OCT), ADMIN)
    real_rpc = storage.rest.rpc

    def seal_fails(fn, params, **kw):
        if fn == "meterline_seal_bills":
            raise StorageError("the network dropped")
        return real_rpc(fn, params, **kw)

    monkeypatch.setattr(storage.rest, "rpc", seal_fails)
    late = storage.insert_bill(raw_bill(storage, "B17-FF", *NOV), ADMIN)  # stored all the same
    monkeypatch.setattr(storage.rest, "rpc", real_rpc)
    report = verify(engine)
    assert not report.ok and report.unsealed == (late.id,) and "carries no seal" in report.first_problem
    head = storage.seal_unsealed_bills()
    assert head.seq == 2 and verify(engine).ok



