from decimal import Decimal as D

import pytest

from services.billing.arrears import apply_payment, outstanding
from services.errors import ConflictError, ValidationError
from services.money import from_minor_units, minor_units, parse_decimal, round_money


def test_outstanding_respects_partial_payments():
    assert outstanding([(D("1000.00"), D("400.00")), (D("250.50"), D("0"))]) == D("850.50")


def test_payment_outcomes():
    assert apply_payment(D("1000"), D("0"), "pending", "400") == (D("400"), "partially_paid")
    assert apply_payment(D("1000"), D("400"), "partially_paid", "600") == (D("1000"), "paid")
    assert apply_payment(D("1000"), D("0"), "overdue", "100") == (D("100"), "overdue")


def test_overpayment_refused_naming_amount():
    with pytest.raises(ValidationError) as e:
        apply_payment(D("1000.00"), D("400.00"), "partially_paid", "600.01")
    assert e.value.field == "amount" and "600.00 still due" in str(e.value)


@pytest.mark.parametrize("status", ["paid", "carried_forward", "cancelled"])
def test_payment_on_closed_bill_refused(status):
    with pytest.raises(ConflictError):
        apply_payment(D("1000"), D("0"), status, "1")


def test_zero_payment_refused():
    with pytest.raises(ValidationError):
        apply_payment(D("1000"), D("0"), "pending", "0")


def test_money_helpers():
    assert round_money(D("2.675")) == D("2.68")
    assert parse_decimal(2.675, "x", places=3) == D("2.675")
    assert minor_units(D("12.34")) == 1234 and from_minor_units(1234) == D("12.34")
    with pytest.raises(ValidationError):
        parse_decimal("NaN", "x")
    with pytest.raises(ValidationError):
        parse_decimal(True, "x")
