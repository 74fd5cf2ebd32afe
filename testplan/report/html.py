"""The ``html`` format: one self-contained file for a reviewer, readable offline and on paper.

Top: the project score and the gate verdict with its reasons. Then the traceability matrix, one
row per requirement (state, risk, scores) that opens onto its cases (kind, status, state) and the
tests linked to each (outcome, flags, and how each test fared against the requirement's mutants),
then the requirement's undetected mutants as diffs (original line red, mutated green) with the
tests that ran them. Filters by state and risk and a search box are inline vanilla JS; the CSS is
inline; nothing is fetched. Printing expands every requirement and hides the controls.

The template (``templates/report.html.j2``) is rendered by jinja2 with autoescaping on; the view
model built here holds only plain strings, numbers, lists and dicts.
"""

from __future__ import annotations

from typing import IO, Any

from ..result import AuditResult, MutantResult, RequirementResult
from .report_core import (
    BAD_STATES,
    REQUIREMENT_STATES,
    STATE_MEANING,
    Reporter,
    diff_lines,
    gate_reasons_for,
    gate_text,
    mutants_of,
    no_score_reason,
    status_in,
    pct,
    project_reasons,
    project_score_text,
    requirement_score_text,
    signed_pct,
    status_reason,
    visible,
)

RISKS = ("critical", "high", "medium", "low")
MAX_MUTANTS_SHOWN = 200  # per requirement and kind; the rest are counted


def _shown(value: Any) -> Any:
    """Every ``{{ value }}`` of the template: user text with control characters shown escaped."""
    return visible(value) if isinstance(value, str) and not hasattr(value, "__html__") else value


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("testplan.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        finalize=_shown,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class HtmlReporter(Reporter):
    name = "html"
    filename = "testplan.html"
    description = "self-contained HTML reviewer report"

    def report(self, outfile: IO[str]) -> None:
        template = _environment().get_template("report.html.j2")
        outfile.write(template.render(**build_view(self.result)))


def _verdict_counts(nodeid: str, mutants: list[MutantResult]) -> dict[str, int]:
    counts = {"assert": 0, "crash": 0, "timeout": 0, "pass": 0}
    for mutant in mutants:
        verdict = mutant.verdicts.get(nodeid)
        if verdict is not None:
            counts[verdict] += 1
    return counts


def _mutant_view(mutant: MutantResult) -> dict[str, Any]:
    return {
        "id": mutant.id,
        "where": f"{mutant.file}:{mutant.line}",
        "line": mutant.line,
        "operator": mutant.operator,
        "status": mutant.status,
        "diff": [{"sign": sign, "text": text} for sign, text in diff_lines(mutant)],
        "verdicts": sorted(mutant.verdicts.items()),
        "reason": status_reason(mutant),
        "requirements": mutant.requirements,
    }


def _requirement_view(result: AuditResult, r: RequirementResult, tests: dict[str, Any]) -> dict[str, Any]:
    mutants = mutants_of(result, r.id)

    def test_view(nodeid: str) -> dict[str, Any]:
        test = tests.get(nodeid)
        return {
            "nodeid": nodeid,
            "outcome": test.outcome if test else "unknown",
            "failure_class": test.failure_class if test else None,
            "flags": test.flags if test else [],
            "where": f"{test.file}:{test.line}" if test else "",
            "verdicts": _verdict_counts(nodeid, mutants),
        }

    in_cases = {n for c in r.cases for n in c.tests}
    cases = [
        {
            "id": c.id,
            "title": c.title,
            "kind": c.kind,
            "status": c.status,
            "state": c.state,
            "tests": [test_view(n) for n in c.tests],
        }
        for c in r.cases
    ]
    whole = [test_view(n) for n in r.tests if n not in in_cases]
    undetected = [m for m in mutants if status_in(result, m, r.id) in ("survived", "no-coverage")]
    crash_only = [m for m in mutants if status_in(result, m, r.id) == "killed-by-crash"]
    search = " ".join(
        [r.id, r.title, r.state, r.risk, *r.code]
        + [f"{c.id} {c.title} {c.kind} {c.state}" for c in r.cases]
        + list(r.tests)
    ).lower()
    counts = r.mutants
    return {
        "id": r.id,
        "title": r.title,
        "risk": r.risk,
        "state": r.state,
        "state_meaning": STATE_MEANING.get(r.state, ""),
        "plan_state": r.plan_state,
        "bad": r.state in BAD_STATES,
        "score": requirement_score_text(result, r),
        "score_value": r.score,
        "no_score_reason": no_score_reason(result, r) if result.complete else None,  # incomplete: the notice says it
        "cases_only": r.score_basis == "cases",
        "c": pct(r.case_coverage),
        "o": pct(r.oracle_score),
        "m": pct(r.mutation_score),
        "l": pct(r.line_coverage),
        "gap": signed_pct(r.oracle_gap),
        "gap_wide": r.oracle_gap is not None and r.oracle_gap >= 0.25,
        "code": r.code,
        "unmutated": r.unmutated,
        "reasons": gate_reasons_for(result, r.id),
        "counts": counts.model_dump() if counts else None,
        "survived": counts.survived if counts else None,
        "cases": cases,
        "whole_tests": whole,
        "undetected": [_mutant_view(m) for m in undetected[:MAX_MUTANTS_SHOWN]],
        "undetected_more": max(len(undetected) - MAX_MUTANTS_SHOWN, 0),
        "crash_only": [_mutant_view(m) for m in crash_only[:MAX_MUTANTS_SHOWN]],
        "crash_only_more": max(len(crash_only) - MAX_MUTANTS_SHOWN, 0),
        "search": search,
    }


def build_view(result: AuditResult) -> dict[str, Any]:
    """The template's context: plain data only (every string is escaped by the template)."""
    tests = {t.nodeid: t for t in result.tests}
    requirements = [_requirement_view(result, r, tests) for r in result.requirements]
    state_counts = {s: sum(1 for r in result.requirements if r.state == s) for s in REQUIREMENT_STATES}
    risk_counts = {k: sum(1 for r in result.requirements if r.risk == k) for k in RISKS}
    unlinked = [t for t in result.tests if t.state != "LINKED"]
    verdict = gate_text(result)
    gate = result.gate
    totals = {"total": len(result.mutants)}
    for status in ("killed", "killed-by-crash", "timeout", "survived", "no-coverage"):
        totals[status] = sum(1 for m in result.mutants if m.status == status)
    return {
        "project": result.project or "project",
        "tool": result.tool,
        "score": project_score_text(result),
        "score_is_number": result.complete and result.score is not None,
        "verdict": verdict,
        "complete": result.complete,
        "incomplete_reason": result.incomplete_reason,
        "shard": result.shard,
        "mutation": result.mutation,
        "started": result.started_at.strftime("%Y-%m-%d %H:%M %Z").strip() if result.started_at else None,
        "finished": result.finished_at.strftime("%Y-%m-%d %H:%M %Z").strip() if result.finished_at else None,
        "gate": None if gate is None else {
            "min_score": f"{gate.min_score:g}",
            "min_requirement_score": f"{gate.min_requirement_score:g}",
            "fail_on": gate.fail_on,
            "reasons": gate.reasons,
            "project_reasons": project_reasons(result),
        },
        "requirements": requirements,
        "states": [(s, n) for s, n in state_counts.items() if n],
        "risks": [(k, n) for k, n in risk_counts.items() if n],
        "state_meaning": STATE_MEANING,
        "totals": totals,
        "tests_total": len(result.tests),
        "unlinked": [
            {"nodeid": t.nodeid, "state": t.state, "where": f"{t.file}:{t.line}", "links": t.links, "outcome": t.outcome}
            for t in unlinked
        ],
        "problems": [
            {"where": f"{p.path}:{p.line}" if p.line else p.path, "message": p.message, "severity": p.severity}
            for p in result.problems
        ],
    }
