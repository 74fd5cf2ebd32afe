"""The gate: does an audit result pass the project's thresholds? And the exit code it maps to.

Thresholds come from ``[tool.testplan]`` (``min_score``, ``min_requirement_score``,
``fail_on``); flags override them (``fail_on=["none"]`` clears the configured list).

What each ``fail_on`` value matches:

``suspect``     a requirement whose plan is SUSPECT.
``unreviewed``  a requirement whose plan is UNREVIEWED or missing.
``failing``     a requirement with a failing (failed/error) linked test, whatever its plan state.
``uncovered``   a requirement with an APPROVED plan that approves no case or has an approved case
                that is UNCOVERED or SKIPPED (checked on the cases, so NOK does not hide it).
``weak``        a requirement in state WEAK, or with an APPROVED plan and a WEAK approved case.
``unjudged``    a requirement in state UNJUDGED (no evidence: no run-time line, no mutant, only
                crash/timeout-detected mutants, or none in this run's selection).
``dangling``    a test in state DANGLING.
``orphan``      a test in state ORPHAN; on a result traced with ``--linked-only`` (no unlinked
                test ran) it cannot be checked, and the gate fails saying so.

An incomplete result (``complete: false``) never passes, and :func:`exit_code` maps it to 4.
A complete result in which no requirement has a score (``score: null``) never passes either,
whatever ``min_score`` is: it judged nothing. ``min_requirement_score`` applies to the
requirements that have a score; one without (UNJUDGED) is caught by ``fail_on: unjudged``, and
its missing score counts towards neither passing nor failing that minimum.
"""

from __future__ import annotations

from collections.abc import Iterable

from .config import GATE_STATES, Config
from .errors import ExitCode, InputError
from .result import AuditResult, GateResult, RequirementResult

FAILING = frozenset({"failed", "error"})


def parse_fail_on(values: Iterable[str] | str | None) -> list[str] | None:
    """Normalise a ``--fail-on`` value (comma-separated and/or repeated); ``none`` clears.

    Returns None when nothing was given (the config's list applies).
    """
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    states: list[str] = []
    for item in items:
        for part in item.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name == "none":
                states = []
                continue
            if name not in GATE_STATES:
                raise InputError(f"--fail-on: unknown state '{name}'; use a comma-separated list of {', '.join(GATE_STATES)}, or none")
            if name not in states:
                states.append(name)
    return states


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _requirement_reasons(req: RequirementResult, fail_on: list[str], outcomes: dict[str, str]) -> list[str]:
    reasons = []
    label = f"{req.id} ({req.title})"
    if "suspect" in fail_on and req.plan_state == "SUSPECT":
        reasons.append(f"{label} is SUSPECT: changed after review; approve it again")
    if "unreviewed" in fail_on and req.plan_state in ("UNREVIEWED", "NO PLAN"):
        what = "has no plan" if req.plan_state == "NO PLAN" else "has an unreviewed plan"
        reasons.append(f"{label} {what}; run 'testplan approve {req.id} --by NAME'")
    if "failing" in fail_on:
        failing = [n for n in req.tests if outcomes.get(n) in FAILING]
        if failing:
            reasons.append(f"{label} has {len(failing)} failing linked test{'s' if len(failing) != 1 else ''}: {', '.join(failing)}")
    approved = [c for c in req.cases if c.status == "approved"]
    if "uncovered" in fail_on and req.plan_state == "APPROVED":
        uncovered = [c.id for c in approved if c.state in ("UNCOVERED", "SKIPPED")]
        if not approved:
            reasons.append(f"{label} is UNCOVERED: its plan approves no case")
        elif uncovered:
            reasons.append(f"{label} is UNCOVERED: no passing or running test for {', '.join(uncovered)}")
    if "weak" in fail_on:
        weak = [c.id for c in approved if c.state == "WEAK"] if req.plan_state == "APPROVED" else []
        if weak:
            reasons.append(f"{label} is WEAK: the tests of {', '.join(weak)} kill no mutant of its code")
        elif req.state == "WEAK":
            reasons.append(f"{label} is WEAK: oracle score {_fmt(req.oracle_score)} is below 0.5")
    if "unjudged" in fail_on and req.state == "UNJUDGED":
        reasons.append(f"{label} is UNJUDGED: {req.evidence_reason or 'the audit has no evidence about its tests'}")
    return reasons


def apply_gate(result: AuditResult, config: Config, min_score: float | None = None,
               min_requirement_score: float | None = None, fail_on: Iterable[str] | str | None = None) -> GateResult:
    """Evaluate the gate on ``result`` (not modified). Flags, when given, override the config."""
    threshold = config.min_score if min_score is None else float(min_score)
    per_requirement = config.min_requirement_score if min_requirement_score is None else float(min_requirement_score)
    parsed = parse_fail_on(fail_on)
    states = list(config.fail_on) if parsed is None else parsed
    for name, value in (("--min-score", threshold), ("--min-requirement-score", per_requirement)):
        if not 0 <= value <= 100:
            raise InputError(f"{name}: {value:g} is out of range; use a number from 0 to 100")

    reasons: list[str] = []
    by_requirement: dict[str, list[str]] = {}
    if not result.complete:
        why = f": {result.incomplete_reason}" if result.incomplete_reason else ""
        reasons.append(f"the audit is incomplete{why}; an incomplete audit never passes")
    elif result.score is None and result.requirements:
        reasons.append("no requirement has a score: the audit judged nothing (every requirement is UNJUDGED); "
                       "see why in the table and make its code mutable, or run without --diff/--max-mutants")
    elif threshold > 0 and (result.score is None or result.score < threshold):
        reasons.append(f"project score {_fmt(result.score)} is below the minimum {threshold:g}")
    outcomes = {t.nodeid: t.outcome for t in result.tests}
    for req in result.requirements:
        own = []
        if per_requirement > 0 and req.score is not None and req.score < per_requirement:
            own.append(f"{req.id} ({req.title}) scores {req.score:g}, below the per-requirement minimum {per_requirement:g} [{req.state}]")
        own.extend(_requirement_reasons(req, states, outcomes))
        if own:
            by_requirement[req.id] = own
            reasons.extend(own)
    known = {r.id for r in result.requirements} | {c.id for r in result.requirements for c in r.cases}
    for test in result.tests:
        if "dangling" in states and test.state == "DANGLING":
            unknown = [link for link in test.links if link not in known] or test.links
            reasons.append(f"{test.nodeid} ({test.file}:{test.line}) links an unknown ID: {', '.join(unknown)}")
        if "orphan" in states and test.state == "ORPHAN":
            reasons.append(f"{test.nodeid} ({test.file}:{test.line}) is ORPHAN: it links no requirement or case")
    if "orphan" in states and result.linked_only:
        reasons.append("fail on orphan cannot be checked: the audit traced only the linked tests (--linked-only), so "
                       "no unlinked test ran; audit without --linked-only, or drop orphan from fail_on")
    return GateResult(passed=not reasons, min_score=threshold, min_requirement_score=per_requirement,
                      fail_on=states, reasons=reasons, requirements=by_requirement)


def exit_code(result: AuditResult) -> ExitCode:
    """4 when the result is incomplete (it never passes); else 0 when the gate passed, 1 otherwise
    (a result without a gate verdict has not passed)."""
    if not result.complete:
        return ExitCode.INCOMPLETE
    if result.gate is not None and result.gate.passed:
        return ExitCode.OK
    return ExitCode.GATE_FAILED
