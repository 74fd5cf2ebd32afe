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
  2 (2026-12-02) the kill matrix is compact: a test table ``matrix_tests`` (each nodeid a
    verdict names, once, in the suite's order) and, per mutant, ``tests`` (indexes into that
    table as ranges, ``"0-52,60"``, in the order the verdicts were recorded) and ``verdicts``
    (one letter per index: ``p`` pass, ``a`` assert, ``c`` crash, ``t`` timeout), in place
    of version 1's ``verdicts: {nodeid: verdict}``. semver's 846 mutants x 45,269 verdicts:
    5.4 MB in version 1, 0.8 MB in version 2. Nothing else changed. Version 1 files still read.
    (2026-12-02, additive) linked_only: the trace ran only the tests that link a requirement or
    case, by a marker or [tool.testplan.links] (``audit --linked-only``), so ``tests`` has no
    ORPHAN test and the gate cannot check ``fail_on: orphan``. Absent in a result written before
    (read as false).

The models in memory are the same for both versions: :class:`AuditResult` with each
:class:`MutantResult`'s ``verdicts`` a dict nodeid -> verdict; the compaction happens only at
the file boundary. :class:`AuditFile` (with :class:`MutantRecord`) is the file's model: ``dump()``
writes one, :func:`load_result` reads one (or a version 1 file) back into an AuditResult. A
version 1 file read is a current result (``schema_version`` 2) and is saved as version 2.

The models are the documented contract (``testplan schema audit`` prints the JSON Schema of
the file, :class:`AuditFile`).
A result with ``complete: false`` never passes a gate and carries no score (null).

A saved result is read strictly (:func:`load_result`, :func:`parse_result`): every field must be present, as
``dump()`` writes them all, so a hand-written stub or a truncated file is bad input (exit 2)
rather than a result whose missing fields took their defaults. Results built in memory keep
the defaults. An error in a version 2 file's kill matrix (a test index out of range, a verdict
letter too many) is reported at its line.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from . import __version__
from .errors import InputError
from .ranges import index_ranges

FORMAT_VERSION = 2
READS = (1, 2)  # the format versions load_result reads

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
VERDICT_CODE: dict[str, str] = {"pass": "p", "assert": "a", "crash": "c", "timeout": "t"}  # a verdict's letter in a version 2 file
CODE_VERDICT: dict[str, str] = {code: verdict for verdict, code in VERDICT_CODE.items()}


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
    # file (relative to the project root) -> line ranges "3-7,9" (see testplan.ranges.line_ranges): the run-time
    # statement lines of the requirement's code, and those of them its linked tests executed
    code_lines: dict[str, str] = Field(default_factory=dict)
    covered_lines: dict[str, str] = Field(default_factory=dict)
    _may_be_absent: ClassVar[frozenset[str]] = frozenset({"code_lines", "covered_lines"})


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
    _may_be_absent: ClassVar[frozenset[str]] = frozenset({"inputs", "hash_seed", "critique", "linked_only"})

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
    linked_only: bool = False  # the trace ran only the tests that link something (audit --linked-only)
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
        """The result as ``audit.json`` holds it: the current format version (:class:`AuditFile`)."""
        return to_file(self).model_dump_json(indent=2) + "\n"


# --- the file (version 2): the kill matrix as a test table plus a short string per mutant ----

INDEX_RANGES = r"^([0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)?$"
VERDICT_LETTERS = f"^[{''.join(CODE_VERDICT)}]*$"


class MutantRecord(MutantResult):
    """A mutant as a version 2 ``audit.json`` stores it: its verdicts as two short strings."""

    verdicts: str = Field(  # type: ignore[assignment]  # the in-memory dict, compacted
        default="", json_schema_extra={"pattern": VERDICT_LETTERS},
        description="one letter per test of 'tests', in that order: " + ", ".join(f"{c} {v}" for v, c in VERDICT_CODE.items()))
    tests: str = Field(default="", json_schema_extra={"pattern": INDEX_RANGES},
                       description="the tests that gave the verdicts: indexes into matrix_tests (0-based), "
                                   "runs of consecutive ones as ranges ('0-52,60'), in the order the verdicts were recorded")


class AuditFile(AuditResult):
    """``audit.json`` as written (format version 2): :class:`AuditResult` with the kill matrix
    compact. :func:`to_file` and :func:`from_file` convert; reports never see this model."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    mutants: list[MutantRecord] = Field(default_factory=list)  # type: ignore[assignment]
    matrix_tests: list[str] = Field(default_factory=list, description="the kill matrix's test table: each nodeid "
                                    "some mutant has a verdict of, once; mutants[].tests index it")


class MatrixError(Exception):
    """A version 2 kill matrix that does not decode; ``loc`` is where, as in a validation error."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def encode_verdicts(verdicts: dict[str, str], index: dict[str, int]) -> tuple[str, str]:
    """A mutant's verdicts as (``tests``, ``verdicts``) of a version 2 file; ``index`` maps each
    nodeid to its place in the test table."""
    return index_ranges([index[nodeid] for nodeid in verdicts]), "".join(VERDICT_CODE[v] for v in verdicts.values())


def decode_verdicts(table: Sequence[str], tests: str, letters: str) -> dict[str, str]:
    """The inverse of :func:`encode_verdicts` over the test table; raises MatrixError (loc
    ``("tests",)`` or ``("verdicts",)``) for an index out of the table, one listed twice, a
    letter that is no verdict, or a letter too many or too few."""
    order: list[int] = []
    for part in tests.split(",") if tests else []:
        match = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", part)
        if match is None:
            raise MatrixError(("tests",), f"'{part}' is not a test index or a range of them (like '0-52,60')")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise MatrixError(("tests",), f"the range '{part}' runs backwards; write it '{last}-{first}'")
        if last >= len(table):
            raise MatrixError(("tests",), f"test index {last} is out of range: matrix_tests has {len(table)} tests")
        order.extend(range(first, last + 1))
    if len(set(order)) != len(order):
        twice = next(i for n, i in enumerate(order) if i in order[:n])
        raise MatrixError(("tests",), f"test index {twice} is listed twice")
    bad = next((c for c in letters if c not in CODE_VERDICT), None)
    if bad is not None:
        known = ", ".join(f"{c} {v}" for v, c in VERDICT_CODE.items())
        raise MatrixError(("verdicts",), f"'{bad}' is not a verdict letter ({known})")
    if len(letters) != len(order):
        raise MatrixError(("verdicts",), f"{len(letters)} verdict{'s' if len(letters) != 1 else ''} for "
                                         f"{len(order)} test{'s' if len(order) != 1 else ''}: one letter per test of 'tests'")
    return {table[i]: CODE_VERDICT[c] for i, c in zip(order, letters)}


def matrix_tests(result: AuditResult) -> list[str]:
    """The test table of a version 2 file: each nodeid some mutant has a verdict of, once, in
    the order of ``result.tests`` (the suite's order; then any other in order of appearance),
    so that a mutant's tests are mostly one or a few ranges."""
    suite = {t.nodeid: n for n, t in enumerate(result.tests)}
    named = dict.fromkeys(nodeid for m in result.mutants for nodeid in m.verdicts)
    return sorted(named, key=lambda nodeid: suite.get(nodeid, len(suite)))  # stable: the rest keep their order


def _fields(model: BaseModel, of: type[BaseModel], leave_out: str) -> dict[str, Any]:
    return {name: getattr(model, name) for name in of.model_fields if name != leave_out}


def to_file(result: AuditResult) -> AuditFile:
    """The result as the current format stores it (:meth:`AuditResult.dump` writes it)."""
    table = matrix_tests(result)
    index = {nodeid: n for n, nodeid in enumerate(table)}
    mutants = []
    for mutant in result.mutants:
        tests, letters = encode_verdicts(mutant.verdicts, index)
        mutants.append(MutantRecord(**_fields(mutant, MutantResult, "verdicts"), tests=tests, verdicts=letters))
    fields = _fields(result, AuditResult, "mutants") | {"schema_version": FORMAT_VERSION}
    return AuditFile(**fields, mutants=mutants, matrix_tests=table)


def from_file(stored: AuditFile) -> AuditResult:
    """The result a version 2 file holds; raises MatrixError when its kill matrix does not decode."""
    table = stored.matrix_tests
    if len(set(table)) != len(table):
        twice = next(n for n, nodeid in enumerate(table) if nodeid in table[:n])
        raise MatrixError(("matrix_tests", twice), f"'{table[twice]}' is listed twice (each test once)")
    mutants = []
    for n, record in enumerate(stored.mutants):
        try:
            verdicts = decode_verdicts(table, record.tests, record.verdicts)
        except MatrixError as exc:
            raise MatrixError(("mutants", n, *exc.loc), exc.message) from None
        mutants.append(MutantResult(**_fields(record, MutantResult, "verdicts"), verdicts=verdicts))  # type: ignore[arg-type]
    return AuditResult(**_fields(stored, AuditResult, "mutants"), mutants=mutants)


_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # '*' always matches


def json_line(text: str, loc: Sequence[str | int]) -> int:
    """The 1-based line of ``text`` (a JSON document) where the value at ``loc`` (keys and array
    indexes, as in a validation error) starts; the deepest part of ``loc`` that is there."""
    skip_value = json.JSONDecoder().raw_decode
    pos = _skip_space(text, 0)
    try:
        for key in loc:
            opening, closing = ("{", "}") if isinstance(key, str) else ("[", "]")
            if text[pos:pos + 1] != opening:
                break
            inner, count = _skip_space(text, pos + 1), 0
            while text[inner:inner + 1] not in ("", closing):
                if isinstance(key, str):  # a member: "name" : value
                    name, inner = json.decoder.scanstring(text, inner + 1)  # type: ignore[attr-defined]
                    inner = _skip_space(text, _skip_space(text, inner) + 1)
                    if name == key:
                        break
                elif count == key:
                    break
                inner = _skip_space(text, skip_value(text, inner)[1])
                if text[inner:inner + 1] == ",":
                    inner = _skip_space(text, inner + 1)
                count += 1
            else:
                break  # not there: the line of the object or array
            pos = inner
    except (ValueError, IndexError):
        pass  # a damaged document: the line reached so far
    return text.count("\n", 0, pos) + 1


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


class _Version(BaseModel):
    """Only the format version of a document (anything else is read by the version's model)."""

    schema_version: int | None = None


def _stored_version(text: str, path: Path | str) -> int | None:
    """The document's schema_version (None: none that says which model reads it); a document
    that is not whole JSON is bad input at the line where it ends."""
    try:
        return _Version.model_validate_json(text).schema_version
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "json_invalid":
            where = re.search(r"at line (\d+)", error["msg"])
            raise InputError(f"not a complete JSON document ({error['ctx']['error']}): the file is truncated or damaged; "
                             "run 'testplan audit' again", str(path), int(where.group(1)) if where else 1) from None
        return None  # not an object, or a version that is no number: version 1's model names what is wrong


def _is_matrix(loc: Sequence[str | int]) -> bool:
    return bool(loc) and (loc[0] == "matrix_tests" or (loc[0] == "mutants" and len(loc) > 2 and loc[2] in ("tests", "verdicts")))


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
    return parse_result(text, path)


def parse_result(text: str, path: Path | str = "audit.json") -> AuditResult:
    """A saved result's text (``dump()``, ``audit --json``), read as :func:`load_result` reads a
    file; ``path`` names it in errors. (``AuditResult.model_validate_json`` reads the models'
    own shape, not the file's.)"""
    version = _stored_version(text, path)
    if version is not None and version not in READS:
        raise InputError(f"audit result has schema_version {version}, this testplan reads {' and '.join(map(str, READS))}; "
                         "rerun 'testplan audit'", str(path), 1)
    not_a_result = "not a testplan audit result ({}); pass the audit.json that 'testplan audit' wrote"
    try:
        if version == 2:
            result = from_file(AuditFile.model_validate_json(text, context={STRICT: True}))
        else:
            result = AuditResult.model_validate_json(text, context={STRICT: True})
            result.schema_version = FORMAT_VERSION  # read into this version's models; saved, it is version 2
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        line = json_line(text, error["loc"]) if version == 2 and _is_matrix(error["loc"]) else 1
        raise InputError(not_a_result.format(_describe(error)), str(path), line) from None
    except MatrixError as exc:
        raise InputError(not_a_result.format(f"{_path(list(exc.loc))}: {exc.message}"), str(path), json_line(text, exc.loc)) from None
    return result.withhold_scores()  # an incomplete file written by hand or an older version
