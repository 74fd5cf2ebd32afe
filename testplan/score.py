"""States and scores: pure functions from (Project, TraceData, mutants) to an AuditResult.

Nothing here runs tests or mutants; it classifies what trace and mutation recorded.

Links
-----
A test links to case IDs (``PAY-1.3``) or to whole requirements (``PAY-1``).

* A **case link** covers that case: it counts for case coverage and for the case's state.
* A **requirement link** makes the test one of the requirement's tests (line coverage,
  oracle score, NOK) but covers **no case**: every approved case needs its own link.
* A link to a **rejected** case counts for nothing (a warning problem per such link).
* The tests of requirement R (``RequirementResult.tests``) are those linking R itself or a
  proposed/approved case of R.

Test states (first match wins)
------------------------------
``ORPHAN``        no links at all.
``DANGLING``      at least one link is malformed, names an unknown requirement, or an unknown case
                  (an error problem per bad link). Its valid links still count.
``REJECTED-LINK`` every link names a rejected case.
``LINKED``        otherwise.

Where a link problem points: a bad ID a ``verifies`` marker names, at the test's definition
(``tests/test_x.py:12``); one the ``[tool.testplan.links]`` table gives, at the pattern's line of
``pyproject.toml``, once per pattern and ID however many tests it matches. A links-table
pattern that matches no test is a warning at its line.

Test outcomes: ``passed``/``xpassed`` pass; ``failed``/``error`` fail; ``skipped``/``xfailed``
are skipped. A mutant is *killed* by a test when its verdict is ``assert``, ``crash`` or
``timeout`` (for case states and M_R; O_R counts ``assert`` only).

Case states
-----------
``REJECTED`` / ``UNREVIEWED`` for rejected / proposed cases. For an approved case:
``UNCOVERED`` (no linked test), else ``FAILING`` (a linked test fails), else ``SKIPPED`` (no
linked test passes), else — the linked tests pass — ``VERIFIED``, except with mutation data:
``WEAK`` when R's scope has mutants and none of the case's linked tests kills any of them
(no mutants in scope: ``VERIFIED``).

Evidence (``RequirementResult.evidence``)
------------------------------------------
What the mutation run tells about R's tests' oracles, first match wins:

``mutants``    at least one mutant of R's scope was killed by an assertion of R's tests, or
               survived, or no test of R runs it: O_R is defined.
``crash-only`` R's scope has mutants, and every one is detected only by crashes or timeouts.
``no-code``    R's code has no run-time line (module- or class-level code only, or no code).
``no-mutants`` mutmut generates no mutant for R's code (e.g. an exceptions-only module).
``not-run``    mutation did not run (``--no-mutation``), or mutmut generated mutants for R's
               code but none is in this run's ``--diff``/``--shard``/``--max-mutants``
               selection (or, under ``--diff``, R's files were not mutated at all).

``score_basis`` is ``cases`` when mutation did not run (S_R = 100 · C_R, "cases only" in every
report) and ``mutants`` otherwise. A requirement *without evidence* is one whose evidence is not
``mutants`` and whose basis is not ``cases``; ``evidence_reason`` says why in one phrase.

Requirement states (first match wins)
-------------------------------------
1. ``SUSPECT`` when the plan is SUSPECT; ``UNREVIEWED`` when it is UNREVIEWED or there is no plan.
2. ``NOK`` when a test of R fails (failed/error).
3. ``UNCOVERED`` when an approved case is UNCOVERED or SKIPPED, or the plan approves no case.
4. ``UNJUDGED`` when R is without evidence (see above).
5. ``WEAK`` (mutation only) when an approved case is WEAK, or O_R < 0.5.
6. ``OK``.

Scores (DESIGN.md section 5)
----------------------------
* ``C_R`` case coverage = approved cases in state VERIFIED or WEAK / approved cases (a case with
  a failing linked test is not covered even if another linked test passes). ``None`` when the
  plan approves no case.
* ``O_R`` oracle score = mutants of R's scope killed by an ``assert`` verdict of one of R's
  tests / mutants of R's scope that are *not* detected solely by crashes or timeouts. A mutant
  whose only detecting verdicts are ``crash`` or ``timeout`` (the mutated code raised, e.g.
  ``x = None`` then ``x.y``, or looped forever) is left out of both sides: any test that runs
  the line notices it, so it says nothing about the tests' oracle. The first ``assert`` or
  ``timeout`` of R's tests in suite order decides (:mod:`testplan.mutate.outcome`): an
  ``assert`` makes it killed whatever the later tests say. It still counts as detected in M_R and
  is reported as ``killed-by-crash`` / ``timeout``. (DESIGN.md first gave crash kills half
  credit; that capped a suite with no survivor at the share of crash-prone lines in the code —
  0.79 on the example's PAY-1 — measuring the code rather than the tests. Timeouts counted as
  kills until a suite stripped of every assertion kept O = 0.29 from timeouts alone.) A mutant
  with no verdicts at all is credited from its status. ``None`` when mutation did not run or
  no mutant is left to judge (then R is without evidence).
* ``M_R`` mutation score (Stryker) = detected / (detected + survived + no-coverage), detected =
  killed + killed-by-crash + timeout, each mutant's status judged by R's own tests (a mutant in
  two requirements' code that only the other's tests kill survives for R). ``None`` as for O_R.
* ``L_R`` line coverage = run-time statement lines of R's code spans executed by R's tests /
  run-time statement lines of the spans. Statement lines come from coverage.py's parser (so
  docstrings, blank lines and ``# pragma: no cover`` lines do not count); *run-time* lines are
  those inside a function body (def lines, decorators, class bodies and module-level code run
  at import, outside any test). ``None`` when R's spans have no run-time line.
* oracle gap = L_R − O_R (``None`` unless both are known).
* ``S_R``, first match wins: SUSPECT and UNREVIEWED requirements score 0 and stay in the
  project mean (fail closed: a plan nobody vouches for pulls the score down, evidence or not);
  a requirement without evidence has no score (``None``, never 100) and is left out of the
  mean, whatever its state; a plan approving no case scores 0; else S_R = 100 · C_R · O_R, or
  100 · C_R on the ``cases`` basis (``--no-mutation``).
* project score = Σ w_R · S_R / Σ w_R over the requirements with a score, risk weights low 1,
  medium 2, high 3, critical 5 (``None`` when no requirement has a score; the gate fails then).
* An incomplete result has no score at all: :meth:`AuditResult.withhold_scores` sets the
  project's and every requirement's score to ``None`` while ``complete`` is false.

Ratios are rounded to 4 decimals and scores to 2 in the result; the project score is computed
from unrounded S_R.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from . import pyast
from .errors import InputError
from .model import CaseStatus, PlanState, Requirement, is_case_id, is_requirement_id, plan_state, requirement_of
from .result import (
    AuditResult,
    CaseResult,
    MutantCounts,
    MutantResult,
    Problem,
    RequirementResult,
    TestResult,
)
from .ranges import line_ranges
from .review import Project, counted_requirement
from .links import dedupe, matches
from .mutate.outcome import status as outcome_status
from .scope import CodeSpan, ref_spans
from .trace import TestRecord, TraceData

PASSING = frozenset({"passed", "xpassed"})
FAILING = frozenset({"failed", "error"})
KILLING_VERDICTS = frozenset({"assert", "crash", "timeout"})
WEAK_ORACLE = Fraction(1, 2)  # a requirement with O_R below this is WEAK

# What each figure means, in one phrase each: the reports' legends show these texts, so they say
# what the functions below compute (keep them in step with the module docstring).
METRIC_MEANING: dict[str, str] = {
    "C": "case coverage: approved cases with a passing linked test / approved cases",
    "O": ("oracle score: mutants of the requirement's code killed by an assertion of a linked test / its mutants "
          "not detected solely by crashes or timeouts (those are left out of both sides, they count for nothing: "
          "a crash or a hang shows the line ran, not that anything checked it)"),
    "M": "mutation score (Stryker's): detected / (detected + survived + not covered), detected = killed + killed by crash + timeout",
    "L": "line coverage: run-time statement lines of the requirement's code executed by its linked tests / those lines",
    "Gap": "oracle gap L − O: code the tests run but do not check",
    "Score": ("100 · C · O; 100 · C, marked \"cases only\", when mutation did not run; 0 while the plan is SUSPECT or "
              "UNREVIEWED; \"—\" (no score) for an UNJUDGED requirement, which is left out of the project score, the "
              "risk-weighted mean of the others (low 1, medium 2, high 3, critical 5); \"incomplete\" for every score "
              "of an incomplete run"),
}
MUTANT_STATUS_MEANING: dict[str, str] = {
    "killed": "a linked test failed an assertion (counts for O and M)",
    "killed-by-crash": "only crashes (an exception escaped) detected it: counts for M, left out of O",
    "timeout": "a linked test hung under it: counts for M, left out of O",
    "survived": "every linked test that ran it passed: counts against O and M",
    "no-coverage": "no linked test runs its line: counts against O and M",
}
VERDICT_MEANING: dict[str, str] = {
    "assert": "the test failed an assertion: killed",
    "crash": "an exception escaped the test: detected, not an oracle kill",
    "timeout": "the test hung: detected, not an oracle kill",
    "pass": "the test passed: the mutant got through it",
}


def _round(value: Fraction | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


# --- links ---------------------------------------------------------------------------------------

@dataclass
class LinkIndex:
    """Every test's links resolved against the project."""

    test_states: dict[str, str] = field(default_factory=dict)  # nodeid -> TestState
    case_tests: dict[str, list[str]] = field(default_factory=dict)  # case ID -> nodeids
    requirement_tests: dict[str, list[str]] = field(default_factory=dict)  # req ID -> nodeids (req or its live cases)
    problems: list[Problem] = field(default_factory=list)


def _add(mapping: dict[str, list[str]], key: str, nodeid: str) -> None:
    bucket = mapping.setdefault(key, [])
    if nodeid not in bucket:
        bucket.append(nodeid)


def _sources(project: Project, test: TestRecord, link: str) -> tuple[bool, list[str]]:
    """Where a test's link came from: (from a ``verifies`` marker, the links-table patterns that
    gave it). Without the marker links (a result read back from audit.json), a link the table
    gives is taken to come from the table only."""
    patterns = [p for p, ids in project.config.links.items() if link in ids and matches(p, test.nodeid)]
    from_marker = link in test.marker_links if test.marker_links is not None else not patterns
    return from_marker, patterns


def resolve_links(project: Project, tests: Sequence[TestRecord]) -> LinkIndex:
    """Each test's state and what it covers, plus a problem per bad link: at the test's
    definition when a marker names it, at the pattern's line of pyproject.toml (once per
    pattern and ID, however many tests it matches) when the links table does; and a warning
    per links-table pattern that matches no test."""
    index = LinkIndex()
    table = project.config.links
    # (pattern, ID) -> (severity, what is wrong, how to fix, nodeids)
    from_table: dict[tuple[str, str], tuple[str, str, str, list[str]]] = {}

    def report(test: TestRecord, link: str, severity: str, what: str, marker_fix: str, table_fix: str) -> None:
        from_marker, patterns = _sources(project, test, link)
        if from_marker:
            index.problems.append(Problem(path=test.file, line=test.line, severity=severity,  # type: ignore[arg-type]
                                          message=f"{test.nodeid}: {what}; {marker_fix}"))
        for pattern in patterns:
            from_table.setdefault((pattern, link), (severity, what, table_fix, []))[3].append(test.nodeid)

    for test in tests:
        if not test.links:
            index.test_states[test.nodeid] = "ORPHAN"
            continue
        dangling = rejected = live = 0
        for link in test.links:
            problem = _link_problem(project, link)
            if problem is not None:
                dangling += 1
                report(test, link, "error", problem, "fix the ID in @pytest.mark.verifies", "fix the ID in [tool.testplan.links]")
                continue
            req_id = counted_requirement(project, link)  # the rule the mutation engine picks judges by
            if req_id is None:  # known, so a rejected case
                rejected += 1
                report(test, link, "warning", f"links {link}, a rejected case", "remove the link or re-approve the case",
                       "remove the ID from [tool.testplan.links] or re-approve the case")
                continue
            if is_case_id(link):
                _add(index.case_tests, link, test.nodeid)
            live += 1
            _add(index.requirement_tests, req_id, test.nodeid)
        if dangling:
            state = "DANGLING"
        elif rejected and not live:
            state = "REJECTED-LINK"
        else:
            state = "LINKED"
        index.test_states[test.nodeid] = state

    for pattern, ids in table.items():
        line = project.config.link_line(pattern)
        if not any(matches(pattern, test.nodeid) for test in tests):
            index.problems.append(Problem(path="pyproject.toml", line=line, severity="warning",
                                          message=f"links pattern '{pattern}' matches no test; fix or remove it"))
            continue
        for link in dedupe(ids):
            if (pattern, link) in from_table:
                severity, what, fix, nodeids = from_table[(pattern, link)]
                count = f"{len(nodeids)} test{'s' if len(nodeids) != 1 else ''}"
                index.problems.append(Problem(path="pyproject.toml", line=line, severity=severity,  # type: ignore[arg-type]
                                              message=f"links pattern '{pattern}' ({count}): {what}; {fix}"))
    return index


def _link_problem(project: Project, link: str) -> str | None:
    """Why ``link`` is dangling, or None when it names a known requirement or case."""
    if not (is_requirement_id(link) or is_case_id(link)):
        return f"'{link}' is not a requirement ID (PAY-1) or case ID (PAY-1.3)"
    req_id = requirement_of(link)
    if req_id not in project.requirements.items:
        known = ", ".join(project.requirements.items) or "none"
        return f"links unknown requirement {req_id} (known: {known})"
    if is_case_id(link):
        plan = project.plans.get(req_id)
        if plan is None:
            return f"links {link}, but {req_id} has no plan; run 'testplan enumerate {req_id}'"
        if plan.case(link) is None:
            known = ", ".join(c.id for c in plan.cases) or "none"
            return f"links unknown case {link} (cases of {req_id}: {known})"
    return None


# --- line coverage -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileLines:
    statements: frozenset[int]  # coverage.py's executable statement lines (first lines)
    runtime: frozenset[int]  # the statements inside a function body
    first_line: dict[int, int]  # any line of a multi-line statement -> its first line


@lru_cache(maxsize=256)
def _file_lines(path: str, mtime: float) -> FileLines:
    from coverage.python import PythonParser

    text = Path(path).read_text(encoding="utf-8")
    parser = PythonParser(text=text, filename=path, exclude=r"#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER)")
    with pyast.LOCK:  # coverage.py's parser builds an ast tree
        parser.parse_source()
    statements = frozenset(parser.statements)
    body_lines: set[int] = set()
    for node in ast.walk(pyast.parse(text, filename=path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            body_lines.update(range(node.body[0].lineno, (node.end_lineno or node.body[0].lineno) + 1))
    return FileLines(statements, frozenset(statements & body_lines), dict(parser.multiline_map))


def file_lines(path: Path) -> FileLines:
    return _file_lines(str(path), path.stat().st_mtime)


def runtime_lines(spans: Iterable[CodeSpan]) -> dict[str, set[int]]:
    """file -> run-time statement lines inside the spans (the denominator of L_R)."""
    lines: dict[str, set[int]] = {}
    for span in spans:
        info = file_lines(span.file)
        inside = {n for n in info.runtime if span.start <= n <= span.end}
        if inside:
            lines.setdefault(str(span.file), set()).update(inside)
    return lines


def executed_lines(spans: Iterable[CodeSpan], trace: TraceData, nodeids: Iterable[str]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(run-time lines, those the given tests executed), each file -> lines, for the spans."""
    wanted = runtime_lines(spans)
    executed: dict[str, set[int]] = {}
    nodeids = list(nodeids)
    for file, lines in wanted.items():
        info = file_lines(Path(file))
        hit: set[int] = set()
        for nodeid in nodeids:
            raw = trace.lines.get(nodeid, {}).get(file, set())
            hit.update(info.first_line.get(n, n) for n in raw)
        executed[file] = hit & lines
    return wanted, executed


def line_coverage(spans: Iterable[CodeSpan], trace: TraceData, nodeids: Iterable[str]) -> tuple[Fraction | None, int, int]:
    """(L_R, executed, executable) for the spans over the given tests' executed lines."""
    wanted, executed = executed_lines(spans, trace, nodeids)
    total = sum(len(v) for v in wanted.values())
    if total == 0:
        return None, 0, 0
    count = sum(len(v) for v in executed.values())
    return Fraction(count, total), count, total


def _relative_ranges(lines: dict[str, set[int]], root: Path) -> dict[str, str]:
    """file -> line ranges, the file relative to ``root`` ('/' separated) when inside it."""
    out: dict[str, str] = {}
    root = root.resolve()
    for file, numbers in sorted(lines.items()):
        path = Path(file).resolve()
        try:
            name = path.relative_to(root).as_posix()
        except ValueError:
            name = path.as_posix()
        out[name] = line_ranges(numbers)
    return out


# --- mutation ------------------------------------------------------------------------------------

_STATUS_CREDIT: dict[str, Fraction | None] = {"killed": Fraction(1), "timeout": None, "killed-by-crash": None}


def oracle_credit(mutant: MutantResult, nodeids: Iterable[str]) -> Fraction | None:
    """1 when the given tests kill the mutant by an assertion (its status as they see it:
    :func:`status_for`); ``None`` (the mutant does not count) when only crashes or timeouts
    detect it; else 0. A mutant without any verdict is credited from its status."""
    return _STATUS_CREDIT.get(status_for(mutant, nodeids), Fraction(0))


def kills(mutant: MutantResult, nodeids: Iterable[str]) -> bool:
    return any(mutant.verdicts.get(n) in KILLING_VERDICTS for n in nodeids)


def status_for(mutant: MutantResult, nodeids: Iterable[str]) -> str:
    """The mutant's status as one requirement's tests (``nodeids``) see it: a mutant in the code
    of two requirements may be killed by the tests of one and survive the other's. A mutant
    that ran no test keeps its own status (no-coverage)."""
    if not mutant.verdicts:
        return mutant.status
    return outcome_status(mutant.verdicts, nodeids)


def mutant_counts(mutants: Sequence[MutantResult], nodeids: Iterable[str] | None = None) -> MutantCounts:
    """Counts per status; with ``nodeids`` (a requirement's tests), as those tests see each mutant."""
    counts = MutantCounts(total=len(mutants))
    judges = None if nodeids is None else list(nodeids)
    for mutant in mutants:
        status = mutant.status if judges is None else status_for(mutant, judges)
        name = status.replace("-", "_")
        setattr(counts, name, getattr(counts, name) + 1)
    return counts


def mutation_score(counts: MutantCounts) -> Fraction | None:
    detected = counts.killed + counts.killed_by_crash + counts.timeout
    denominator = detected + counts.survived + counts.no_coverage
    return Fraction(detected, denominator) if denominator else None


def oracle_score(mutants: Sequence[MutantResult], nodeids: Sequence[str]) -> Fraction | None:
    """Assertion kills over the mutants an oracle could notice; mutants detected only by crashes
    or timeouts are left out (see the module docstring). ``None`` when no mutant is left to judge."""
    credits = [c for c in (oracle_credit(m, nodeids) for m in mutants) if c is not None]
    if not credits:
        return None
    return sum(credits, Fraction(0)) / len(credits)


# --- evidence ------------------------------------------------------------------------------------

NO_MUTATION_REASON = "cases only: mutation testing did not run (--no-mutation), S = 100·C"


def evidence_of(scope: Sequence[MutantResult] | None, nodeids: Sequence[str], has_runtime_lines: bool,
                generated: int | None) -> tuple[str, str | None]:
    """(evidence, reason) for one requirement (see the module docstring). ``scope``: the mutants
    of R's code this run judged (None: mutation did not run); ``generated``: how many mutmut made
    for R's code before selection, ``None`` when not known (``--diff`` left R's files alone)."""
    if scope is None:
        return "not-run", NO_MUTATION_REASON
    credits = [oracle_credit(m, nodeids) for m in scope]
    if any(c is not None for c in credits):
        return "mutants", None
    if scope:
        n = len(scope)
        every = "its only mutant is" if n == 1 else f"all {n} of its mutants are"
        return "crash-only", f"no oracle evidence: {every} detected only by crashes or timeouts"
    if not has_runtime_lines:
        return "no-code", "no code to judge: its code has no run-time line (no function body)"
    if generated == 0:
        return "no-mutants", "no mutant: mutmut finds nothing to mutate in its code"
    if generated is None:
        return "not-run", "not judged in this run: its code is not in this run's selection (--diff)"
    plural = "mutant is" if generated == 1 else "mutants is"
    return "not-run", (f"not judged in this run: none of its {generated} {plural} in this run's selection "
                       "(--diff, --shard or --max-mutants)")


# --- requirement ---------------------------------------------------------------------------------

def _outcomes(trace: TraceData) -> dict[str, str]:
    return {t.nodeid: t.outcome for t in trace.tests}


def case_state(status: CaseStatus, nodeids: Sequence[str], outcomes: dict[str, str],
               scope_mutants: Sequence[MutantResult] | None) -> str:
    if status is CaseStatus.rejected:
        return "REJECTED"
    if status is CaseStatus.proposed:
        return "UNREVIEWED"
    if not nodeids:
        return "UNCOVERED"
    results = [outcomes.get(n, "skipped") for n in nodeids]
    if any(r in FAILING for r in results):
        return "FAILING"
    if not any(r in PASSING for r in results):
        return "SKIPPED"
    if scope_mutants and not any(kills(m, nodeids) for m in scope_mutants):
        return "WEAK"
    return "VERIFIED"


_UNKNOWN = object()


def score_requirement(project: Project, requirement: Requirement, trace: TraceData, links: LinkIndex,
                      mutants: Sequence[MutantResult] | None, problems: list[Problem],
                      unmutated: list[str] | None = None,
                      generated: int | None | object = _UNKNOWN) -> tuple[RequirementResult, Fraction | None]:
    """The requirement's result and its unrounded S_R (``None``: no score). ``generated``: the
    mutants mutmut made for R's code before selection (None: not known); left out, every mutant
    of R's code is taken to be in ``mutants`` (no selection)."""
    plan = project.plans.get(requirement.id)
    pstate = plan_state(requirement, plan)
    outcomes = _outcomes(trace)
    tests = links.requirement_tests.get(requirement.id, [])
    scope = [m for m in mutants if requirement.id in m.requirements] if mutants is not None else None

    cases: list[CaseResult] = []
    for case in plan.cases if plan is not None else []:
        nodeids = links.case_tests.get(case.id, [])
        cases.append(CaseResult(id=case.id, title=case.title, kind=case.kind.value, status=case.status.value,
                                state=case_state(case.status, nodeids, outcomes, scope), tests=list(nodeids)))  # type: ignore[arg-type]
    approved = [c for c in cases if c.status == "approved"]
    covered = [c for c in approved if c.state in ("VERIFIED", "WEAK")]
    c_r = Fraction(len(covered), len(approved)) if approved else None

    spans: list[CodeSpan] = []
    source = project.requirements.sources.get(requirement.id)
    for index, ref in enumerate(requirement.code):
        try:
            spans.extend(ref_spans(ref, project.config.source_roots))
        except InputError as err:
            path = source.path if source else "requirements.yaml"
            line = source.code_lines[index] if source and index < len(source.code_lines) else (source.line if source else 1)
            problems.append(Problem(path=path, line=line, severity="error", message=f"{requirement.id}: {err.message}"))
    l_r, _, _ = line_coverage(spans, trace, tests)
    wanted, executed = executed_lines(spans, trace, tests)

    counts = mutant_counts(scope, tests) if scope is not None else None
    o_r = oracle_score(scope, tests) if scope is not None else None
    m_r = mutation_score(counts) if counts is not None else None
    made = (len(scope) if scope is not None else None) if generated is _UNKNOWN else generated
    if counts is not None:
        counts.generated = made  # type: ignore[assignment]
    evidence, reason = evidence_of(scope, tests, bool(runtime_lines(spans)), made)  # type: ignore[arg-type]
    basis = "cases" if scope is None else "mutants"
    judged = evidence == "mutants" or basis == "cases"

    if pstate is PlanState.SUSPECT:
        state = "SUSPECT"
    elif pstate is not PlanState.APPROVED:
        state = "UNREVIEWED"
    elif any(outcomes.get(n) in FAILING for n in tests):
        state = "NOK"
    elif not approved or any(c.state in ("UNCOVERED", "SKIPPED") for c in approved):
        state = "UNCOVERED"
    elif not judged:
        state = "UNJUDGED"
    elif any(c.state == "WEAK" for c in approved) or (o_r is not None and o_r < WEAK_ORACLE):
        state = "WEAK"
    else:
        state = "OK"

    s_r: Fraction | None
    if state in ("SUSPECT", "UNREVIEWED"):
        s_r = Fraction(0)  # fail closed: stays in the mean, evidence or not
    elif not judged:
        s_r = None
    elif c_r is None:
        s_r = Fraction(0)
    else:
        s_r = 100 * c_r * (o_r if o_r is not None else 1)

    gap = l_r - o_r if l_r is not None and o_r is not None else None
    result = RequirementResult(
        id=requirement.id, title=requirement.title, risk=requirement.risk.value, state=state,  # type: ignore[arg-type]
        plan_state=pstate.value, code=list(requirement.code),  # type: ignore[arg-type]
        case_coverage=_round(c_r), line_coverage=_round(l_r), oracle_score=_round(o_r),
        mutation_score=_round(m_r), oracle_gap=_round(gap), score=None if s_r is None else _round(s_r, 2) or 0.0,
        evidence=evidence, evidence_reason=reason, score_basis=basis,  # type: ignore[arg-type]
        cases=cases, tests=list(tests), unmutated=list(unmutated or []), mutants=counts,
        code_lines=_relative_ranges(wanted, project.config.root),
        covered_lines=_relative_ranges({f: v for f, v in executed.items() if v}, project.config.root),
    )
    return result, s_r


def project_score(weighted: Sequence[tuple[int, Fraction | None]]) -> Fraction | None:
    """The weighted mean over the requirements with a score; ``None`` when none has one."""
    judged = [(w, s) for w, s in weighted if s is not None]
    total = sum(w for w, _ in judged)
    if not total:
        return None
    return sum((w * s for w, s in judged), Fraction(0)) / total


def to_test_result(record: TestRecord, state: str) -> TestResult:
    return TestResult(nodeid=record.nodeid, file=record.file, line=record.line, links=list(record.links),
                      outcome=record.outcome, failure_class=record.failure_class, state=state,  # type: ignore[arg-type]
                      assertions=record.assertions, flags=list(record.flags), duration=record.duration)


def build_result(project: Project, trace: TraceData, mutants: Sequence[MutantResult] | None = None,
                 unmutated: dict[str, list[str]] | None = None,
                 generated: dict[str, int] | None = None) -> AuditResult:
    """Classify and score everything; ``complete``, timestamps and the gate are the caller's.

    ``generated``: per requirement, the mutants mutmut made for its code before this run's
    selection (``--diff``/``--shard``/``--max-mutants``), so a requirement with none selected is
    told apart (``not-run``) from one mutmut yields nothing for (``no-mutants``); a requirement
    missing from it is ``not-run`` when it has no mutant. Without it, ``mutants`` is taken to be
    every mutant generated."""
    links = resolve_links(project, trace.tests)
    problems = list(links.problems)
    requirements: list[RequirementResult] = []
    weighted: list[tuple[int, Fraction | None]] = []
    for requirement in project.requirements:
        made = _UNKNOWN if generated is None else generated.get(requirement.id)
        result, s_r = score_requirement(project, requirement, trace, links, mutants, problems,
                                        (unmutated or {}).get(requirement.id), made)
        requirements.append(result)
        weighted.append((requirement.risk.weight, s_r))
    total = project_score(weighted)
    return AuditResult(
        project=project.requirements.project,
        mutation=mutants is not None,
        score=_round(total, 2),
        requirements=requirements,
        tests=[to_test_result(t, links.test_states[t.nodeid]) for t in trace.tests],
        mutants=list(mutants or []),
        problems=problems,
    )


def rescore(project: Project, result: AuditResult) -> AuditResult:
    """Recompute states and scores of a saved result from its tests and mutants (``testplan
    merge`` of shards). audit.json keeps no per-test lines, so each requirement's line coverage
    (and its code_lines/covered_lines) is carried over from ``result`` (every shard traced the whole suite, so it is the same)."""
    tests = [TestRecord(nodeid=t.nodeid, file=t.file, line=t.line, links=list(t.links), outcome=t.outcome,
                        failure_class=t.failure_class, duration=t.duration, assertions=t.assertions,
                        flags=list(t.flags)) for t in result.tests]
    trace = TraceData(root=project.config.root, tests=tests, lines={}, complete=True)
    unmutated = {r.id: list(r.unmutated) for r in result.requirements}
    generated = {r.id: r.mutants.generated for r in result.requirements
                 if r.mutants is not None and r.mutants.generated is not None}
    selected = bool(generated) or bool((result.mutation_options or {}).get("diff_base"))  # else: a result from before the counts
    scored = build_result(project, trace, list(result.mutants) if result.mutation else None,
                          unmutated if result.mutation else None, generated if selected else None)
    before = {r.id: r for r in result.requirements}
    for requirement in scored.requirements:
        old = before.get(requirement.id)
        if old is None:
            continue
        requirement.line_coverage = old.line_coverage
        requirement.code_lines, requirement.covered_lines = dict(old.code_lines), dict(old.covered_lines)
        requirement.oracle_gap = (None if old.line_coverage is None or requirement.oracle_score is None
                                  else _round(Fraction(str(old.line_coverage)) - Fraction(str(requirement.oracle_score))))
    merged = result.model_copy(deep=True)
    for name in ("score", "requirements", "tests", "problems"):
        setattr(merged, name, getattr(scored, name))
    merged.withhold_scores()
    return merged
