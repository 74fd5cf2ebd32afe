"""Mutants from mutmut, written into a scratch copy of the project; never into the user's tree.

mutmut 3.8 is used as a *generator* only: its libcst ``MutationVisitor`` with its own
``mutation_operators`` finds the mutations and its ``combine_mutations_to_source`` writes the
trampolined module (one copy of each function per mutant, switched by ``MUTANT_UNDER_TEST``).
The operators are wrapped only to remember which operator produced each mutated node, and the
metadata wrapper is kept to know the line and column of each mutation; no operator is written here.

What this module adds:

* a stable mutant ID: hash of module, qualname, position *relative to the function*, operator,
  original and mutated node text. It survives edits elsewhere in the file (unlike mutmut's
  ``__mutmut_N`` numbers and absolute line numbers);
* original/mutated source text of the mutated line(s);
* the coverage line of each mutant (the first line of the innermost statement, which is what
  coverage.py records), to pick the tests that execute it;
* scope: the requirements whose ``code:`` spans contain the mutated line;
* ``unmutated``: per requirement, code in its scope mutmut does not mutate (decorated functions,
  module-level code, ...), with the reason.
"""

from __future__ import annotations

import ast
import hashlib
import os
import secrets
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from .. import pyast
from ..config import Config
from ..errors import InputError
from ..statedir import make_writable, remove_tree
from ..scope import CodeSpan, requirement_spans

SCRATCH_DIR = "mutants"  # under the state dir: .testplan/mutants/

# never copied into the scratch copy: VCS, state, caches, virtualenvs
IGNORED_NAMES = frozenset({
    ".git", ".hg", ".svn", ".testplan", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    ".hypothesis", ".tox", ".nox", ".venv", "venv", "node_modules", "mutants", "htmlcov", ".coverage",
})


def mutmut_version() -> str:
    import mutmut

    return mutmut.__version__


@dataclass
class Mutant:
    """One mutant: where it is, what it changes, how to switch it on."""

    id: str  # stable, see mutant_id()
    file: str  # relative to the project root, '/' separated
    module: str  # import name of the module (trampolines compare it with __module__)
    qualname: str  # function or Class.method
    key: str  # mutmut's mangled function key: x_f or xǁClassǁmethod
    name: str  # runtime name for MUTANT_UNDER_TEST: <module>.<key>__mutmut_<n>
    line: int  # 1-based line of the mutated node in the original file
    end_line: int
    col: int
    operator: str  # mutmut's operator function, without the 'operator_' prefix
    original: str  # original source line(s), stripped
    mutated: str  # the same line(s) with the mutation applied, stripped
    function_hash: str  # mutmut's hash of the function's AST (changes when the function changes)
    cover_lines: tuple[int, int] | None  # lines of the mutated statement (a compound one: its header); None: signature
    body: tuple[int, int]  # first..last line of the function body (fallback for signature mutants)
    requirements: list[str] = field(default_factory=list)

    def covered_by(self, lines: set[int]) -> bool:
        """Whether a test that executed ``lines`` (of this file) executes this mutant."""
        if self.cover_lines is not None:
            # any line of the statement: for a condition split over lines, Python 3.11 records
            # the lines of its parts, not the line of the 'if'
            lo, hi = self.cover_lines
            return any(lo <= n <= hi for n in lines)
        lo, hi = self.body
        return any(lo <= n <= hi for n in lines)


@dataclass
class Generation:
    scratch: Path
    mutants: list[Mutant]  # every mutant of the files in scope, in file then visit order
    unmutated: dict[str, list[str]]  # requirement ID -> ["module:qualname (reason)", ...]
    files: dict[str, str]  # relative file -> module name
    spans: dict[str, list[CodeSpan]]  # requirement ID -> spans (files absolute, in the user's tree)
    seconds: float = 0.0
    code: dict[str, str] = field(default_factory=dict)  # relative file -> trampolined module text
    token: str = ""  # the scratch copy's token (make_scratch); "" when nothing was written


def explain(config: Config, requirements, mutant_id: str) -> dict:
    """What ``testplan explain <mutant ID>`` shows: where the mutant is and the unified diff of its
    function (mutmut's own diff), computed from the current code without running anything.
    Raises InputError for an unknown (or no longer existing) ID."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    gen = generate(config, requirements, write=False)
    matches = [m for m in gen.mutants if m.id.startswith(mutant_id)] if len(mutant_id) >= 4 else []
    if len(matches) != 1:
        what = "is ambiguous" if matches else "matches no mutant of the current code"
        raise InputError(f"mutant ID '{mutant_id}' {what}; copy an ID from the audit report (4+ characters)")
    m = matches[0]
    previous = install_mutmut_config()
    try:
        diff = get_diff_for_mutant(m.name, source=gen.code[m.file], path=m.file)
    finally:
        import mutmut.configuration as conf

        conf._config = previous
    return {"id": m.id, "file": m.file, "line": m.line, "module": m.module, "qualname": m.qualname,
            "operator": m.operator, "original": m.original, "mutated": m.mutated,
            "requirements": list(m.requirements), "mutmut_name": m.name, "diff": diff}


# --- scratch copy ----------------------------------------------------------------------------

def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set()
    for name in names:
        if name in IGNORED_NAMES or name.endswith(".egg-info") or name.startswith(".coverage"):
            ignored.add(name)
        elif os.path.isfile(os.path.join(directory, name, "pyvenv.cfg")):
            ignored.add(name)  # a virtualenv under another name
    return ignored


SCRATCH_TOKEN = ".testplan-scratch"  # in the scratch copy: which run made it (see scratch_intact)


def make_scratch(root: Path, scratch: Path, also_copy: list[str] = ()) -> str:
    """A fresh copy of the project (minus VCS, caches, virtualenvs and the state dir); paths in
    ``[tool.testplan.mutation] also_copy`` (relative to the root) are copied even when ignored.

    The copy is always writable by us, whatever the source's modes (contents are copied, not
    modes), and an old copy is deleted whatever its modes, only after checking it lies in its
    state directory (``scratch.parent``). Returns the token written into the copy: a run checks
    with :func:`scratch_intact` that nobody replaced its copy meanwhile."""
    state = scratch.parent
    if scratch.exists() or scratch.is_symlink():
        remove_tree(scratch, state)
    state.mkdir(parents=True, exist_ok=True)
    real_state = os.path.realpath(state)

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = _ignore(directory, names)  # and the state directory itself, wherever --out put it
        return ignored | {n for n in names if os.path.realpath(os.path.join(directory, n)) == real_state}

    shutil.copytree(root, scratch, symlinks=True, ignore=ignore, copy_function=shutil.copyfile)
    for extra in also_copy:
        source, target = root / extra, scratch / extra
        if not source.exists():
            raise InputError(f"[tool.testplan.mutation] also_copy: '{extra}' does not exist under {root}; fix or remove it")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, copy_function=shutil.copyfile)
        else:
            shutil.copyfile(source, target)
    make_writable(scratch)  # copytree still copies directories' modes
    token = secrets.token_hex(16)
    (scratch / SCRATCH_TOKEN).write_text(token, encoding="ascii")
    return token


def scratch_intact(scratch: Path, token: str) -> bool:
    """Whether the scratch copy is still the one :func:`make_scratch` made with ``token``."""
    try:
        return (scratch / SCRATCH_TOKEN).read_text(encoding="ascii") == token
    except OSError:
        return False


# --- mutmut ----------------------------------------------------------------------------------

def install_mutmut_config() -> object:
    """mutmut reads its config lazily from the cwd (and raises when none is found there); generation
    only needs ``do_not_mutate_patterns``, so give it a neutral Config. Returns the previous one."""
    import mutmut.configuration as conf

    previous = conf._config
    conf._config = conf.Config(
        also_copy=[], only_mutate=[], do_not_mutate=[], do_not_mutate_patterns=[],
        max_stack_depth=-1, debug=False, source_paths=[], resolved_mutated_source_paths=[],
        pytest_add_cli_args=[], pytest_add_cli_args_test_selection=[],
        mutate_only_covered_lines=False, timeout_multiplier=15.0, timeout_constant=1.0,
        type_check_command=[], use_setproctitle=False, track_dependencies=False,
        dependency_tracking_depth=-1, cache_invalidation_files=[], cache_invalidation_exclude=[],
        on_dependency_change="warn", use_git_change_detection=False,
        process_isolation=conf.ProcessIsolation.FORK,
        forkserver_warmup=conf.ForkServerWarmup.COLLECT, max_forkserver_restarts=3,
        preload_modules_file=None, log_to_file=False, log_file_path=os.devnull,
    )
    return previous


@dataclass
class _RawMutation:
    key: str
    number: int  # mutmut's __mutmut_<n> within the function
    line: int
    end_line: int
    col: int
    end_col: int
    def_line: int
    operator: str
    original_code: str
    mutated_code: str


@dataclass
class _FileMutations:
    code: str  # trampolined module text
    mutations: list[_RawMutation]
    dropped_lines: list[int]  # mutation candidates mutmut drops (module-level / class-level / nested)
    ignored_functions: set[str]  # `# pragma: no mutate` on a def
    hashes: dict[str, str]  # mutmut's function hashes, by key


def mutate_source(filename: str, code: str) -> _FileMutations:
    """mutmut's ``create_mutations`` + ``combine_mutations_to_source``, keeping positions and the
    operator of every mutation. The trampolined code is exactly what ``mutate_file_contents`` makes."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider
    from mutmut.mutation import file_mutation as fm
    from mutmut.mutation.mutators import mutation_operators
    from mutmut.mutation.pragma_handling import get_ignored_lines
    from mutmut.mutation.trampoline_templates import mangle_function_name

    tags: dict[int, str] = {}

    def tagged(op):
        def wrapped(node):
            for mutated in op(node):
                tags[id(mutated)] = op.__name__
                yield mutated
        return wrapped

    operators = [(node_type, tagged(op)) for node_type, op in mutation_operators]
    module = cst.parse_module(code)
    wrapper = MetadataWrapper(module)
    ignored = get_ignored_lines(filename, code, wrapper, None)
    visitor = fm.MutationVisitor(operators, ignored, None)
    visited = wrapper.visit(visitor)
    combined = fm.combine_mutations_to_source(visited, visitor.mutations, visitor.ignored_classes,
                                              visitor.ignored_functions)
    positions = wrapper.resolve(PositionProvider)

    keys: dict[object, str] = {}
    for statement in visited.body:
        if isinstance(statement, cst.FunctionDef):
            keys[statement] = mangle_function_name(name=statement.name.value, class_name=None)
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for method in statement.body.body:
                if isinstance(method, cst.FunctionDef):
                    keys[method] = mangle_function_name(name=method.name.value, class_name=statement.name.value)

    numbers: dict[str, int] = defaultdict(int)
    mutations, dropped = [], []
    for mutation in visitor.mutations:
        where = positions.get(mutation.original_node)
        function = mutation.contained_by_top_level_function
        if function is None or function not in keys:
            if where is not None:
                dropped.append(where.start.line)
            continue
        key = keys[function]
        numbers[key] += 1  # the numbering of fm.function_trampoline_arrangement
        if where is None:  # libcst gives no position for a few synthetic nodes; mutmut runs them anyway
            where = positions[function]
        mutations.append(_RawMutation(
            key=key, number=numbers[key], line=where.start.line, end_line=where.end.line,
            col=where.start.column, end_col=where.end.column, def_line=positions[function].start.line,
            operator=tags[id(mutation.mutated_node)].removeprefix("operator_"),
            original_code=visited.code_for_node(mutation.original_node),
            mutated_code=visited.code_for_node(mutation.mutated_node),
        ))
    names = [f"{m.key}__mutmut_{m.number}" for m in mutations]
    if sorted(names) != sorted(combined.mutant_names):  # a guard for the day the pinned mutmut changes
        raise RuntimeError(f"{filename}: mutant names differ from mutmut's ({len(names)} vs {len(combined.mutant_names)})")
    return _FileMutations(combined.code, mutations, dropped, set(visitor.ignored_functions),
                          fm.compute_function_hashes(code))


GENERATION_CACHE = "generate"  # under the state dir's cache/: one JSON file per mutated source file
_GENERATION_FORMAT = 1  # bump when _FileMutations or mutate_source changes


class GenerationEntry(BaseModel):
    """One file of the generation cache; a file of another shape is discarded on read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: StrictStr
    file: StrictStr
    code: StrictStr
    mutations: list[_RawMutation]
    dropped_lines: list[StrictInt]
    ignored_functions: list[StrictStr]
    hashes: dict[StrictStr, StrictStr]


def cached_mutate_source(cache_dir: Path | None, filename: str, code: str) -> _FileMutations:
    """:func:`mutate_source`, reused while the file's text, mutmut's version, Python's and this
    format are the same (an unchanged re-run then spends no time in libcst). One entry per
    file, replaced when the file changes; an unreadable entry is computed again."""
    import json
    import sys

    if cache_dir is None:
        return mutate_source(filename, code)
    from dataclasses import asdict

    from ..store import atomic_write, read_state

    key = hashlib.sha256(json.dumps([_GENERATION_FORMAT, mutmut_version(), sys.version_info[:2], filename, code]).encode()).hexdigest()
    entry = cache_dir / (hashlib.sha256(filename.encode()).hexdigest()[:16] + ".json")
    data = read_state(entry, GenerationEntry, "mutant generation cache")
    if data is not None and data.key == key:
        return _FileMutations(data.code, list(data.mutations), list(data.dropped_lines),
                              set(data.ignored_functions), dict(data.hashes))
    result = mutate_source(filename, code)

    atomic_write(entry, json.dumps({"key": key, "file": filename, "code": result.code,
                                    "mutations": [asdict(m) for m in result.mutations],
                                    "dropped_lines": result.dropped_lines,
                                    "ignored_functions": sorted(result.ignored_functions), "hashes": result.hashes}))
    return result


def mutant_id(module: str, qualname: str, raw: _RawMutation) -> str:
    """Deterministic and independent of where the function sits in its file."""
    blob = "\0".join([module, qualname, str(raw.line - raw.def_line), str(raw.col), raw.operator,
                      raw.original_code, raw.mutated_code])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def _line_texts(lines: list[str], raw: _RawMutation) -> tuple[str, str]:
    chunk = lines[raw.line - 1:raw.end_line]
    original = "\n".join(s.strip() for s in chunk)
    if not chunk:
        return original, raw.mutated_code.strip()
    head = chunk[0][:raw.col]
    tail = chunk[-1][raw.end_col:] if raw.end_line > raw.line else chunk[0][raw.end_col:]
    if raw.end_line > raw.line:
        replaced = "\n".join([chunk[0][raw.col:], *chunk[1:-1], chunk[-1][:raw.end_col]])
    else:
        replaced = chunk[0][raw.col:raw.end_col]
    # libcst's position of a parenthesized expression leaves its parentheses out, its code keeps them
    while replaced != raw.original_code and head.endswith("(") and tail.startswith(")"):
        head, tail, replaced = head[:-1], tail[1:], f"({replaced})"
    mutated_lines = (head + raw.mutated_code + tail).split("\n")
    return original, "\n".join(s.strip() for s in mutated_lines)


# --- functions of a file (for coverage lines and the unmutated report) -------------------------

@dataclass
class _Def:
    qualname: str
    key: str | None  # None: mutmut never looks at it (nested class, conditional def)
    start: int  # first decorator or def line
    end: int
    body: tuple[int, int]
    statements: list[tuple[int, int]]
    reason: str  # why it would not be mutated


def _defs(tree: ast.Module) -> list[_Def]:
    from mutmut.mutation.file_mutation import ENUM_BASE_NAMES, NEVER_MUTATE_ENUM_FUNCTION_NAMES, NEVER_MUTATE_FUNCTION_NAMES
    from mutmut.mutation.trampoline_templates import mangle_function_name

    out: list[_Def] = []

    def statements(fn: ast.AST) -> list[tuple[int, int]]:
        """(first, last) line of every statement in ``fn``; a compound statement (if, for, while,
        with, try, ...) counts only its header, up to the line before its body."""
        out = []
        for n in ast.walk(fn):
            if not isinstance(n, ast.stmt) or n is fn:
                continue
            body = getattr(n, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                out.append((n.lineno, max(n.lineno, body[0].lineno - 1)))
            else:
                out.append((n.lineno, n.end_lineno or n.lineno))
        return out

    def reason(fn, enum: bool) -> str:
        decorators = fn.decorator_list
        if decorators and not (len(decorators) == 1 and isinstance(decorators[0], ast.Name)
                               and decorators[0].id in ("staticmethod", "classmethod")):
            return "decorated"
        if fn.name in NEVER_MUTATE_FUNCTION_NAMES:
            return f"mutmut never mutates {fn.name}"
        if enum and fn.name in NEVER_MUTATE_ENUM_FUNCTION_NAMES:
            return "enum hook"
        return "nothing to mutate"

    def add(fn, qualname, key, why):
        start = min([fn.lineno] + [d.lineno for d in fn.decorator_list])
        end = fn.end_lineno or fn.lineno
        out.append(_Def(qualname, key, start, end, (fn.body[0].lineno, end), statements(fn), why))

    def is_enum(cls: ast.ClassDef) -> bool:
        names = [b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", None) for b in cls.bases]
        return any(n in ENUM_BASE_NAMES for n in names)

    for st in tree.body:
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(st, st.name, mangle_function_name(name=st.name, class_name=None), reason(st, False))
        elif isinstance(st, ast.ClassDef):
            for member in st.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(member, f"{st.name}.{member.name}", mangle_function_name(name=member.name, class_name=st.name),
                        reason(member, is_enum(st)))
                elif isinstance(member, ast.ClassDef):
                    for node in ast.walk(member):
                        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            add(node, f"{st.name}.{member.name}.{node.name}", None, "method of a nested class")
        else:
            for node in ast.walk(st):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(node, node.name, None, "defined inside a module-level block")
    return out


def _cover_lines(fn: _Def, line: int) -> tuple[int, int] | None:
    if line < fn.body[0]:
        return None  # the signature (a default value): any executed body line counts
    inner = [s for s in fn.statements if s[0] <= line <= s[1]]
    return min(inner, key=lambda s: s[1] - s[0]) if inner else (line, line)


def _classes(tree: ast.Module) -> list[tuple[str, int, int]]:
    return [(st.name, st.lineno, st.end_lineno or st.lineno) for st in tree.body if isinstance(st, ast.ClassDef)]


# --- the whole generation ----------------------------------------------------------------------

def _relative(path: Path, root: Path) -> str | None:
    """``path`` relative to the project root, or None when it is outside (an installed module)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def scope_files(config: Config, requirements) -> tuple[dict[str, list[CodeSpan]], dict[str, str], dict[str, list[str]]]:
    """The requirements' code spans, the project files they touch (``{path relative to the root:
    module}``) and, per requirement, the refs that resolve outside the project (never mutated)."""
    root = config.root.resolve()
    spans: dict[str, list[CodeSpan]] = {}
    files: dict[str, str] = {}
    outside: dict[str, list[str]] = {}
    for requirement in requirements:
        if requirement.code:
            spans[requirement.id] = requirement_spans(requirement, config.source_roots)
            for span in spans[requirement.id]:
                rel = _relative(span.file, root)
                if rel is None:  # resolved to an installed copy: only the project's own files are mutated
                    outside.setdefault(requirement.id, []).append(
                        f"{span.ref} (outside the project, at {span.file}: not mutated)")
                else:
                    files.setdefault(rel, span.ref.partition(":")[0])
    return spans, files, outside


def generate(config: Config, requirements, scratch: Path | None = None, *, write: bool = True,
             only_files: set[str] | None = None, use_cache: bool = True, copied: str | None = None) -> Generation:
    """Copy the project to ``scratch`` (default ``.testplan/mutants``) and write mutmut's
    trampolined version of every file some requirement's ``code:`` touches into that copy.
    ``write=False`` only computes the mutants (nothing is copied or written). ``only_files``
    (paths relative to the root; ``--diff``) limits mutation to those files: the others are
    copied unchanged, and their mutants and unmutated code are not computed at all.
    ``copied``: the token of a copy :func:`make_scratch` already made at ``scratch`` (it is
    not made again)."""
    import time

    started = time.perf_counter()
    root = config.root.resolve()
    scratch = (scratch or config.state_dir / SCRATCH_DIR).resolve()
    spans, files, outside = scope_files(config, requirements)
    if only_files is not None:
        files = {rel: module for rel, module in files.items() if rel in only_files}
        spans = {req: [s for s in req_spans if _relative(s.file, root) in only_files]
                 for req, req_spans in spans.items()}
        outside = {}
    token = (copied if copied is not None else make_scratch(root, scratch, list(config.mutation.also_copy))) if write else ""
    cache_dir = config.state_dir.resolve() / "cache" / GENERATION_CACHE if use_cache and write else None
    trampolined: dict[str, str] = {}

    previous = install_mutmut_config()
    try:
        mutants: list[Mutant] = []
        unmutated: dict[str, list[str]] = {}
        for rel in sorted(files):
            module = files[rel]
            code = (root / rel).read_text(encoding="utf-8")
            result = cached_mutate_source(cache_dir, rel, code)
            trampolined[rel] = result.code
            if write:
                (scratch / rel).write_text(result.code, encoding="utf-8")
            tree = pyast.parse(code)
            defs = _defs(tree)
            by_key = {d.key: d for d in defs if d.key}
            lines = code.splitlines()
            seen: dict[str, int] = defaultdict(int)
            file_mutants = []
            for raw in result.mutations:
                fn = by_key[raw.key]
                ident = mutant_id(module, fn.qualname, raw)
                seen[ident] += 1
                if seen[ident] > 1:  # the same change twice at one spot (rare): keep both, deterministically
                    ident = hashlib.sha256(f"{ident}#{seen[ident]}".encode()).hexdigest()[:12]
                original, mutated = _line_texts(lines, raw)
                file_mutants.append(Mutant(
                    id=ident, file=rel, module=module, qualname=fn.qualname, key=raw.key,
                    name=f"{module}.{raw.key}__mutmut_{raw.number}", line=raw.line, end_line=raw.end_line,
                    col=raw.col, operator=raw.operator, original=original, mutated=mutated,
                    function_hash=result.hashes.get(raw.key, ""), cover_lines=_cover_lines(fn, raw.line),
                    body=fn.body,
                ))
            path = (root / rel).resolve()
            for req_id, req_spans in spans.items():
                mine = [s for s in req_spans if s.file.resolve() == path]
                if not mine:
                    continue
                for mutant in file_mutants:
                    if any(s.start <= mutant.line <= s.end for s in mine) and req_id not in mutant.requirements:
                        mutant.requirements.append(req_id)
                notes = unmutated.setdefault(req_id, [])
                for span in mine:
                    found = _unmutated(module, [span], defs, {m.key for m in file_mutants}, result, _classes(tree))
                    if not found and not any(span.start <= m.line <= span.end for m in file_mutants):
                        found = [f"{span.ref} (nothing to mutate)"]  # a ref that yields nothing is said so
                    notes.extend(n for n in found if n not in notes)
            mutants.extend(file_mutants)
    finally:
        import mutmut.configuration as conf

        conf._config = previous
    for req_id in spans:
        unmutated.setdefault(req_id, []).extend(outside.get(req_id, []))
    return Generation(scratch, mutants, unmutated, files, spans, time.perf_counter() - started, trampolined, token)


def _unmutated(module: str, spans: list[CodeSpan], defs: list[_Def], mutated_keys: set[str],
               result: _FileMutations, classes: list[tuple[str, int, int]]) -> list[str]:
    notes = []
    for span in spans:
        for fn in defs:
            inside = span.start <= fn.start and fn.end <= span.end
            exact = fn.start <= span.start and span.end <= fn.end and (fn.key is None or fn.key not in mutated_keys)
            if not (inside or exact) or (fn.key is not None and fn.key in mutated_keys):
                continue
            if fn.key is not None and fn.qualname.rpartition(".")[2] in result.ignored_functions:
                why = "pragma: no mutate"
            else:
                why = fn.reason
            notes.append(f"{module}:{fn.qualname} ({why})")
        # mutation candidates mutmut drops: module-level and class-level statements in the span
        for line in sorted(set(result.dropped_lines)):
            if not span.start <= line <= span.end or any(fn.start <= line <= fn.end for fn in defs):
                continue
            cls = next((c for c in classes if c[1] <= line <= c[2]), None)
            notes.append(f"{module}:{cls[0]} (class-level code)" if cls else
                         f"{span.ref} (module-level code)" if ":" in span.ref else f"{module} (module-level code)")
    out: list[str] = []
    for note in notes:
        if note not in out:
            out.append(note)
    return out
