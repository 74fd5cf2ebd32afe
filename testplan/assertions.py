"""Static analysis of a test's body: how many assertion constructs it has, and oracle smells.

Only the test function's own body is read (with ``ast``, nothing is imported or run),
including functions nested in it. Helpers the test calls are *not* followed: a test that
delegates every check to ``check_invoice(result)`` counts 0 and is flagged ``no-assertion``
unless the helper's name starts with ``assert``. That is deliberate: it keeps the analysis
cheap and predictable, and the mutation run (which sees what the helper really checks) is
the authority on whether a test checks anything.

Counted, one each:

- ``assert`` statements;
- ``pytest.raises``, ``pytest.warns``, ``pytest.deprecated_call``, ``pytest.fail`` and
  ``pytest.approx`` calls (also bare ``raises(...)`` etc. after ``from pytest import ...``);
- calls of anything named ``assert_*`` / ``assertX`` (``mock.assert_called_once_with``,
  ``numpy.testing.assert_allclose``, unittest's ``self.assertEqual``) and ``self.fail(...)``;
- ``raise AssertionError(...)``.

A construct's own sub-expressions are not searched again, so ``assert x == pytest.approx(1)``
counts once.

Flags:

- ``no-assertion``: nothing counted;
- ``raises-without-match``: a ``pytest.raises`` (call or context manager) without ``match=``,
  unless the context manager binds the exception info (``as exc``) and the test reads it
  afterwards (``assert "boom" in str(exc.value)`` checks the message too).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import pyast

NO_ASSERTION = "no-assertion"
RAISES_WITHOUT_MATCH = "raises-without-match"

PYTEST_CHECKS = frozenset({"raises", "warns", "deprecated_call", "fail", "approx"})
_ASSERT_HELPER = re.compile(r"^assert(_|[A-Z])")

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Analysis:
    """What the static analysis found in one test function."""

    assertions: int = 0
    flags: list[str] = field(default_factory=list)
    line: int = 0  # the line of the ``def`` (0: the function was not found)


def _call_name(func: ast.expr) -> tuple[str | None, str]:
    """``(owner, name)`` of a call target: ``pytest.raises`` -> ("pytest", "raises")."""
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        owner = func.value
        owner_name = owner.id if isinstance(owner, ast.Name) else None
        return owner_name, func.attr
    return None, ""


def _pytest_check(call: ast.Call) -> str | None:
    """The pytest helper a call is (``raises``...), or None."""
    owner, name = _call_name(call.func)
    if name in PYTEST_CHECKS and owner in (None, "pytest"):
        return name
    return None


def _is_assertion_call(call: ast.Call) -> bool:
    owner, name = _call_name(call.func)
    if _pytest_check(call):
        return True
    if _ASSERT_HELPER.match(name):
        return True
    return owner == "self" and name == "fail"


def _has_match(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "match":
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
    return False


def _is_assertion_raise(node: ast.Raise) -> bool:
    exc = node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "AssertionError"


def _names_read(nodes: list[ast.stmt]) -> set[str]:
    return {
        n.id
        for stmt in nodes
        for n in ast.walk(stmt)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def analyze_function(function: FunctionNode) -> Analysis:
    """Count assertion constructs in one (async) function definition and flag smells."""
    count = 0
    unmatched_raises = 0
    # ``with pytest.raises(X) as exc`` whose ``exc`` is read later is matched by hand.
    checked_by_hand: set[int] = set()

    def note_with_targets(statements: list[ast.stmt]) -> None:
        for index, stmt in enumerate(statements):
            if isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if isinstance(item.context_expr, ast.Call) and isinstance(item.optional_vars, ast.Name):
                        later = statements[index + 1 :]
                        if item.optional_vars.id in _names_read(later):
                            checked_by_hand.add(id(item.context_expr))

    stack: list[ast.AST] = list(function.body)
    # nested statement lists first, so every ``with`` knows what follows it
    for node in ast.walk(function):
        for name in ("body", "orelse", "finalbody"):
            statements = getattr(node, name, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                note_with_targets(statements)

    while stack:
        node = stack.pop()
        if isinstance(node, ast.Assert):
            count += 1
            continue
        if isinstance(node, ast.Raise) and _is_assertion_raise(node):
            count += 1
            continue
        if isinstance(node, ast.Call) and _is_assertion_call(node):
            count += 1
            if _pytest_check(node) == "raises" and not _has_match(node) and id(node) not in checked_by_hand:
                unmatched_raises += 1
            continue
        stack.extend(ast.iter_child_nodes(node))

    flags = []
    if count == 0:
        flags.append(NO_ASSERTION)
    if unmatched_raises:
        flags.append(RAISES_WITHOUT_MATCH)
    return Analysis(assertions=count, flags=flags, line=function.lineno)


def _first_line(function: FunctionNode) -> int:
    return min([function.lineno] + [d.lineno for d in function.decorator_list])


def find_function(tree: ast.Module, line: int, name: str | None = None) -> FunctionNode | None:
    """The function defined at ``line`` (its ``def`` line or its first decorator's line).

    With ``name``, the function must also have that name; when no function starts at
    ``line``, a function with that name is used if it is the only one in the file.
    """
    functions, by_line = _functions(tree)
    for function in by_line.get(line, ()):
        if name is None or function.name == name:
            return function
    if name is not None:
        named = [f for f in functions if f.name == name]
        if len(named) == 1:
            return named[0]
    return None


@lru_cache(maxsize=512)
def _functions(tree: ast.Module) -> tuple[list[FunctionNode], dict[int, list[FunctionNode]]]:
    """Every function of ``tree`` in ``ast.walk`` order, and by the lines it can be found at (its
    ``def`` line, its first decorator's line): one walk per file, not one per test."""
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    by_line: dict[int, list[FunctionNode]] = {}
    for function in functions:
        for line in dict.fromkeys((function.lineno, _first_line(function))):
            by_line.setdefault(line, []).append(function)
    return functions, by_line


@lru_cache(maxsize=512)
def _parse(path: str, mtime_ns: int) -> ast.Module | None:
    try:
        return pyast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None


def analyze_test(path: Path, line: int, name: str | None = None) -> Analysis | None:
    """Analyze the test function defined in ``path`` at ``line``; None when it cannot be found
    (not a Python function, e.g. a doctest or a YAML test item)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    tree = _parse(str(path), mtime)
    if tree is None:
        return None
    function = find_function(tree, line, name)
    return analyze_function(function) if function is not None else None


def analyze_source(source: str, name: str) -> Analysis | None:
    """Analyze the function called ``name`` in a piece of source code (first one found)."""
    tree = pyast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return analyze_function(node)
    return None
