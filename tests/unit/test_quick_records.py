"""services.models.quick builds the month run's records without the frozen dataclass __init__;
what it builds must be the same record, and a wrong field list must fail as loudly."""
import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest

from services.billing.coverage import ChainReading
from services.models import BillLine, NewBill, RunCandidate, quick


def test_a_quick_record_is_the_constructors_record():
    kw = dict(seq=2, code="fixed", label="Fixed charge", amount=D("1474.00"), quantity=D(1), unit="month")
    made, built = quick(BillLine, **kw), BillLine(**kw)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert dataclasses.asdict(made) == dataclasses.asdict(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.amount = D("0")
    cand = dict(account_id=1, account_code="B17-FF", category="2BHK", tail=(), outstanding=D("0"))
    assert quick(RunCandidate, **cand) == RunCandidate(**cand)
    reading = dict(reading_id=5, meter_id=1, reading_date=dt.date(2026, 10, 20), status="approved", units=D("150"))
    assert quick(ChainReading, **reading) == ChainReading(**reading)


def test_a_missing_or_unknown_field_is_refused_by_name():
    with pytest.raises(TypeError, match=r"missing field\(s\) \['amount', 'code', 'label'\]"):
        quick(BillLine, seq=1)
    with pytest.raises(TypeError, match=r"no field\(s\) \['bogus'\]"):
        quick(BillLine, seq=1, code="x", label="y", amount=D("1"), bogus=2)
    with pytest.raises(TypeError, match="no field.*missing field"):
        quick(NewBill, account_id=1, bogus=2)


def test_a_class_with_post_init_is_not_built_quickly():
    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self):
            if self.x < 0:
                raise ValueError("x")

    with pytest.raises(TypeError, match="__post_init__"):
        quick(Checked, x=-1)

