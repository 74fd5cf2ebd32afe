"""The ``html`` format: one self-contained file for a reviewer, readable offline and on paper.

Four views, switched by the URL fragment (``#src:FILE:LINE``, ``#mut``, ``#test:N``), nothing fetched:

* **Requirements** (the default): the project score and the gate verdict with its reasons, what a
  ``--diff`` change touches (see :mod:`.impact`), then the traceability matrix, one row per
  requirement (state, risk, scores) that opens onto its cases (kind, status, state), the tests
  linked to each (outcome, flags, verdicts on the requirement's mutants), its code lines (links
  into the source view, covered / executable) and its undetected and crash-only mutants.
* **Source**: each file with line numbers; every run-time line of a requirement's code marked
  covered or not by that requirement's linked tests, the requirement IDs beside it (links back),
  and each mutant inline: status, ID, the ``testplan explain ID`` command, its diff and the
  verdict of every test that ran it.
* **Mutants**: search by ID, file, operator, status or requirement.
* **Tests**: per test, the cases it verifies and the mutants it kills by assertion, by crash or
  timeout, and those that got through it.

Everything but the requirement rows is rendered on demand by inline vanilla JS from one embedded
JSON document (``<script type="application/json" id="tp-data">``), so a large audit stays a
small file. The CSS is inline, follows ``prefers-color-scheme`` and fits a 390 px screen; printing
renders and expands every requirement and hides the controls. The legend's texts are the scorer's
own (:data:`testplan.score.METRIC_MEANING`, :data:`~testplan.score.MUTANT_STATUS_MEANING`).

The template (``templates/report.html.j2``) is rendered by jinja2 with autoescaping on; the view
model built here holds only plain strings, numbers, lists and dicts, and the JSON is escaped
for a script element.
"""

from __future__ import annotations

import json
from typing import IO, Any

from ..errors import InputError
from ..ranges import parse_line_ranges
from ..result import VERDICT_CODE, AuditResult, MutantResult, RequirementResult
from ..score import METRIC_MEANING, MUTANT_STATUS_MEANING, VERDICT_MEANING
from .report_core import (
    matrix_text,
    BAD_STATES,
    REQUIREMENT_STATES,
    STATE_MEANING,
    Reporter,
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
    read_source,
    visible,
    visible_json,
)

RISKS = ("critical", "high", "medium", "low")
MAX_SOURCE_BYTES = 512 * 1024  # a larger source file is left out of the source view


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
        view = build_view(self.result)
        impact = self.context.impact()
        view["impact"] = impact.as_view() if impact is not None else None
        view["data"] = _script_json(build_data(self.result, self._sources(), view.get("impact")))
        outfile.write(template.render(**view))

    def _sources(self) -> dict[str, str]:
        """The text of every file with a requirement's code or a mutant (when the project is at hand)."""
        if self.context.source_root is None:
            return {}
        names = sorted({m.file for m in self.result.mutants} | {f for r in self.result.requirements for f in r.code_lines})
        out: dict[str, str] = {}
        for name in names:
            path = self.context.source_root / name
            try:
                if path.stat().st_size > MAX_SOURCE_BYTES:
                    continue
                out[name] = read_source(self.context, name, "source view")
            except (OSError, InputError):
                continue  # the report is still useful without that file's text
        return out


def _script_json(value: Any) -> Any:
    """JSON safe inside ``<script type="application/json">``: no ``<`` at all."""
    from markupsafe import Markup

    text = json.dumps(visible_json(value), ensure_ascii=False, separators=(",", ":"))
    # '<' occurs only inside JSON strings: as \u003c no '</script>' or '<!--' can end the element
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def build_data(result: AuditResult, sources: dict[str, str], impact: Any = None) -> dict[str, Any]:
    """The embedded document the views render from, compact: tests and mutants are arrays
    (the field order is in ``fields``), and mutants refer to tests by index."""
    tests = [t.nodeid for t in result.tests]
    index = {nodeid: i for i, nodeid in enumerate(tests)}
    case_titles: dict[str, list[str]] = {}
    for r in result.requirements:
        for c in r.cases:
            case_titles[c.id] = [c.title, c.state]
    test_rows = []
    for t in result.tests:
        cases = [c.id for r in result.requirements for c in r.cases if t.nodeid in c.tests]
        reqs = [r.id for r in result.requirements if t.nodeid in r.tests]
        test_rows.append([t.nodeid, t.file, t.line, t.outcome, t.state, cases, reqs, t.failure_class])
    for r in result.requirements:  # linked by the requirement but not in result.tests (not run)
        for nodeid in r.tests:
            if nodeid not in index:
                index[nodeid] = len(test_rows)
                test_rows.append([nodeid, "", 0, "unknown", "LINKED", [], [r.id], None])
    mutant_index = {m.id: i for i, m in enumerate(result.mutants)}
    mutants = []
    for m in result.mutants:
        verdicts: dict[str, list[int]] = {}
        for nodeid, verdict in m.verdicts.items():
            if nodeid not in index:
                index[nodeid] = len(test_rows)
                test_rows.append([nodeid, "", 0, "unknown", "ORPHAN", [], [], None])
            verdicts.setdefault(VERDICT_CODE[verdict], []).append(index[nodeid])
        mutants.append([m.id, m.file, m.line, m.operator, m.status, m.original, m.mutated, m.requirements, verdicts])
    requirements = {}
    for r in result.requirements:
        mine = mutants_of(result, r.id)
        seen = {m.id: status_in(result, m, r.id) for m in mine}
        requirements[r.id] = {
            "title": r.title, "state": r.state, "risk": r.risk,
            "code": r.code_lines, "covered": r.covered_lines,
            "undetected": [mutant_index[i] for i, s in seen.items() if s in ("survived", "no-coverage")],
            "crash": [mutant_index[i] for i, s in seen.items() if s in ("killed-by-crash", "timeout")],
        }
    return {
        "fields": {"tests": ["nodeid", "file", "line", "outcome", "state", "cases", "requirements", "failure_class"],
                   "mutants": ["id", "file", "line", "operator", "status", "original", "mutated", "requirements", "verdicts"]},
        "tests": test_rows,
        "mutants": mutants,
        "requirements": requirements,
        "cases": case_titles,
        "files": sources,
        "impact": impact,
        "meaning": {"status": MUTANT_STATUS_MEANING, "verdict": VERDICT_MEANING},
    }


def _verdict_counts(nodeid: str, mutants: list[MutantResult]) -> dict[str, int]:
    counts = {"assert": 0, "crash": 0, "timeout": 0, "pass": 0}
    for mutant in mutants:
        verdict = mutant.verdicts.get(nodeid)
        if verdict is not None:
            counts[verdict] += 1
    return counts


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
    critique: dict[str, list[dict[str, str]]] = {}
    for f in result.critique:
        if f.requirement == r.id:
            critique.setdefault(f.case, []).append({"test": f.test, "label": f.label, "reason": f.reason, "by": f.by})
    cases = [
        {
            "id": c.id,
            "title": c.title,
            "kind": c.kind,
            "status": c.status,
            "state": c.state,
            "tests": [test_view(n) for n in c.tests],
            "critique": critique.get(c.id, []),
        }
        for c in r.cases
    ]
    whole = [test_view(n) for n in r.tests if n not in in_cases]
    statuses = [status_in(result, m, r.id) for m in mutants]
    code_files = []
    for file, ranges in r.code_lines.items():
        lines = parse_line_ranges(ranges)
        covered = parse_line_ranges(r.covered_lines.get(file, "")) & lines
        code_files.append({"file": file, "first": min(lines) if lines else 1, "ranges": ranges,
                           "covered": len(covered), "total": len(lines)})
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
        "undetected": sum(1 for s in statuses if s in ("survived", "no-coverage")),
        "crash_only": sum(1 for s in statuses if s in ("killed-by-crash", "timeout")),
        "code_files": code_files,
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
        "matrix": matrix_text(result),
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
        "metric_meaning": METRIC_MEANING,
        "status_meaning": MUTANT_STATUS_MEANING,
        "verdict_meaning": VERDICT_MEANING,
        "impact": None,
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
