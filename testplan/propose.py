"""propose-tests: a language model writes one test per surviving mutant; only tests that prove
themselves become proposals, never silent edits.

For each surviving mutant of the named requirements (from ``.testplan/audit.json``, grouped by
the function they mutate, at most ``max_mutants`` per run) the model is asked for one pytest
test (structured output, :class:`ProposedTest`: the code, the case it verifies, why it should
fail on the mutant). It is told the requirement and its approved cases, the function's source,
the mutant's diff, the linked tests that ran the line and passed, and the project's conftest
fixtures by name. Provider settings, cache, ``--offline`` and errors are ``enumerate --llm``'s
(:mod:`testplan.enumerate.llm`), except that an answer that is not JSON of the schema (twice)
is a rejected candidate, not an abort.

Each candidate goes through these filters, in order, each recorded:

- ``a``: it parses, defines exactly one test, carries ``@pytest.mark.verifies`` naming an approved
  case of the requirement, and asserts something (:mod:`testplan.assertions`);
- ``b``: it passes on the unmutated code three times, each in a fresh pytest process (a candidate
  whose module is an earlier passing one's, the test's name aside, shares that one's runs and
  verdicts instead of running again), in a scratch copy of the project (a temporary directory; the user's tree is never touched) with the project's
  own configuration;
- ``c``: it fails on its target mutant with an ``assert`` verdict (not a crash, not a timeout):
  the candidates that passed ``b`` are audited in the scratch copy (its own tests left out) by
  the audit itself (:func:`testplan.audit.run_audit` with mutation: the same worker and verdict
  classifier), and the candidate's verdict on the target mutant is read from that audit;
- ``d``: it is not a duplicate (same AST, names and docstring aside) of an accepted candidate.

The other surviving mutants a candidate kills with an ``assert`` verdict are recorded too.
Accepted candidates are written to ``.testplan/proposals/<REQ>/test_<req>_proposed.py`` (one
file per requirement, each test headed by a comment: the model, the mutant IDs it kills, the
filters passed), or with ``into`` as new files only into that directory; every candidate, with
the filter it failed, to ``.testplan/proposals/proposals.json``.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from . import pyast
from .assertions import analyze_function, find_function
from .config import Config, load_config
from .errors import InputError, TestplanError
from .model import CaseStatus, Requirement
from .result import AuditResult, MutantResult
from .score import oracle_score
from .store import atomic_write

PROPOSALS_DIR = "proposals"
PROPOSALS_JSON = "proposals.json"
RUNS_ON_ORIGINAL = 3
PASS_TIMEOUT_SECONDS = 120.0
FILTERS = ("a", "b", "c", "d")
IGNORED = (".testplan", ".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
           ".tox", ".nox", "node_modules")


class ProposedTest(BaseModel):
    """What the model must answer: one pytest test for one surviving mutant."""

    model_config = ConfigDict(extra="forbid")
    code: str  # a complete pytest module: imports and one test function
    case: str  # the approved case ID it verifies
    why: str  # why it should fail on the mutant


@dataclass
class Candidate:
    requirement: str
    mutant: str  # the target mutant's ID
    model: str | None
    code: str
    case: str
    why: str
    filters: dict[str, str] = field(default_factory=dict)  # filter -> "passed" or why it failed
    failed: str | None = None  # the first filter failed ("a".."d"); None: accepted
    name: str | None = None  # the test function's name
    kills: list[str] = field(default_factory=list)  # surviving mutants it kills with an assert verdict

    def fail(self, which: str, reason: str) -> None:
        self.filters[which] = reason
        self.failed = which

    @property
    def accepted(self) -> bool:
        return self.failed is None and all(self.filters.get(f) == "passed" for f in FILTERS)


@dataclass
class Outcome:
    targeted: int
    candidates: list[Candidate]
    written: list[Path]
    oracle_before: dict[str, float | None]
    oracle_after: dict[str, float | None]
    killed: list[str]

    def passed(self, which: str) -> int:
        return sum(1 for c in self.candidates if c.filters.get(which) == "passed")


# --- what the model is told ---------------------------------------------------------------------

SYSTEM_PROMPT = """\
You write one pytest test that kills a surviving mutant: a small change to the code that the \
existing tests did not notice. The test must verify one approved case of the requirement (mark it \
with @pytest.mark.verifies("<case ID>")), pass on the original code, and fail on the mutant \
through an assert (not through an exception the code raises by accident). Check exact values and \
exact error messages (pytest.raises(..., match=...)). Use the project's imports and fixtures the \
way the existing tests do. Answer with one JSON object: code (a complete test module: imports and \
exactly one test function), case (the case ID it verifies) and why (one sentence: why it fails on \
the mutant). Nothing else."""


def _enclosing(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= (node.end_lineno or 0):
            if best is None or node.lineno > best.lineno:
                best = node
    return best


def _source(root: Path, relative: str) -> str:
    try:
        return (root / relative).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def function_of(root: Path, mutant: MutantResult) -> tuple[str, int, str]:
    """(qualified name or "<module>", first line, source) of the function the mutant changes."""
    text = _source(root, mutant.file)
    try:
        tree = pyast.parse(text)
    except SyntaxError:
        return "<module>", 0, ""
    node = _enclosing(tree, mutant.line)
    if node is None:
        return "<module>", 0, ""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return node.name, first, "\n".join(text.splitlines()[first - 1: node.end_lineno])


def fixtures(config: Config) -> list[str]:
    """The names of the fixtures the project's conftest.py files define (the root's, and those
    under the configured test directories)."""
    names: list[str] = []
    found = {config.root / "conftest.py"}
    for tests in config.tests:
        if (config.root / tests).is_dir():
            found |= set((config.root / tests).rglob("conftest.py"))
    for conftest in sorted(p for p in found if p.is_file()):
        if any(part in IGNORED for part in conftest.relative_to(config.root).parts):
            continue
        try:
            tree = pyast.parse(conftest.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    "fixture" in ast.unparse(d) for d in node.decorator_list):
                names.append(node.name)
    return names


def _test_source(root: Path, result: AuditResult, nodeid: str) -> str:
    test = next((t for t in result.tests if t.nodeid == nodeid), None)
    if test is None:
        return ""
    text = _source(root, test.file)
    try:
        function = find_function(pyast.parse(text), test.line, nodeid.split("::")[-1].split("[", 1)[0])
    except SyntaxError:
        return ""
    if function is None:
        return ""
    first = min([function.lineno] + [d.lineno for d in function.decorator_list])
    return "\n".join(text.splitlines()[first - 1: function.end_lineno])


def _imports_of(root: Path, result: AuditResult, nodeids: list[str]) -> str:
    files = {t.file for t in result.tests if t.nodeid in nodeids}
    lines: list[str] = []
    for file in sorted(files):
        try:
            tree = pyast.parse(_source(root, file))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                line = ast.unparse(node)
                if line not in lines:
                    lines.append(line)
    return "\n".join(lines)


def build_messages(config: Config, requirement: Requirement, cases: list[Any], result: AuditResult,
                   mutant: MutantResult, fixture_names: list[str]) -> list[dict[str, str]]:
    from .report.report_core import diff_lines

    name, _, source = function_of(config.root, mutant)
    ran = list(mutant.verdicts)
    lines = [f"Requirement {requirement.id}: {' '.join(requirement.title.split())}",
             f"Statement: {' '.join(requirement.statement.split())}",
             "Approved cases (use one of these IDs in @pytest.mark.verifies):"]
    lines += [f"- {c.id}: {' '.join(c.title.split())} | given: {c.given_text()} | expect: {c.expect_text()}" for c in cases]
    lines += [f"The function ({mutant.file}, {name}):", source or "(not found)",
              f"The surviving mutant {mutant.id} ({mutant.operator}) at {mutant.file}:{mutant.line}:"]
    lines += [f"{sign} {text}" for sign, text in diff_lines(mutant)]
    if ran:
        lines.append("Existing tests that ran this line and passed on the mutant (their imports first):")
        lines.append(_imports_of(config.root, result, ran))
        shown = []
        for nodeid in ran:
            text = _test_source(config.root, result, nodeid)
            if text and text not in shown:
                shown.append(text)
        lines += shown[:5]
    else:
        lines.append("No existing test runs this line.")
    lines.append("Fixtures of the project's conftest.py: " + (", ".join(fixture_names) or "none"))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def ask(settings: Any, messages: list[dict[str, str]], requirement: Requirement) -> tuple[str, ProposedTest] | str | None:
    """(model, answer); a string: why the answer is unusable (invalid JSON twice); None offline
    without a cached answer."""
    from .enumerate import llm

    key = llm.cache_key(settings.model, messages, seed=settings.seed, schema=llm.response_schema(ProposedTest))
    answer = llm.read_cache(settings, key, ProposedTest) if settings.use_cache else None
    if answer is None:
        if settings.offline:
            return None
        try:
            answer = llm.ask(settings, messages, requirement, ProposedTest)
        except llm.InvalidAnswer as exc:
            return str(exc)
        llm.write_cache(settings, key, answer)
    return answer.model, answer.cases


# --- filter (a): the shape --------------------------------------------------------------------

def _verifies(decorator: ast.expr) -> list[str] | None:
    if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) and decorator.func.attr == "verifies":
        return [a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return None


def check_shape(candidate: Candidate, approved: set[str]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """Filter (a); returns the test function when it passes."""
    try:
        tree = pyast.parse(candidate.code)
    except SyntaxError as exc:
        candidate.fail("a", f"does not parse: {exc.msg} (line {exc.lineno})")
        return None
    tests = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("Test")]
    if len(tests) != 1 or classes:
        candidate.fail("a", f"defines {len(tests)} test functions{' and a test class' if classes else ''}, not exactly one")
        return None
    function = tests[0]
    candidate.name = function.name
    named = [ids for ids in map(_verifies, function.decorator_list) if ids is not None]
    if not named:
        candidate.fail("a", "has no @pytest.mark.verifies marker")
        return None
    ids = {i for group in named for i in group}
    if not ids & approved:
        candidate.fail("a", f"@pytest.mark.verifies names {', '.join(sorted(ids)) or 'nothing'}, "
                            f"not an approved case of {candidate.requirement}")
        return None
    if analyze_function(function).assertions == 0:
        candidate.fail("a", "asserts nothing")
        return None
    candidate.filters["a"] = "passed"
    return function


# --- the scratch copy ---------------------------------------------------------------------------

def _is_test_file(path: Path) -> bool:
    return path.suffix == ".py" and (path.name.startswith("test_") or path.name.endswith("_test.py"))


def scratch_copy(config: Config, into: Path) -> Path:
    """A copy of the project without its state directory and without its own test files
    (conftest.py and helpers stay): the candidates run there alone."""
    state = config.state_dir.resolve()

    def ignore(directory: str, names: list[str]) -> list[str]:
        here = Path(directory).resolve()
        return [n for n in names if n in IGNORED or (here / n) == state]

    target = into / "project"
    shutil.copytree(config.root, target, ignore=ignore, symlinks=True)
    for tests in config.tests:
        base = target / tests
        found = [base] if base.is_file() else list(base.rglob("*.py")) if base.is_dir() else []
        for path in found:
            if _is_test_file(path):
                path.unlink()
    return target


def _candidate_dir(config: Config, scratch: Path) -> Path:
    first = next((t for t in config.tests if (scratch / t).is_dir()), None)
    return scratch / first if first else scratch


def _pytest_command(config: Config, file: str) -> list[str]:
    import importlib.util

    command = [sys.executable, "-m", "pytest", file, "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
               *config.pytest_args]
    if importlib.util.find_spec("xdist") is not None:
        command += ["-n", "0"]
    return command


_PASSED = re.compile(r"\b1 passed\b")
_OTHER = re.compile(r"\b\d+ (failed|error|errors|skipped|xfailed|xpassed|deselected)\b")


def passes_three_times(config: Config, scratch: Path, file: str) -> str:
    """Filter (b): "passed", or why not."""
    import os

    from .process import run_in_group

    log = scratch.parent / "pytest.log"
    for run in range(1, RUNS_ON_ORIGINAL + 1):
        with open(log, "w", encoding="utf-8") as out:
            code = run_in_group(_pytest_command(config, file), cwd=scratch, env=dict(os.environ), stdout=out,
                                stderr=out, timeout=PASS_TIMEOUT_SECONDS)
        text = log.read_text(encoding="utf-8", errors="replace")
        tail = text.strip().splitlines()[-1] if text.strip() else ""
        if code is None:
            return f"timed out after {PASS_TIMEOUT_SECONDS:g} s on run {run} of {RUNS_ON_ORIGINAL} on the original code"
        if code != 0 or not _PASSED.search(tail) or _OTHER.search(tail):
            return f"did not pass on run {run} of {RUNS_ON_ORIGINAL} on the original code ({tail[:160] or f'exit {code}'})"
    return "passed"


def normalised(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The test's AST with its name and docstring left out: filter (d)'s key."""
    copy = pyast.parse(ast.unparse(function)).body[0]
    assert isinstance(copy, (ast.FunctionDef, ast.AsyncFunctionDef))
    copy.name = "test"
    body = copy.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        copy.body = body[1:] or [ast.Pass()]
    return ast.dump(copy, annotate_fields=False, include_attributes=False)


# --- the run ------------------------------------------------------------------------------------

def _grouped(survivors: list[MutantResult], root: Path) -> list[MutantResult]:
    def key(m: MutantResult):
        name, first, _ = function_of(root, m)
        return (m.file, first, name, m.line, m.id)

    return sorted(survivors, key=key)


def proposal_path(config: Config, requirement_id: str, into: Path | None = None) -> Path:
    name = f"test_{re.sub(r'[^0-9a-zA-Z]+', '_', requirement_id).strip('_').lower()}_proposed.py"
    return (into / name) if into is not None else config.state_dir / PROPOSALS_DIR / requirement_id / name


def _oracle(mutants: list[MutantResult], nodeids: list[str]) -> float | None:
    value = oracle_score(mutants, nodeids)
    return None if value is None else round(float(value), 4)


def render(accepted: list[Candidate]) -> str:
    """The proposal file: the candidates' imports once, then each test under its comment."""
    future: list[str] = []
    imports: list[str] = []
    blocks: list[str] = []
    taken: set[str] = set()
    for candidate in accepted:
        tree = pyast.parse(candidate.code)
        body: list[str] = []
        rename = None
        if candidate.name in taken:
            n = 2
            while f"{candidate.name}_{n}" in taken:
                n += 1
            rename = f"{candidate.name}_{n}"
        taken.add(rename or candidate.name or "")
        lines = candidate.code.splitlines()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                line = ast.unparse(node)
                if line not in future:
                    future.append(line)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                line = ast.unparse(node)
                if line not in imports:
                    imports.append(line)
            else:
                first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                text = "\n".join(lines[first - 1: node.end_lineno])
                if rename and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == candidate.name:
                    text = re.sub(rf"\bdef {re.escape(node.name)}\(", f"def {rename}(", text, count=1)
                body.append(text)
        head = [f"# proposed by testplan propose-tests: model {candidate.model}; verifies {candidate.case}",
                f"# kills mutant{'s' if len(candidate.kills) != 1 else ''} {', '.join(candidate.kills)}",
                "# filters passed: (a) shape, (b) passes 3 times on the original, (c) assert-kills its target, "
                "(d) not a duplicate"]
        blocks.append("\n".join(head + body))
    header = ['"""Tests proposed by testplan propose-tests: review them before moving them into the suite."""', ""]
    top = future + ([""] if future else []) + imports
    return "\n".join(header + top + ["", ""]) + "\n\n\n".join(blocks) + "\n"


def propose_tests(config: Config, project: Any, result: AuditResult, requirement_ids: list[str], settings: Any,
                  max_mutants: int = 10, into: Path | None = None,
                  progress: Any = None) -> Outcome:
    """Ask, filter and write (see the module docstring). ``requirement_ids`` are checked IDs."""
    if max_mutants < 1:
        raise InputError(f"--max: {max_mutants} is not a positive number of mutants; pass e.g. --max 10")
    if not result.mutation or not result.mutants:
        raise InputError("the audit result has no mutants; run 'testplan audit' with mutation first")
    if into is not None:
        for rid in requirement_ids:
            target = proposal_path(config, rid, into)
            if target.exists():
                raise InputError(f"{target} exists; --into writes new files only: move it away or choose another DIR")
    named = set(requirement_ids)
    survivors = [m for m in result.mutants if m.status == "survived" and named & set(m.requirements)]
    targets = _grouped(survivors, config.root)[:max_mutants]
    fixture_names = fixtures(config)
    candidates: list[Candidate] = []
    functions: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for mutant in targets:
        rid = next(r for r in requirement_ids if r in mutant.requirements)
        requirement = project.requirements.get(rid)
        plan_file = project.plans.files.get(rid)
        cases = [c for c in plan_file.plan.cases if c.status is CaseStatus.approved] if plan_file else []
        messages = build_messages(config, requirement, cases, result, mutant, fixture_names)
        answer = ask(settings, messages, requirement)
        if progress:
            progress(f"asked for a test of {mutant.id}")
        if answer is None:
            print(f"testplan: warning: no cached LLM answer for mutant {mutant.id} (model {settings.model}); "
                  f"skipped. Run without --offline to ask the server", file=sys.stderr)
            continue
        if isinstance(answer, str):
            candidate = Candidate(rid, mutant.id, None, "", "", "")
            candidate.fail("a", answer)
            candidates.append(candidate)
            continue
        model, proposed = answer
        candidate = Candidate(rid, mutant.id, model, proposed.code, proposed.case.strip(), " ".join(proposed.why.split()))
        candidates.append(candidate)
        function = check_shape(candidate, {c.id for c in cases})
        if function is not None:
            functions[id(candidate)] = function

    written: list[Path] = []
    before: dict[str, float | None] = {}
    after: dict[str, float | None] = {}
    shaped = [c for c in candidates if c.filters.get("a") == "passed"]
    scratch_result: AuditResult | None = None
    nodeids: dict[int, str] = {}  # candidate -> the nodeid its verdicts are read under in the scratch copy
    if shaped:
        with tempfile.TemporaryDirectory(prefix="testplan-propose-") as tmp:
            scratch = scratch_copy(config, Path(tmp))
            scratch_config = load_config(scratch)
            where = _candidate_dir(scratch_config, scratch)
            twins: dict[str, Candidate] = {}  # the module, test name aside -> the first candidate with it
            for n, candidate in enumerate(shaped, 1):
                same = re.sub(rf"\bdef {re.escape(candidate.name or '')}\(", "def test(", candidate.code).strip()
                twin = twins.get(same)
                if twin is not None:
                    # the same module, the test's name aside: it behaves as its twin, whose three
                    # runs on the original passed; its verdicts are read under the twin's nodeid
                    candidate.filters["b"] = "passed"
                    nodeids[id(candidate)] = nodeids[id(twin)]
                    continue
                path = where / f"test_tp_candidate_{n}.py"
                path.write_text(candidate.code if candidate.code.endswith("\n") else candidate.code + "\n", encoding="utf-8")
                rel = path.relative_to(scratch).as_posix()
                verdict = passes_three_times(scratch_config, scratch, rel)
                if progress:
                    progress(f"ran candidate {n} of {len(shaped)} on the original code")
                if verdict == "passed":
                    candidate.filters["b"] = "passed"
                    nodeids[id(candidate)] = f"{rel}::{candidate.name}"
                    twins[same] = candidate
                else:
                    candidate.fail("b", verdict)
                    path.unlink()
            running = [c for c in shaped if c.filters.get("b") == "passed"]
            if running:
                from .audit import run_audit

                try:
                    # the full matrix: each candidate's own verdict on every mutant it covers, not
                    # just the first killer's (a decisive run stops at another candidate's kill)
                    scratch_result = run_audit(scratch_config, mutation=True, mutation_options={"matrix": "full"})
                except TestplanError as exc:
                    for candidate in running:
                        candidate.fail("c", f"the audit of the candidates failed: {exc}")
                if progress:
                    progress("audited the candidates against the mutants")
    by_id = {m.id: m for m in scratch_result.mutants} if scratch_result else {}
    surviving = {m.id for m in survivors}
    accepted: list[Candidate] = []
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.filters.get("b") != "passed" or candidate.failed:
            continue
        nodeid = nodeids[id(candidate)]
        candidate.kills = sorted(m for m in surviving if by_id.get(m) and by_id[m].verdicts.get(nodeid) == "assert")
        verdict = by_id[candidate.mutant].verdicts.get(nodeid) if candidate.mutant in by_id else None
        if verdict != "assert":
            why = {"crash": "fails on its target mutant only by a crash (an exception other than AssertionError), not an assert",
                   "timeout": "times out on its target mutant instead of failing an assert",
                   "pass": "passes on its target mutant",
                   None: "does not run its target mutant's line"}[verdict]
            candidate.fail("c", why)
            continue
        candidate.filters["c"] = "passed"
        key = normalised(functions[id(candidate)])
        if key in seen:
            candidate.fail("d", "a duplicate of an accepted candidate (the same test, names aside)")
            continue
        seen.add(key)
        candidate.filters["d"] = "passed"
        accepted.append(candidate)

    for rid in requirement_ids:
        row = result.requirement(rid)
        mine = [m for m in result.mutants if rid in m.requirements]
        tests = list(row.tests) if row else []
        before[rid] = _oracle(mine, tests)
        extra: list[str] = []
        merged = []
        for m in mine:
            verdicts = dict(m.verdicts)
            for candidate in accepted:
                if candidate.requirement == rid:
                    nodeid = nodeids[id(candidate)]
                    extra.append(nodeid)
                    seen_verdict = by_id[m.id].verdicts.get(nodeid) if m.id in by_id else None
                    if seen_verdict is not None:
                        verdicts[nodeid] = seen_verdict
            merged.append(m.model_copy(update={"verdicts": verdicts}))
        after[rid] = _oracle(merged, tests + sorted(set(extra)))
        mine_accepted = [c for c in accepted if c.requirement == rid]
        if mine_accepted:
            target = proposal_path(config, rid, into)
            atomic_write(target, render(mine_accepted))
            written.append(target)
    record = {"format": 1, "requirements": requirement_ids, "targeted": [m.id for m in targets],
              "candidates": [{**asdict(c), "accepted": c.accepted} for c in candidates]}
    json_path = config.state_dir / PROPOSALS_DIR / PROPOSALS_JSON
    atomic_write(json_path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    killed = sorted({m for c in accepted for m in c.kills})
    return Outcome(len(targets), candidates, written, before, after, killed)
