"""JUnit XML: one testcase per requirement, failing with the gate's reasons for it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from report_fixtures import pet_insurance_result
from testplan.report import write_report
from testplan.result import AuditResult


def _parse(result: AuditResult, tmp_path: Path) -> ET.Element:
    path = write_report(result, "junit", tmp_path / "junit.xml")
    assert path is not None
    return ET.parse(path).getroot()


def _failures(suite: ET.Element) -> dict[str, str | None]:
    out = {}
    for case in suite.findall("testcase"):
        failure = case.find("failure")
        out[case.get("name", "").split()[0]] = None if failure is None else failure.get("message")
    return out


def test_one_testcase_per_requirement_with_exact_failure_messages(tmp_path: Path) -> None:
    root = _parse(pet_insurance_result(), tmp_path)
    assert root.tag == "testsuites"
    suite = root.find("testsuite[@name='testplan.requirements']")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "PAY-1 Premium discount for multi-pet households",
        "CARD-1 Card numbers are validated before a payment is taken",
        "CARD-2 Card brand is detected from the number prefix",
        "PAY-2 Card payments follow the authorize-capture lifecycle",
        "PAY-3 Full and partial refunds never exceed what was captured",
        "POL-1 Policies are issued for dogs and cats aged 0 to 20",
    ]
    assert [c.get("classname") for c in cases] == ["testplan.high", "testplan.critical", "testplan.medium", "testplan.critical", "testplan.high", "testplan.medium"]
    assert _failures(suite) == {
        "PAY-1": None,
        "CARD-1": None,
        "CARD-2": "CARD-2 is SUSPECT: the requirement or an approved case changed after review (fail_on: suspect)",
        "PAY-2": "PAY-2 is UNCOVERED: approved case PAY-2.6 has no linked test (fail_on: uncovered)",
        "PAY-3": "PAY-3 scores 45.0, below min_requirement_score 50 (state WEAK)",
        "POL-1": "POL-1 scores 43.8, below min_requirement_score 50 (state WEAK)",
    }
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("time")) == ("6", "4", "0", "72.000")
    pay2 = cases[3].find("failure")
    assert pay2 is not None and pay2.get("type") == "testplan.UNCOVERED"
    assert "PAY-2.6 UNCOVERED: a captured payment cannot be captured twice" in (pay2.text or "")
    props = {p.get("name"): p.get("value") for p in cases[4].iter("property")}
    assert props == {"requirement": "PAY-3", "state": "WEAK", "plan_state": "APPROVED", "risk": "high", "score": "45.0",
                     "evidence": "mutants", "score_basis": "mutants"}


def test_the_gate_testcase_fails_for_project_reasons(tmp_path: Path) -> None:
    root = _parse(pet_insurance_result(), tmp_path)
    gate = root.find("testsuite[@name='testplan.gate']")
    assert gate is not None
    assert _failures(gate) == {"project": "gate failed: project score 72.0 is below min_score 80"}
    assert (root.get("tests"), root.get("failures")) == ("7", "5")


def test_a_passed_gate_fails_nothing(tmp_path: Path) -> None:
    result = pet_insurance_result()
    assert result.gate is not None
    result.gate.passed = True
    result.gate.reasons, result.gate.requirements = [], {}
    root = _parse(result, tmp_path)
    assert root.get("failures") == "0"
    assert all(m is None for s in root.findall("testsuite") for m in _failures(s).values())


def test_without_a_gate_bad_states_fail(tmp_path: Path) -> None:
    result = pet_insurance_result()
    result.gate = None
    suite = _parse(result, tmp_path).find("testsuite[@name='testplan.requirements']")
    assert suite is not None
    failures = _failures(suite)
    assert failures["PAY-1"] is None
    assert failures["PAY-3"] == "PAY-3 is WEAK: linked tests pass but some cases kill no mutant of the requirement's code"
    assert failures["CARD-2"] == "CARD-2 is SUSPECT: the requirement or an approved case changed after review"


def test_an_incomplete_run_fails_the_gate_testcase(tmp_path: Path) -> None:
    result = pet_insurance_result()
    result.complete = False
    result.incomplete_reason = "interrupted after 12 of 40 mutants"
    gate = _parse(result, tmp_path).find("testsuite[@name='testplan.gate']")
    assert gate is not None
    assert _failures(gate)["project"] == (
        "incomplete run: interrupted after 12 of 40 mutants; a gate never passes on an incomplete run"
    )


def test_control_characters_and_markup_stay_well_formed(tmp_path: Path) -> None:
    result = pet_insurance_result()
    result.requirements[0].title = "a <b> & \x07 bell"
    suite = _parse(result, tmp_path).find("testsuite[@name='testplan.requirements']")
    assert suite is not None
    assert suite.findall("testcase")[0].get("name") == "PAY-1 a <b> & \\x07 bell"
