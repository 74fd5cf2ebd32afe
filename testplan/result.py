"""The audit result: ``.testplan/audit.json``, the source of truth every report reads.

FORMAT_VERSION history:
  1 (2026-11-22) first version: tests, requirements with cases, mutants with per-test verdicts,
    scores, gate, mutation_stats.
    (2026-12-01, additive) gate.requirements: each requirement's own reasons, so reports need not
    find requirement IDs in the reason text; mutation_options: how the mutation run was made.
    (2026-12-02) requirements[].evidence, evidence_reason, score_basis, mutants.generated; state
    UNJUDGED; requirements[].score and score are null for a requirement without evidence, and
    everywhere while complete is false; O_R no longer counts timeouts as kills.
    (2026-12-02, additive) inputs: the digest of the files the audit read (the gate checks it
    against the tree); hash_seed: the PYTHONHASHSEED of the traced pytest and the mutation
    worker. Both may be absent in a result written before (read as null).
    (2026-12-02, additive) requirements[].code_lines and covered_lines: per file of the
    requirement's code, its run-time statement lines (the denominator of L_R) and those its linked
    tests executed, as line ranges ("3-7,9"); the HTML report's source view reads them. Absent in a
    result written before (read as {}).
    (2026-12-02, additive) critique: advisory findings of ``testplan critique``, one per (case,
    linked test): does the test check the case's expected outcome (checks-expected /
    checks-other / checks-nothing), why, and who said so (static or llm:<model>). They never
    change a score. Absent in a result written before, and empty after each audit until
    ``testplan critique`` runs again (read as []).

The models are the documented contract (``testplan schema audit`` prints the JSON Schema).
A result with ``complete: false`` never passes a gate and carries no score (null).

A saved result is read strictly (:func:`load_result`): every field must be present, as
``dump()`` writes them all, so a hand-written stub or a truncated file is bad input (exit 2)
rather than a result whose missing fields took their defaults. Results built in memory keep
the defaults.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

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


STRICT = "testplan-strict"  # validation context flag of load_result: every field must be present
MISSING_FIELD = "missing_field"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # fields a saved result may lack: added to FORMAT_VERSION 1 later (older results lack them)
    _may_be_absent: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _every_field_present(cls, data: Any, info: ValidationInfo) -> Any:
        """Under the STRICT context (a saved result): a field the file does not have is an error,
        even when the model has a default for it."""
        if info.context and info.context.get(STRICT) and isinstance(data, dict):
            for name, spec in cls.model_fields.items():
                key = spec.alias or name
                if key not in data and name not in cls._may_be_absent:
                    raise PydanticCustomError(MISSING_FIELD, "field '{field}' is missing", {"field": key})
        return data


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
    # file (relative to the project root) -> line ranges "3-7,9" (see line_ranges): the run-time
    # statement lines of the requirement's code, and those of them its linked tests executed
    code_lines: dict[str, str] = Field(default_factory=dict)
    covered_lines: dict[str, str] = Field(default_factory=dict)
    _may_be_absent: ClassVar[frozenset[str]] = frozenset({"code_lines", "covered_lines"})


def line_ranges(lines: set[int] | list[int]) -> str:
    """Line numbers as compact ranges: {3, 4, 5, 9} -> ``"3-5,9"``."""
    out: list[str] = []
    ordered = sorted(set(lines))
    start = prev = None
    for n in ordered + [None]:  # type: ignore[list-item]
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ",".join(out)


def parse_line_ranges(text: str) -> set[int]:
    """The inverse of :func:`line_ranges`."""
    lines: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        lines.update(range(int(first), int(last or first) + 1))
    return lines


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


CritiqueLabel = Literal["checks-expected", "checks-other", "checks-nothing"]


class CritiqueFinding(_Model):
    """One advisory finding of ``testplan critique``: does ``test`` check ``case``'s expected outcome?"""

    requirement: str
    case: str  # case ID
    test: str  # nodeid
    label: CritiqueLabel
    reason: str  # one line
    by: str  # "static" (the test's AST against a structured case) or "llm:<model the server reported>"


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


class Inputs(_Model):
    """What the audit read, hashed (:mod:`testplan.inputs`): the gate recomputes it from the tree
    and refuses a result that no longer matches."""

    digest: str  # "sha256:<hex>" over tool and every entry of files
    tool: str  # the testplan version that audited ("testplan 0.1.0"); part of the digest
    # path relative to the project root ('/' separated; absolute outside it) -> sha256 hex of its
    # bytes; "pyproject.toml[tool.testplan]"-style entries hash one table of a file
    files: dict[str, str] = Field(default_factory=dict)


class AuditResult(_Model):
    _may_be_absent: ClassVar[frozenset[str]] = frozenset({"inputs", "hash_seed", "critique"})

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
    inputs: Inputs | None = None  # the files this result is about (None: written by an older testplan)
    hash_seed: int | None = None  # PYTHONHASHSEED of the traced pytest and the mutation worker
    critique: list[CritiqueFinding] = Field(default_factory=list)  # advisory, never scored (testplan critique)

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


def _describe(error: dict) -> str:
    """One validation error as ``field 'requirements[0].cases' is missing`` / ``score: <what is wrong>``."""
    loc = list(error["loc"])
    if error["type"] in (MISSING_FIELD, "missing"):
        if error["type"] == MISSING_FIELD:
            loc.append(error["ctx"]["field"])
        return f"field '{_path(loc)}' is missing"
    return f"{_path(loc)}: {error['msg']}" if loc else error["msg"]


def _path(loc: list) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


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
        result = AuditResult.model_validate_json(text, context={STRICT: True})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "json_invalid":
            where = re.search(r"at line (\d+)", error["msg"])
            raise InputError(f"not a complete JSON document ({error['ctx']['error']}): the file is truncated or damaged; "
                             "run 'testplan audit' again", str(path), int(where.group(1)) if where else 1) from None
        raise InputError(f"not a testplan audit result ({_describe(error)}); pass the audit.json that 'testplan audit' wrote",
                         str(path), 1) from None
    if result.schema_version != FORMAT_VERSION:
        raise InputError(f"audit result has schema_version {result.schema_version}, this testplan reads {FORMAT_VERSION}; rerun 'testplan audit'", str(path), 1)
    return result.withhold_scores()  # an incomplete file written by hand or an older version
