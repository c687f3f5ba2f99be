"""Issue 18: one number format in every message (no raw 571347.35 next to ₹5,71,347.35)."""
from decimal import Decimal

from services.accounts.utility import TEMPLATES
from ui.common import group_numbers


def _number(template: str):
    return TEMPLATES[template].number


def test_raw_amounts_in_a_message_get_the_utility_grouping():
    indian = _number("society")
    text = "Amount: 571347.35 is more than the 4500.00 still due on this bill. Enter at most 4500.00."
    assert group_numbers(text, indian) == ("Amount: 5,71,347.35 is more than the 4,500.00 still due on this bill. "
                                           "Enter at most 4,500.00.")


def test_other_numbers_are_left_alone():
    indian = _number("society")
    for text in ("Bill BC-2026-000123 is paid.", "Reading 12345.6 on 2026-11-20.", "Rate 11.5125 per kWh.",
                 "Reading #2298 of 2026-11-20", "₹5,71,347.35 due", "12.50 is fine"):
        assert group_numbers(text, indian) == text


def test_us_grouping_for_a_dollar_utility():
    assert group_numbers("1234567.50 is more than 99.00", _number("water")) == "1,234,567.50 is more than 99.00"
