"""``testplan init --from-code PACKAGE``: draft requirements for an existing codebase.

Statically (user code is parsed with ``ast``, never imported):

1. one requirement per public module of the package (``granularity="module"``) or per public
   top-level class/function (``granularity="function"``), with ``code:`` refs filled in, the
   title and statement taken from the docstring, risk ``medium`` and no plan (so every one is
   UNREVIEWED until someone writes and approves a plan). IDs are ``<PACKAGE>-1..n``.
   ``requirements.yaml`` is written only when it does not exist.
2. suggested links from per-test coverage: one traced test run; a test that executes a
   run-time line of a requirement's code is suggested for it. They are printed, and with
   ``write_links`` appended to pyproject.toml as a ``[tool.testplan.links]`` table (keyed by test
   nodeid without parameters) when no links table exists yet; otherwise the table's lines are
   printed to paste by hand. Test files are never edited.

Public means: the name does not start with ``_`` (and is listed in ``__all__`` when the module
defines a literal ``__all__``); modules named ``test_*``/``conftest`` and ``tests`` packages are
skipped, and so are modules without a public class or function.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import pyast
from .config import Config, load_config
from .errors import InputError, TestplanError
from .scope import CodeSpan, find_module, ref_spans
from .store import atomic_write, display, load_requirements, make_yaml

Granularity = Literal["module", "function"]

HEADER = """\
# Drafted by 'testplan init --from-code {package}' from the code and its docstrings: each
# requirement describes what the code is, not yet what it MUST do. For each one: rewrite the
# statement as the behaviour users rely on, add acceptance lines and a risk, then run
# 'testplan enumerate ID' and review the plan. Delete the requirements nobody needs.
"""


@dataclass
class Draft:
    id: str
    title: str
    statement: str
    code: list[str]


@dataclass
class DraftReport:
    requirements_path: Path
    drafts: list[Draft] = field(default_factory=list)
    links: dict[str, list[str]] = field(default_factory=dict)  # test nodeid (no params) -> IDs
    links_written: bool = False
    links_note: str | None = None  # why no links were suggested/written


def id_prefix(package: str) -> str:
    """``semver`` -> ``SEMVER``; ``my_pkg.core`` -> ``MYPKGCORE``; a leading digit gets ``P``."""
    prefix = re.sub(r"[^A-Z0-9]", "", package.upper())
    if not prefix:
        raise InputError(f"--from-code: cannot make requirement IDs from '{package}'; pass a package name")
    return prefix if prefix[0].isalpha() else "P" + prefix


def _docstring_parts(node: ast.AST) -> tuple[str | None, str | None]:
    doc = ast.get_docstring(node) if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if not doc:
        return None, None
    paragraphs = [p for p in re.split(r"\n\s*\n", doc.strip()) if p.strip()]
    first = " ".join(paragraphs[0].split())
    title = first.split(". ")[0].rstrip(".")
    return (title[:100] or None), first


def _literal_all(tree: ast.Module) -> set[str] | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets):
            try:
                value = ast.literal_eval(stmt.value)
            except ValueError:
                return None
            return {str(v) for v in value}
    return None


def public_definitions(tree: ast.Module) -> list[ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]:
    exported = _literal_all(tree)
    return [
        stmt for stmt in tree.body
        if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and not stmt.name.startswith("_")
        and (exported is None or stmt.name in exported)
    ]


def public_modules(package: str, source_roots: list[Path]) -> list[tuple[str, Path]]:
    """(dotted name, file) of the package's public modules, sorted by name."""
    path = find_module(package, source_roots)
    if path is None:
        roots = ", ".join(str(r) for r in source_roots)
        raise InputError(f"--from-code: package '{package}' not found under {roots}; check the name or [tool.testplan] source")
    if path.name != "__init__.py":
        return [(package, path)]
    found: list[tuple[str, Path]] = []
    base = path.parent
    for file in sorted(base.rglob("*.py")):
        relative = file.relative_to(base)
        parts = list(relative.parts)
        if any(p.startswith(("_", ".")) or p in ("tests", "test") for p in parts[:-1]):
            continue
        if any(not (base.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
            continue  # not importable as a submodule
        stem = file.stem
        if stem == "__init__":
            name = ".".join([package, *parts[:-1]])
        elif stem.startswith("_") or stem.startswith("test_") or stem == "conftest":
            continue
        else:
            name = ".".join([package, *parts[:-1], stem])
        found.append((name, file))
    return sorted(found)


def draft_requirements(package: str, source_roots: list[Path], granularity: Granularity = "module") -> list[Draft]:
    if granularity not in ("module", "function"):
        raise InputError(f"--granularity: '{granularity}' is not one of module, function")
    prefix = id_prefix(package)
    drafts: list[Draft] = []
    for module, file in public_modules(package, source_roots):
        try:
            tree = pyast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except SyntaxError as exc:
            raise InputError(f"does not parse ({exc.msg}); fix it or draft without it", str(file), exc.lineno or 1) from None
        definitions = public_definitions(tree)
        if not definitions:
            continue
        if granularity == "module":
            title, statement = _docstring_parts(tree)
            names = ", ".join(d.name for d in definitions[:6]) + (", ..." if len(definitions) > 6 else "")
            drafts.append(Draft("", title or f"module {module}",
                                statement or f"TODO: say what {module} ({names}) must do.", [module]))
        else:
            for node in definitions:
                title, statement = _docstring_parts(node)
                ref = f"{module}:{node.name}"
                drafts.append(Draft("", title or f"{node.name} in {module}", statement or f"TODO: say what {ref} must do.", [ref]))
    if not drafts:
        raise InputError(f"--from-code: '{package}' has no public module with a public class or function; nothing to draft")
    for number, draft in enumerate(drafts, start=1):
        draft.id = f"{prefix}-{number}"
    return drafts


def render_requirements(project: str, package: str, drafts: list[Draft]) -> str:
    import io

    data = CommentedMap()
    data["project"] = project
    items = CommentedSeq()
    for draft in drafts:
        item = CommentedMap()
        item["id"] = draft.id
        item["title"] = draft.title
        item["statement"] = draft.statement
        item["risk"] = "medium"
        code = CommentedSeq(draft.code)
        code.fa.set_flow_style()
        item["code"] = code
        items.append(item)
    data["requirements"] = items
    stream = io.StringIO()
    make_yaml().dump(data, stream)
    return HEADER.format(package=package) + stream.getvalue()


def suggest_links(config: Config, spans: dict[str, list[CodeSpan]]) -> dict[str, list[str]]:
    """Trace the tests once; test nodeid (parameters dropped) -> IDs whose run-time lines it executes."""
    from .score import file_lines, runtime_lines
    from .trace import run_trace

    trace = run_trace(config)
    wanted = {req_id: runtime_lines(req_spans) for req_id, req_spans in spans.items()}
    links: dict[str, list[str]] = {}
    for test in trace.tests:
        executed = trace.lines.get(test.nodeid, {})
        key = test.nodeid.split("[", 1)[0]
        for req_id, files in wanted.items():
            for file, lines in files.items():
                first = file_lines(Path(file)).first_line
                if any(first.get(n, n) in lines for n in executed.get(file, ())):
                    bucket = links.setdefault(key, [])
                    if req_id not in bucket:
                        bucket.append(req_id)
                    break
    return links


def summarize_links(links: dict[str, list[str]], ids: list[str], static: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """One line per requirement: how many tests execute its code, by test file. ``static``:
    IDs whose code has no function body (it all runs at import, so no test can be suggested)."""
    lines = []
    for req_id in ids:
        if req_id in static:
            lines.append(f"{req_id}: no function body to execute (module- or class-level code only); link tests by hand")
            continue
        files: dict[str, int] = {}
        for nodeid, linked in links.items():
            if req_id in linked:
                file = nodeid.split("::", 1)[0]
                files[file] = files.get(file, 0) + 1
        total = sum(files.values())
        where = ", ".join(f"{f} ({n})" for f, n in files.items()) if files else "no test executes its code"
        lines.append(f"{req_id}: {total} test{'s' if total != 1 else ''}: {where}" if files else f"{req_id}: {where}")
    return lines


def link_lines(links: dict[str, list[str]]) -> list[str]:
    """The suggested links as ``[tool.testplan.links]`` lines: ``"nodeid" = ["ID", ...]``."""
    return [f"{json.dumps(nodeid)} = [{', '.join(json.dumps(i) for i in ids)}]" for nodeid, ids in links.items()]


def links_table(links: dict[str, list[str]], package: str) -> str:
    lines = [
        "",
        "[tool.testplan.links]",
        f"# Suggested by 'testplan init --from-code {package}': each test -> the drafted requirements whose",
        "# code it executes (per-test coverage). Prefer @pytest.mark.verifies(\"ID.n\") on the test once",
        "# plans have cases; then remove the line here.",
        *link_lines(links),
    ]
    return "\n".join(lines) + "\n"


def write_links_table(pyproject: Path, links: dict[str, list[str]], package: str) -> str | None:
    """Append the table; returns why it was not written, or None when it was."""
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {exc}; fix the syntax", str(pyproject), 1) from None
    if "links" in document.get("tool", {}).get("testplan", {}):
        return f"{pyproject.name} already has [tool.testplan.links]; kept it: add the suggested lines below to it by hand"
    new_text = text + ("" if not text or text.endswith("\n") else "\n") + links_table(links, package)
    tomllib.loads(new_text)  # never write a file that would not load again
    atomic_write(pyproject, new_text)
    return None


def init_from_code(root: Path, package: str, console, granularity: Granularity = "module",
                   write_links: bool = False) -> DraftReport:
    """Draft ``requirements.yaml`` for ``package`` and suggest test links (see the module docstring)."""
    if not root.is_dir():
        raise InputError(f"--root: '{root}' is not a directory; pass the project's directory with -C")
    config = load_config(root)
    path = config.requirements_path
    shown = display(path, root)
    if path.exists():
        raise InputError(f"{shown} exists; --from-code only drafts a new file: move it away or add requirements by hand", shown)
    drafts = draft_requirements(package, config.source_roots, granularity)
    atomic_write(path, render_requirements(package, package, drafts))
    load_requirements(path, root)  # what was written must load
    report = DraftReport(path, drafts)
    console.print(f"created  {shown}: {len(drafts)} draft requirement{'s' if len(drafts) != 1 else ''} "
                  f"({drafts[0].id}..{drafts[-1].id}), no plans yet", markup=False)
    for draft in drafts:
        console.print(f"  {draft.id:<12} {', '.join(draft.code)}  {draft.title}", markup=False)

    spans = {d.id: [span for ref in d.code for span in ref_spans(ref, config.source_roots)] for d in drafts}
    test_dirs = [config.root / t for t in config.tests]
    if not any(d.exists() for d in test_dirs):
        report.links_note = f"no tests under {', '.join(config.tests)}; no links suggested"
    else:
        try:
            report.links = suggest_links(config, spans)
        except TestplanError as exc:
            report.links_note = f"no links suggested: the traced test run failed ({exc})"
    if report.links_note:
        console.print(report.links_note, markup=False)
    else:
        console.print(f"suggested links from per-test coverage ({len(report.links)} test{'s' if len(report.links) != 1 else ''}):", markup=False)
        from .score import runtime_lines

        static = {req_id for req_id, req_spans in spans.items() if not runtime_lines(req_spans)}
        for line in summarize_links(report.links, [d.id for d in drafts], static):
            console.print(f"  {line}", markup=False)
        if write_links and report.links:
            why = write_links_table(root / "pyproject.toml", report.links, package)
            if why is None:
                report.links_written = True
                console.print(f"appended [tool.testplan.links] ({len(report.links)} tests) to {display(root / 'pyproject.toml', root)}", markup=False)
            else:
                report.links_note = why
                console.print(why, markup=False)
                for line in link_lines(report.links):
                    console.print(line, markup=False, soft_wrap=True)
        elif report.links:
            console.print("to use them, add this table to pyproject.toml (or rerun with --write-links):", markup=False)
            for line in ["[tool.testplan.links]", *link_lines(report.links)]:
                console.print(line, markup=False, soft_wrap=True)
    console.print("next: rewrite each statement as what the code must do, then 'testplan enumerate ID' and review", markup=False)
    return report
