"""The inputs of an audit, hashed: what an ``audit.json`` is about, so that ``testplan gate`` can
tell whether a saved result still describes the tree it is asked to pass.

:func:`read_inputs` hashes (sha256 of each file's bytes, keyed by its path relative to the
project root, ``/`` separated; absolute when outside it):

- the requirements file (or every YAML file of a requirements directory) and the plan files;
- ``[tool.testplan]`` of ``pyproject.toml``, as one entry ``pyproject.toml[tool.testplan]``
  (the table, not the file: a version bump elsewhere in it does not matter);
- the tests: every ``*.py`` under the configured test paths (``conftest.py`` included, pytest's
  default ``norecursedirs`` and virtualenvs skipped), the ``conftest.py`` files from the project
  root down to them, and the pytest configuration: ``pytest.ini``, ``.pytest.ini``,
  ``[tool.pytest...]`` of ``pyproject.toml`` (entry ``pyproject.toml[tool.pytest]``), ``tox.ini``
  when it has a ``[pytest]`` section and ``setup.cfg`` when it has ``[tool:pytest]``;
- the source files in scope: the files of the requirements' ``code:`` refs (a package ref: all
  its modules, see :func:`testplan.scope.ref_spans`); a ref that does not resolve is the entry
  ``code:<ref>`` with the hash ``unresolved``;

and the digest covers testplan's version too. :func:`check_inputs` compares a saved record with
the tree and names the first difference (a changed file first, then a removed one, then an added
one); :func:`verify_inputs` is the gate's policy: a result that does not match, or that has no
record (written by an older testplan), is refused with :class:`StaleResult` (exit 4) unless the
caller allows a stale result, which then comes with a note saying so.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import IncompleteError, TestplanError
from .result import AuditResult, Inputs

if TYPE_CHECKING:
    from .config import Config
    from .store import Requirements

TOOL = f"testplan {__version__}"
UNRESOLVED = "unresolved"
# pytest's default norecursedirs, plus __pycache__ (never holds sources)
SKIPPED_DIRS = (".*", "*.egg", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}", "__pycache__")


class StaleResult(IncompleteError):
    """A saved result that does not describe the tree any more (or cannot be checked): exit 4."""

    slug = "stale"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _key(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _skipped(directory: Path) -> bool:
    return any(fnmatch.fnmatch(directory.name, pattern) for pattern in SKIPPED_DIRS) \
        or (directory / "pyvenv.cfg").is_file()


def _python_files(top: Path) -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if not _skipped(Path(directory) / d))
        found += [Path(directory) / f for f in files if f.endswith(".py")]
    return found


def _test_paths(config: Config, root: Path) -> list[Path]:
    """The configured test paths as they exist (a file, a directory, a glob, ``file::test``)."""
    paths: list[Path] = []
    for entry in config.tests:
        entry = entry.split("::", 1)[0]
        if any(c in entry for c in "*?["):
            paths += sorted(root.glob(entry))
        elif (root / entry).exists():
            paths.append(root / entry)
    return paths


def test_files(config: Config) -> list[Path]:
    """The tests' Python files, the conftest.py files above them (up to the project root) and
    the project's pytest configuration files."""
    root = config.root.resolve()
    files: set[Path] = set()
    for path in _test_paths(config, root):
        path = path.resolve()
        files.update(_python_files(path) if path.is_dir() else [path] if path.is_file() else [])
        directory = path if path.is_dir() else path.parent
        for parent in [directory, *directory.parents]:
            if (parent / "conftest.py").is_file():
                files.add(parent / "conftest.py")
            if parent == root or not parent.is_relative_to(root):
                break
    for name, section in (("pytest.ini", None), (".pytest.ini", None), ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")):
        path = root / name
        if path.is_file() and (section is None or section in path.read_text(encoding="utf-8", errors="replace")):
            files.add(path)
    return sorted(files)


def _tables(root: Path) -> dict[str, str]:
    """``pyproject.toml[tool.testplan]`` and ``pyproject.toml[tool.pytest]`` -> the hash of the
    table as canonical JSON (absent tables are absent entries)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        tool = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {"pyproject.toml": _sha256(path.read_bytes())}  # unreadable: the file itself
    out = {}
    for name in ("testplan", "pytest"):
        if name in tool:
            out[f"pyproject.toml[tool.{name}]"] = _sha256(json.dumps(tool[name], sort_keys=True, default=str).encode())
    return out


def _scope(config: Config, requirements: Requirements | None, root: Path) -> dict[str, str]:
    """The source files of the requirements' code refs -> their hashes."""
    from .scope import ref_spans
    from .store import load_requirements, requirement_files

    out: dict[str, str] = {}
    for path in requirement_files(config.requirements_path):
        if path.is_file():
            out[_key(path, root)] = _sha256(path.read_bytes())
    if requirements is None:
        try:
            requirements = load_requirements(config.requirements_path, config.root)
        except (TestplanError, OSError):
            return out  # the requirements file's own hash tells that it changed
    for requirement in requirements:
        for ref in requirement.code:
            try:
                spans = ref_spans(ref, config.source_roots)
            except TestplanError:
                out[f"code:{ref}"] = UNRESOLVED
                continue
            for span in spans:
                out[_key(span.file, root)] = _sha256(span.file.read_bytes())
    return out


def digest_of(tool: str, files: dict[str, str]) -> str:
    text = tool + "\n" + "".join(f"{path}\t{files[path]}\n" for path in sorted(files))
    return "sha256:" + _sha256(text.encode("utf-8"))


def read_inputs(config: Config, requirements: Requirements | None = None) -> Inputs:
    """Hash what an audit of ``config``'s project reads (``requirements``: already loaded, or
    None to load them here; a project whose requirements do not load hashes without scope)."""
    root = config.root.resolve()
    files = _scope(config, requirements, root)
    if config.plans_dir.is_dir():
        for path in sorted(config.plans_dir.glob("*.y*ml")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                files[_key(path, root)] = _sha256(path.read_bytes())
    files.update(_tables(root))
    for path in test_files(config):
        files[_key(path, root)] = _sha256(path.read_bytes())
    return Inputs(digest=digest_of(TOOL, files), tool=TOOL, files=dict(sorted(files.items())))


def check_inputs(saved: Inputs, current: Inputs) -> str | None:
    """The first difference between a saved record and the tree, as a phrase (``src/x.py
    changed since the audit (and 2 more files)``); None when they match."""
    if saved.tool != current.tool:
        return f"the audit was made by {saved.tool}, this is {current.tool}"
    if saved.digest == current.digest and saved.files == current.files:
        return None
    changed = [p for p in sorted(saved.files) if p in current.files and saved.files[p] != current.files[p]]
    removed = [p for p in sorted(saved.files) if p not in current.files]
    added = [p for p in sorted(current.files) if p not in saved.files]
    differences = [*(f"{p} changed" for p in changed), *(f"{p} was removed" for p in removed),
                   *(f"{p} was added" for p in added)]
    if not differences:  # the same files, yet not the same digest: the record was edited
        return f"its inputs digest {saved.digest} is not the digest of its own files"
    more = f" (and {len(differences) - 1} more file{'s' if len(differences) > 2 else ''})" if len(differences) > 1 else ""
    return f"{differences[0]} since the audit{more}"


def verify_inputs(result: AuditResult, config: Config, *, allow_stale: bool = False, source: str | Path = "audit.json") -> str | None:
    """The gate's check: None when ``result`` matches the tree. Otherwise raises StaleResult
    naming the first difference, or, with ``allow_stale``, returns the note to print."""
    if result.inputs is None:
        why = "it has no inputs record (written by an older testplan), so it cannot be checked against the tree"
    else:
        why = check_inputs(result.inputs, read_inputs(config))
        if why is None:
            return None
    if allow_stale:
        return f"stale: {why} (--allow-stale)"
    raise StaleResult(f"{source}: the audit result does not match the tree: {why}; re-run 'testplan audit' "
                      "(or pass --allow-stale to gate this saved result as it is)")
