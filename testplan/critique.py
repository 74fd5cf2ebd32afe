"""Critique: does each linked test check its case's expected outcome?

For every approved case of the named requirements and every test linked to it in
``.testplan/audit.json``, one advisory finding labelled

- ``checks-expected``: the test checks the outcome the case expects;
- ``checks-other``: it asserts something, but not that outcome;
- ``checks-nothing``: it asserts nothing.

How the label is decided:

- a *structured* case (``expect: {returns: V}`` or ``{raises: E, match: R}``) is judged from the
  test function's AST, nothing is run: ``returns`` is checked when V (as Python source, compared
  as an AST) appears inside an ``assert`` of the test, or in the test's ``parametrize`` values
  while an ``assert`` reads a parametrized name; a value written as a call on one literal
  (``Decimal('90.00')``) also counts when that literal is what appears (``Decimal(expected)``
  with ``expected`` parametrized as ``"90.00"``). ``raises`` is checked when a ``pytest.raises``
  names E (its last dotted part) and, when the case has a ``match``, the ``match=`` text
  contains the case's pattern or its unescaped text;
- a prose case, with ``--llm``: the model labels the pair with a one-line reason (same provider
  settings, cache, ``--offline`` and errors as ``enumerate --llm``: :mod:`testplan.enumerate.llm`);
- a prose case without ``--llm``: a finding only where it is certain, a test the static analysis
  flags ``no-assertion`` (``checks-nothing``); no finding otherwise.

Findings are advisory: they are written to ``audit.json`` as ``critique[]`` and shown beside the
case in the md and html reports, and they never change a score. Each audit starts without them.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from . import pyast
from .assertions import NO_ASSERTION, find_function
from .config import Config
from .model import Case, CaseStatus, Raises, Requirement, Returns
from .result import AuditResult, CritiqueFinding, TestResult
from .scaffold import literal

STATIC = "static"


# --- the static check of a structured case ----------------------------------------------------

def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _expected_forms(source: str) -> set[str]:
    """The ASTs that count as the expected value: the value itself, and the literal inside a
    one-argument call such as ``Decimal('90.00')``."""
    tree = pyast.parse(source, mode="eval").body
    forms = {_dump(tree)}
    if isinstance(tree, ast.Call) and len(tree.args) == 1 and not tree.keywords and isinstance(tree.args[0], ast.Constant):
        forms.add(_dump(tree.args[0]))
    return forms


def _call_tail(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _parametrize(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], list[ast.AST]]:
    """(parameter names, value nodes) of the function's ``@pytest.mark.parametrize`` decorators."""
    names: set[str] = set()
    values: list[ast.AST] = []
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _call_tail(decorator.func) == "parametrize" and len(decorator.args) >= 2:
            first = decorator.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names |= {n.strip() for n in first.value.split(",") if n.strip()}
            elif isinstance(first, (ast.Tuple, ast.List)):
                names |= {e.value for e in first.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            values.append(decorator.args[1])
    return names, values


def _subtrees(nodes: list[ast.AST]) -> set[str]:
    return {_dump(n) for node in nodes for n in ast.walk(node)}


def _raises_calls(function: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(function) if isinstance(n, ast.Call) and _call_tail(n.func) == "raises"]


def _match_text(call: ast.Call) -> str | None:
    """The ``match=`` of a ``pytest.raises`` as text (constants of a ``+`` concatenation and of
    ``re.escape(...)`` joined); None without ``match=``."""
    for keyword in call.keywords:
        if keyword.arg == "match":
            parts = [n.value for n in ast.walk(keyword.value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            return "".join(parts)
    return None


def _unescaped(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern.strip("^$"))


def static_label(case: Case, function: ast.FunctionDef | ast.AsyncFunctionDef, flags: list[str]) -> tuple[str, str]:
    """(label, reason) for a structured case and the test function linked to it."""
    if NO_ASSERTION in flags:
        return "checks-nothing", "the test has no assertion"
    expect = case.expect
    if isinstance(expect, Raises):
        wanted = expect.raises.rsplit(".", 1)[-1]
        calls = _raises_calls(function)
        named = [c for c in calls if c.args and _call_tail(c.args[0]) == wanted
                 or (c.args and isinstance(c.args[0], ast.Tuple) and any(_call_tail(e) == wanted for e in c.args[0].elts))]
        if not named:
            seen = sorted({_call_tail(c.args[0]) for c in calls if c.args} - {""})
            how = f"pytest.raises({', '.join(seen)})" if seen else "no pytest.raises"
            return "checks-other", f"the case expects {wanted}; the test has {how}"
        if expect.match is None:
            return "checks-expected", f"pytest.raises({wanted})"
        pattern = expect.match
        for call in named:
            text = _match_text(call)
            if text is not None and (pattern in text or _unescaped(pattern) in _unescaped(text)):
                return "checks-expected", f"pytest.raises({wanted}, match=...) with the case's message"
        return "checks-other", f"pytest.raises({wanted}) without the case's match {pattern!r}"
    assert isinstance(expect, Returns)
    source = literal(expect.returns)
    forms = _expected_forms(source)
    asserts = [n for n in ast.walk(function) if isinstance(n, ast.Assert)]
    if forms & _subtrees([a.test for a in asserts]):
        return "checks-expected", f"an assert compares with {source}"
    names, values = _parametrize(function)
    read = {n.id for a in asserts for n in ast.walk(a.test) if isinstance(n, ast.Name)}
    if names & read and forms & _subtrees(values):
        return "checks-expected", f"{source} is a parametrized value an assert reads"
    if not asserts:
        return "checks-other", f"no assert statement compares a value; the case expects {source}"
    return "checks-other", f"no assert compares with the expected {source}"


def is_structured(case: Case) -> bool:
    return isinstance(case.expect, (Returns, Raises))


# --- the LLM's label of a prose case ------------------------------------------------------------

class CritiqueAnswer(BaseModel):
    """What the model answers for one (case, test) pair."""

    model_config = ConfigDict(extra="forbid")
    label: Literal["checks-expected", "checks-other", "checks-nothing"]
    reason: str


SYSTEM_PROMPT = """\
You review one automated test against one reviewed test case of a requirement. Decide whether \
the test checks the case's expected outcome:
- checks-expected: an assertion (or pytest.raises with the message) checks the exact outcome \
the case expects (values, error type and message, state);
- checks-other: the test asserts something, but not that outcome (e.g. only that a result is \
not None, has a type, or any exception is raised);
- checks-nothing: the test asserts nothing.
Give a one-line reason naming what the test does check. Answer with one JSON object that \
matches the response schema, and nothing else."""


def build_messages(requirement: Requirement, case: Case, test_source: str) -> list[dict[str, str]]:
    lines = [f"Requirement {requirement.id}: {' '.join(requirement.title.split())}",
             f"Statement: {' '.join(requirement.statement.split())}",
             f"Case {case.id}: {' '.join(case.title.split())}",
             f"Given: {case.given_text()}",
             f"Expect: {case.expect_text()}",
             "The test:", test_source]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def llm_label(settings: Any, requirement: Requirement, case: Case, test_source: str) -> tuple[str, str, str] | None:
    """(label, reason, by) from the model or the cache; None offline without a cached answer."""
    from .enumerate import llm

    messages = build_messages(requirement, case, test_source)
    key = llm.cache_key(settings.model, messages, seed=settings.seed, schema=llm.response_schema(CritiqueAnswer))
    answer = llm.read_cache(settings, key, CritiqueAnswer) if settings.use_cache else None
    if answer is None:
        if settings.offline:
            print(f"testplan: warning: no cached LLM answer for {case.id} (model {settings.model}); "
                  f"not critiqued. Run without --offline to ask the server", file=sys.stderr)
            return None
        answer = llm.ask(settings, messages, requirement, CritiqueAnswer)
        llm.write_cache(settings, key, answer)
    reason = " ".join(answer.cases.reason.split())[:200]
    return answer.cases.label, reason, llm.origin_of(answer.model)


# --- the command --------------------------------------------------------------------------------

def _function_name(nodeid: str) -> str:
    return nodeid.split("::")[-1].split("[", 1)[0]


def _test_function(root: Path, test: TestResult) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, str] | None:
    path = root / test.file
    try:
        source = path.read_text(encoding="utf-8")
        tree = pyast.parse(source)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    function = find_function(tree, test.line, _function_name(test.nodeid))
    if function is None:
        return None
    return function, ast.get_source_segment(source, function, padded=False) or ""


def _with_decorators(root: Path, test: TestResult, function: ast.AST) -> str:
    lines = (root / test.file).read_text(encoding="utf-8").splitlines()
    first = min([function.lineno] + [d.lineno for d in function.decorator_list])  # type: ignore[attr-defined]
    return "\n".join(lines[first - 1: function.end_lineno])  # type: ignore[attr-defined]


def critique(config: Config, project: Any, result: AuditResult, requirement_ids: list[str] | None,
             settings: Any = None) -> list[CritiqueFinding]:
    """The findings for the named requirements (all of them when none are named), in plan order.

    ``settings`` (:class:`testplan.enumerate.llm.LLMSettings`) turns on the model's labels of
    prose cases; without it, prose cases get only the certain ``checks-nothing`` findings.
    """
    tests = {t.nodeid: t for t in result.tests}
    wanted = [project.requirements.get(r).id for r in requirement_ids] if requirement_ids else [r.id for r in result.requirements]
    findings: list[CritiqueFinding] = []
    for rid in wanted:
        row = result.requirement(rid)
        if row is None:
            continue
        requirement = project.requirements.get(rid)
        plan_file = project.plans.files.get(rid)
        cases = {c.id: c for c in plan_file.plan.cases} if plan_file else {}
        for case_row in row.cases:
            case = cases.get(case_row.id)
            if case is None or case.status is not CaseStatus.approved:
                continue
            for nodeid in case_row.tests:
                test = tests.get(nodeid)
                found = _test_function(config.root, test) if test else None
                if test is None or found is None:
                    continue
                function, _ = found
                if is_structured(case):
                    label, reason = static_label(case, function, test.flags)
                    by = STATIC
                elif NO_ASSERTION in test.flags:
                    label, reason, by = "checks-nothing", "the test has no assertion", STATIC
                elif settings is not None:
                    asked = llm_label(settings, requirement, case, _with_decorators(config.root, test, function))
                    if asked is None:
                        continue
                    label, reason, by = asked
                else:
                    continue
                findings.append(CritiqueFinding(requirement=rid, case=case.id, test=nodeid, label=label,
                                                reason=reason, by=by))
    return findings


def merge_findings(result: AuditResult, findings: list[CritiqueFinding], requirement_ids: list[str]) -> None:
    """Replace the named requirements' findings in ``result`` (all when none are named)."""
    named = set(requirement_ids)
    kept = [f for f in result.critique if named and f.requirement not in named]
    result.critique = kept + findings
