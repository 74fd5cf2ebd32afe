"""PAY-1: multi-pet discount. Reviewed tests: exact values at every boundary, exact messages."""

import re
from decimal import Decimal

import pytest

from petinsure.pricing import discount_rate, premium_for

LIST = Decimal("100.00")


@pytest.mark.parametrize(
    ("pets", "expected"),
    [
        pytest.param(0, "100.00", id="0-pets", marks=pytest.mark.verifies("PAY-1.5")),
        pytest.param(1, "100.00", id="1-pet", marks=pytest.mark.verifies("PAY-1.2")),
        pytest.param(2, "90.00", id="2-pets", marks=pytest.mark.verifies("PAY-1.1")),
        pytest.param(4, "90.00", id="4-pets", marks=pytest.mark.verifies("PAY-1.3")),
        pytest.param(5, "85.00", id="5-pets", marks=pytest.mark.verifies("PAY-1.4")),
        pytest.param(50, "85.00", id="50-pets", marks=pytest.mark.verifies("PAY-1.4")),
    ],
)
def test_premium_by_household_size(pets: int, expected: str) -> None:
    premium = premium_for(LIST, pets)
    assert premium == Decimal(expected)
    assert str(premium) == expected  # always two decimal places


@pytest.mark.verifies("PAY-1.1", "PAY-1.3", "PAY-1.4")
def test_discount_rate_steps_exactly_at_2_and_5() -> None:
    assert [discount_rate(n) for n in range(7)] == [
        Decimal("1"),
        Decimal("1"),
        Decimal("0.90"),
        Decimal("0.90"),
        Decimal("0.90"),
        Decimal("0.85"),
        Decimal("0.85"),
    ]


@pytest.mark.verifies("PAY-1.6")
@pytest.mark.parametrize("pets", [-1, -50])
def test_negative_pet_count_is_rejected(pets: int) -> None:
    with pytest.raises(ValueError, match=r"^pet count must be >= 0$"):
        premium_for(LIST, pets)


@pytest.mark.verifies("PAY-1.7")
def test_half_cent_rounds_up() -> None:
    assert premium_for(Decimal("10.05"), 2) == Decimal("9.05")  # 9.045; banker's rounding gives 9.04
    assert premium_for(Decimal("33.33"), 5) == Decimal("28.33")  # 28.3305


@pytest.mark.verifies("PAY-1.8")
def test_negative_list_premium_is_rejected() -> None:
    with pytest.raises(ValueError, match="^" + re.escape("list premium must be >= 0") + "$"):
        premium_for(Decimal("-0.01"), 1)


@pytest.mark.verifies("PAY-1.8")
def test_small_list_premiums_are_priced() -> None:
    assert premium_for(Decimal("0.00"), 1) == Decimal("0.00")
    assert premium_for(Decimal("0.50"), 1) == Decimal("0.50")
    assert premium_for(Decimal("0.50"), 2) == Decimal("0.45")
