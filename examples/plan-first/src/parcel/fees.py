"""Shipping fees by weight, in cents."""

MIN_WEIGHT_G = 1
MAX_WEIGHT_G = 30_000


def shipping_fee(weight_g: int) -> int:
    """The fee in cents for a parcel of ``weight_g`` grams (1..30000)."""
    if weight_g < MIN_WEIGHT_G or weight_g > MAX_WEIGHT_G:
        raise ValueError(f"weight must be within {MIN_WEIGHT_G}..{MAX_WEIGHT_G} g, got {weight_g}")
    if weight_g <= 1_000:
        return 490
    if weight_g <= 5_000:
        return 690
    return 990
