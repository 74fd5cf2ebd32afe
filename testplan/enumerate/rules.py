"""The deterministic enumerator: test cases that follow from a requirement's text and inputs.

- one case per acceptance line: ``error`` when the line names an error, else ``nominal``;
- per numeric input: boundary values min-1, min, min+1, max-1, max, max+1 (each with its
  expected accept/reject), one representative of the valid class, and invalid types;
- per string input: empty, min length, max length, max length + 1, and invalid types;
- per bool input: both values and None; per enum input: every member and one non-member.

Input cases are structured: ``given`` maps the input to its value (the other declared inputs get
a typical valid value), and a value outside the domain expects ``{raises: ValueError}`` when
an acceptance line names the error ("rejected with ValueError"; a wrong type expects
``TypeError`` only when that is named). Where the rules cannot know the outcome (the result of
a valid value, an error nobody named) ``expect`` is prose telling the reviewer what to decide.

The output depends on nothing but the requirement, so re-running is byte-identical.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

from typing import Any

from ..model import CaseKind, InputSpec, Priority, Requirement
from . import Proposal

ORIGIN = "rules"
ERROR_WORDS = re.compile(
    r"\b(reject(?:s|ed)?|raises?|errors?|invalid|fails?|refus(?:e|es|ed)|denied|not allowed|forbidden)\b"
    r"|\b[A-Z][A-Za-z]*(?:Error|Exception)\b",
    re.IGNORECASE,
)
STEP = {"int": Decimal(1), "float": Decimal("0.01"), "decimal": Decimal("0.01")}  # the coarsest step per type


def step_of(spec: InputSpec) -> Decimal:
    """The distance from a bound to its neighbours: 1 for ints; for floats and decimals a cent,
    or the finest decimal place the bounds are written with (0.001..0.002 steps by 0.001)."""
    step = STEP[spec.type]
    if spec.type == "int":
        return step
    for bound in (spec.min, spec.max):
        if bound is not None:
            exponent = Decimal(str(bound)).normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < 0:
                step = min(step, Decimal(1).scaleb(exponent))
    return step


def names_error(line: str) -> bool:
    return ERROR_WORDS.search(line) is not None


EXCEPTION_NAME = re.compile(r"\b([A-Z][A-Za-z0-9]*(?:Error|Exception))\b")


def named_errors(req: Requirement) -> list[str]:
    """Exception names the acceptance lines that name an error mention, in order, each once."""
    found: list[str] = []
    for line in req.acceptance:
        if names_error(line):
            for name in EXCEPTION_NAME.findall(line):
                if name not in found:
                    found.append(name)
    return found


def value_of(spec: InputSpec, value: Decimal | int | float | str | bool | None) -> Any:
    """A case value for ``given``: decimals as ``{py: "Decimal('1.5')"}``, numbers as numbers."""
    if value is None or isinstance(value, (bool, str)):
        return value
    number = Decimal(str(value))
    if spec.type == "int":
        return int(number)
    if spec.type == "decimal":
        return {"py": f"Decimal('{_fmt(number)}')"}
    return float(number)


def typical(spec: InputSpec) -> Any:
    """A valid value of an input (the middle of its range, its shortest length, its first member)."""
    if spec.type in STEP:
        return value_of(spec, _representative(spec))
    if spec.type == "str":
        lo = spec.min_length or 0
        return "a" * max(lo, min(1, spec.max_length if spec.max_length is not None else 1))
    if spec.type == "bool":
        return True
    return (spec.values or [None])[0]


def _given(req: Requirement, name: str, value: Any) -> dict[str, Any]:
    """``given`` for a case about one input: it gets ``value``, every other input a typical value."""
    return {other: (value if other == name else typical(spec)) for other, spec in req.inputs.items()}


def _rejected(req: Requirement, text: str, wrong_type: bool = False) -> Any:
    """``expect`` for a value outside the domain: the named error, else what to decide."""
    named = named_errors(req)
    if wrong_type:
        if "TypeError" in named:
            return {"raises": "TypeError"}
        return f"{text}; decide which error it raises and write expect: {{raises: TypeError}} (or the right one)"
    chosen = next((n for n in named if n != "TypeError"), None)
    if chosen is not None:
        return {"raises": chosen}
    return f"{text}; no acceptance line names the error: write expect: {{raises: ExceptionName}}"


def _accepted(text: str) -> str:
    return f"{text}; decide the result and write expect: {{returns: VALUE}}"


def _fmt(value: Decimal | int | float | str | bool | None) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return repr(value)
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _proposal(req: Requirement, key: str, title: str, kind: CaseKind, given: Any, expect: Any,
              priority: Priority = Priority.medium, inputs: tuple[tuple[str, str], ...] = ()) -> Proposal:
    return Proposal(key=f"rules:{key}", title=title, kind=kind, given=given, expect=expect,
                    origin=ORIGIN, priority=priority, inputs=inputs)


def acceptance_key(line: str) -> str:
    """An acceptance line's identity is its text (whitespace folded), not its position: inserting
    a line above it must not make the enumerator take it for another line."""
    return "acceptance:" + hashlib.sha256(" ".join(line.split()).encode("utf-8")).hexdigest()[:12]


def acceptance_cases(req: Requirement) -> list[Proposal]:
    out = []
    for index, line in enumerate(req.acceptance, start=1):
        kind = CaseKind.error if names_error(line) else CaseKind.nominal
        out.append(_proposal(
            req, acceptance_key(line), line.strip(), kind,
            given=f"the situation of acceptance criterion {index}: write the inputs as given: {{parameter: value}}",
            expect=line.strip(),
            priority=Priority.high,
        ))
    return out


def _bounds_text(spec: InputSpec) -> str:
    if spec.min is not None and spec.max is not None:
        return f"within {_fmt(spec.min)}..{_fmt(spec.max)}"
    if spec.min is not None:
        return f"at least {_fmt(spec.min)}"
    if spec.max is not None:
        return f"at most {_fmt(spec.max)}"
    return "valid"


def _representative(spec: InputSpec) -> Decimal:
    step = step_of(spec)
    lo = Decimal(str(spec.min)) if spec.min is not None else None
    hi = Decimal(str(spec.max)) if spec.max is not None else None
    if lo is not None and hi is not None:
        mid = (lo + hi) / 2  # exact: the middle of 0.001..0.002 is 0.0015, not a rounded bound
        return mid.to_integral_value() if spec.type == "int" else mid
    if lo is not None:
        return lo + 10 * step
    if hi is not None:
        return hi - 10 * step
    return Decimal(1)


def numeric_cases(req: Requirement, name: str, spec: InputSpec) -> list[Proposal]:
    step = step_of(spec)
    lo = Decimal(str(spec.min)) if spec.min is not None else None
    hi = Decimal(str(spec.max)) if spec.max is not None else None
    rng = _bounds_text(spec)
    points: list[tuple[Decimal, str]] = []
    if lo is not None:
        points += [(lo - step, "min - 1"), (lo, "min"), (lo + step, "min + 1")]
    if hi is not None:
        points += [(hi - step, "max - 1"), (hi, "max"), (hi + step, "max + 1")]
    out: list[Proposal] = []
    seen: set[Decimal] = set()
    for value, label in points:
        if value in seen:
            continue
        seen.add(value)
        valid = (lo is None or value >= lo) and (hi is None or value <= hi)
        text = _fmt(value if spec.type != "int" else int(value))
        expect: Any
        if valid:
            expect = _accepted(f"accepted: {name} = {text} is {rng}")
        elif lo is not None and value < lo:
            expect = _rejected(req, f"rejected: {name} = {text} is below the minimum {_fmt(spec.min)}")
        else:
            expect = _rejected(req, f"rejected: {name} = {text} is above the maximum {_fmt(spec.max)}")
        out.append(_proposal(
            req, f"boundary:{name}={text}", f"{name} = {text} ({label})",
            CaseKind.boundary if valid else CaseKind.error,
            given=_given(req, name, value_of(spec, value)), expect=expect, priority=Priority.high,
            inputs=((name, text),),
        ))
    # one representative of the valid equivalence class
    mid = _representative(spec)
    if mid not in seen:
        text = _fmt(int(mid) if spec.type == "int" else mid)
        out.append(_proposal(
            req, f"class:{name}=valid", f"{name} = {text} (a typical valid value)", CaseKind.nominal,
            given=_given(req, name, value_of(spec, mid)), expect=_accepted(f"accepted: {name} = {text} is {rng}"),
            inputs=((name, text),),
        ))
    out += _invalid_type_cases(req, name, spec, wrong="'abc'")
    return out


_WRONG = {"'abc'": "abc", "123": 123, "'yes'": "yes"}


def _invalid_type_cases(req: Requirement, name: str, spec: InputSpec, wrong: str) -> list[Proposal]:
    out = [_proposal(
        req, f"type:{name}=None", f"{name} is None", CaseKind.error,
        given=_given(req, name, None),
        expect=_rejected(req, f"rejected: {name} must be of type {spec.type}, not None", wrong_type=True),
        inputs=((name, "None"),),
    )]
    if spec.type != "enum":
        out.append(_proposal(
            req, f"type:{name}={wrong}", f"{name} of the wrong type", CaseKind.error,
            given=_given(req, name, _WRONG[wrong]),
            expect=_rejected(req, f"rejected: {name} must be of type {spec.type}, not {wrong}", wrong_type=True),
            inputs=((name, wrong),),
        ))
    return out


def string_cases(req: Requirement, name: str, spec: InputSpec) -> list[Proposal]:
    lo = spec.min_length if spec.min_length is not None else 0
    hi = spec.max_length
    lengths: list[tuple[int, str]] = [(0, "empty")]
    if lo > 0:
        lengths += [(lo - 1, "min length - 1"), (lo, "min length")]
    if hi is not None:
        lengths += [(hi, "max length"), (hi + 1, "max length + 1")]
    out: list[Proposal] = []
    seen: set[int] = set()
    for length, label in lengths:
        if length in seen:
            continue
        seen.add(length)
        valid = length >= lo and (hi is None or length <= hi)
        limits = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        expect = (_accepted(f"accepted: a {length}-character {name} is within {limits} characters") if valid
                  else _rejected(req, f"rejected: a {length}-character {name} is outside {limits} characters"))
        out.append(_proposal(
            req, f"length:{name}={length}", f"{name} {label} ({length} character{'' if length == 1 else 's'})",
            CaseKind.boundary if valid else CaseKind.error,
            given=_given(req, name, "a" * length), expect=expect,
            priority=Priority.high, inputs=((name, f"len={length}"),),
        ))
    out += _invalid_type_cases(req, name, spec, wrong="123")
    return out


def bool_cases(req: Requirement, name: str, spec: InputSpec) -> list[Proposal]:
    out = [
        _proposal(req, f"class:{name}={v}", f"{name} = {v}", CaseKind.nominal,
                  given=_given(req, name, v == "True"), expect=_accepted(f"accepted: {name} = {v}"), inputs=((name, v),))
        for v in ("True", "False")
    ]
    return out + _invalid_type_cases(req, name, spec, wrong="'yes'")


def enum_cases(req: Requirement, name: str, spec: InputSpec) -> list[Proposal]:
    values = spec.values or []
    members = ", ".join(_fmt(v) for v in values)
    out = [
        _proposal(req, f"member:{name}={_fmt(v)}", f"{name} = {_fmt(v)}", CaseKind.nominal,
                  given=_given(req, name, v), expect=_accepted(f"accepted: {_fmt(v)} is one of {members}"),
                  inputs=((name, _fmt(v)),))
        for v in values
    ]
    outsider = "'__other__'"
    out.append(_proposal(
        req, f"member:{name}=non-member", f"{name} not one of the allowed values", CaseKind.error,
        given=_given(req, name, "__other__"), expect=_rejected(req, f"rejected: {name} must be one of {members}"),
        priority=Priority.high, inputs=((name, outsider),),
    ))
    return out + _invalid_type_cases(req, name, spec, wrong="")


def propose(req: Requirement) -> list[Proposal]:
    """Every rule-based proposal for ``req``, in a fixed order."""
    out = acceptance_cases(req)
    for name, spec in req.inputs.items():
        if spec.type in STEP:
            out += numeric_cases(req, name, spec)
        elif spec.type == "str":
            out += string_cases(req, name, spec)
        elif spec.type == "bool":
            out += bool_cases(req, name, spec)
        else:
            out += enum_cases(req, name, spec)
    return out
