"""Answers of the scripted model for propose-tests: tests for the example's PAY-3 survivors
(keyed by the mutated line of petinsure/refunds.py), and tests that each fail one filter."""

from __future__ import annotations

import json
import re

HEAD = "from decimal import Decimal\n\nimport pytest\n\nfrom petinsure.payments import Payment, PaymentStatus\nfrom petinsure.refunds import Refund, RefundError, refund\n\n\n"
GOOD = {
    33: ('@pytest.mark.verifies("PAY-3.2")\ndef test_refund_of_half_a_unit_is_allowed(captured_payment: Payment) -> None:\n'
         '    try:\n        result = refund(captured_payment, Decimal("0.50"))\n    except RefundError as exc:\n        result = exc\n'
         '    assert result == Refund("P-1001", Decimal("0.50"), Decimal("119.50"))\n'),
    34: '@pytest.mark.verifies("PAY-3.5")\ndef test_zero_refund_message(captured_payment: Payment) -> None:\n    with pytest.raises(RefundError, match=r"^refund amount must be positive$"):\n        refund(captured_payment, Decimal("0.00"))\n',
    36: '@pytest.mark.verifies("PAY-3.7")\ndef test_fraction_of_cent_message(captured_payment: Payment) -> None:\n    with pytest.raises(RefundError, match=r"^refund amount must be in whole cents$"):\n        refund(captured_payment, Decimal("0.005"))\n',
    38: '@pytest.mark.verifies("PAY-3.6")\ndef test_uncaptured_message(payment: Payment) -> None:\n    payment.authorize()\n    with pytest.raises(RefundError, match=r"^payment P-1001 is authorized; only captured payments can be refunded$"):\n        refund(payment, Decimal("10.00"))\n',
    43: '@pytest.mark.verifies("PAY-3.4")\ndef test_over_refund_message(captured_payment: Payment) -> None:\n    refund(captured_payment, Decimal("100.00"))\n    with pytest.raises(RefundError, match=r"^refund of 20\\.01 exceeds the refundable 20\\.00$"):\n        refund(captured_payment, Decimal("20.01"))\n',
    44: '@pytest.mark.verifies("PAY-3.3")\ndef test_two_halves_close_the_payment(captured_payment: Payment) -> None:\n    assert refund(captured_payment, Decimal("60.00")).remaining == Decimal("60.00")\n    assert refund(captured_payment, Decimal("60.00")) == Refund("P-1001", Decimal("60.00"), Decimal("0.00"))\n    assert captured_payment.status is PaymentStatus.REFUNDED\n',
    45: '@pytest.mark.verifies("PAY-3.1")\ndef test_full_refund_closes_the_payment(captured_payment: Payment) -> None:\n    assert refund(captured_payment, Decimal("120.00")) == Refund("P-1001", Decimal("120.00"), Decimal("0.00"))\n    assert captured_payment.status is PaymentStatus.REFUNDED\n',
}
GOOD[46] = GOOD[45]
GOOD[48] = GOOD[45]



# a killer of the `amount <= 0` -> `amount <= 1` mutant only by a crash: the mutant raises RefundError
CRASH_ONLY = ('@pytest.mark.verifies("PAY-3.2")\ndef test_half_unit_refund(captured_payment: Payment) -> None:\n'
              '    assert refund(captured_payment, Decimal("0.50")).remaining == Decimal("119.50")\n')
# the case says RefundError("refund amount must be positive"); this expects another message
FAILS_ON_ORIGINAL = ('@pytest.mark.verifies("PAY-3.5")\ndef test_wrong_message(captured_payment: Payment) -> None:\n'
                     '    with pytest.raises(RefundError, match=r"^amount must be above zero$"):\n'
                     '        refund(captured_payment, Decimal("0.00"))\n')
# passes once, then fails: it leaves a file behind in the scratch copy
FLAKY = ('@pytest.mark.verifies("PAY-3.5")\ndef test_flaky(captured_payment: Payment, tmp_path_factory) -> None:\n'
         '    import pathlib\n    marker = pathlib.Path(__file__).with_name("ran-once")\n    first = not marker.exists()\n'
         '    marker.write_text("x")\n'
         '    with pytest.raises(RefundError, match=r"^refund amount must be positive$"):\n'
         '        refund(captured_payment, Decimal("0.00"))\n    assert first\n')
NO_MARKER = ('def test_fraction_of_cent_message_unlinked(captured_payment: Payment) -> None:\n'
             '    with pytest.raises(RefundError, match=r"^refund amount must be in whole cents$"):\n'
             '        refund(captured_payment, Decimal("0.005"))\n')


def answer(test: str, case: str | None = None) -> str:
    """The JSON the model answers for one test function (``HEAD``'s imports prepended)."""
    found = re.search(r'verifies\("([^"]+)"\)', test)
    return json.dumps({"code": HEAD + test, "case": case or (found.group(1) if found else "PAY-3.7"),
                       "why": "it checks the exact value the mutant changes"})


def mutated_line(prompt: str) -> int:
    return int(re.search(r"The surviving mutant \w+ \([^)]*\) at [^:]+:(\d+):", prompt).group(1))


def good_test(prompt: str) -> str:
    return answer(GOOD[mutated_line(prompt)])
