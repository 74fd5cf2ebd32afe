"""The ``codequality`` format: GitLab's Code Quality report (``artifacts: reports: codequality``).

A JSON array of issues, each ``{description, check_name, fingerprint, severity, location: {path,
lines: {begin}}}`` with the path relative to the project root, which GitLab shows in the merge
request's diff and widget. The issues are those of the ``sarif`` format, with the same names:

- ``testplan/surviving-mutant`` and ``testplan/uncovered-mutant`` at the mutant's line: severity
  ``critical`` for a critical requirement, ``major`` for a high one, else ``minor``;
- ``testplan/crash-only-kill`` (``info``);
- ``testplan/uncovered-case`` at the case's ``id:`` line of its plan file (severities as above);
- ``testplan/link-problem`` at the problem's file and line (``major`` for an error, else ``minor``);
- ``testplan/drift`` (with ``--diff``, see :mod:`.impact`) at the first changed line (``major``).

Fingerprints are stable across runs (the same parts as SARIF's ``partialFingerprints``), so GitLab
tells new issues from fixed ones.
"""

from __future__ import annotations

import hashlib
import json
from typing import IO, Any

from ..result import MutantResult
from .report_core import Reporter, case_line, diff_lines, plan_file, visible_json

SEVERITY = {"critical": "critical", "high": "major", "medium": "minor", "low": "minor"}


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _issue(check: str, description: str, severity: str, path: str, line: int, *parts: str) -> dict[str, Any]:
    return {"description": description, "check_name": check, "fingerprint": _fingerprint(check, *parts),
            "severity": severity, "location": {"path": path, "lines": {"begin": max(line, 1)}}}


class CodeQualityReporter(Reporter):
    name = "codequality"
    filename = "gl-code-quality-report.json"
    description = "GitLab Code Quality JSON"

    def report(self, outfile: IO[str]) -> None:
        json.dump(visible_json(self.issues()), outfile, indent=2, ensure_ascii=False)
        outfile.write("\n")

    def issues(self) -> list[dict[str, Any]]:
        result = self.result
        risk = {r.id: r.risk for r in result.requirements}
        out: list[dict[str, Any]] = []
        for mutant in result.mutants:
            if mutant.status in ("survived", "no-coverage", "killed-by-crash"):
                out.append(self._mutant(mutant, risk))
        for requirement in result.requirements:
            for case in requirement.cases:
                if case.state == "UNCOVERED":
                    out.append(_issue("testplan/uncovered-case",
                                      f"{requirement.id}: approved case {case.id} ({case.kind}) has no linked test: {case.title}",
                                      SEVERITY[requirement.risk], plan_file(self.context, requirement.id),
                                      case_line(self.context, requirement.id, case.id), case.id))
        for problem in result.problems:
            out.append(_issue("testplan/link-problem", problem.message, "major" if problem.severity == "error" else "minor",
                              problem.path, problem.line, problem.path, problem.message))
        impact = self.context.impact()
        for touched in impact.requirements if impact is not None else []:
            if touched.drift is not None:
                for file, lines in sorted(touched.changed.items()):
                    out.append(_issue("testplan/drift", f"{touched.id} ({touched.risk}, {touched.state}): {touched.drift}",
                                      "major", file, min(lines), touched.id, file))
        return out

    def _mutant(self, mutant: MutantResult, risk: dict[str, str]) -> dict[str, Any]:
        reqs = ", ".join(mutant.requirements) or "no requirement"
        top = max((r for r in (risk.get(i, "low") for i in mutant.requirements)),
                  key=["low", "medium", "high", "critical"].index, default="low")
        diff = " → ".join(line.strip() for _, line in diff_lines(mutant))
        if mutant.status == "killed-by-crash":
            check, severity = "testplan/crash-only-kill", "info"
            what = "killed only by crashes, never by an assertion"
        elif mutant.status == "no-coverage":
            check, severity = "testplan/uncovered-mutant", SEVERITY[top]
            what = "no test linked to its requirement runs this line"
        else:
            check, severity = "testplan/surviving-mutant", SEVERITY[top]
            what = "survived: every linked test that ran it passed"
        return _issue(check, f"{reqs}: mutant {mutant.id} {what} ({mutant.operator}: {diff}); testplan explain {mutant.id}",
                      severity, mutant.file, mutant.line, mutant.id)
