"""Full and partial refunds of captured card payments."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from petinsure.payments import Payment, PaymentStatus

CENT = Decimal("0.01")


class RefundError(ValueError):
    """A refund request that cannot be honoured."""


@dataclass(frozen=True)
class Refund:
    payment_id: str
    amount: Decimal
    remaining: Decimal


def refundable(payment: Payment) -> Decimal:
    """Amount that can still be refunded: captured minus already refunded."""
    if payment.status is not PaymentStatus.CAPTURED:
        return Decimal("0.00")
    return payment.captured - payment.refunded


def refund(payment: Payment, amount: Decimal) -> Refund:
    """Refund ``amount`` of a captured payment; a refund of the whole remainder closes it."""
    if amount <= 0:
        raise RefundError("refund amount must be positive")
    if amount != amount.quantize(CENT):
        raise RefundError("refund amount must be in whole cents")
    if payment.status is not PaymentStatus.CAPTURED:
        raise RefundError(
            f"payment {payment.payment_id} is {payment.status.value}; only captured payments can be refunded"
        )
    available = refundable(payment)
    if amount > available:
        raise RefundError(f"refund of {amount} exceeds the refundable {available}")
    payment.refunded += amount
    remaining = payment.captured - payment.refunded
    if remaining == 0:
        payment.mark_refunded()
    return Refund(payment.payment_id, amount, remaining)
