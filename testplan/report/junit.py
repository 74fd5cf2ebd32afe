"""The ``junit`` format: JUnit XML for CI test reporters (Jenkins, GitLab, GitHub actions).

Two test suites:

- ``testplan.requirements``: one ``<testcase>`` per requirement (classname ``testplan.<risk>``,
  name ``<ID> <title>``). It fails when the gate names the requirement among its reasons; the
  failure's ``message`` is those reasons joined by "; " (plus `` (state <STATE>)`` when they do
  not name the state); its text adds the scores and the cases that are not VERIFIED. When the result has no gate, a requirement in a bad state
  (NOK, UNCOVERED, SUSPECT, UNREVIEWED, WEAK, UNJUDGED) fails with its state's meaning instead.
  An UNJUDGED requirement the gate does not fail is ``<skipped>`` with the reason it has no
  score. The ``score`` property reads ``incomplete`` for an incomplete run, ``—`` for no score,
  ``75.0 (cases only)`` without mutation.
- ``testplan.gate``: one ``<testcase>`` "project gate", failing when the gate failed for reasons
  that name no requirement (project score below the threshold) or the run is incomplete, so a
  report never shows green for a failed gate.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import IO

from ..result import AuditResult, RequirementResult
from .report_core import (
    BAD_STATES,
    STATE_MEANING,
    Reporter,
    gate_reasons_for,
    gate_text,
    no_score_reason,
    pct,
    project_reasons,
    project_score_text,
    requirement_score_text,
    signed_pct,
    visible,
)


def requirement_failure(result: AuditResult, requirement: RequirementResult) -> str | None:
    """The failure message of a requirement's testcase, or None when it passes."""
    reasons = gate_reasons_for(result, requirement.id)
    if reasons:
        message = "; ".join(reasons)
        if not re.search(rf"\b{requirement.state}\b", message):
            message += f" (state {requirement.state})"
        return message
    if result.gate is None and requirement.state in BAD_STATES:
        meaning = requirement.evidence_reason if requirement.state == "UNJUDGED" and requirement.evidence_reason else STATE_MEANING[requirement.state]
        return f"{requirement.id} is {requirement.state}: {meaning}"
    return None


def gate_failure(result: AuditResult) -> str | None:
    if not result.complete:
        return "incomplete run: " + (result.incomplete_reason or "the audit did not finish") + "; a gate never passes on an incomplete run"
    if result.gate is None or result.gate.passed:
        return None
    reasons = project_reasons(result)
    if reasons:
        return "gate failed: " + "; ".join(reasons)
    return "gate failed: see the requirements that fail"


def _seconds(result: AuditResult) -> str:
    if result.started_at and result.finished_at:
        return f"{max((result.finished_at - result.started_at).total_seconds(), 0.0):.3f}"
    return "0"


class JUnitReporter(Reporter):
    name = "junit"
    filename = "testplan-junit.xml"
    description = "JUnit XML, one testcase per requirement"

    def report(self, outfile: IO[str]) -> None:
        result = self.result
        root = ET.Element("testsuites", name=visible(f"testplan {result.project or ''}".strip()))
        suite = ET.SubElement(root, "testsuite", name="testplan.requirements")
        failures = skipped = 0
        tests_of = {t.nodeid: t for t in result.tests}
        for requirement in result.requirements:
            case = ET.SubElement(
                suite,
                "testcase",
                name=visible(f"{requirement.id} {requirement.title}"),
                classname=f"testplan.{requirement.risk}",
                time="0",
            )
            props = ET.SubElement(case, "properties")
            for key, value in (
                ("requirement", requirement.id),
                ("state", requirement.state),
                ("plan_state", requirement.plan_state),
                ("risk", requirement.risk),
                ("score", requirement_score_text(result, requirement)),
                ("evidence", requirement.evidence or ""),
                ("score_basis", requirement.score_basis or ""),
            ):
                ET.SubElement(props, "property", name=key, value=visible(value))
            message = requirement_failure(result, requirement)
            if message is not None:
                failures += 1
                failure = ET.SubElement(case, "failure", message=visible(message), type=f"testplan.{requirement.state}")
                failure.text = visible(self._details(requirement, message))
            elif requirement.state == "UNJUDGED":
                skipped += 1
                ET.SubElement(case, "skipped", message=visible(f"UNJUDGED, no score: {requirement.evidence_reason or ''}"))
            out = [self._scores(requirement)]
            why = no_score_reason(result, requirement)
            if why:
                out.append(why)
            failing_tests = [n for n in requirement.tests if n in tests_of and tests_of[n].outcome in ("failed", "error")]
            if failing_tests:
                out.append("failing tests: " + ", ".join(failing_tests))
            ET.SubElement(case, "system-out").text = visible("\n".join(out))
        suite.set("tests", str(len(result.requirements)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        suite.set("time", _seconds(result))
        if result.started_at:
            suite.set("timestamp", result.started_at.replace(tzinfo=None).isoformat(timespec="seconds"))

        gate_suite = ET.SubElement(root, "testsuite", name="testplan.gate", tests="1", errors="0", skipped="0")
        gate_case = ET.SubElement(gate_suite, "testcase", name="project gate", classname="testplan", time="0")
        message = gate_failure(result)
        gate_suite.set("failures", "1" if message else "0")
        if message:
            failure = ET.SubElement(gate_case, "failure", message=visible(message), type="testplan.gate")
            failure.text = visible("\n".join(result.gate.reasons) if result.gate else message)
        ET.SubElement(gate_case, "system-out").text = visible(
            f"project score {project_score_text(result)}; gate {gate_text(result)}"
        )
        root.set("tests", str(len(result.requirements) + 1))
        root.set("failures", str(failures + (1 if message else 0)))
        root.set("errors", "0")
        root.set("skipped", str(skipped))
        root.set("time", _seconds(result))

        ET.indent(root)
        outfile.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        outfile.write(ET.tostring(root, encoding="unicode"))
        outfile.write("\n")

    def _scores(self, r: RequirementResult) -> str:
        return (
            f"score {requirement_score_text(self.result, r)} · C {pct(r.case_coverage)} · O {pct(r.oracle_score)} · M {pct(r.mutation_score)} · "
            f"L {pct(r.line_coverage)} · oracle gap {signed_pct(r.oracle_gap)}"
        )

    def _details(self, r: RequirementResult, message: str) -> str:
        lines = [message, self._scores(r)]
        open_cases = [c for c in r.cases if c.state not in ("VERIFIED", "REJECTED")]
        for c in open_cases:
            lines.append(f"  {c.id} {c.state}: {c.title}")
        if r.mutants and r.mutants.survived:
            lines.append(f"{r.mutants.survived} surviving mutant{'s' if r.mutants.survived != 1 else ''} in {', '.join(r.code)}")
        return "\n".join(lines)
