"""The audit result: ``.testplan/audit.json``, the source of truth every report reads.

FORMAT_VERSION history:
  1 (2026-11-22) first version: tests, requirements with cases, mutants with per-test verdicts,
    scores, gate, mutation_stats.
    (2026-12-01, additive) gate.requirements: each requirement's own reasons, so reports need not
    find requirement IDs in the reason text; mutation_options: how the mutation run was made.
    (2026-12-08) requirements[].evidence, evidence_reason, score_basis, mutants.generated; state
    UNJUDGED; requirements[].score and score are null for a requirement without evidence, and
    everywhere while complete is false; O_R no longer counts timeouts as kills.

The models are the documented contract (``testplan schema audit`` prints the JSON Schema).
A result with ``complete: false`` never passes a gate and carries no score (null).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .errors import InputError

FORMAT_VERSION = 1

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
FailureClass = Literal["assert", "crash"]
TestState = Literal["LINKED", "ORPHAN", "DANGLING", "REJECTED-LINK"]
CaseState = Literal["VERIFIED", "WEAK", "FAILING", "SKIPPED", "UNCOVERED", "UNREVIEWED", "REJECTED"]
RequirementState = Literal["OK", "WEAK", "NOK", "UNCOVERED", "SUSPECT", "UNREVIEWED", "UNJUDGED"]
Evidence = Literal["mutants", "no-code", "no-mutants", "crash-only", "not-run"]  # see testplan.score
ScoreBasis = Literal["mutants", "cases"]
PlanStateName = Literal["APPROVED", "SUSPECT", "UNREVIEWED", "NO PLAN"]
Verdict = Literal["pass", "assert", "crash", "timeout"]
MutantStatus = Literal["killed", "killed-by-crash", "timeout", "survived", "no-coverage"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestResult(_Model):
    __test__ = False  # not a pytest class

    nodeid: str
    file: str  # relative to the project root, '/' separated
    line: int  # 1-based line of the test's definition
    links: list[str] = Field(default_factory=list)  # requirement or case IDs it verifies
    outcome: Outcome
    failure_class: FailureClass | None = None
    state: TestState = "ORPHAN"
    assertions: int = 0  # assert statements (and pytest.raises/fail calls) in the test's body
    flags: list[str] = Field(default_factory=list)  # "no-assertion", "raises-without-match"
    duration: float = 0.0  # seconds, the call phase


class CaseResult(_Model):
    id: str
    title: str
    kind: str
    status: Literal["proposed", "approved", "rejected"]
    state: CaseState
    tests: list[str] = Field(default_factory=list)  # nodeids linked to this case


class MutantCounts(_Model):
    total: int = 0
    killed: int = 0
    killed_by_crash: int = 0
    timeout: int = 0
    survived: int = 0
    no_coverage: int = 0
    generated: int | None = None  # mutmut's mutants of the code before --diff/--shard/--max-mutants selection (None: not known)


class RequirementResult(_Model):
    id: str
    title: str
    risk: Literal["low", "medium", "high", "critical"]
    state: RequirementState
    plan_state: PlanStateName
    code: list[str] = Field(default_factory=list)
    case_coverage: float | None = None  # C_R, 0..1
    line_coverage: float | None = None  # L_R, 0..1
    oracle_score: float | None = None  # O_R, 0..1 (None: mutation not run)
    mutation_score: float | None = None  # M_R, 0..1
    oracle_gap: float | None = None  # L_R - O_R
    score: float | None = None  # S_R, 0..100; None: no evidence (UNJUDGED), or the result is incomplete
    evidence: Evidence | None = None  # what the mutation run says about the oracles (None: a result from before the field)
    evidence_reason: str | None = None  # why there is no evidence (None for 'mutants'), one phrase
    score_basis: ScoreBasis | None = None  # 'cases' (--no-mutation: S = 100·C, "cases only") or 'mutants'
    cases: list[CaseResult] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)  # nodeids linked to the requirement or its cases
    unmutated: list[str] = Field(default_factory=list)  # code mutmut cannot mutate (qualnames)
    mutants: MutantCounts | None = None


class MutantResult(_Model):
    id: str  # stable: module, qualname, line, operator, mutated text
    file: str
    line: int
    operator: str
    original: str
    mutated: str
    requirements: list[str] = Field(default_factory=list)
    status: MutantStatus
    verdicts: dict[str, Verdict] = Field(default_factory=dict)  # nodeid -> verdict


class GateResult(_Model):
    passed: bool
    min_score: float = 0.0
    min_requirement_score: float = 0.0
    fail_on: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)  # why it failed, one line each
    requirements: dict[str, list[str]] = Field(default_factory=dict)  # requirement ID -> its own reasons (a subset of reasons)


class Problem(_Model):
    path: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"


class AuditResult(_Model):
    schema_version: int = FORMAT_VERSION
    tool: str = f"testplan {__version__}"
    complete: bool = False  # true only when the whole run finished
    incomplete_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    project: str | None = None
    mutation: bool = False  # whether mutation testing ran
    shard: str | None = None  # "k/n" for one shard of a sharded run
    mutation_stats: dict[str, float] | None = None  # figures of the mutation run (executed, cache_hits, seconds.total, ...)
    mutation_options: dict[str, str | int | bool | None] | None = None  # how it ran: jobs, fast, all_tests, diff_base, shard, max_mutants
    score: float | None = None  # project score, 0..100
    gate: GateResult | None = None
    requirements: list[RequirementResult] = Field(default_factory=list)
    tests: list[TestResult] = Field(default_factory=list)
    mutants: list[MutantResult] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)  # dangling links, links to rejected cases, ...

    def withhold_scores(self) -> AuditResult:
        """No score on an incomplete result: while ``complete`` is false, the project's and every
        requirement's score are None (a partial run's numbers are not a verdict). Returns self."""
        if not self.complete:
            self.score = None
            for requirement in self.requirements:
                requirement.score = None
        return self

    def requirement(self, requirement_id: str) -> RequirementResult | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)

    def dump(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def save_result(result: AuditResult, path: Path) -> None:
    from .store import atomic_write

    atomic_write(path, result.dump())


def load_result(path: Path) -> AuditResult:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no audit result here; run 'testplan audit' first or pass the path of an audit.json", str(path)) from None
    except IsADirectoryError:
        raise InputError("a directory, not an audit result; pass the audit.json inside it", str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not an audit result (not UTF-8 text); pass the audit.json that 'testplan audit' wrote", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the audit result: {exc.strerror}", str(path)) from None
    try:
        result = AuditResult.model_validate_json(text)
    except ValueError as exc:
        first = str(exc).splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise InputError(f"not a testplan audit result ({detail}); pass the audit.json that 'testplan audit' wrote", str(path), 1) from None
    if result.schema_version != FORMAT_VERSION:
        raise InputError(f"audit result has schema_version {result.schema_version}, this testplan reads {FORMAT_VERSION}; rerun 'testplan audit'", str(path), 1)
    return result.withhold_scores()  # an incomplete file written by hand or an older version
