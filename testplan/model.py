"""The nouns of testplan as pydantic models: Requirement, Case, Plan, Review; IDs; fingerprints.

Every file format testplan reads is one of these models (``extra="forbid"``), so
``testplan schema`` can emit the JSON Schema an editor's YAML language server uses.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, field_validator, model_validator

from . import pyast

REQ_ID_PATTERN = r"^[A-Z][A-Z0-9]*-[0-9]+$"
CASE_ID_PATTERN = r"^[A-Z][A-Z0-9]*-[0-9]+\.[0-9]+$"
CODE_REF_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$"
ORIGIN_PATTERN = r"^(human|rules|llm:\S+)$"

ReqId = Annotated[str, StringConstraints(pattern=REQ_ID_PATTERN)]
CaseId = Annotated[str, StringConstraints(pattern=CASE_ID_PATTERN)]
CodeRef = Annotated[str, StringConstraints(pattern=CODE_REF_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1)]


def is_requirement_id(value: str) -> bool:
    return re.match(REQ_ID_PATTERN, value) is not None


def is_case_id(value: str) -> bool:
    return re.match(CASE_ID_PATTERN, value) is not None


def requirement_of(link_id: str) -> str:
    """The requirement ID a case ID (``PAY-1.3``) or requirement ID (``PAY-1``) belongs to."""
    return link_id.split(".", 1)[0]


class Risk(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def weight(self) -> int:
        return {"low": 1, "medium": 2, "high": 3, "critical": 5}[self.value]


class CaseKind(str, Enum):
    nominal = "nominal"
    boundary = "boundary"
    edge = "edge"
    error = "error"
    security = "security"


class CaseStatus(str, Enum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"


class Priority(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


Scalar = int | float | str | bool


class InputSpec(_Strict):
    """One declared input of a requirement; feeds the deterministic enumerator."""

    type: Literal["int", "float", "decimal", "str", "bool", "enum"]
    min: int | float | None = None
    max: int | float | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    values: list[Scalar] | None = None
    description: str | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _a_finite_number(cls, value: Any, info: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValueError(f"{value!r} is not a number; write a number such as 0 or 9.99")
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number; write the real limit, or leave {info.field_name} out")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max}); swap them")
        if self.type == "int":
            for name in ("min", "max"):
                value = getattr(self, name)
                if value is not None and value != int(value):
                    raise ValueError(f"{name} {value} is not a whole number, but the input is an int; use a whole number or type float")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError(f"min_length ({self.min_length}) is greater than max_length ({self.max_length})")
        if self.type == "enum" and not self.values:
            raise ValueError("an enum input needs 'values: [...]'")
        if self.type in ("int", "float", "decimal") and (self.min_length is not None or self.max_length is not None):
            raise ValueError(f"min_length/max_length apply to str inputs, not {self.type}; use min/max")
        if self.type == "str" and (self.min is not None or self.max is not None):
            raise ValueError("min/max apply to numbers; use min_length/max_length for str inputs")
        if self.type in ("bool", "enum"):
            used = [k for k in ("min", "max", "min_length", "max_length") if getattr(self, k) is not None]
            if used:
                raise ValueError(f"{'/'.join(used)} do not apply to {self.type} inputs; remove {'them' if len(used) > 1 else 'it'}")
        if self.type != "enum" and self.values is not None:
            raise ValueError(f"values apply to enum inputs, not {self.type}; remove them or use type: enum")
        return self


class Requirement(_Strict):
    """What the code should do, written by a person. The plan is derived from it."""

    id: ReqId
    title: Text
    statement: Text
    acceptance: list[Text] = Field(default_factory=list)
    risk: Risk = Risk.medium
    code: list[CodeRef] = Field(default_factory=list)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)


class RequirementSet(_Strict):
    """The content of ``requirements.yaml`` (or of one file in a requirements directory)."""

    project: str | None = None
    requirements: list[Requirement] = Field(default_factory=list)


# --- structured cases -------------------------------------------------------------------------

PARAM_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EXCEPTION_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


def check_value(value: Any, where: str = "") -> Any:
    """A case value is YAML data (numbers, text, true/false, null, lists, mappings), or
    ``{py: "EXPRESSION"}`` for a value YAML cannot spell (``Decimal('90.00')``): the expression
    is written into generated test code verbatim; testplan only parses it, never evaluates it."""
    if isinstance(value, dict):
        if "py" in value:
            if set(value) != {"py"} or not isinstance(value["py"], str) or not value["py"].strip():
                raise ValueError(f"{_at(where)}a {{py: ...}} value has exactly one key, py, whose value is a Python "
                                 "expression in quotes, e.g. {py: \"Decimal('90.00')\"}")
            try:
                pyast.parse(value["py"].strip(), mode="eval")
            except SyntaxError as exc:
                raise ValueError(f"{_at(where)}py: {value['py']!r} is not a Python expression ({exc.msg}); "
                                 "write one such as \"Decimal('90.00')\"") from None
            return value
        for key, item in value.items():
            check_value(item, f"{where}.{key}" if where else str(key))
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_value(item, f"{where}[{index}]")
        return value
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{_at(where)}{value} cannot be written as a literal; use {{py: \"float('{value}')\"}}")
        return value
    raise ValueError(f"{_at(where)}{value!r} is not a YAML value")


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def is_py(value: Any) -> bool:
    """Whether a case value is the ``{py: EXPRESSION}`` form."""
    return isinstance(value, dict) and set(value) == {"py"}


_VALUE_SCHEMA: dict[str, Any] = {
    "description": "A YAML value, or {py: EXPRESSION} for a value YAML cannot spell (written into test code "
                   "verbatim, never evaluated by testplan).",
    "anyOf": [
        {"type": "object", "properties": {"py": {"type": "string", "minLength": 1}}, "required": ["py"],
         "additionalProperties": False},
        {"type": ["string", "number", "integer", "boolean", "null", "array", "object"]},
    ],
}

CaseValue = Annotated[Any, Field(json_schema_extra=_VALUE_SCHEMA)]
ParamName = Annotated[str, StringConstraints(pattern=PARAM_PATTERN)]


class Returns(_Strict):
    """``expect: {returns: VALUE}``: the callable returns VALUE (compared with ``==``)."""

    returns: CaseValue

    @field_validator("returns")
    @classmethod
    def _value(cls, value: Any) -> Any:
        return check_value(value)


class Raises(_Strict):
    """``expect: {raises: ValueError, match: REGEX}``: the call raises that exception (a builtin
    name, or dotted ``module.Name``); ``match`` is searched in its message (``pytest.raises``)."""

    raises: Annotated[str, StringConstraints(pattern=EXCEPTION_PATTERN)]
    match: str | None = None

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc}); escape special "
                                 "characters such as ( with a backslash") from None
        return value


def _given_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "mapping"
    return None


def _expect_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, (Returns, Raises)):
        return "returns" if isinstance(value, Returns) else "raises"
    if isinstance(value, dict):
        if "returns" in value and "raises" not in value:
            return "returns"
        if "raises" in value and "returns" not in value:
            return "raises"
    return None


Given = Annotated[
    Annotated[str, Tag("text")] | Annotated[dict[ParamName, CaseValue], Tag("mapping")],
    Discriminator(_given_shape, custom_error_type="given_shape",
                  custom_error_message="given is text, or a mapping of parameter: value (e.g. {pets: 2})"),
]
Expect = Annotated[
    Annotated[str, Tag("text")] | Annotated[Returns, Tag("returns")] | Annotated[Raises, Tag("raises")],
    Discriminator(_expect_shape, custom_error_type="expect_shape",
                  custom_error_message="expect is text, {returns: VALUE}, or {raises: ExceptionName, match: REGEX}"),
]


class Case(_Strict):
    """One planned test case of a requirement.

    ``given`` and ``expect`` are prose, or structured: ``given`` a mapping parameter -> value,
    ``expect`` a :class:`Returns` or :class:`Raises`. A case structured in both is an oracle
    ``testplan scaffold`` writes into a complete test; it calls ``call`` (``module:function``),
    else the requirement's single ``module:function`` code ref.
    """

    id: CaseId
    title: Text
    kind: CaseKind
    call: CodeRef | None = None
    given: Given = ""
    expect: Expect = ""
    priority: Priority = Priority.medium
    origin: Annotated[str, StringConstraints(pattern=ORIGIN_PATTERN)] = "human"
    status: CaseStatus = CaseStatus.proposed
    reason: str | None = None  # why a reviewer rejected it
    provenance: dict[str, str] | None = None  # for llm cases: prompt version, cache key, model

    @field_validator("given")
    @classmethod
    def _given_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name, item in value.items():
                check_value(item, name)
        return value

    @field_validator("call")
    @classmethod
    def _call_names_a_function(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            raise ValueError(f"'{value}' names a module; name the function as module:function")
        return value

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> Case:
        if self.reason is not None and self.status is not CaseStatus.rejected:
            raise ValueError("'reason' is only for rejected cases")
        return self

    @property
    def structured(self) -> bool:
        """Given and expect are both machine-readable: scaffold can write the whole test."""
        return isinstance(self.given, dict) and isinstance(self.expect, (Returns, Raises))

    def expect_text(self) -> str:
        """``expect`` as one line of text (prose as written, structured as its YAML flow form)."""
        if isinstance(self.expect, str):
            return _norm(self.expect)
        return flow(self.expect.model_dump(exclude_none=True))

    def given_text(self) -> str:
        if isinstance(self.given, str):
            return _norm(self.given)
        return flow(self.given)


class Review(_Strict):
    """The record a human approval writes. Only ``testplan approve``/``review`` write it.

    ``vouched`` is what the reviewer saw (:func:`vouched_text`: the requirement's fields and
    the approved cases, as text), so ``testplan diff`` can show what changed since; reviews
    written before it existed have none."""

    by: Text
    at: datetime
    fingerprint: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
    vouched: str | None = None


class Plan(_Strict):
    """The test plan of one requirement: ``plans/<REQ>.yaml``."""

    requirement: ReqId
    cases: list[Case] = Field(default_factory=list)
    review: Review | None = None

    @field_validator("cases")
    @classmethod
    def _unique_ids(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in cases:
            if case.id in seen:
                raise ValueError(f"duplicate case ID {case.id}; IDs are never reused: give the later case the next free number")
            seen.add(case.id)
        return cases

    def case(self, case_id: str) -> Case | None:
        return next((c for c in self.cases if c.id == case_id), None)

    def approved(self) -> list[Case]:
        return [c for c in self.cases if c.status is CaseStatus.approved]

    def next_case_number(self) -> int:
        numbers = [int(c.id.rsplit(".", 1)[1]) for c in self.cases]
        return max(numbers, default=0) + 1


class PlanState(str, Enum):
    APPROVED = "APPROVED"
    SUSPECT = "SUSPECT"
    UNREVIEWED = "UNREVIEWED"
    NO_PLAN = "NO PLAN"


# --- fingerprints -----------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def _norm(text: str) -> str:
    """Whitespace is formatting: folded, stripped, so re-wrapping a YAML block changes nothing."""
    return _WS.sub(" ", text).strip()


def _canonical_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def flow(value: Any) -> str:
    """A case value in YAML flow style, one line: ``{pets: 2}``, ``{returns: {py: "Decimal('1')"}}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _case_field(value: Any) -> Any:
    """A case's given/expect as fingerprinted: prose whitespace-folded, structures canonical."""
    if isinstance(value, str):
        return _norm(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    return {"structured": _canonical_tree(value)}


def _canonical_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_tree(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return {"number": repr(value)}  # 1 and 1.0 are different oracles (1.0 == 1, but repr differs)


def _case_content(c: Case) -> dict[str, Any]:
    content = {
        "id": c.id,
        "kind": c.kind.value,
        "given": _case_field(c.given),
        "expect": _case_field(c.expect),
        "priority": c.priority.value,
    }
    if c.call is not None:
        content["call"] = c.call
    return content


def fingerprint(requirement: Requirement, plan: Plan) -> str:
    """sha256 over the content a review vouches for.

    Covered: the requirement's statement, acceptance lines, code refs and declared inputs,
    and every approved case (ID, kind, call, given, expect, priority; structured values
    exactly, prose whitespace-folded). Not covered: titles, risk,
    YAML formatting and comments, and cases that are proposed or rejected (they are not
    vouched for). Any covered change makes the plan SUSPECT until approved again.
    """
    content = {
        "requirement": {
            "id": requirement.id,
            "statement": _norm(requirement.statement),
            "acceptance": [_norm(a) for a in requirement.acceptance],
            "code": list(requirement.code),
            "inputs": {
                name: {k: _norm(v) if k == "description" else _canonical_value(v)
                       for k, v in spec.model_dump(exclude_none=True).items()}
                for name, spec in sorted(requirement.inputs.items())
            },
        },
        "cases": [_case_content(c) for c in sorted(plan.approved(), key=lambda c: c.id)],
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def vouched_text(requirement: Requirement, plan: Plan) -> str:
    """What a review vouches for, as text a person can read and diff: the fingerprinted
    requirement fields and the approved cases (with their titles, for the reader)."""
    lines = [f"requirement: {requirement.id}", f"statement: {_norm(requirement.statement)}"]
    lines.append("acceptance:" if requirement.acceptance else "acceptance: []")
    lines += [f"  - {_norm(a)}" for a in requirement.acceptance]
    lines.append(f"code: [{', '.join(requirement.code)}]")
    lines.append("inputs:" if requirement.inputs else "inputs: {}")
    for name, spec in sorted(requirement.inputs.items()):
        fields = {k: _norm(v) if k == "description" else _canonical_value(v)
                  for k, v in spec.model_dump(exclude_none=True).items()}
        lines.append(f"  {name}: {flow(fields)}")
    cases = sorted(plan.approved(), key=lambda c: c.id)
    lines.append("approved cases:" if cases else "approved cases: []")
    for case in cases:
        lines.append(f"  - {case.id} [{case.kind.value}, {case.priority.value}] {_norm(case.title)}")
        if case.call is not None:
            lines.append(f"    call: {case.call}")
        lines.append(f"    given: {case.given_text()}")
        lines.append(f"    expect: {case.expect_text()}")
    return "\n".join(lines) + "\n"


def plan_state(requirement: Requirement, plan: Plan | None) -> PlanState:
    """NO PLAN, UNREVIEWED, SUSPECT (the review's fingerprint is not the content's) or APPROVED."""
    if plan is None:
        return PlanState.NO_PLAN
    if plan.review is None:
        return PlanState.UNREVIEWED
    if plan.review.fingerprint != fingerprint(requirement, plan):
        return PlanState.SUSPECT
    return PlanState.APPROVED


class PlanOutline(BaseModel):
    """What ``lint``, ``status`` and ``enumerate`` read of a requirement's plan, when the plan
    validated cleanly: its state, its cases counted by status and by kind, its reviewer, and the
    call sites ``lint`` checks against the code (each approved case with a structured ``given``:
    its index, ID, ``call`` and the parameter names it gives). The parse cache's memo keeps it
    by the bytes of the two files, so those commands read an unchanged plan without validating it."""

    model_config = ConfigDict(extra="forbid")

    state: PlanState
    cases_by_status: dict[str, int]
    cases_by_kind: dict[str, int]
    reviewed_by: str | None
    calls: list[tuple[int, str, str | None, list[str]]]

    @property
    def case_count(self) -> int:
        return sum(self.cases_by_status.values())


def outline(requirement: Requirement, plan: Plan) -> PlanOutline:
    """The :class:`PlanOutline` of ``requirement``'s ``plan``."""
    from collections import Counter

    return PlanOutline(
        state=plan_state(requirement, plan),
        cases_by_status=dict(sorted(Counter(c.status.value for c in plan.cases).items())),
        cases_by_kind=dict(sorted(Counter(c.kind.value for c in plan.cases).items())),
        reviewed_by=plan.review.by if plan.review else None,
        calls=[(index, case.id, case.call, list(case.given)) for index, case in enumerate(plan.cases)
               if case.status is CaseStatus.approved and isinstance(case.given, dict)],
    )


# --- JSON Schema for editors ------------------------------------------------------------------

def json_schema(kind: Literal["requirements", "plan", "audit"]) -> dict[str, Any]:
    if kind == "audit":
        from .result import AuditFile  # the audit's result model lives with the audit; this is the file's

        model: type[BaseModel] = AuditFile
    else:
        model = RequirementSet if kind == "requirements" else Plan
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:testplan:schema:{kind}"  # an identifier, not a location: nothing to fetch
    return schema


SCHEMA_KINDS: tuple[str, ...] = ("requirements", "plan", "audit")
SCHEMA_DIR = ".testplan/schemas"  # where 'testplan init' writes them; requirements.yaml's modeline points here


def schema_file(kind: str) -> str:
    return f"{kind}.schema.json"


def write_schemas(directory: Path) -> list[Path]:
    """Write every format's JSON Schema as ``<kind>.schema.json`` into ``directory`` (created),
    for editors (``# yaml-language-server: $schema=...``) and tools; returns the paths."""
    from .errors import InputError
    from .store import atomic_write

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the schema directory: {exc.strerror}", str(directory)) from None
    paths = []
    for kind in SCHEMA_KINDS:
        path = directory / schema_file(kind)
        try:
            atomic_write(path, json.dumps(json_schema(kind), indent=2) + "\n")  # type: ignore[arg-type]
        except OSError as exc:
            raise InputError(f"cannot write the schema: {exc.strerror}", str(path)) from None
        paths.append(path)
    return paths
