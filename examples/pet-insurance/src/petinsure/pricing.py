"""Premium pricing with a multi-pet household discount."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
FULL_RATE = Decimal("1")
MULTI_PET_RATE = Decimal("0.90")  # 2..4 pets: 10 % off
LARGE_HOUSEHOLD_RATE = Decimal("0.85")  # 5+ pets: 15 % off
MULTI_PET_MIN = 2
LARGE_HOUSEHOLD_MIN = 5


def discount_rate(pets: int) -> Decimal:
    """Return the share of the list premium a household with ``pets`` pets pays."""
    if pets < 0:
        raise ValueError("pet count must be >= 0")
    if pets >= LARGE_HOUSEHOLD_MIN:
        return LARGE_HOUSEHOLD_RATE
    if pets >= MULTI_PET_MIN:
        return MULTI_PET_RATE
    return FULL_RATE


def premium_for(list_premium: Decimal, pets: int) -> Decimal:
    """Premium for one pet in a household of ``pets`` pets, rounded half-up to cents."""
    if list_premium < 0:
        raise ValueError("list premium must be >= 0")
    rate = discount_rate(pets)
    return (list_premium * rate).quantize(CENT, rounding=ROUND_HALF_UP)
