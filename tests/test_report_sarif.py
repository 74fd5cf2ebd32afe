"""SARIF 2.1.0: surviving mutants, uncovered cases and link problems as code-scanning results."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from report_fixtures import EXAMPLE_ROOT, npm_file, pet_insurance_result
from testplan.report import write_report
from testplan.result import AuditResult

# the SARIF 2.1.0 JSON schema (rtm.5, the published 2.1.0) as shipped in an npm package
SARIF_SCHEMA_PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"
SARIF_SCHEMA_MEMBER = "lib/schemas/sarif-2.1.0-rtm.5.json"


def _sarif(tmp_path: Path, source_root: Path | None = EXAMPLE_ROOT, result: AuditResult | None = None) -> dict:
    path = write_report(result or pet_insurance_result(), "sarif", tmp_path / "testplan.sarif", source_root)
    assert path is not None
    return json.loads(path.read_text(encoding="utf-8"))


def test_structure_code_scanning_needs(tmp_path: Path) -> None:
    log = _sarif(tmp_path)
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "testplan"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == ["testplan/surviving-mutant", "testplan/uncovered-case", "testplan/link-problem", "testplan/crash-only-kill",
                        "testplan/uncovered-mutant", "testplan/drift"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert result["level"] in ("error", "warning", "note")
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == EXAMPLE_ROOT.resolve().as_uri() + "/"


def test_each_survivor_is_a_result_at_its_line_with_the_diff(tmp_path: Path) -> None:
    results = _sarif(tmp_path)["runs"][0]["results"]
    survivors = [r for r in results if r["ruleId"] == "testplan/surviving-mutant"]
    where = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in survivors]
    assert where == [
        ("src/petinsure/refunds.py", 34), ("src/petinsure/refunds.py", 45), ("src/petinsure/refunds.py", 48),
        ("src/petinsure/policy.py", 27), ("src/petinsure/policy.py", 34), ("src/petinsure/policy.py", 43),
    ]
    first = next(r for r in survivors if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 45)
    assert first["message"]["text"] == (
        "PAY-3: surviving mutant (arithmetic); no test linked to PAY-3 noticed this change:\n"
        "- remaining = payment.captured - payment.refunded\n"
        "+ remaining = payment.captured + payment.refunded\n"
        "tests that ran it and passed: tests/test_refunds.py::test_full_refund, tests/test_refunds.py::test_partial_refund, "
        "tests/test_refunds.py::test_refunds_add_up, tests/test_refunds.py::test_refund_too_much"
    )
    assert first["level"] == "error"  # PAY-3 is high risk
    assert first["properties"]["requirements"] == ["PAY-3"]
    policy = next(r for r in survivors if "policy.py" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
    assert policy["level"] == "warning"  # POL-1 is medium risk


def test_uncovered_case_is_located_in_its_plan(tmp_path: Path) -> None:
    results = _sarif(tmp_path)["runs"][0]["results"]
    (uncovered,) = [r for r in results if r["ruleId"] == "testplan/uncovered-case"]
    physical = uncovered["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "plans/PAY-2.yaml"
    lines = (EXAMPLE_ROOT / "plans" / "PAY-2.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[physical["region"]["startLine"] - 1].strip() == "- id: PAY-2.6"
    assert uncovered["message"]["text"] == "PAY-2: approved case PAY-2.6 (security) has no linked test: a captured payment cannot be captured twice"


def test_without_source_root_the_plan_line_is_1(tmp_path: Path) -> None:
    run = _sarif(tmp_path, None)["runs"][0]
    (uncovered,) = [r for r in run["results"] if r["ruleId"] == "testplan/uncovered-case"]
    assert uncovered["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert "originalUriBaseIds" not in run


def test_link_problems_and_crash_only_kills(tmp_path: Path) -> None:
    results = _sarif(tmp_path)["runs"][0]["results"]
    (problem,) = [r for r in results if r["ruleId"] == "testplan/link-problem"]
    assert problem["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tests/test_payments.py"
    assert problem["locations"][0]["physicalLocation"]["region"]["startLine"] == 56
    assert "PAY-2.7" in problem["message"]["text"] and problem["level"] == "error"
    crash = [r for r in results if r["ruleId"] == "testplan/crash-only-kill"]
    assert len(crash) == 6 and all(r["level"] == "note" for r in crash)


def test_every_mutant_nobody_detected_is_a_result(tmp_path: Path) -> None:
    """Survived and no-coverage mutants both count as undetected (as in the HTML report and M_R)."""
    results = _sarif(tmp_path)["runs"][0]["results"]
    assert Counter(r["ruleId"] for r in results) == {
        "testplan/surviving-mutant": 6, "testplan/crash-only-kill": 6, "testplan/uncovered-case": 1,
        "testplan/link-problem": 1, "testplan/uncovered-mutant": 1,
    }
    (uncovered,) = [r for r in results if r["ruleId"] == "testplan/uncovered-mutant"]
    assert uncovered == {
        "ruleId": "testplan/uncovered-mutant",
        "ruleIndex": 4,
        "level": "error",  # PAY-3 is high risk
        "message": {"text": (
            "PAY-3: uncovered mutant (string); no test linked to PAY-3 could notice this change:\n"
            '- return Decimal("0.00")\n'
            '+ return Decimal("1.00")\n'
            "no linked test runs this line"
        )},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/petinsure/refunds.py", "uriBaseId": "%SRCROOT%"},
                                            "region": {"startLine": 27}}}],
        "partialFingerprints": {"testplanMutant/v1": uncovered["partialFingerprints"]["testplanMutant/v1"]},
        "properties": {
            "requirements": ["PAY-3"],
            "mutant": 'petinsure.refunds:refundable:27:string:return Decimal("1.00")',
            "operator": "string",
            "original": 'return Decimal("0.00")',
            "mutated": 'return Decimal("1.00")',
            "tests": [],
        },
    }
    fingerprints = [r["partialFingerprints"]["testplanMutant/v1"] for r in results if "testplanMutant/v1" in r["partialFingerprints"]]
    assert len(set(fingerprints)) == len(fingerprints) == 13 and len(fingerprints[0]) == 32


def test_tests_of_other_requirements_are_named_but_not_counted(tmp_path: Path) -> None:
    """With --all-tests a mutant also runs the unlinked tests that cover it; its status ignores them,
    and so does the message: they are listed apart from the linked tests."""
    result = pet_insurance_result()
    by_line = {(m.file, m.line): m for m in result.mutants}
    other = "tests/test_payments.py::test_authorize_then_capture"  # linked to PAY-2, not PAY-3
    by_line[("src/petinsure/refunds.py", 27)].verdicts = {other: "pass"}  # still no-coverage for PAY-3
    by_line[("src/petinsure/refunds.py", 34)].verdicts[other] = "assert"  # still survived for PAY-3
    results = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["locations"][0]["physicalLocation"]["region"]["startLine"]): r
               for r in _sarif(tmp_path, result=result)["runs"][0]["results"]}
    uncovered = results[("src/petinsure/refunds.py", 27)]
    assert uncovered["ruleId"] == "testplan/uncovered-mutant"
    assert uncovered["message"]["text"].endswith(
        "\nno linked test runs this line; other tests ran it, not counted (not linked to PAY-3): " + other)
    survivor = results[("src/petinsure/refunds.py", 34)]
    assert survivor["ruleId"] == "testplan/surviving-mutant"
    assert survivor["message"]["text"].endswith(
        "\ntests that ran it and passed: tests/test_refunds.py::test_bad_amounts[amount0], tests/test_refunds.py::test_bad_amounts[amount1]"
        "; other tests failed on it, not counted (not linked to PAY-3): " + other)


@pytest.mark.network
def test_validates_against_the_sarif_2_1_0_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema (the 'test' extra)")
    schema_path = npm_file(SARIF_SCHEMA_PACKAGE, SARIF_SCHEMA_MEMBER)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    for source_root in (EXAMPLE_ROOT, None):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_sarif(tmp_path, source_root))]
        assert errors == []
