"""Issuing insurance policies for dogs and cats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

SPECIES = frozenset({"dog", "cat"})
MAX_AGE_YEARS = 20
MAX_SEQUENCE = 999_999


@dataclass(frozen=True)
class Policy:
    number: str
    pet_name: str
    species: str
    age_years: int
    start: date


def policy_number(year: int, sequence: int) -> str:
    """Format a policy number as ``PI-<year>-<6 digits>``."""
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"policy sequence must be between 1 and {MAX_SEQUENCE}")
    return f"PI-{year}-{sequence:06d}"


def issue_policy(pet_name: str, species: str, age_years: int, start: date, counter: Iterator[int]) -> Policy:
    """Issue a policy; the next value of ``counter`` becomes the policy's sequence number."""
    name = pet_name.strip()
    if not name:
        raise ValueError("pet name is required")
    kind = species.strip().lower()
    if kind not in SPECIES:
        raise ValueError(f"species must be one of {', '.join(sorted(SPECIES))}, got {species!r}")
    if isinstance(age_years, bool) or not isinstance(age_years, int):
        raise ValueError("pet age must be a whole number of years")
    if not 0 <= age_years <= MAX_AGE_YEARS:
        raise ValueError(f"pet age must be between 0 and {MAX_AGE_YEARS} years")
    number = policy_number(start.year, next(counter))
    return Policy(number=number, pet_name=name, species=kind, age_years=age_years, start=start)
