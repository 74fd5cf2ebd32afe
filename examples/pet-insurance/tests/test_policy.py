# AI-generated style: runs the code, checks little.
"""POL-1: issuing policies."""

import itertools
from datetime import date

import pytest

from petinsure.policy import Policy, issue_policy

START = date(2026, 3, 1)


@pytest.mark.verifies("POL-1.1")
def test_issue_policy_for_dog() -> None:
    # The only oracle is that nothing raises.
    issue_policy("Rex", "dog", 3, START, itertools.count(42))


@pytest.mark.verifies("POL-1.2")
def test_issue_policy_for_cat() -> None:
    policy = issue_policy("Misty", " Cat ", 5, START, itertools.count(1))
    assert isinstance(policy, Policy)


@pytest.mark.verifies("POL-1.3")
@pytest.mark.parametrize("age", [0, 20])
def test_age_limits_ok(age: int) -> None:
    policy = issue_policy("Rex", "dog", age, START, itertools.count(1))
    assert policy.number


@pytest.mark.verifies("POL-1.4")
@pytest.mark.parametrize("age", [-1, 21])
def test_age_limits_bad(age: int) -> None:
    with pytest.raises(ValueError):
        issue_policy("Rex", "dog", age, START, itertools.count(1))


@pytest.mark.verifies("POL-1.5")
def test_bad_species() -> None:
    with pytest.raises(ValueError):
        issue_policy("Thumper", "rabbit", 2, START, itertools.count(1))


@pytest.mark.verifies("POL-1.6")
def test_blank_name() -> None:
    with pytest.raises(ValueError):
        issue_policy("   ", "cat", 2, START, itertools.count(1))


@pytest.mark.verifies("POL-1.7")
def test_big_sequence() -> None:
    policy = issue_policy("Rex", "dog", 3, START, iter([999_999]))
    assert "PI" in policy.number
