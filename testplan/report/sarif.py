"""The ``sarif`` format: SARIF 2.1.0 for code scanning (GitHub ``upload-sarif``, GitLab, IDE viewers).

Results, each at a file and line relative to the project root (``uriBaseId`` ``%SRCROOT%``):

- ``testplan/surviving-mutant``: a mutant no linked test noticed, at its line; the message names
  the requirement(s) and shows the diff. Level ``error`` for high/critical requirements, else
  ``warning``.
- ``testplan/uncovered-case``: an approved case with no linked test, at its ``id:`` line in
  ``plans/<REQ>.yaml`` (line 1 when the plan file cannot be read).
- ``testplan/link-problem``: each problem the audit found in links (dangling IDs, links to rejected
  cases), at its file and line.
- ``testplan/crash-only-kill``: a mutant killed only by crashes (note): the tests noticed an
  exception, not a wrong answer.
- ``testplan/uncovered-mutant``: a mutant on a line no test linked to its requirement runs
  (``no-coverage``), at its line with the diff; levels as for surviving mutants. Tests of other
  requirements that ran it (``--all-tests``) are named but do not count.
- ``testplan/drift`` (with ``--diff``): a requirement's code has changed lines but none of its
  linked tests and not its plan changed (:mod:`.impact`), at the first changed line of each file
  (the region spans the changed lines), level ``warning``.

Each result carries a stable ``partialFingerprints`` entry so code scanning tracks it across runs.

The run's ``properties`` carry the project ``score`` (null when incomplete or when no requirement
is judged) and, per requirement, its ``state``, ``score`` (null: UNJUDGED or incomplete),
``evidence``, ``score_basis`` (``cases``: "cases only", no mutation) and ``note`` (why it has no
score, or that it is scored on cases only; "incomplete run: ..." while the run is).
"""

from __future__ import annotations

import hashlib
import json
from typing import IO, Any

from .. import __version__
from ..result import MutantResult
from .report_core import Reporter, case_line, diff_lines, killers, no_score_reason, plan_file, visible_json

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/testplan-auditor/"

RULES: list[dict[str, Any]] = [
    {
        "id": "testplan/surviving-mutant",
        "name": "SurvivingMutant",
        "shortDescription": {"text": "A change to this line went unnoticed by the tests linked to its requirement"},
        "fullDescription": {
            "text": "testplan mutated this line (a mutant) and ran the tests linked to the requirement that owns the "
            "code; every one of them still passed. The tests execute the line but do not check what it does."
        },
        "help": {
            "text": "Add or sharpen an assertion in a test linked to the requirement so that it fails on the mutated "
            "code (check the exact value, message or state the line produces), or, if the mutant is equivalent, "
            "say so in the plan.",
            "markdown": "Add or sharpen an assertion in a test linked to the requirement so that it fails on the "
            "mutated code: check the exact value, message or state the line produces.",
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["testplan", "mutation-testing", "test-quality"], "precision": "high"},
    },
    {
        "id": "testplan/uncovered-case",
        "name": "UncoveredCase",
        "shortDescription": {"text": "An approved test case has no linked test"},
        "fullDescription": {
            "text": "The case was approved in the requirement's test plan, but no test links to it with "
            "@pytest.mark.verifies."
        },
        "help": {"text": "Write a test for the case and mark it with @pytest.mark.verifies(\"<case ID>\")."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["testplan", "traceability"], "precision": "very-high"},
    },
    {
        "id": "testplan/link-problem",
        "name": "LinkProblem",
        "shortDescription": {"text": "A test links to a requirement or case that does not exist or was rejected"},
        "fullDescription": {
            "text": "A @pytest.mark.verifies link names an unknown ID (DANGLING) or a rejected case; "
            "the test verifies nothing the plan asks for."
        },
        "help": {"text": "Fix the ID in the marker (see 'testplan status' for the plan's case IDs)."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["testplan", "traceability"], "precision": "very-high"},
    },
    {
        "id": "testplan/crash-only-kill",
        "name": "CrashOnlyKill",
        "shortDescription": {"text": "A mutant was killed only by crashes, never by an assertion"},
        "fullDescription": {
            "text": "The linked tests failed on the mutated line only because an exception escaped; "
            "no assertion checked the result."
        },
        "help": {"text": "Assert on the value or message the line produces, not only that the code runs."},
        "defaultConfiguration": {"level": "note"},
        "properties": {"tags": ["testplan", "mutation-testing", "test-quality"], "precision": "medium"},
    },
    {
        "id": "testplan/uncovered-mutant",
        "name": "UncoveredMutant",
        "shortDescription": {"text": "No test linked to the requirement runs this line"},
        "fullDescription": {
            "text": "testplan mutated this line, but none of the tests linked to the requirement that owns the "
            "code executes it, so nothing could notice the change (a no-coverage mutant)."
        },
        "help": {
            "text": "Add a test for the case this line implements and link it to the requirement with "
            "@pytest.mark.verifies, or, if the line belongs to another requirement, fix the requirement's code list.",
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["testplan", "mutation-testing", "traceability"], "precision": "high"},
    },
    {
        "id": "testplan/drift",
        "name": "RequirementDrift",
        "shortDescription": {"text": "A requirement's code changed, but none of its linked tests and not its plan did"},
        "fullDescription": {
            "text": "This change edits code a requirement owns, while the tests linked to the requirement and its "
            "reviewed test plan stay as they were: what the requirement promises may have changed unseen."
        },
        "help": {"text": "Check the change against the requirement; update or add a linked test (and the plan if the "
                         "behaviour is meant to change)."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["testplan", "traceability", "change-impact"], "precision": "medium"},
    },
]
_RULE_INDEX = {rule["id"]: index for index, rule in enumerate(RULES)}


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _location(uri: str, line: int, end_line: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(line, 1)}
    if end_line is not None and end_line > region["startLine"]:
        region["endLine"] = end_line
    return {"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": region}}


class SarifReporter(Reporter):
    name = "sarif"
    filename = "testplan.sarif"
    description = "SARIF 2.1.0 for code scanning"

    def report(self, outfile: IO[str]) -> None:
        json.dump(visible_json(self.log()), outfile, indent=2, ensure_ascii=False)
        outfile.write("\n")

    def log(self) -> dict[str, Any]:
        result = self.result
        risk = {r.id: r.risk for r in result.requirements}
        results: list[dict[str, Any]] = []
        for mutant in result.mutants:
            if mutant.status in ("survived", "no-coverage"):
                results.append(self._mutant(mutant, risk))
            elif mutant.status == "killed-by-crash":
                results.append(self._crash_only(mutant))
        for requirement in result.requirements:
            for case in requirement.cases:
                if case.state != "UNCOVERED":
                    continue
                uri = plan_file(self.context, requirement.id)
                results.append({
                    "ruleId": "testplan/uncovered-case",
                    "ruleIndex": _RULE_INDEX["testplan/uncovered-case"],
                    "level": "error" if requirement.risk in ("high", "critical") else "warning",
                    "message": {"text": f"{requirement.id}: approved case {case.id} ({case.kind}) has no linked test: {case.title}"},
                    "locations": [_location(uri, case_line(self.context, requirement.id, case.id))],
                    "partialFingerprints": {"testplanCase/v1": _fingerprint(case.id)},
                    "properties": {"requirement": requirement.id, "case": case.id, "risk": requirement.risk},
                })
        for problem in result.problems:
            results.append({
                "ruleId": "testplan/link-problem",
                "ruleIndex": _RULE_INDEX["testplan/link-problem"],
                "level": "error" if problem.severity == "error" else "warning",
                "message": {"text": problem.message},
                "locations": [_location(problem.path, problem.line)],
                "partialFingerprints": {"testplanProblem/v1": _fingerprint(problem.path, problem.message)},
            })
        impact = self.context.impact()
        for touched in impact.requirements if impact is not None else []:
            if touched.drift is None:
                continue
            for file, lines in sorted(touched.changed.items()):
                results.append({
                    "ruleId": "testplan/drift",
                    "ruleIndex": _RULE_INDEX["testplan/drift"],
                    "level": "warning",
                    "message": {"text": f"{touched.id} ({touched.risk}, {touched.state}): {touched.drift}"},
                    "locations": [_location(file, min(lines), max(lines))],
                    "partialFingerprints": {"testplanDrift/v1": _fingerprint(touched.id, file)},
                    "properties": {"requirement": touched.id, "risk": touched.risk, "base": impact.base},  # type: ignore[union-attr]
                })
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "testplan",
                    "version": result.tool.split()[-1] if result.tool else __version__,
                    "semanticVersion": __version__,
                    "informationUri": INFORMATION_URI,
                    "rules": RULES,
                }
            },
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {
                "project": result.project,
                "score": result.score,
                "gate": None if result.gate is None else ("passed" if result.gate.passed else "failed"),
                "complete": result.complete,
                "requirements": {
                    r.id: {"state": r.state, "score": r.score, "evidence": r.evidence, "score_basis": r.score_basis,
                           "note": no_score_reason(result, r)}
                    for r in result.requirements
                },
            },
        }
        if self.context.source_root is not None:
            run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": self.context.source_root.resolve().as_uri() + "/"}}
        invocation: dict[str, Any] = {"executionSuccessful": result.complete}
        if result.started_at:
            invocation["startTimeUtc"] = result.started_at.isoformat().replace("+00:00", "Z")
        if result.finished_at:
            invocation["endTimeUtc"] = result.finished_at.isoformat().replace("+00:00", "Z")
        run["invocations"] = [invocation]
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    def _mutant(self, mutant: MutantResult, risk: dict[str, str]) -> dict[str, Any]:
        """A surviving or a no-coverage mutant, at its line(s), with the diff."""
        reqs = ", ".join(mutant.requirements) or "no requirement"
        ran = list(mutant.verdicts)
        diff = "\n".join(f"{sign} {line.strip()}" for sign, line in diff_lines(mutant))
        if mutant.status == "no-coverage":
            rule, what = "testplan/uncovered-mutant", f"uncovered mutant ({mutant.operator}); no test linked to {reqs} could notice this change"
            tests = "no linked test runs this line"
            if ran:  # --all-tests: tests of other requirements ran it; they do not count for these
                tests += f"; other tests ran it, not counted (not linked to {reqs}): {', '.join(ran)}"
        else:
            rule, what = "testplan/surviving-mutant", f"surviving mutant ({mutant.operator}); no test linked to {reqs} noticed this change"
            tests = "tests that ran it and passed: " + ", ".join(n for n, v in mutant.verdicts.items() if v == "pass")
            failed = killers(mutant)  # a survivor's linked tests all passed: these are tests of other requirements
            if failed:
                tests += f"; other tests failed on it, not counted (not linked to {reqs}): {', '.join(failed)}"
        text = f"{reqs}: {what}:\n{diff}\n{tests}"
        high = any(risk.get(r) in ("high", "critical") for r in mutant.requirements)
        end_line = mutant.line + max(len(mutant.original.splitlines()), 1) - 1
        return {
            "ruleId": rule,
            "ruleIndex": _RULE_INDEX[rule],
            "level": "error" if high else "warning",
            "message": {"text": text},
            "locations": [_location(mutant.file, mutant.line, end_line)],
            "partialFingerprints": {"testplanMutant/v1": _fingerprint(mutant.id)},
            "properties": {
                "requirements": mutant.requirements,
                "mutant": mutant.id,
                "operator": mutant.operator,
                "original": mutant.original,
                "mutated": mutant.mutated,
                "tests": ran,
            },
        }

    def _crash_only(self, mutant: MutantResult) -> dict[str, Any]:
        reqs = ", ".join(mutant.requirements) or "no requirement"
        diff = "\n".join(f"{sign} {line.strip()}" for sign, line in diff_lines(mutant))
        text = (f"{reqs}: mutant ({mutant.operator}) killed only by crashes, never by an assertion:\n{diff}\n"
                f"crashed: {', '.join(killers(mutant))}")
        return {
            "ruleId": "testplan/crash-only-kill",
            "ruleIndex": _RULE_INDEX["testplan/crash-only-kill"],
            "level": "note",
            "message": {"text": text},
            "locations": [_location(mutant.file, mutant.line)],
            "partialFingerprints": {"testplanMutant/v1": _fingerprint(mutant.id)},
            "properties": {"requirements": mutant.requirements, "mutant": mutant.id, "operator": mutant.operator},
        }
