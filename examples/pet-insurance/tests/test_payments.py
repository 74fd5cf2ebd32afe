"""PAY-2: payment lifecycle. Good tests, but PAY-2.6 (no double capture) has none yet."""

from decimal import Decimal

import pytest

from petinsure.payments import InvalidTransition, Payment, PaymentStatus


@pytest.mark.verifies("PAY-2.1")
def test_authorize_then_capture(payment: Payment) -> None:
    payment.authorize()
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.captured == Decimal("0.00")
    payment.capture()
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.captured == Decimal("120.00")
    assert payment.history == [PaymentStatus.PENDING, PaymentStatus.AUTHORIZED]


@pytest.mark.verifies("PAY-2.2")
def test_pending_payment_can_fail(payment: Payment) -> None:
    payment.fail()
    assert payment.status is PaymentStatus.FAILED
    assert payment.history == [PaymentStatus.PENDING]


@pytest.mark.verifies("PAY-2.3")
def test_pending_payment_cannot_be_captured(payment: Payment) -> None:
    with pytest.raises(InvalidTransition, match=r"^cannot move payment from pending to captured$") as caught:
        payment.capture()
    assert caught.value.current is PaymentStatus.PENDING
    assert caught.value.target is PaymentStatus.CAPTURED
    assert payment.status is PaymentStatus.PENDING
    assert payment.captured == Decimal("0.00")
    assert payment.history == []


@pytest.mark.verifies("PAY-2.4")
@pytest.mark.parametrize("target", [PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, PaymentStatus.FAILED])
def test_failed_payment_is_final(payment: Payment, target: PaymentStatus) -> None:
    payment.fail()
    with pytest.raises(InvalidTransition, match=rf"^cannot move payment from failed to {target.value}$"):
        payment.transition(target)
    assert payment.status is PaymentStatus.FAILED


@pytest.mark.verifies("PAY-2.5")
def test_refunded_payment_is_final(captured_payment: Payment) -> None:
    captured_payment.mark_refunded()
    with pytest.raises(InvalidTransition, match=r"^cannot move payment from refunded to captured$"):
        captured_payment.capture()
    assert captured_payment.status is PaymentStatus.REFUNDED
