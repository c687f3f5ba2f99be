"""The bills' hash chain through the storage contract, on every backend (docs/trust.md): a bill
stored singly or in a batch is sealed onto the chain (on Supabase by meterline_seal_bills right after
the write), the head is readable, sealing the unsealed is a no-op when all are sealed, and the chain
is the whole utility's: refused to an area-limited view."""
import datetime as dt

import pytest

from database import bill_chain
from services.accounts.scopes import Scope
from services.errors import PermissionDeniedError
from tests.factories import ADMIN, raw_bill

OCT = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def test_bills_stored_singly_and_in_a_batch_are_sealed_in_id_order(storage, society):
    assert storage.bill_chain_head() == bill_chain.ChainHead(0, bill_chain.GENESIS, None)
    one = storage.insert_bill(raw_bill(storage, "B17-FF", *OCT), ADMIN)
    head = storage.bill_chain_head()
    assert (head.seq, head.bill_id) == (1, one.id) and head.hash != bill_chain.GENESIS
    assert storage.insert_bill_batch([raw_bill(storage, c, *OCT) for c in ("A1-GF", "C14-SF")], ADMIN).created == 2
    after = storage.bill_chain_head()
    assert after.seq == 3 and after.bill_id == max(b.id for b in storage.list_bills_after(_all(), 0, 10))
    assert storage.seal_unsealed_bills() == after  # nothing left to seal
    with pytest.raises(PermissionDeniedError):
        storage.scoped(Scope.of(["A"])).bill_chain_head()
    with pytest.raises(PermissionDeniedError):
        storage.scoped(Scope.of(["A"])).seal_unsealed_bills()


def _all():
    from services.models import BillFilter

    return BillFilter()
