"""Card payment lifecycle: a small state machine with exact transition errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


class PaymentStatus(str, Enum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    REFUNDED = "refunded"
    FAILED = "failed"


ALLOWED_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.AUTHORIZED, PaymentStatus.FAILED}),
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}


class InvalidTransition(Exception):
    """Raised when a payment is asked to move to a status it cannot reach."""

    def __init__(self, current: PaymentStatus, target: PaymentStatus) -> None:
        super().__init__(f"cannot move payment from {current.value} to {target.value}")
        self.current = current
        self.target = target


@dataclass
class Payment:
    payment_id: str
    amount: Decimal
    status: PaymentStatus = PaymentStatus.PENDING
    captured: Decimal = Decimal("0.00")
    refunded: Decimal = Decimal("0.00")
    history: list[PaymentStatus] = field(default_factory=list)

    def transition(self, target: PaymentStatus) -> None:
        """Move to ``target`` or raise InvalidTransition; the status is unchanged on error."""
        if target not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidTransition(self.status, target)
        self.history.append(self.status)
        self.status = target

    def authorize(self) -> None:
        self.transition(PaymentStatus.AUTHORIZED)

    def capture(self) -> None:
        self.transition(PaymentStatus.CAPTURED)
        self.captured = self.amount

    def fail(self) -> None:
        self.transition(PaymentStatus.FAILED)

    def mark_refunded(self) -> None:
        self.transition(PaymentStatus.REFUNDED)
