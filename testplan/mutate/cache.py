"""Incremental mutation: ``.testplan/cache/mutation.json``.

A mutant's verdicts are reused only when all of these are unchanged:

* the mutant ID (module, qualname, position in the function, operator, original and mutated text);
* mutmut's hash of the mutated function's AST (any edit of that function re-runs its mutants);
* the set of tests selected for it, and the body hash of each of them (:func:`hash_tests`):
  editing a test re-runs exactly the mutants that test runs;
* the tool: testplan and mutmut versions, Python version and the configured pytest arguments.

Verdicts of a ``--fast`` run (stopped at the first kill) are reused by fast runs only.
Entries of mutants that no longer exist are dropped when the cache is saved.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr

from .. import __version__
from ..store import atomic_write, read_state

CACHE_FILE = "mutation.json"
CACHE_VERSION = 1
_TEST_PREFIXES = ("test", "Test")


def tool_key(mutmut_version: str, pytest_args: list[str]) -> str:
    python = "%d.%d" % sys.version_info[:2]
    return f"testplan {__version__}; mutmut {mutmut_version}; python {python}; pytest_args {json.dumps(pytest_args)}"


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False)


def _context(body: list[ast.stmt], keep: ast.AST | None) -> str:
    """Everything in a module or class body except *other* tests: helpers, fixtures, imports."""
    parts = []
    for st in body:
        named = isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if named and st is not keep and st.name.startswith(_TEST_PREFIXES):
            continue
        parts.append(_dump(st) if st is not keep else "<the test>")
    return "\n".join(parts)


def hash_tests(root: Path, nodeids: list[str]) -> dict[str, str]:
    """Body hash of each test: its function's AST (decorators and parameters included), the
    non-test code of its module (and class) and every ``conftest.py`` from its directory up to
    the root. Formatting and comments do not count; editing one test leaves the others' hashes."""
    trees: dict[str, ast.Module | None] = {}
    conftests: dict[Path, str] = {}
    out = {}
    root = root.resolve()
    for nodeid in nodeids:
        path, *names = nodeid.partition("[")[0].split("::")  # parameters may contain '::'

        if path not in trees:
            try:
                trees[path] = ast.parse((root / path).read_text(encoding="utf-8"))
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
                parts.append(_context(body, node))
                body = getattr(node, "body", [])
            parts.append(_dump(node) if node is not None else _dump(tree))
            digest.update("\n\0".join(parts).encode())
        directory = (root / path).parent
        while True:
            conftest = directory / "conftest.py"
            if conftest not in conftests:
                try:
                    conftests[conftest] = _dump(ast.parse(conftest.read_text(encoding="utf-8")))
                except (OSError, SyntaxError, UnicodeDecodeError):
                    conftests[conftest] = ""
            digest.update(conftests[conftest].encode())
            if directory == root or root not in directory.parents:
                break
            directory = directory.parent
        out[nodeid] = digest.hexdigest()[:16]
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheEntry(_Strict):
    """One mutant's verdicts, with what they were computed from."""

    function_hash: StrictStr
    operator: StrictStr
    tests: dict[StrictStr, StrictStr]  # nodeid -> body hash
    verdicts: dict[StrictStr, StrictStr]  # nodeid -> verdict
    fast: StrictBool


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

    def get(self, mutant, tests: dict[str, str], fast: bool) -> dict[str, str] | None:
        """Cached verdicts when ``mutant`` ran the same ``tests`` ({nodeid: body hash}) before."""
        entry = self.entries.get(mutant.id)
        if not entry or entry.get("function_hash") != mutant.function_hash or entry.get("operator") != mutant.operator:
            return None
        if entry.get("tests") != tests or (entry.get("fast") and not fast):
            return None
        return dict(entry["verdicts"])

    def put(self, mutant, tests: dict[str, str], verdicts: dict[str, str], fast: bool) -> None:
        self.entries[mutant.id] = {"function_hash": mutant.function_hash, "operator": mutant.operator,
                                   "tests": tests, "verdicts": verdicts, "fast": fast}

    def save(self, keep: set[str]) -> None:
        entries = {k: v for k, v in sorted(self.entries.items()) if k in keep}
        atomic_write(self.path, json.dumps({"version": CACHE_VERSION, "tool": self.tool, "mutants": entries},
                                           indent=1, sort_keys=True) + "\n")
