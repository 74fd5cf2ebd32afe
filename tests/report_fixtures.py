"""AuditResults for the report tests.

``pet_insurance_result()`` is what an audit of ``examples/pet-insurance`` plausibly yields: the
tests, cases and requirements are the example's own, and every mutant sits on a real line of the
example's source with the verdicts its (deliberately uneven) tests would give:

- PAY-1, CARD-1: OK, every mutant killed by an assertion.
- CARD-2: SUSPECT (edited after review), scores 0 until re-reviewed.
- PAY-2: UNCOVERED, PAY-2.6 has no test (the test meant for it links "PAY-2.7", a dangling link).
- PAY-3, POL-1: WEAK, survivors and mutants killed only by crashes (the oracle gap).

``large_result()`` is a generated result of any size, for the size limits of the reports.
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timezone
from pathlib import Path

from testplan.score import mutant_counts
from testplan.result import (
    AuditResult,
    CaseResult,
    GateResult,
    MutantResult,
    Problem,
    RequirementResult,
    TestResult,
)

EXAMPLE_ROOT = Path(__file__).resolve().parent.parent / "examples" / "pet-insurance"

# --- tests --------------------------------------------------------------------------------------

_TESTS: list[tuple[str, int, list[str], int, list[str]]] = [
    # nodeid, line, links, assertions, flags
    ("tests/test_card_brands.py::test_visa", 11, ["CARD-2", "CARD-2.1"], 1, []),
    ("tests/test_card_brands.py::test_amex[340000000000009]", 17, ["CARD-2", "CARD-2.2"], 1, []),
    ("tests/test_card_brands.py::test_amex[378282246310005]", 17, ["CARD-2", "CARD-2.2"], 1, []),
    ("tests/test_card_brands.py::test_mastercard_51_to_55[5000000000000009-unknown]", 31, ["CARD-2", "CARD-2.3"], 1, []),
    ("tests/test_card_brands.py::test_mastercard_51_to_55[5105105105105100-mastercard]", 31, ["CARD-2", "CARD-2.3"], 1, []),
    ("tests/test_card_brands.py::test_mastercard_2221_to_2720[2221000000000009-mastercard]", 45, ["CARD-2", "CARD-2.4"], 1, []),
    ("tests/test_card_brands.py::test_mastercard_2221_to_2720[2721000000000004-unknown]", 45, ["CARD-2", "CARD-2.4"], 1, []),
    ("tests/test_card_brands.py::test_other_prefixes_are_unknown", 50, ["CARD-2", "CARD-2.5"], 1, []),
    ("tests/test_card_numbers.py::test_valid_visa_is_accepted", 29, ["CARD-1.1"], 1, []),
    ("tests/test_card_numbers.py::test_luhn_accepts_valid_and_rejects_off_by_one[5105105105105100]", 35, ["CARD-1.1", "CARD-1.3"], 2, []),
    ("tests/test_card_numbers.py::test_spaces_and_dashes_are_stripped[4111 1111 1111 1111]", 42, ["CARD-1.2"], 1, []),
    ("tests/test_card_numbers.py::test_luhn_failure_has_exact_message", 47, ["CARD-1.3"], 1, []),
    ("tests/test_card_numbers.py::test_twelve_digits_is_the_minimum", 53, ["CARD-1.4"], 2, []),
    ("tests/test_card_numbers.py::test_nineteen_digits_is_the_maximum", 60, ["CARD-1.5"], 2, []),
    ("tests/test_card_numbers.py::test_letters_and_symbols_are_rejected[4111 1111 1111 111A]", 68, ["CARD-1.6"], 1, []),
    ("tests/test_card_numbers.py::test_empty_number_is_rejected[]", 75, ["CARD-1.7"], 1, []),
    ("tests/test_card_numbers.py::test_non_ascii_digits_are_rejected[\uff14\uff11\uff11\uff11\uff14\uff11\uff11\uff11\uff14\uff11\uff11\uff11\uff14\uff11\uff11\uff11]", 89, ["CARD-1.8"], 1, []),
    ("tests/test_payments.py::test_authorize_then_capture", 11, ["PAY-2.1"], 5, []),
    ("tests/test_payments.py::test_pending_payment_can_fail", 22, ["PAY-2.2"], 2, []),
    ("tests/test_payments.py::test_pending_payment_cannot_be_captured", 29, ["PAY-2.3"], 6, []),
    ("tests/test_payments.py::test_failed_payment_is_final[PaymentStatus.AUTHORIZED]", 41, ["PAY-2.4"], 2, []),
    ("tests/test_payments.py::test_refunded_payment_is_final", 49, ["PAY-2.5"], 2, []),
    ("tests/test_payments.py::test_capture_twice_is_rejected", 56, ["PAY-2.7"], 2, []),
    ("tests/test_policy.py::test_issue_policy_for_dog", 15, ["POL-1.1"], 0, ["no-assertion"]),
    ("tests/test_policy.py::test_issue_policy_for_cat", 21, ["POL-1.2"], 1, []),
    ("tests/test_policy.py::test_age_limits_ok[0]", 28, ["POL-1.3"], 1, []),
    ("tests/test_policy.py::test_age_limits_ok[20]", 28, ["POL-1.3"], 1, []),
    ("tests/test_policy.py::test_age_limits_bad[-1]", 35, ["POL-1.4"], 1, ["raises-without-match"]),
    ("tests/test_policy.py::test_bad_species", 41, ["POL-1.5"], 1, ["raises-without-match"]),
    ("tests/test_policy.py::test_blank_name", 47, ["POL-1.6"], 1, ["raises-without-match"]),
    ("tests/test_policy.py::test_big_sequence", 53, ["POL-1.7"], 1, []),
    ("tests/test_pricing.py::test_premium_by_household_size[1-pet]", 24, ["PAY-1.2"], 2, []),
    ("tests/test_pricing.py::test_premium_by_household_size[2-pets]", 24, ["PAY-1.1"], 2, []),
    ("tests/test_pricing.py::test_premium_by_household_size[5-pets]", 24, ["PAY-1.4"], 2, []),
    ("tests/test_pricing.py::test_discount_rate_steps_exactly_at_2_and_5", 31, ["PAY-1.1", "PAY-1.3", "PAY-1.4"], 1, []),
    ("tests/test_pricing.py::test_negative_pet_count_is_rejected[-1]", 45, ["PAY-1.6"], 1, []),
    ("tests/test_pricing.py::test_half_cent_rounds_up", 51, ["PAY-1.7"], 2, []),
    ("tests/test_pricing.py::test_negative_list_premium_is_rejected", 57, ["PAY-1.8"], 1, []),
    ("tests/test_pricing.py::test_small_list_premiums_are_priced", 63, ["PAY-1.8"], 3, []),
    ("tests/test_refunds.py::test_full_refund", 13, ["PAY-3.1"], 1, []),
    ("tests/test_refunds.py::test_partial_refund", 19, ["PAY-3.2"], 2, []),
    ("tests/test_refunds.py::test_refunds_add_up", 26, ["PAY-3.3"], 0, ["no-assertion"]),
    ("tests/test_refunds.py::test_refund_too_much", 32, ["PAY-3.4"], 1, ["raises-without-match"]),
    ("tests/test_refunds.py::test_bad_amounts[amount0]", 40, ["PAY-3.5"], 1, ["raises-without-match"]),
    ("tests/test_refunds.py::test_bad_amounts[amount1]", 40, ["PAY-3.5"], 1, ["raises-without-match"]),
    ("tests/test_refunds.py::test_refund_uncaptured", 46, ["PAY-3.6"], 1, ["raises-without-match"]),
    ("tests/test_refunds.py::test_fraction_of_cent", 53, ["PAY-3.7"], 1, ["raises-without-match"]),
    ("tests/test_refunds.py::test_refundable", 59, ["PAY-3"], 1, []),
]


def _short(nodeid: str) -> str:
    return nodeid.split("::", 1)[1]


_BY_SHORT = {_short(t[0]): t[0] for t in _TESTS}


def _tests() -> list[TestResult]:
    out = []
    for nodeid, line, links, assertions, flags in _TESTS:
        dangling = nodeid.endswith("test_capture_twice_is_rejected")
        out.append(
            TestResult(
                nodeid=nodeid,
                file=nodeid.split("::", 1)[0],
                line=line,
                links=links,
                outcome="passed",
                state="DANGLING" if dangling else "LINKED",
                assertions=assertions,
                flags=flags,
                duration=0.002 if dangling else 0.001,
            )
        )
    return out


# --- mutants ------------------------------------------------------------------------------------

# requirement, file, line, operator, original, mutated, status, {test short name: verdict}
_MUTANTS: list[tuple[str, str, int, str, str, str, str, dict[str, str]]] = [
    # PAY-1: premium discount, every mutant killed by an assertion
    ("PAY-1", "pricing.py", 17, "comparison", "if pets < 0:", "if pets <= 0:",
     "killed", {"test_premium_by_household_size[1-pet]": "pass", "test_discount_rate_steps_exactly_at_2_and_5": "assert"}),
    ("PAY-1", "pricing.py", 19, "comparison", "if pets >= LARGE_HOUSEHOLD_MIN:", "if pets > LARGE_HOUSEHOLD_MIN:",
     "killed", {"test_premium_by_household_size[5-pets]": "assert", "test_discount_rate_steps_exactly_at_2_and_5": "assert"}),
    ("PAY-1", "pricing.py", 21, "comparison", "if pets >= MULTI_PET_MIN:", "if pets > MULTI_PET_MIN:",
     "killed", {"test_premium_by_household_size[2-pets]": "assert", "test_discount_rate_steps_exactly_at_2_and_5": "assert"}),
    ("PAY-1", "pricing.py", 28, "comparison", "if list_premium < 0:", "if list_premium <= 0:",
     "killed", {"test_small_list_premiums_are_priced": "crash", "test_negative_list_premium_is_rejected": "pass", "test_premium_by_household_size[1-pet]": "pass"}),
    ("PAY-1", "pricing.py", 29, "string", 'raise ValueError("list premium must be >= 0")', 'raise ValueError("XXlist premium must be >= 0XX")',
     "killed", {"test_negative_list_premium_is_rejected": "assert"}),
    ("PAY-1", "pricing.py", 31, "arithmetic", "return (list_premium * rate).quantize(CENT, rounding=ROUND_HALF_UP)",
     "return (list_premium / rate).quantize(CENT, rounding=ROUND_HALF_UP)",
     "killed", {"test_premium_by_household_size[1-pet]": "pass", "test_premium_by_household_size[2-pets]": "assert", "test_half_cent_rounds_up": "assert"}),
    # CARD-1: card validation
    ("CARD-1", "cards.py", 12, "negation", "if not digits:", "if digits:",
     "killed", {"test_valid_visa_is_accepted": "crash", "test_empty_number_is_rejected[]": "assert"}),
    ("CARD-1", "cards.py", 14, "boolean", "if not (digits.isascii() and digits.isdigit()):", "if not (digits.isascii() or digits.isdigit()):",
     "killed", {"test_valid_visa_is_accepted": "pass", "test_non_ascii_digits_are_rejected[\uff14\uff11\uff11\uff11\uff14\uff11\uff11\uff11\uff14\uff11\uff11\uff11\uff14\uff11\uff11\uff11]": "assert"}),
    ("CARD-1", "cards.py", 16, "comparison", "if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:", "if not MIN_DIGITS < len(digits) <= MAX_DIGITS:",
     "killed", {"test_valid_visa_is_accepted": "pass", "test_twelve_digits_is_the_minimum": "assert"}),
    ("CARD-1", "cards.py", 29, "arithmetic", "if position % 2 == 0:", "if position % 3 == 0:",
     "killed", {"test_luhn_accepts_valid_and_rejects_off_by_one[5105105105105100]": "assert", "test_valid_visa_is_accepted": "assert"}),
    ("CARD-1", "cards.py", 31, "comparison", "digit = digit * 2 if digit < 5 else digit * 2 - 9", "digit = digit * 2 if digit <= 5 else digit * 2 - 9",
     "killed", {"test_luhn_accepts_valid_and_rejects_off_by_one[5105105105105100]": "assert", "test_valid_visa_is_accepted": "pass"}),
    ("CARD-1", "cards.py", 33, "arithmetic", "return (10 - total % 10) % 10 == check_digit", "return (10 + total % 10) % 10 == check_digit",
     "killed", {"test_luhn_accepts_valid_and_rejects_off_by_one[5105105105105100]": "assert", "test_valid_visa_is_accepted": "assert"}),
    ("CARD-1", "cards.py", 40, "string", 'raise ValueError("card number fails the Luhn check")', 'raise ValueError("XXcard number fails the Luhn checkXX")',
     "killed", {"test_luhn_failure_has_exact_message": "assert"}),
    # CARD-2: card brand (SUSPECT: scores 0 whatever the mutants say)
    ("CARD-2", "cards.py", 47, "string", 'if digits.startswith("4"):', 'if digits.startswith("XX4XX"):',
     "killed", {"test_visa": "assert", "test_other_prefixes_are_unknown": "pass"}),
    ("CARD-2", "cards.py", 49, "string", 'if digits.startswith(("34", "37")):', 'if digits.startswith(("XX34XX", "37")):',
     "killed", {"test_amex[340000000000009]": "assert", "test_amex[378282246310005]": "pass"}),
    ("CARD-2", "cards.py", 53, "comparison", "if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:", "if 51 < prefix2 <= 55 or 2221 <= prefix4 <= 2720:",
     "killed", {"test_mastercard_51_to_55[5105105105105100-mastercard]": "assert", "test_mastercard_51_to_55[5000000000000009-unknown]": "pass"}),
    ("CARD-2", "cards.py", 53, "boolean", "if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:", "if 51 <= prefix2 <= 55 and 2221 <= prefix4 <= 2720:",
     "killed", {"test_mastercard_51_to_55[5105105105105100-mastercard]": "assert", "test_mastercard_2221_to_2720[2221000000000009-mastercard]": "assert"}),
    # PAY-2: payment lifecycle
    ("PAY-2", "payments.py", 47, "membership", "if target not in ALLOWED_TRANSITIONS[self.status]:", "if target in ALLOWED_TRANSITIONS[self.status]:",
     "killed", {"test_authorize_then_capture": "crash", "test_pending_payment_cannot_be_captured": "assert", "test_failed_payment_is_final[PaymentStatus.AUTHORIZED]": "assert"}),
    ("PAY-2", "payments.py", 49, "statement", "self.history.append(self.status)", "pass",
     "killed", {"test_authorize_then_capture": "assert", "test_pending_payment_can_fail": "assert"}),
    ("PAY-2", "payments.py", 50, "assignment", "self.status = target", "self.status = None",
     "killed", {"test_authorize_then_capture": "crash", "test_pending_payment_can_fail": "assert"}),
    ("PAY-2", "payments.py", 57, "assignment", "self.captured = self.amount", "self.captured = None",
     "killed", {"test_authorize_then_capture": "assert", "test_refunded_payment_is_final": "pass"}),
    ("PAY-2", "payments.py", 60, "argument", "self.transition(PaymentStatus.FAILED)", "self.transition(None)",
     "killed", {"test_pending_payment_can_fail": "crash", "test_failed_payment_is_final[PaymentStatus.AUTHORIZED]": "crash"}),
    # PAY-3: refunds, AI-generated style tests
    ("PAY-3", "refunds.py", 27, "string", 'return Decimal("0.00")', 'return Decimal("1.00")', "no-coverage", {}),
    ("PAY-3", "refunds.py", 28, "arithmetic", "return payment.captured - payment.refunded", "return payment.captured + payment.refunded",
     "killed", {"test_refund_too_much": "assert", "test_full_refund": "pass", "test_refundable": "pass"}),
    ("PAY-3", "refunds.py", 33, "comparison", "if amount <= 0:", "if amount < 0:",
     "killed", {"test_bad_amounts[amount0]": "assert", "test_bad_amounts[amount1]": "pass", "test_full_refund": "pass"}),
    ("PAY-3", "refunds.py", 34, "string", 'raise RefundError("refund amount must be positive")', 'raise RefundError("XXrefund amount must be positiveXX")',
     "survived", {"test_bad_amounts[amount0]": "pass", "test_bad_amounts[amount1]": "pass"}),
    ("PAY-3", "refunds.py", 35, "comparison", "if amount != amount.quantize(CENT):", "if amount == amount.quantize(CENT):",
     "killed", {"test_fraction_of_cent": "assert", "test_full_refund": "crash", "test_partial_refund": "crash"}),
    ("PAY-3", "refunds.py", 37, "identity", "if payment.status is not PaymentStatus.CAPTURED:", "if payment.status is PaymentStatus.CAPTURED:",
     "killed-by-crash", {"test_full_refund": "crash", "test_partial_refund": "crash", "test_refund_uncaptured": "pass"}),
    ("PAY-3", "refunds.py", 42, "comparison", "if amount > available:", "if amount >= available:",
     "killed-by-crash", {"test_full_refund": "crash", "test_refunds_add_up": "crash", "test_refund_too_much": "pass", "test_partial_refund": "pass"}),
    ("PAY-3", "refunds.py", 45, "arithmetic", "remaining = payment.captured - payment.refunded", "remaining = payment.captured + payment.refunded",
     "survived", {"test_full_refund": "pass", "test_partial_refund": "pass", "test_refunds_add_up": "pass", "test_refund_too_much": "pass"}),
    ("PAY-3", "refunds.py", 46, "comparison", "if remaining == 0:", "if remaining != 0:",
     "killed-by-crash", {"test_full_refund": "pass", "test_partial_refund": "pass", "test_refunds_add_up": "crash"}),
    ("PAY-3", "refunds.py", 48, "argument", "return Refund(payment.payment_id, amount, remaining)", "return Refund(payment.payment_id, amount, None)",
     "survived", {"test_full_refund": "pass", "test_partial_refund": "pass", "test_refunds_add_up": "pass"}),
    # POL-1: policies, AI-generated style tests
    ("POL-1", "policy.py", 25, "number", "if not 1 <= sequence <= MAX_SEQUENCE:", "if not 2 <= sequence <= MAX_SEQUENCE:",
     "killed-by-crash", {"test_issue_policy_for_cat": "crash", "test_age_limits_ok[0]": "crash", "test_big_sequence": "pass"}),
    ("POL-1", "policy.py", 27, "string", 'return f"PI-{year}-{sequence:06d}"', 'return f"XXPI-{year}-{sequence:06d}XX"',
     "survived", {"test_issue_policy_for_dog": "pass", "test_age_limits_ok[0]": "pass", "test_big_sequence": "pass"}),
    ("POL-1", "policy.py", 34, "string", 'raise ValueError("pet name is required")', 'raise ValueError("XXpet name is requiredXX")',
     "survived", {"test_blank_name": "pass"}),
    ("POL-1", "policy.py", 35, "call", "kind = species.strip().lower()", "kind = species.strip().upper()",
     "killed-by-crash", {"test_issue_policy_for_dog": "crash", "test_issue_policy_for_cat": "crash", "test_bad_species": "pass"}),
    ("POL-1", "policy.py", 36, "membership", "if kind not in SPECIES:", "if kind in SPECIES:",
     "killed", {"test_issue_policy_for_dog": "crash", "test_bad_species": "assert"}),
    ("POL-1", "policy.py", 40, "comparison", "if not 0 <= age_years <= MAX_AGE_YEARS:", "if not 0 < age_years <= MAX_AGE_YEARS:",
     "killed-by-crash", {"test_age_limits_ok[0]": "crash", "test_age_limits_ok[20]": "pass", "test_age_limits_bad[-1]": "pass"}),
    ("POL-1", "policy.py", 43, "argument", "return Policy(number=number, pet_name=name, species=kind, age_years=age_years, start=start)",
     "return Policy(number=None, pet_name=name, species=kind, age_years=age_years, start=start)",
     "killed", {"test_age_limits_ok[0]": "assert", "test_big_sequence": "crash", "test_issue_policy_for_dog": "pass"}),
    ("POL-1", "policy.py", 43, "argument", "return Policy(number=number, pet_name=name, species=kind, age_years=age_years, start=start)",
     "return Policy(number=number, pet_name=None, species=kind, age_years=age_years, start=start)",
     "survived", {"test_issue_policy_for_dog": "pass", "test_issue_policy_for_cat": "pass", "test_age_limits_ok[0]": "pass"}),
]

_MODULE = {"pricing.py": "pricing", "cards.py": "cards", "payments.py": "payments", "refunds.py": "refunds", "policy.py": "policy"}


def _qualname(requirement: str, file: str, line: int) -> str:
    if file == "payments.py":
        return {47: "Payment.transition", 49: "Payment.transition", 50: "Payment.transition", 57: "Payment.capture", 60: "Payment.fail"}[line]
    if file == "pricing.py":
        return "discount_rate" if line < 26 else "premium_for"
    if file == "cards.py":
        return "normalize" if line < 23 else "luhn_valid" if line < 36 else "validate_card_number" if line < 44 else "card_brand"
    if file == "refunds.py":
        return "refundable" if line < 31 else "refund"
    return "policy_number" if line < 30 else "issue_policy"


def _mutants() -> list[MutantResult]:
    out = []
    for requirement, file, line, operator, original, mutated, status, verdicts in _MUTANTS:
        module = f"petinsure.{_MODULE[file]}"
        out.append(
            MutantResult(
                id=f"{module}:{_qualname(requirement, file, line)}:{line}:{operator}:{mutated.strip()[:40]}",
                file=f"src/petinsure/{file}",
                line=line,
                operator=operator,
                original=original,
                mutated=mutated,
                requirements=[requirement],
                status=status,
                verdicts={_BY_SHORT[short]: verdict for short, verdict in verdicts.items()},
            )
        )
    return out


def mutant_lines_match_example() -> list[str]:
    """Mutants whose ``original`` is not on their line of the example's source (should be none)."""
    wrong = []
    for mutant in _mutants():
        lines = (EXAMPLE_ROOT / mutant.file).read_text(encoding="utf-8").splitlines()
        if mutant.original not in lines[mutant.line - 1]:
            wrong.append(f"{mutant.file}:{mutant.line}: {mutant.original!r}")
    return wrong


# --- requirements -------------------------------------------------------------------------------

_CASE_TITLES = {
    "PAY-1": [("exactly 2 pets get 10 % off", "boundary"), ("a single pet pays the list premium", "nominal"),
              ("4 pets still get only 10 % off", "boundary"), ("5 or more pets get 15 % off", "boundary"),
              ("a quote for 0 pets is priced at list premium", "edge"), ("a negative pet count is rejected", "error"),
              ("half a cent rounds up", "edge"), ("a negative list premium is rejected, small ones are not", "error")],
    "CARD-1": [("a valid Visa test number is accepted", "nominal"), ("spaces and dashes are stripped", "nominal"),
               ("a number failing the Luhn check is rejected", "error"), ("12 digits is the shortest accepted length", "boundary"),
               ("19 digits is the longest accepted length", "boundary"), ("letters and symbols are rejected", "error"),
               ("an empty number is rejected", "edge"), ("non-ASCII digits are rejected", "security")],
    "CARD-2": [("numbers starting with 4 are Visa", "nominal"), ("prefixes 34 and 37 are American Express", "nominal"),
               ("the 51-55 Mastercard range is inclusive", "boundary"), ("the 2221-2720 Mastercard range is inclusive", "boundary"),
               ("other prefixes are unknown", "edge")],
    "PAY-2": [("a payment is authorized then captured", "nominal"), ("a pending payment can fail", "nominal"),
              ("a pending payment cannot be captured", "error"), ("a failed payment is final", "error"),
              ("a refunded payment is final", "error"), ("a captured payment cannot be captured twice", "security")],
    "PAY-3": [("a full refund closes the payment", "nominal"), ("a partial refund keeps the payment captured", "nominal"),
              ("partial refunds may add up to exactly the captured amount", "boundary"), ("a refund over the remainder is rejected", "boundary"),
              ("zero and negative refunds are rejected", "error"), ("only captured payments can be refunded", "error"),
              ("fractions of a cent are rejected", "edge")],
    "POL-1": [("a dog gets a numbered policy", "nominal"), ("species is matched case-insensitively", "nominal"),
              ("ages 0 and 20 are accepted", "boundary"), ("ages -1 and 21 are rejected", "boundary"),
              ("other species are rejected", "error"), ("a blank pet name is rejected", "error"),
              ("the sequence fills all 6 digits and no more", "boundary"), ("ferrets can be insured as cats", "edge")],
}

_CASE_STATES = {
    "PAY-2": {"PAY-2.6": "UNCOVERED"},
    "PAY-3": {"PAY-3.1": "WEAK", "PAY-3.2": "WEAK", "PAY-3.3": "WEAK", "PAY-3.6": "WEAK"},
    "POL-1": {"POL-1.1": "WEAK", "POL-1.2": "WEAK", "POL-1.4": "WEAK", "POL-1.6": "WEAK", "POL-1.7": "WEAK", "POL-1.8": "REJECTED"},
}

# id, title, risk, state, plan_state, code, C, L, O, M, score
_REQUIREMENTS = [
    ("PAY-1", "Premium discount for multi-pet households", "high", "OK", "APPROVED",
     ["petinsure.pricing:premium_for", "petinsure.pricing:discount_rate"], 1.0, 1.0, 1.0, 1.0, 100.0),
    ("CARD-1", "Card numbers are validated before a payment is taken", "critical", "OK", "APPROVED",
     ["petinsure.cards:normalize", "petinsure.cards:luhn_valid", "petinsure.cards:validate_card_number"], 1.0, 0.95, 1.0, 1.0, 100.0),
    ("CARD-2", "Card brand is detected from the number prefix", "medium", "SUSPECT", "SUSPECT",
     ["petinsure.cards:card_brand"], 1.0, 1.0, 1.0, 1.0, 0.0),
    ("PAY-2", "Card payments follow the authorize-capture lifecycle", "critical", "UNCOVERED", "APPROVED",
     ["petinsure.payments:Payment.transition", "petinsure.payments:Payment.capture", "petinsure.payments:InvalidTransition"],
     5 / 6, 1.0, 1.0, 1.0, 83.33),
    ("PAY-3", "Full and partial refunds never exceed what was captured", "high", "WEAK", "APPROVED",
     ["petinsure.refunds:refund", "petinsure.refunds:refundable"], 1.0, 0.94, 0.45, 0.6, 45.0),
    ("POL-1", "Policies are issued for dogs and cats aged 0 to 20", "medium", "WEAK", "APPROVED",
     ["petinsure.policy:issue_policy", "petinsure.policy:policy_number"], 1.0, 1.0, 0.4375, 0.625, 43.75),
]


def _code_lines(code: list[str], mutants: list[MutantResult]) -> tuple[dict[str, str], dict[str, str]]:
    """The example's real run-time lines of the code refs; covered: all but the lines of
    no-coverage mutants."""
    from testplan.ranges import line_ranges
    from testplan.scope import ref_spans
    from testplan.score import runtime_lines

    spans = [span for ref in code for span in ref_spans(ref, [EXAMPLE_ROOT / "src"])]
    lines = {Path(file).relative_to(EXAMPLE_ROOT).as_posix(): numbers for file, numbers in runtime_lines(spans).items()}
    missed = {(m.file, m.line) for m in mutants if m.status == "no-coverage"}
    covered = {file: {n for n in numbers if (file, n) not in missed} for file, numbers in lines.items()}
    return ({f: line_ranges(v) for f, v in sorted(lines.items())},
            {f: line_ranges(v) for f, v in sorted(covered.items()) if v})


def _requirements(tests: list[TestResult], mutants: list[MutantResult]) -> list[RequirementResult]:
    out = []
    for rid, title, risk, state, plan_state, code, c, l, o, m, score in _REQUIREMENTS:
        cases = []
        for n, (case_title, kind) in enumerate(_CASE_TITLES[rid], start=1):
            cid = f"{rid}.{n}"
            case_state = _CASE_STATES.get(rid, {}).get(cid, "VERIFIED")
            cases.append(
                CaseResult(
                    id=cid,
                    title=case_title,
                    kind=kind,
                    status="rejected" if case_state == "REJECTED" else "approved",
                    state=case_state,
                    tests=[] if case_state == "REJECTED" else [t.nodeid for t in tests if cid in t.links],
                )
            )
        linked = [t.nodeid for t in tests if any(link == rid or link.startswith(rid + ".") for link in t.links) and t.state == "LINKED"]
        own = [x for x in mutants if rid in x.requirements]
        code_lines, covered_lines = _code_lines(code, own)
        out.append(
            RequirementResult(
                id=rid, title=title, risk=risk, state=state, plan_state=plan_state, code=code,
                case_coverage=c, line_coverage=l, oracle_score=o, mutation_score=m,
                oracle_gap=round(l - o, 4), score=score, cases=cases, tests=linked,
                mutants=mutant_counts(own), evidence="mutants", score_basis="mutants",
                code_lines=code_lines, covered_lines=covered_lines,
            )
        )
    return out


def pet_insurance_result() -> AuditResult:
    """A complete audit of examples/pet-insurance with mutation testing; the gate fails."""
    tests = _tests()
    mutants = _mutants()
    return AuditResult(
        tool="testplan 0.1.0",
        complete=True,
        started_at=datetime(2026, 11, 22, 9, 30, 0, tzinfo=timezone.utc),
        finished_at=datetime(2026, 11, 22, 9, 31, 12, tzinfo=timezone.utc),
        project="pet-insurance",
        mutation=True,
        score=71.96,
        gate=GateResult(
            passed=False,
            min_score=80.0,
            min_requirement_score=50.0,
            fail_on=["uncovered", "suspect"],
            reasons=[
                "project score 72.0 is below min_score 80",
                "CARD-2 is SUSPECT: the requirement or an approved case changed after review (fail_on: suspect)",
                "PAY-2 is UNCOVERED: approved case PAY-2.6 has no linked test (fail_on: uncovered)",
                "PAY-3 scores 45.0, below min_requirement_score 50",
                "POL-1 scores 43.8, below min_requirement_score 50",
            ],
            requirements={
                "CARD-2": ["CARD-2 is SUSPECT: the requirement or an approved case changed after review (fail_on: suspect)"],
                "PAY-2": ["PAY-2 is UNCOVERED: approved case PAY-2.6 has no linked test (fail_on: uncovered)"],
                "PAY-3": ["PAY-3 scores 45.0, below min_requirement_score 50"],
                "POL-1": ["POL-1 scores 43.8, below min_requirement_score 50"],
            },
        ),
        requirements=_requirements(tests, mutants),
        tests=tests,
        mutants=mutants,
        problems=[
            Problem(
                path="tests/test_payments.py",
                line=56,
                message="test_capture_twice_is_rejected links PAY-2.7, which is not a case of PAY-2 (DANGLING); did you mean PAY-2.6?",
            ),
        ],
    )


# --- generated ----------------------------------------------------------------------------------

_STATES = ["OK", "OK", "OK", "WEAK", "WEAK", "NOK", "UNCOVERED", "SUSPECT", "UNREVIEWED"]
_RISKS = ["low", "medium", "high", "critical"]
_STATUSES = ["killed"] * 6 + ["killed-by-crash", "timeout", "survived", "survived", "no-coverage"]


def large_result(requirements: int = 500, mutants: int = 5000, seed: int = 1) -> AuditResult:
    """A generated audit of a big project: ``requirements`` requirements, ``mutants`` mutants."""
    rng = random.Random(seed)
    tests: list[TestResult] = []
    reqs: list[RequirementResult] = []
    per_req = max(1, mutants // requirements)
    all_mutants: list[MutantResult] = []
    reasons = ["project score 61.2 is below min_score 75"]
    by_requirement: dict[str, list[str]] = {}
    for r in range(requirements):
        rid = f"REQ-{r + 1}"
        module = f"app/mod{r // 10}.py"
        nodeids = [f"tests/test_mod{r // 10}.py::test_req{r + 1}_{k}" for k in range(4)]
        for k, nodeid in enumerate(nodeids):
            tests.append(TestResult(nodeid=nodeid, file=nodeid.split("::")[0], line=10 + 8 * k + 40 * (r % 10),
                                    links=[f"{rid}.{k + 1}"], outcome="passed" if rng.random() > 0.03 else "failed",
                                    state="LINKED", assertions=rng.randint(0, 3)))
        state = _STATES[rng.randrange(len(_STATES))]
        own = []
        count = per_req if r < requirements - 1 else mutants - per_req * (requirements - 1)
        for n in range(count):
            line = 5 + rng.randrange(200)
            status = _STATUSES[rng.randrange(len(_STATUSES))]
            verdicts = {} if status == "no-coverage" else {
                t: ("assert" if status == "killed" and i == 0 else "crash" if status == "killed-by-crash" and i == 0
                    else "timeout" if status == "timeout" and i == 0 else "pass")
                for i, t in enumerate(nodeids[: rng.randint(1, 4)])
            }
            own.append(MutantResult(
                id=f"app.mod{r // 10}:func{r}:{line}:comparison:{n}", file=module, line=line, operator="comparison",
                original=f"if value_{n} < limit_{r}:  # a fairly long line of code to make the diff realistic",
                mutated=f"if value_{n} <= limit_{r}:  # a fairly long line of code to make the diff realistic",
                requirements=[rid], status=status, verdicts=verdicts))
        all_mutants.extend(own)
        score = round(rng.uniform(0, 100), 2) if state not in ("SUSPECT", "UNREVIEWED") else 0.0
        if state in ("NOK", "UNCOVERED", "SUSPECT") or score < 40:
            reasons.append(f"{rid} is {state} with score {score:.1f}")
            by_requirement[rid] = [reasons[-1]]
        cases = [CaseResult(id=f"{rid}.{k + 1}", title=f"case {k + 1} of {rid}", kind="nominal", status="approved",
                            state="VERIFIED", tests=[nodeids[k]]) for k in range(4)]
        reqs.append(RequirementResult(
            id=rid, title=f"Requirement number {r + 1} with a reasonably descriptive title", risk=_RISKS[r % 4],
            state=state, plan_state="SUSPECT" if state == "SUSPECT" else "UNREVIEWED" if state == "UNREVIEWED" else "APPROVED",
            code=[f"app.mod{r // 10}:func{r}"], case_coverage=rng.random(), line_coverage=rng.random(),
            oracle_score=rng.random(), mutation_score=rng.random(), oracle_gap=rng.uniform(-0.2, 0.8), score=score,
            cases=cases, tests=nodeids, unmutated=[f"app.mod{r // 10}:CONSTANT"] if r % 7 == 0 else [],
            mutants=mutant_counts(own)))
    return AuditResult(
        tool="testplan 0.1.0", complete=True, project="big-project", mutation=True, score=61.2,
        started_at=datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc), finished_at=datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc),
        gate=GateResult(passed=False, min_score=75.0, min_requirement_score=40.0, fail_on=["uncovered", "failing"], reasons=reasons,
                        requirements=by_requirement),
        requirements=reqs, tests=tests, mutants=all_mutants,
    )


# --- official schemas, from the npm registry ----------------------------------------------------

NPM_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "testplan-tests" / "npm"


def npm_file(package: str, member: str, cache_dir: Path = NPM_CACHE) -> Path:
    """A file of an npm package (``npm pack``, cached in ``cache_dir``: the user's cache, not
    pytest's, which testplan's own trace turns off with ``-p no:cacheprovider``); for schemas we
    validate against."""
    import subprocess
    import tarfile

    safe = package.replace("/", "_").replace("@", "")
    target = cache_dir / safe / member
    if target.exists():
        return target
    work = cache_dir / f"{safe}.pack"
    work.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "pack", package, "--pack-destination", str(work), "--silent"],
        capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm pack {package} failed: {done.stderr.strip()[-500:]}")
    tarball = work / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        data = archive.extractfile(f"package/{member}")
        assert data is not None, f"{package} has no {member}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.read())
    return target
