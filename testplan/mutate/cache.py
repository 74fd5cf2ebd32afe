"""Incremental mutation: ``.testplan/cache/mutation.json``.

A mutant's verdicts are reused only when all of these are unchanged:

* the mutant ID (module, qualname, position in the function, operator, original and mutated text);
* mutmut's hash of the mutated function's AST (any edit of that function re-runs its mutants);
* the set of tests selected for it, and the hash of each of them (:func:`hash_tests`): its body
  and the non-test code of its module, every ``conftest.py`` from its directory up to the root,
  every project file the test executed (the trace's per-test coverage: callees of the mutated
  function included), and every project module that the test's file or those files import,
  directly or not (helper modules next to the tests, constants read at import time): editing any
  of them re-runs exactly the mutants those tests run;
* the tool: testplan and mutmut versions, Python version, the configured pytest arguments and the
  project's pytest configuration (:func:`pytest_config`: ``addopts`` and the rest of the
  ``[pytest]`` sections; any edit there re-runs every mutant).

Files are compared by their AST: formatting and comments do not count.
An entry serves a run whose matrix mode it is at least as complete as: a full-matrix entry
serves every mode; a decisive one (stopped where the status was settled: the verdicts decide
the status, not every cell) serves decisive and ``--fast`` runs; a ``--fast`` one (stopped at
the first kill, a crash included) serves ``--fast`` runs only.
Entries of mutants that no longer exist are dropped when the cache is saved.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from .. import pyast
from .. import __version__
from ..store import atomic_write, read_state

CACHE_FILE = "mutation.json"
CACHE_VERSION = 2  # 2: entries record the matrix mode (1 had a "fast" flag)
_TEST_PREFIXES = ("test", "Test")


def tool_key(mutmut_version: str, pytest_args: list[str], pytest_configuration: str = "") -> str:
    python = "%d.%d" % sys.version_info[:2]
    return (f"testplan {__version__}; mutmut {mutmut_version}; python {python}; pytest_args {json.dumps(pytest_args)}"
            + (f"; pytest config {pytest_configuration}" if pytest_configuration else ""))


def pytest_config(root: Path) -> str:
    """A digest of the pytest configuration in ``root``: ``pytest.ini``/``.pytest.ini`` whole, the
    ``[tool.pytest.ini_options]`` table of ``pyproject.toml``, ``[pytest]`` of ``tox.ini`` and
    ``[tool:pytest]`` of ``setup.cfg`` (addopts, markers, pythonpath, ...). Other content of those
    files does not count."""
    import configparser
    import tomllib

    parts = []
    for name in ("pytest.ini", ".pytest.ini"):
        try:
            parts.append(f"{name}\0{(root / name).read_text(encoding='utf-8')}")
        except (OSError, UnicodeDecodeError):
            pass
    try:
        table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}).get("pytest")
        if table is not None:
            parts.append("pyproject.toml\0" + json.dumps(table, sort_keys=True, default=str))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        pass
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string((root / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_section(section):
            parts.append(f"{name}\0" + json.dumps(sorted(parser.items(section))))
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()[:16] if parts else ""


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False)


def _context(body: list[ast.stmt], keep: ast.AST | None, dumps: dict[int, str] | None = None) -> str:
    """Everything in a module or class body except *other* tests: helpers, fixtures, imports.
    ``dumps`` (statement id -> dump) keeps each statement's dump for the next test of that body."""
    parts = []
    for st in body:
        named = isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if named and st is not keep and st.name.startswith(_TEST_PREFIXES):
            continue
        if st is keep:
            parts.append("<the test>")
        elif dumps is None:
            parts.append(_dump(st))
        else:
            if id(st) not in dumps:
                dumps[id(st)] = _dump(st)
            parts.append(dumps[id(st)])
    return "\n".join(parts)


class _Files:
    """AST digests and project-local imports of the project's Python files, each read once."""

    def __init__(self, root: Path, search: list[Path]):
        self.root = root
        self.search = search  # where absolute imports are looked up (root, source roots, tests' dirs)
        self.trees: dict[Path, ast.Module | None] = {}
        self.closures: dict[Path, frozenset[Path]] = {}
        self.digests: dict[Path, str] = {}

    def tree(self, path: Path) -> ast.Module | None:
        if path not in self.trees:
            try:
                self.trees[path] = pyast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                self.trees[path] = None
        return self.trees[path]

    def digest(self, path: Path) -> str:
        if path not in self.digests:
            tree = self.tree(path)
            if tree is None:
                self.digests[path] = "<missing>" if not path.exists() else "<unreadable>"
            else:
                self.digests[path] = hashlib.sha256(_dump(tree).encode()).hexdigest()[:16]
        return self.digests[path]

    def _module(self, bases: list[Path], dotted: str) -> list[Path]:
        """The files of module ``dotted`` (and its packages' ``__init__.py``) under every base that has it."""
        parts = [p for p in dotted.split(".") if p]
        out: list[Path] = []
        for base in bases:
            found = []
            for n in range(1, len(parts) + 1):
                stem = base.joinpath(*parts[:n])
                if (stem / "__init__.py").is_file():
                    found.append(stem / "__init__.py")
                elif stem.with_suffix(".py").is_file() and n == len(parts):
                    found.append(stem.with_suffix(".py"))
                else:
                    break
            out += found
        return out

    def imports(self, path: Path) -> set[Path]:
        """Project files ``path`` imports (statically: ``import``/``from`` anywhere in the file)."""
        tree = self.tree(path)
        found: set[Path] = set()
        if tree is None:
            return found
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.update(self._module(self.search, alias.name))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = path.parent
                    for _ in range(node.level - 1):
                        base = base.parent
                    bases, module = [base], node.module or ""
                else:
                    bases, module = self.search, node.module or ""
                if module:
                    found.update(self._module(bases, module))
                for alias in node.names:  # from package import submodule
                    found.update(self._module(bases, f"{module}.{alias.name}" if module else alias.name))
        return {f.resolve() for f in found if self.root in f.resolve().parents}

    def closure(self, path: Path) -> frozenset[Path]:
        """The project files ``path`` imports, directly or not (``path`` itself left out)."""
        if path not in self.closures:
            seen: set[Path] = set()
            todo = [path]
            while todo:
                for found in self.imports(todo.pop()):
                    if found not in seen and found != path:
                        seen.add(found)
                        todo.append(found)
            self.closures[path] = frozenset(seen)
        return self.closures[path]


def hash_tests(root: Path, nodeids: list[str], executed: dict[str, list[str]] | None = None,
               search: list[Path] | None = None) -> dict[str, str]:
    """Hash of each test: its function's AST (decorators and parameters included), the
    non-test code of its module (and class), every ``conftest.py`` from its directory up to
    the root, and the AST of every project file it depends on: those it executed (``executed``:
    nodeid -> files, from the trace's per-test coverage) and those its module and those files
    import, directly or not (absolute imports looked up in ``search``, the root and the test's
    directories). Formatting and comments do not count; editing one test leaves the others' hashes."""
    root = root.resolve()
    if search is None:  # the root and every directory of the tests up to it (rootdir-style imports)
        search = [root, *(d for n in nodeids for d in (root / n.split("::")[0]).resolve().parents if root in d.parents)]
    files = _Files(root, sorted({p.resolve() for p in search}))
    trees: dict[str, ast.Module | None] = {}
    conftests: dict[Path, str] = {}
    dumps: dict[int, str] = {}  # statement id -> AST dump: a module's helpers are dumped once, not once per test
    resolved: dict[str, Path] = {}
    out = {}
    for nodeid in nodeids:
        path, *names = nodeid.partition("[")[0].split("::")  # parameters may contain '::'

        if path not in trees:
            try:
                trees[path] = pyast.parse((root / path).read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError):
                trees[path] = None
        tree = trees[path]
        digest = hashlib.sha256(nodeid.encode())
        if tree is None:
            digest.update(b"<unreadable>")
        else:
            body, parts, node = tree.body, [], None
            for name in names:
                node = next((st for st in body if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                             and st.name == name), None)
                if node is None:
                    break
                parts.append(_context(body, node, dumps))
                body = getattr(node, "body", [])
            parts.append(_dump(node) if node is not None else _dump(tree))
            digest.update("\n\0".join(parts).encode())
        directory = (root / path).parent
        while True:
            conftest = directory / "conftest.py"
            if conftest not in conftests:
                try:
                    conftests[conftest] = _dump(pyast.parse(conftest.read_text(encoding="utf-8")))
                except (OSError, SyntaxError, UnicodeDecodeError):
                    conftests[conftest] = ""
            digest.update(conftests[conftest].encode())
            if directory == root or root not in directory.parents:
                break
            directory = directory.parent
        test_file = (root / path).resolve()
        depends = set(files.closure(test_file))
        for ran in (executed or {}).get(nodeid, []):
            if ran not in resolved:
                resolved[ran] = Path(ran).resolve()
            ran_path = resolved[ran]
            if root in ran_path.parents and ran_path.suffix == ".py":
                depends.add(ran_path)
                depends.update(files.closure(ran_path))
        depends.discard(test_file)  # its own module: above, without the other tests
        for dep in sorted(depends):
            digest.update(f"\n\0{dep.relative_to(root).as_posix()}\0{files.digest(dep)}".encode())
        out[nodeid] = digest.hexdigest()[:16]
    return out


_COMPLETENESS = {"fast": 0, "decisive": 1, "full": 2}  # which entries serve which runs (see above)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheEntry(_Strict):
    """One mutant's verdicts, with what they were computed from."""

    function_hash: StrictStr
    operator: StrictStr
    tests: dict[StrictStr, StrictStr]  # nodeid -> body hash
    verdicts: dict[StrictStr, StrictStr]  # nodeid -> verdict
    matrix: Literal["decisive", "full", "fast"]


class CacheFile(_Strict):
    """``mutation.json``; a file of another shape is discarded on read (:func:`~testplan.store.read_state`)."""

    version: StrictInt
    tool: StrictStr
    mutants: dict[StrictStr, CacheEntry]


class MutationCache:
    def __init__(self, path: Path, tool: str):
        self.path = path
        self.tool = tool
        self.entries: dict[str, dict] = {}
        data = read_state(path, CacheFile, "mutation cache")
        if data is not None and data.version == CACHE_VERSION and data.tool == tool:
            self.entries = {key: entry.model_dump() for key, entry in data.mutants.items()}

    def get(self, mutant, tests: dict[str, str], matrix: str) -> dict[str, str] | None:
        """Cached verdicts when ``mutant`` ran the same ``tests`` ({nodeid: body hash}) before, in a
        run whose ``matrix`` mode ("decisive", "full", "fast") serves this one."""
        entry = self.entries.get(mutant.id)
        if not entry or entry.get("function_hash") != mutant.function_hash or entry.get("operator") != mutant.operator:
            return None
        if entry.get("tests") != tests or _COMPLETENESS.get(entry.get("matrix"), -1) < _COMPLETENESS[matrix]:
            return None
        return dict(entry["verdicts"])

    def put(self, mutant, tests: dict[str, str], verdicts: dict[str, str], matrix: str) -> None:
        self.entries[mutant.id] = {"function_hash": mutant.function_hash, "operator": mutant.operator,
                                   "tests": tests, "verdicts": verdicts, "matrix": matrix}

    def save(self, keep: set[str]) -> None:
        entries = {k: v for k, v in sorted(self.entries.items()) if k in keep}
        atomic_write(self.path, json.dumps({"version": CACHE_VERSION, "tool": self.tool, "mutants": entries},
                                           indent=1, sort_keys=True) + "\n")
