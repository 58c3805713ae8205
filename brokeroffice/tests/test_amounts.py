"""How amounts read on pages: exactly (`plain_amount`) or at a glance (`short_amount`)."""
from decimal import Decimal

import pytest

from brokeroffice.templatetags.amounts import plain_amount, short_amount


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("5.600000000000000000"), "5.6"),
    (Decimal("1E+1"), "10"),
    (Decimal("0E-18"), "0"),
    (Decimal("-0.000000000000000001"), "-0.000000000000000001"),
    ("123456789.120", "123456789.12"),
    (None, ""),
    ("", ""),
])
def test_the_exact_figure_in_plain_digits(value, shown):
    assert plain_amount(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("1234567.1234567"), "1,234,567.123457"),
    (Decimal("0.0000001"), "0"),
    ("not a number", ""),
])
def test_the_figure_at_a_glance(value, shown):
    assert short_amount(value) == shown
