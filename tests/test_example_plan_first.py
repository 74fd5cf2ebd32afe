"""examples/plan-first: one requirement written plan-first (enumerate -> review -> scaffold -> fill
the skipped cases by hand -> audit), replayed for real on a copy, with the figures its README shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testplan.result import load_result
from tp_helpers import REPO, replaced

EXAMPLE = REPO / "examples" / "plan-first"
PLAN = EXAMPLE / "plans" / "SHIP-1.yaml"
TESTS = EXAMPLE / "tests" / "test_ship_1_plan.py"

# what the reviewer wrote into the proposed plan (examples/plan-first/README.md, step 2)
RETURNS = {1: 490, 2: 490, 29999: 990, 30000: 990, 15000: 990}
# what was written by hand into the skipped tests (step 4)
BY_HAND = {
    "    pytest.skip('not written: a parcel of up to 1000 g costs 490 cents')\n":
        "    # written by hand from the acceptance line: the top of the first band\n    assert shipping_fee(1000) == 490\n",
    "    pytest.skip('not written: a parcel of 1001 to 5000 g costs 690 cents')\n":
        "    # written by hand: both edges of the second band\n    assert shipping_fee(1001) == 690\n"
        "    assert shipping_fee(5000) == 690\n",
    "    pytest.skip('not written: a parcel above 5000 g costs 990 cents')\n":
        "    # written by hand: the first weight of the third band\n    assert shipping_fee(5001) == 990\n",
}


def review_edits(text: str) -> str:
    for weight, fee in RETURNS.items():
        text = replaced(text, f"    expect: 'accepted: weight_g = {weight} is within 1..30000; decide the result and write "
                              "expect: {returns: VALUE}'\n", f"    expect: {{returns: {fee}}}\n")
    for weight in (0, 30001):
        text = replaced(text, f"    given: {{weight_g: {weight}}}\n    expect: {{raises: ValueError}}\n",
                        f"    given: {{weight_g: {weight}}}\n    expect: {{raises: ValueError, match: 'weight must be "
                        f"within 1\\.\\.30000 g, got {weight}'}}\n")
    return text


@pytest.fixture
def copy(tmp_path) -> Path:
    target = tmp_path / "plan-first"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".hypothesis", ".pytest_cache"))
    return target


def ship_1(root: Path):
    return load_result(root / ".testplan" / "audit.json").requirements[0]


def test_the_example_as_shipped_reaches_the_oracle_bar(copy, cli):
    result = cli("audit", "-C", copy)
    assert result.code == 0, result.err
    requirement = ship_1(copy)
    assert (requirement.state, requirement.plan_state, requirement.case_coverage, requirement.oracle_score,
            requirement.score) == ("OK", "APPROVED", 1.0, 1.0, 100.0)
    assert "gate: passed (min score 90, fail on dangling, failing, suspect)" in result.out


def test_the_flow_replayed_from_the_requirement_gives_the_shipped_plan_and_tests(copy, cli):
    shutil.rmtree(copy / "plans")
    (copy / "tests" / "test_ship_1_plan.py").unlink()
    assert cli("enumerate", "SHIP-1", "-C", copy).out == "wrote     plans/SHIP-1.yaml: 13 new cases proposed, 13 in plan\n"
    plan = copy / "plans" / "SHIP-1.yaml"
    plan.write_text(review_edits(plan.read_text()))
    assert cli("reject", "SHIP-1", "--case", "SHIP-1.4", "--reason", "the same as SHIP-1.5 and SHIP-1.10, which name the weights", "-C", copy).code == 0
    assert cli("reject", "SHIP-1", "--case", "SHIP-1.12", "--case", "SHIP-1.13", "--reason",
               "weight_g is typed int; None or a string fails in Python's comparison, not in a rule of shipping_fee", "-C", copy).code == 0
    refused = cli("approve", "SHIP-1", "--by", "Jessie Young", "-C", copy)
    assert refused.code == 2
    approved = cli("approve", "SHIP-1", "--all-proposed", "--by", "Jessie Young", "-C", copy)
    assert approved.out.startswith("approved 10 cases of SHIP-1 (10 approved in plan)")
    shipped = PLAN.read_text()
    assert plan.read_text().split("review:")[0] == shipped.split("review:")[0]
    assert plan.read_text().split("fingerprint:")[1] == shipped.split("fingerprint:")[1]  # same fingerprint and snapshot

    result = cli("scaffold", "SHIP-1", "-C", copy)
    assert result.out == "created tests/test_ship_1_plan.py: 10 case tests, 2 property tests\n"
    scaffolded = (copy / "tests" / "test_ship_1_plan.py").read_text()
    expected = TESTS.read_text()
    for stub, hand in BY_HAND.items():
        expected = replaced(expected, hand, stub)
    assert scaffolded == expected  # the shipped file is the scaffold plus the three tests written by hand

    audit = cli("audit", "-C", copy)
    requirement = ship_1(copy)
    assert (requirement.state, round(requirement.case_coverage, 2), round(requirement.oracle_score, 2)) == ("UNCOVERED", 0.7, 0.44)
    assert audit.code == 1
