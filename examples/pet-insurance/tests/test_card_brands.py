"""CARD-2: card brand detection. Decent tests, every range checked on both sides."""

import pytest

from petinsure.cards import card_brand

pytestmark = pytest.mark.verifies("CARD-2")


@pytest.mark.verifies("CARD-2.1")
def test_visa() -> None:
    assert card_brand("4111 1111 1111 1111") == "visa"


@pytest.mark.verifies("CARD-2.2")
@pytest.mark.parametrize("number", ["340000000000009", "378282246310005"])
def test_amex(number: str) -> None:
    assert card_brand(number) == "amex"


@pytest.mark.verifies("CARD-2.3")
@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("5000000000000009", "unknown"),
        ("5105105105105100", "mastercard"),
        ("5555555555554444", "mastercard"),
        ("5600000000000003", "unknown"),
    ],
)
def test_mastercard_51_to_55(number: str, brand: str) -> None:
    assert card_brand(number) == brand


@pytest.mark.verifies("CARD-2.4")
@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("2220000000000001", "unknown"),
        ("2221000000000009", "mastercard"),
        ("2720990000000007", "mastercard"),
        ("2721000000000004", "unknown"),
    ],
)
def test_mastercard_2221_to_2720(number: str, brand: str) -> None:
    assert card_brand(number) == brand


@pytest.mark.verifies("CARD-2.5")
def test_other_prefixes_are_unknown() -> None:
    assert card_brand("6011 1111 1111 1117") == "unknown"
