"""The month run encodes each bill's tariff_details and the priced part of its seal's content in its
helper thread (Storage.prepare_bill_batch, services/storage/sql_bill_runs.prepare_batch), before the
bill has an id, a number and a PSID. The content sealed that way must be byte for byte the one the
chain's verifier rebuilds, so a prepared bill and the same bill encoded when stored give the same bytes."""
import datetime as dt
from decimal import Decimal

import pytest

from database import bill_chain
from services.models import BillLine, NewBill
from services.storage.base import Storage
from services.storage.sql_bill_runs import prepare_batch


def _bill(details, lines, category="Residential", usage=True):
    return NewBill(account_id=7, area_id=3, tariff_plan_version_id=2, billing_period_start=dt.date(2026, 10, 1),
                   billing_period_end=dt.date(2026, 10, 31), due_date=dt.date(2026, 11, 15), tariff_kind="tiered_seasonal",
                   pricing_rule="tiered_seasonal", units=Decimal("25.50"), motor_units=Decimal("0"),
                   total_units=Decimal("25.50"), rate_per_unit=Decimal("0"), fixed_charge=Decimal("20.00"),
                   previous_outstanding=Decimal("12.34"), total_amount=Decimal("100.09"), lines=lines, category=category,
                   tariff_details=details, bill_run_id=9, service="water",
                   usage_from=dt.date(2026, 10, 1) if usage else None, usage_to=dt.date(2026, 10, 31) if usage else None)


LINES = (BillLine(2, "fee_base", "Base service", Decimal("15.00"), Decimal("1"), "month", Decimal("15.00")),
         BillLine(1, "tier_1", "Tier 1: 0-10 CCF", Decimal("25.00"), Decimal("10"), "CCF", Decimal("2.50")))


@pytest.mark.parametrize("details, lines, category, usage", [
    ({"plan_code": "water", "quantity": "25.50", "b": [1, 2]}, LINES, "Residential", True),
    (None, (), None, False),
    ({"z": None, "a": "é"}, LINES[:1], "Bakery", False),
])
def test_a_prepared_bill_seals_the_same_bytes_as_the_bill_encoded_when_stored(details, lines, category, usage):
    nb = _bill(details, lines, category, usage)
    (prepared,) = prepare_batch([nb])
    assert prepared.encoded is not None and nb.encoded is None
    assert prepared.encoded[0] == (None if details is None else bill_chain.canonical_json(details))
    # The bytes the store used to write in one piece, from every CONTENT value in order.
    values = (41, "WC-2026-000041", "123456789012345", nb.account_id, nb.service, nb.area_id, nb.billing_period_start,
              nb.billing_period_end, nb.due_date, nb.tariff_kind, nb.pricing_rule, nb.tariff_plan_version_id,
              nb.category, nb.units, nb.motor_units, nb.total_units, nb.rate_per_unit, nb.fixed_charge,
              nb.previous_outstanding, details, nb.total_amount, nb.first_reading_id, nb.last_reading_id,
              nb.motor_reading_id, nb.usage_from, nb.usage_to, None, nb.bill_run_id)
    whole = bill_chain.canonical(values, [(ln.seq, ln.code, ln.label, ln.quantity, ln.unit, ln.rate, ln.amount)
                                          for ln in lines], bill_chain._FRESH_WRITERS)
    args = (41, "WC-2026-000041", "123456789012345")
    assert bill_chain.new_bill_content(prepared, *args) == whole
    assert bill_chain.new_bill_content(nb, *args) == whole
    # Only the encoding was added: the prepared bill is the bill otherwise.
    assert {**prepared.__dict__, "encoded": None} == nb.__dict__


def test_a_backend_without_its_own_encoding_hands_the_batch_back_unchanged():
    batch = [_bill(None, ())]
    assert Storage.prepare_bill_batch(None, batch) is batch
