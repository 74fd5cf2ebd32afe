from decimal import Decimal


def premium_for(list_premium: Decimal, pets: int) -> Decimal:
    if pets < 0:
        raise ValueError("pet count must be >= 0")
    rate = Decimal("0.85") if pets >= 5 else Decimal("0.90") if pets >= 2 else Decimal(1)
    return (list_premium * rate).quantize(Decimal("0.01"))


class Basket:
    def total(self) -> int:
        return 0
