"""petinsure: premiums, policies and card payments for a small pet insurer."""

__all__ = ["cards", "payments", "policy", "pricing", "refunds"]
