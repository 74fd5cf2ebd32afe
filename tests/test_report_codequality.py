"""The GitLab Code Quality report: a JSON array of issues at file and line, stable fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from report_fixtures import EXAMPLE_ROOT, pet_insurance_result
from testplan.report import write_report

KEYS = {"description", "check_name", "fingerprint", "severity", "location"}


def _issues(tmp_path: Path, result=None) -> list[dict]:
    path = write_report(result or pet_insurance_result(), "codequality", tmp_path / "gl-code-quality-report.json", EXAMPLE_ROOT)
    assert path is not None and path.name == "gl-code-quality-report.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.verifies("REP-1")
def test_every_issue_has_gitlabs_fields_and_a_stable_fingerprint(tmp_path: Path) -> None:
    issues = _issues(tmp_path)
    assert all(set(i) == KEYS and set(i["location"]) == {"path", "lines"} and set(i["location"]["lines"]) == {"begin"} for i in issues)
    assert {i["severity"] for i in issues} <= {"info", "minor", "major", "critical", "blocker"}
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert [i["fingerprint"] for i in _issues(tmp_path)] == [i["fingerprint"] for i in issues]
    result = pet_insurance_result()
    assert sum(1 for i in issues if i["check_name"] == "testplan/surviving-mutant") == sum(1 for m in result.mutants if m.status == "survived")
    assert sum(1 for i in issues if i["check_name"] == "testplan/crash-only-kill") == sum(1 for m in result.mutants if m.status == "killed-by-crash")


@pytest.mark.verifies("REP-1")
def test_a_survivor_is_at_its_line_with_its_id_and_the_explain_command(tmp_path: Path) -> None:
    (survivor,) = [i for i in _issues(tmp_path) if i["location"] == {"path": "src/petinsure/refunds.py", "lines": {"begin": 45}}]
    mutant_id = "petinsure.refunds:refund:45:arithmetic:remaining = payment.captured + payment.r"
    assert survivor["check_name"] == "testplan/surviving-mutant" and survivor["severity"] == "major"  # PAY-3 is high risk
    assert survivor["description"] == (
        f"PAY-3: mutant {mutant_id} survived: every linked test that ran it passed (arithmetic: "
        "remaining = payment.captured - payment.refunded → remaining = payment.captured + payment.refunded); "
        f"testplan explain {mutant_id}")
    uncovered = [i for i in _issues(tmp_path) if i["check_name"] == "testplan/uncovered-case"]
    assert [(i["location"]["path"], i["severity"]) for i in uncovered] == [("plans/PAY-2.yaml", "critical")]
    problems = [i for i in _issues(tmp_path) if i["check_name"] == "testplan/link-problem"]
    assert [(i["location"], i["severity"]) for i in problems] == [({"path": "tests/test_payments.py", "lines": {"begin": 56}}, "major")]
