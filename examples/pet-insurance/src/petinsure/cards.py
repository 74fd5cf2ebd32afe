"""Card number validation (Luhn) and card brand detection."""

from __future__ import annotations

MIN_DIGITS = 12
MAX_DIGITS = 19


def normalize(number: str) -> str:
    """Strip spaces and dashes; return the bare digits or raise ValueError."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits:
        raise ValueError("card number is empty")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("card number may only contain digits, spaces and dashes")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValueError(
            f"card number must have {MIN_DIGITS} to {MAX_DIGITS} digits, got {len(digits)}"
        )
    return digits


def luhn_valid(digits: str) -> bool:
    """True when the last digit is the Luhn (mod 10) check digit of the digits before it."""
    body, check_digit = digits[:-1], int(digits[-1])
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            # double every second digit from the right; 5..9 double to two digits, summed
            digit = digit * 2 if digit < 5 else digit * 2 - 9
        total += digit
    return (10 - total % 10) % 10 == check_digit


def validate_card_number(number: str) -> str:
    """Return the normalized card number, or raise ValueError saying what is wrong."""
    digits = normalize(number)
    if not luhn_valid(digits):
        raise ValueError("card number fails the Luhn check")
    return digits


def card_brand(number: str) -> str:
    """Brand of a card number by its issuer prefix: visa, mastercard, amex or unknown."""
    digits = normalize(number)
    if digits.startswith("4"):
        return "visa"
    if digits.startswith(("34", "37")):
        return "amex"
    prefix2 = int(digits[:2])
    prefix4 = int(digits[:4])
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "mastercard"
    return "unknown"
