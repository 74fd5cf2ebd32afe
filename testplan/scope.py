"""Where a requirement's code is: ``code:`` refs resolved statically to files and line ranges.

Nothing here imports user code: modules are found on the configured source roots and
qualnames by parsing the file with ``ast``. Trace uses the ranges for line coverage per
requirement; mutation uses them to scope mutants to requirements.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from importlib.machinery import PathFinder
from pathlib import Path

from . import pyast
from .errors import Finding, InputError
from .model import Requirement


@dataclass(frozen=True)
class CodeSpan:
    """The lines of one code ref: a whole module, or one class/function (decorators included)."""

    ref: str
    file: Path
    start: int  # 1-based, inclusive
    end: int  # inclusive

    def contains(self, file: Path, line: int) -> bool:
        return file == self.file and self.start <= line <= self.end


def find_module(module: str, source_roots: list[Path]) -> Path | None:
    """The file of ``module``: under the source roots first, else an installed module.

    Installed modules are found with ``PathFinder`` one package level at a time, which reads
    the file system only: no package ``__init__`` is executed.
    """
    parts = module.split(".")
    for root in source_roots:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return _installed_module(parts)


def _installed_module(parts: list[str]) -> Path | None:
    search: list[str] | None = None
    spec = None
    for depth in range(1, len(parts) + 1):
        spec = PathFinder.find_spec(".".join(parts[:depth]), search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).resolve()


@lru_cache(maxsize=256)
def _parse(path: Path, mtime: float) -> ast.Module:
    return pyast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def parse_module(path: Path) -> ast.Module:
    return _parse(path, path.stat().st_mtime)


def _find_qualname(tree: ast.Module, qualname: str) -> ast.AST | None:
    scope: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for part in qualname.split("."):
        node = None
        for stmt in scope:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == part:
                node = stmt
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    node = stmt
        if node is None:
            return None
        scope = getattr(node, "body", [])
    return node


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve())) + "/"
        except ValueError:
            pass
    return str(path)


def resolve(ref: str, source_roots: list[Path], root: Path | None = None) -> CodeSpan:
    """Resolve ``module`` or ``module:qualname``; raises InputError (without a location).

    ``root`` only shortens the source roots named in the error message."""
    module, _, qualname = ref.partition(":")
    path = find_module(module, source_roots)
    if path is None:
        roots = ", ".join(_shown(r, root) for r in source_roots)
        raise InputError(f"code ref '{ref}': module '{module}' not found under {roots}; fix the module path or [tool.testplan] source")
    try:
        tree = parse_module(path)
    except SyntaxError as exc:
        raise InputError(f"code ref '{ref}': {path} does not parse ({exc.msg} at line {exc.lineno})") from None
    if not qualname:
        lines = path.read_text(encoding="utf-8").count("\n") + 1
        return CodeSpan(ref, path, 1, lines)
    node = _find_qualname(tree, qualname)
    if node is None:
        raise InputError(f"code ref '{ref}': '{qualname}' is not defined in {module}; fix the name (module:Class.function)")
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return CodeSpan(ref, path, start, node.end_lineno or node.lineno)


def ref_spans(ref: str, source_roots: list[Path], root: Path | None = None) -> list[CodeSpan]:
    """The spans of one code ref. A ref to a package (``testplan.mutate``) means every module in
    it, sub-packages included, not only its ``__init__.py``."""
    span = resolve(ref, source_roots, root)
    spans = [span]
    if ":" not in ref and span.file.name == "__init__.py":
        for path in sorted(span.file.parent.rglob("*.py")):
            if path != span.file and "__pycache__" not in path.parts:
                module = ".".join([ref, *path.relative_to(span.file.parent).with_suffix("").parts])
                spans.append(resolve(module.removesuffix(".__init__"), source_roots, root))
    return spans


def requirement_spans(requirement: Requirement, source_roots: list[Path]) -> list[CodeSpan]:
    return [span for ref in requirement.code for span in ref_spans(ref, source_roots)]


def check_refs(requirement: Requirement, source_roots: list[Path], path: str, lines: list[int], root: Path | None = None,
               checked: dict[str, str | None] | None = None) -> list[Finding]:
    """One finding per ``code:`` ref that does not resolve, at that ref's line. ``checked`` (one
    dict for a whole lint) keeps each ref's outcome (None, or the error's message), so a ref many
    requirements share is resolved once."""
    findings = []
    checked = {} if checked is None else checked
    for index, ref in enumerate(requirement.code):
        if ref not in checked:
            try:
                resolve(ref, source_roots, root)
                checked[ref] = None
            except InputError as err:
                checked[ref] = err.message
        if checked[ref] is not None:
            line = lines[index] if index < len(lines) else 1
            findings.append(Finding(path, line, f"{requirement.id}: {checked[ref]}"))
    return findings
