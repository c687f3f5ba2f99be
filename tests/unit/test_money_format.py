"""Money formatting per currency and locale (Babel), rounded by the bills' half-up rule."""
from decimal import Decimal as D

import pytest

from services import money
from services.errors import ValidationError
from services.money_format import format_money


@pytest.mark.parametrize("amount,currency,locale,shown", [
    (D("1234567.891"), "INR", None, "₹12,34,567.89"),  # Indian digit grouping: lakh and crore
    (D("1234567.891"), "INR", "en_IN", "₹12,34,567.89"),
    (D("100000"), "INR", None, "₹1,00,000.00"),
    (D("-1234567.89"), "INR", None, "-₹12,34,567.89"),
    (D("1234567.891"), "PKR", None, "Rs1,234,567.89"),
    (D("500"), "PKR", "en_PK", "Rs500.00"),
    (D("1234567.891"), "USD", None, "$1,234,567.89"),
    (D("107"), "USD", "en_US", "$107.00"),
    (D("1234.5"), "USD", "en_IN", "$1,234.50"),
    (D("0"), "USD", None, "$0.00"),
    ("2500.5", "inr", None, "₹2,500.50"),
    (42, "USD", None, "$42.00"),
])
def test_three_currencies(amount, currency, locale, shown):
    assert format_money(amount, currency, locale) == shown


@pytest.mark.parametrize("amount,shown", [("0.125", "$0.13"), ("0.135", "$0.14"), ("1.005", "$1.01"),
                                          ("-0.125", "-$0.13")])
def test_rounds_half_up_like_the_bills_not_half_even_like_babel(amount, shown):
    assert format_money(D(amount), "USD") == shown


@pytest.mark.parametrize("args,field", [(("abc", "USD"), "amount"), ((D("1"), "US"), "currency"),
                                        ((D("1"), "USD", "xx_YY"), "locale"), ((D("NaN"), "USD"), "amount")])
def test_bad_arguments_name_the_field(args, field):
    with pytest.raises(ValidationError) as e:
        format_money(*args)
    assert e.value.field == field


def test_the_old_rupee_formatter_is_unchanged():
    assert money.format_money(D("1234567.891")) == "₹1,234,567.89"
