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

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

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


class Case(_Strict):
    """One planned test case of a requirement."""

    id: CaseId
    title: Text
    kind: CaseKind
    given: str = ""
    expect: str = ""
    priority: Priority = Priority.medium
    origin: Annotated[str, StringConstraints(pattern=ORIGIN_PATTERN)] = "human"
    status: CaseStatus = CaseStatus.proposed
    reason: str | None = None  # why a reviewer rejected it
    provenance: dict[str, str] | None = None  # for llm cases: prompt version, cache key, model

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> Case:
        if self.reason is not None and self.status is not CaseStatus.rejected:
            raise ValueError("'reason' is only for rejected cases")
        return self


class Review(_Strict):
    """The record a human approval writes. Only ``testplan approve``/``review`` write it."""

    by: Text
    at: datetime
    fingerprint: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


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


def fingerprint(requirement: Requirement, plan: Plan) -> str:
    """sha256 over the content a review vouches for.

    Covered: the requirement's statement, acceptance lines, code refs and declared inputs,
    and every approved case (ID, kind, given, expect, priority). Not covered: titles, risk,
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
        "cases": [
            {
                "id": c.id,
                "kind": c.kind.value,
                "given": _norm(c.given),
                "expect": _norm(c.expect),
                "priority": c.priority.value,
            }
            for c in sorted(plan.approved(), key=lambda c: c.id)
        ],
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def plan_state(requirement: Requirement, plan: Plan | None) -> PlanState:
    if plan is None:
        return PlanState.NO_PLAN
    if plan.review is None:
        return PlanState.UNREVIEWED
    if plan.review.fingerprint != fingerprint(requirement, plan):
        return PlanState.SUSPECT
    return PlanState.APPROVED


# --- JSON Schema for editors ------------------------------------------------------------------

def json_schema(kind: Literal["requirements", "plan", "audit"]) -> dict[str, Any]:
    if kind == "audit":
        from .result import AuditResult  # the audit's result model lives with the audit

        model: type[BaseModel] = AuditResult
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
