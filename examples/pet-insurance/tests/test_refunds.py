# AI-generated style: runs the code, checks little.
"""PAY-3: refunds."""

from decimal import Decimal

import pytest

from petinsure.payments import Payment
from petinsure.refunds import Refund, refund, refundable


@pytest.mark.verifies("PAY-3.1")
def test_full_refund(captured_payment: Payment) -> None:
    result = refund(captured_payment, Decimal("120.00"))
    assert result is not None


@pytest.mark.verifies("PAY-3.2")
def test_partial_refund(captured_payment: Payment) -> None:
    result = refund(captured_payment, Decimal("20.00"))
    assert isinstance(result, Refund)
    assert result.payment_id


@pytest.mark.verifies("PAY-3.3")
def test_refunds_add_up(captured_payment: Payment) -> None:
    refund(captured_payment, Decimal("60.00"))
    refund(captured_payment, Decimal("60.00"))


@pytest.mark.verifies("PAY-3.4")
def test_refund_too_much(captured_payment: Payment) -> None:
    refund(captured_payment, Decimal("100.00"))
    with pytest.raises(ValueError):
        refund(captured_payment, Decimal("20.01"))


@pytest.mark.verifies("PAY-3.5")
@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_bad_amounts(captured_payment: Payment, amount: Decimal) -> None:
    with pytest.raises(ValueError):
        refund(captured_payment, amount)


@pytest.mark.verifies("PAY-3.6")
def test_refund_uncaptured(payment: Payment) -> None:
    payment.authorize()
    with pytest.raises(Exception):
        refund(payment, Decimal("10.00"))


@pytest.mark.verifies("PAY-3.7")
def test_fraction_of_cent(captured_payment: Payment) -> None:
    with pytest.raises(ValueError):
        refund(captured_payment, Decimal("0.005"))


@pytest.mark.verifies("PAY-3")
def test_refundable(captured_payment: Payment) -> None:
    assert refundable(captured_payment) >= 0
