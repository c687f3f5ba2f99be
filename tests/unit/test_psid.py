"""PSIDs (services/billing/psid.py): 17 digits, biller code, period, bill number, a Verhoeff check
digit that catches every mistyped digit and every swap of neighbouring digits."""
import datetime as dt

from hypothesis import given, settings, strategies as st

from services.billing import psid as P

d = dt.date
ids = st.integers(min_value=1, max_value=P.MAX_SERIAL)
days = st.dates(min_value=d(2000, 1, 1), max_value=d(2099, 12, 31))


def test_format_is_biller_period_bill_number_and_check_digit():
    x = P.make_psid(123456, d(2026, 10, 31))
    assert len(x) == 17 and x.isdigit() and x.startswith("1426100000123456")
    assert P.is_valid(x) and P.bill_id_of(x) == 123456
    assert P.pretty(x) == f"14 2610 0000123456 {x[-1]}"
    assert P.bill_id_of(P.pretty(x)) == 123456 and P.bill_id_of(x.replace("14", "14-", 1)) == 123456


def test_known_verhoeff_digits():
    # Verhoeff's own examples: 236 -> 3, 12345 -> 1, 142857 -> 0.
    assert (P.check_digit("236"), P.check_digit("12345"), P.check_digit("142857")) == ("3", "1", "0")


@given(ids, days)
def test_every_psid_is_valid_and_names_its_bill(bill_id, end):
    x = P.make_psid(bill_id, end)
    assert P.is_valid(x) and P.bill_id_of(x) == bill_id


@given(ids, days, st.integers(0, 16), st.integers(1, 9))
def test_a_mistyped_digit_is_caught(bill_id, end, pos, delta):
    x = P.make_psid(bill_id, end)
    wrong = x[:pos] + str((int(x[pos]) + delta) % 10) + x[pos + 1:]
    assert not P.is_valid(wrong) and P.bill_id_of(wrong) is None


@given(ids, days, st.integers(0, 15))
def test_swapped_neighbours_are_caught(bill_id, end, pos):
    x = P.make_psid(bill_id, end)
    if x[pos] == x[pos + 1]:
        return
    swapped = x[:pos] + x[pos + 1] + x[pos] + x[pos + 2:]
    assert not P.is_valid(swapped)


def test_bad_text_is_not_a_psid():
    assert P.normalize("14 2610x") is None and P.bill_id_of("abc") is None and P.bill_id_of(None) is None
    assert not P.is_valid("1426100000123456") and not P.is_valid("١٤٢٦١٠٠٠٠٠١٢٣٤٥٦٧")


@settings(max_examples=500, deadline=None)
@given(bill_id=st.integers(min_value=1, max_value=10 ** 10 - 1), day=st.dates(min_value=dt.date(2000, 1, 1),
                                                                                 max_value=dt.date(2099, 12, 31)),
       biller=st.sampled_from(["14", "00", "99", "07"]))
def test_the_stepwise_check_digit_is_verhoeffs_over_the_whole_number(bill_id, day, biller):
    psid = P.make_psid(bill_id, day, biller)
    assert psid[:-1] == f"{biller}{day:%y%m}{bill_id:010d}" and psid[-1] == P.check_digit(psid[:-1])
