"""CARD-1: card number validation. Reviewed tests: exact results, both sides of each bound, exact messages."""

import pytest

from petinsure.cards import luhn_valid, normalize, validate_card_number

# Well-known test numbers of several lengths; together they double every digit 0..9 somewhere.
VALID = [
    "4111111111111111",
    "5555555555554444",
    "5105105105105100",  # check digit 0
    "378282246310005",
    "6011111111111117",
    "4222222222222",
    "4012888888881881",
    "79927398713",  # the textbook example, 11 digits: Luhn-valid but too short for a card
]

TOO_FEW = r"^card number must have 12 to 19 digits, got 11$"
TOO_MANY = r"^card number must have 12 to 19 digits, got 20$"
NOT_DIGITS = r"^card number may only contain digits, spaces and dashes$"


def _off_by_one(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.verifies("CARD-1.1")
def test_valid_visa_is_accepted() -> None:
    assert validate_card_number("4111111111111111") == "4111111111111111"


@pytest.mark.verifies("CARD-1.1", "CARD-1.3")
@pytest.mark.parametrize("number", VALID)
def test_luhn_accepts_valid_and_rejects_off_by_one(number: str) -> None:
    assert luhn_valid(number) is True
    assert luhn_valid(_off_by_one(number)) is False


@pytest.mark.verifies("CARD-1.2")
@pytest.mark.parametrize("raw", ["4111 1111 1111 1111", "4111-1111-1111-1111", " 4111 - 1111-1111 1111 "])
def test_spaces_and_dashes_are_stripped(raw: str) -> None:
    assert validate_card_number(raw) == "4111111111111111"


@pytest.mark.verifies("CARD-1.3")
def test_luhn_failure_has_exact_message() -> None:
    with pytest.raises(ValueError, match=r"^card number fails the Luhn check$"):
        validate_card_number("4111111111111112")


@pytest.mark.verifies("CARD-1.4")
def test_twelve_digits_is_the_minimum() -> None:
    assert validate_card_number("412345678905") == "412345678905"
    with pytest.raises(ValueError, match=TOO_FEW):
        validate_card_number("41234567890")


@pytest.mark.verifies("CARD-1.5")
def test_nineteen_digits_is_the_maximum() -> None:
    assert validate_card_number("4123456789012345677") == "4123456789012345677"
    with pytest.raises(ValueError, match=TOO_MANY):
        validate_card_number("41234567890123456787")


@pytest.mark.verifies("CARD-1.6")
@pytest.mark.parametrize("raw", ["4111 1111 1111 111A", "4111.1111.1111.1111", "4111_1111_1111_1111"])
def test_letters_and_symbols_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match=NOT_DIGITS):
        normalize(raw)


@pytest.mark.verifies("CARD-1.7")
@pytest.mark.parametrize("raw", ["", " - - "])
def test_empty_number_is_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^card number is empty$"):
        validate_card_number(raw)


@pytest.mark.verifies("CARD-1.8")
@pytest.mark.parametrize(
    "raw",
    [
        "\uff14\uff11\uff11\uff11" * 4,  # full-width digits: str.isdigit() says True
        "\u0664\u0661\u0661\u0661" * 4,  # Arabic-Indic digits
        "411111111111111\u00b9",  # superscript one
    ],
)
def test_non_ascii_digits_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError, match=NOT_DIGITS):
        validate_card_number(raw)
