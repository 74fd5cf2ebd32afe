from decimal import Decimal

import pytest

from petinsure.payments import Payment


@pytest.fixture
def payment() -> Payment:
    """A fresh pending payment of 120.00."""
    return Payment("P-1001", Decimal("120.00"))


@pytest.fixture
def captured_payment(payment: Payment) -> Payment:
    payment.authorize()
    payment.capture()
    return payment
