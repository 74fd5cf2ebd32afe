"""Run the project's tests once under coverage.py with per-test dynamic contexts -> TraceData.

TraceData is the contract between tracing and everything after it (mutation, score, reports).

How a trace runs (:func:`run_trace`)::

    <python> -m coverage run --rcfile=.testplan/trace/coveragerc \\
        -m pytest <tests> --rootdir=<root> -p no:cacheprovider -p no:randomly \\
        -p testplan.determinism --testplan-record=.testplan/trace/records.json --testplan-contexts <pytest_args> <extra_args>

- one subprocess, cwd = the project root, the project's own pytest configuration (its
  ``--rootdir`` is pinned to the project root so nodeids and files are relative to it);
- hermetic (:mod:`testplan.process`): pytest runs in its own session, its output goes to files,
  testplan waits for pytest itself (not for its pipes), then kills its whole process group, so
  a process a test started never hangs the audit nor outlives it; after ``[tool.testplan]
  trace_timeout_seconds`` (default one hour) the run is stopped, exit 4, naming the test that
  was running (the recorder's ``.testplan/trace/progress.log``);
- ``coverage run`` measures from interpreter start; the plugin's :class:`Recorder` switches
  the dynamic context to each test's nodeid (setup + call + teardown) and back to ``""``
  after it, so ``lines[nodeid]`` is exactly what that test executed (pytest-cov's
  ``--cov-context=test`` pattern, without depending on pytest-cov; coverage's own
  ``dynamic_context = test_function`` only knows function names, not nodeids);
- measured: the configured source roots (``[tool.testplan] source``) minus the test paths
  and ``.testplan/``, plus, by module name (coverage ``source_pkgs``), the top-level
  packages named in the requirements' ``code:`` refs, so tests importing an *installed*
  package are measured too; third-party code inside a source root is not measured;
- nothing is written into the user's tree except ``.testplan/trace/``: no cache
  (``-p no:cacheprovider``), no bytecode (``PYTHONDONTWRITEBYTECODE=1``), coverage data,
  the records and the pytest log under ``.testplan/trace/``, Hypothesis' database there too
  (``HYPOTHESIS_STORAGE_DIRECTORY``). Options in the project's own ``addopts`` that write
  files (``--junitxml``) are the project's business;
- deterministic (:mod:`testplan.determinism`, loaded with ``-p testplan.determinism``): a pinned
  ``PYTHONHASHSEED`` (recorded as ``TraceData.hash_seed``; the mutation worker runs with the
  same one, so both collect the same test IDs) and a derandomized Hypothesis profile without
  an example database;
- ``pytest-randomly`` is disabled (suite order must be stable for mutation); pytest-xdist is
  turned off (``-n 0`` after the project's options, so an ``addopts = "-n auto"`` keeps working):
  the contexts live in testplan's own processes;
- except in the parallel trace (``run_trace(jobs=N)``, ``audit --jobs N``): pytest runs without
  ``coverage run``, collects once, and the recorder forks N workers after collection
  (``--testplan-workers``, :meth:`Recorder.pytest_runtestloop`) that take whole test files off
  one queue in suite order; each worker starts a Coverage of its own (``--testplan-coverage-rc``)
  and writes its own records, data file and output (:func:`worker_path`), and
  :func:`combine_records` / :func:`build_trace` make of them the serial trace's data
  (:func:`once_per_suite` for the module-level lines a module runs once per process). Unlike
  pytest-xdist workers, forked workers neither start an interpreter nor collect the suite
  again: on a 3-s suite (python-semver) the trace takes 0.6x the serial one on 2 workers, where
  xdist took longer than serially.

A broken suite (collection errors, usage errors, no tests, internal errors, interruption)
raises :class:`~testplan.errors.BaselineError` with one line. Failing tests are data.
"""

from __future__ import annotations

import gc
import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pytest

from . import pyast
from .assertions import analyze_test
from .determinism import HASH_SEED, pinned
from .determinism import PLUGIN as DETERMINISM_PLUGIN
from .errors import BaselineError, IncompleteError, TestplanError
from .links import combine, dedupe
from .process import run_in_group

if TYPE_CHECKING:
    from .config import Config


@dataclass
class TestRecord:
    """One test as the pytest plugin saw it, in the suite's own order."""

    __test__ = False  # not a pytest class

    nodeid: str
    file: str  # relative to the project root, '/' separated
    line: int  # 1-based line of the test function's definition
    links: list[str] = field(default_factory=list)  # IDs from markers and the links table, deduplicated, in order
    outcome: str = "passed"  # passed | failed | error | skipped | xfailed | xpassed
    failure_class: str | None = None  # assert | crash | None
    duration: float = 0.0  # seconds, call phase
    setup: float = 0.0  # seconds, setup phase (the fixtures it set up first)
    assertions: int = 0  # static count of assertion constructs in the test function
    flags: list[str] = field(default_factory=list)  # "no-assertion", "raises-without-match"
    # the IDs its verifies markers name (``links`` adds the links table's); None when unknown
    # (a test read back from audit.json): then a link the table gives counts as the table's
    marker_links: list[str] | None = None


@dataclass
class TraceData:
    root: Path  # the project root the run used
    tests: list[TestRecord] = field(default_factory=list)  # suite order
    # nodeid -> {absolute resolved source file path: set of executed line numbers}
    lines: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    complete: bool = False
    hash_seed: int | None = None  # the PYTHONHASHSEED the tests ran with (None: not known)
    peak_mb: float | None = None  # the largest peak RSS of a process that ran tests (None: not known)

    def test(self, nodeid: str) -> TestRecord | None:
        return next((t for t in self.tests if t.nodeid == nodeid), None)

    def covering(self, file: Path, line: int) -> list[str]:
        """Nodeids (suite order) whose run executed ``file:line``."""
        key = str(file.resolve())
        return [t.nodeid for t in self.tests if line in self.lines.get(t.nodeid, {}).get(key, set())]


# --- running a trace (the parent process) ------------------------------------------------------

TRACE_DIR = "trace"  # under config.state_dir
RECORDS_FILE = "records.json"
COVERAGE_FILE = "coverage.sqlite"
RCFILE = "coveragerc"
LOG_FILE = "pytest.log"
PROGRESS_FILE = "progress.log"  # "start|end <unix time> <nodeid>" per test, as the trace runs
PROGRESS_ENV = "TESTPLAN_TRACE_PROGRESS"  # tells the recorder where to write it


@dataclass
class TracePaths:
    """Where a trace writes, all under ``.testplan/trace/``."""

    dir: Path

    @property
    def records(self) -> Path:
        return self.dir / RECORDS_FILE

    @property
    def coverage(self) -> Path:
        return self.dir / COVERAGE_FILE

    @property
    def links(self) -> Path:  # the links table, for --testplan-linked-only
        return self.dir / "links.json"

    @property
    def rcfile(self) -> Path:
        return self.dir / RCFILE

    @property
    def log(self) -> Path:
        return self.dir / LOG_FILE

    @property
    def hypothesis(self) -> Path:
        return self.dir / "hypothesis"

    @property
    def progress(self) -> Path:
        return self.dir / PROGRESS_FILE

    @property
    def stdout(self) -> Path:
        return self.dir / "pytest.stdout"

    @property
    def stderr(self) -> Path:
        return self.dir / "pytest.stderr"


def trace_paths(config: Config) -> TracePaths:
    return TracePaths(config.state_dir.resolve() / TRACE_DIR)


def code_packages(config: Config) -> list[str]:
    """Top-level packages named in the requirements' ``code:`` refs (best effort: [] when the
    requirements cannot be read; the audit reports that problem itself)."""
    from .store import load_requirements

    try:
        requirements = load_requirements(config.requirements_path, config.root, max_bytes=config.max_input_bytes)
    except (TestplanError, OSError):
        return []
    return dedupe(ref.partition(":")[0].split(".")[0] for requirement in requirements for ref in requirement.code)


_GLOB_CHARS = re.compile(r"[\[\]*?]")


def coverage_rc(config: Config, data_file: Path, packages: Sequence[str]) -> str:
    """The coverage.py configuration of a trace run (the project's own is not read)."""
    root = config.root.resolve()
    sources = dedupe(str(p.resolve()) for p in config.source_roots if p.is_dir()) or [str(root)]
    omit: list[str] = []
    for path in [*(root / t for t in config.tests), config.state_dir]:
        resolved = path.resolve()
        if _GLOB_CHARS.search(str(resolved)):
            continue  # coverage globs cannot express it; such test lines are then measured too
        omit.append(f"{resolved}/*" if not resolved.is_file() else str(resolved))
    lines = [
        "# written by testplan for one trace run; not the project's coverage configuration",
        "[run]",
        f"data_file = {data_file}",
        "branch = False",
        "parallel = False",
        "source =",
        *(f"    {s}" for s in sources),
    ]
    if packages:
        lines += ["source_pkgs =", *(f"    {p}" for p in packages)]
    if omit:
        lines += ["omit =", *(f"    {o}" for o in omit)]
    lines += [
        "disable_warnings =",
        "    module-not-imported",
        "    module-not-measured",
        "    no-data-collected",
        "    couldnt-parse",
        "",
    ]
    return "\n".join(lines)


def trace_command(config: Config, paths: TracePaths, extra_args: Sequence[str] = (), *, load_plugin: bool = False,
                  workers: int = 0) -> list[str]:
    """The command :func:`run_trace` runs (cwd: the project root). With ``workers`` (≥ 2) pytest
    itself is not under coverage: it collects, then each of its forked workers starts its own
    (``--testplan-workers``, ``--testplan-coverage-rc``)."""
    measured = [] if workers else [sys.executable, "-m", "coverage", "run", f"--rcfile={paths.rcfile}"]
    command = [
        *(measured or [sys.executable]), "-m", "pytest", *config.tests,
        f"--rootdir={config.root.resolve()}",
        "-p", "no:cacheprovider",
        "-p", "no:randomly",
        "-p", DETERMINISM_PLUGIN,
    ]
    if load_plugin:
        command += ["-p", "testplan.pytest_plugin"]
    elif _pytest_cov_installed():
        # a project's addopts often say --cov=...; pytest-cov would start a Coverage of its own
        # over ours and the per-test contexts would be lost. --no-cov keeps its options valid.
        command += ["--no-cov"]
    command += [f"--testplan-record={paths.records}", "--testplan-contexts"]
    if workers:
        command += [f"--testplan-coverage-rc={paths.rcfile}", f"--testplan-workers={workers}"]
    command += [*config.pytest_args, *extra_args]
    if _installed("xdist") and not load_plugin:  # (with plugin autoload off, xdist is not loaded: no -n)
        command += ["-n", "0"]  # last, over an addopts '-n auto': the contexts live in testplan's processes
    return command


LINKED_ONLY = "--testplan-linked-only"  # the plugin deselects the tests that link nothing


def trace_workers(jobs: int | None) -> int:
    """How many forked workers a trace with ``jobs`` uses: 0 (serial) without ``jobs``, with 1, or
    where processes cannot fork (Windows)."""
    if not jobs or jobs < 2 or not hasattr(os, "fork"):
        return 0
    return jobs


def worker_path(path: Path, worker: str) -> Path:
    """Where worker ``worker`` (``w0``, ``w1``...) of a parallel trace writes what the serial trace
    writes to ``path``: ``records.json`` -> ``records.w0.json``."""
    return path.with_name(f"{path.stem}.{worker}{path.suffix}")


def worker_output(records: Path, worker: str) -> Path:
    """Where worker ``worker`` of a parallel trace writes what it prints (stdout and stderr), next
    to its records: ``records.w0.out``."""
    return worker_path(records, worker).with_suffix(".out")


def _worker_files(path: Path) -> list[Path]:
    """The per-worker files of ``path`` (any worker ID: ``records.w0.json``, ...), by name."""
    return sorted(path.parent.glob(f"{path.stem}.w*{path.suffix}"))


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _pytest_cov_installed() -> bool:
    return _installed("pytest_cov")


def trace_env(paths: TracePaths, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The subprocess environment: ours, minus coverage settings that would redirect the
    measurement, plus no-bytecode and a private Hypothesis directory; then ``env``; then
    PYTHONHASHSEED pinned (the one this environment or ``env`` sets, else the default)."""
    result = dict(os.environ)
    for name in ("COVERAGE_PROCESS_START", "COVERAGE_RCFILE", "COVERAGE_FILE"):
        result.pop(name, None)
    result["PYTHONDONTWRITEBYTECODE"] = "1"
    result["HYPOTHESIS_STORAGE_DIRECTORY"] = str(paths.hypothesis)
    result[PROGRESS_ENV] = str(paths.progress)
    result.update(env or {})
    return pinned(result)


def run_trace(
    config: Config,
    *,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    packages: Sequence[str] | None = None,
    timeout: float | None = None,
    jobs: int | None = None,
    linked_only: bool = False,
) -> TraceData:
    """Run the project's tests once under coverage with a context per test; return TraceData.

    ``extra_args`` go after ``[tool.testplan] pytest_args``; ``env`` is added to this
    process's environment; ``packages`` (default: :func:`code_packages`) are measured by
    module name wherever they are imported from. Raises BaselineError (one line) when the
    suite is broken, IncompleteError naming the test that was running when ``timeout`` seconds
    (default ``[tool.testplan] trace_timeout_seconds``) expire. ``complete`` is
    False when some collected test has no outcome (``-x``, ``--maxfail``).

    With ``jobs`` ≥ 2 (where processes fork, :func:`trace_workers`) pytest collects once and the
    tests run in ``jobs`` workers forked after collection: each measures its own tests with the
    same per-test contexts and writes its own records and coverage data (:func:`worker_path`),
    combined here into the serial trace's data (:func:`combine_records`). A test file's tests go
    to one worker, in the file's order (:func:`test_file_groups`, pytest-xdist's ``loadfile``): a
    module-scoped fixture is set up once, as serially, and a module whose tests depend on each
    other's order runs as it does serially. (Session fixtures are set up once per worker.) The
    files are handed out in collection order, so each worker runs its tests in the suite's order:
    the first test of the suite to import a module (and run its module-level lines) is the first
    to do so in its worker (:func:`once_per_suite`). A worker that dies (a test's ``os._exit``, a
    signal) is a BaselineError naming the test it was running.

    With ``linked_only`` only the tests that link a requirement or case run, by a ``verifies``
    marker or ``[tool.testplan.links]`` (``--testplan-linked-only``): the others are deselected,
    so the data has no ORPHAN test.
    """
    root = config.root.resolve()
    paths = trace_paths(config)
    paths.dir.mkdir(parents=True, exist_ok=True)
    if linked_only:
        paths.links.write_text(json.dumps(config.links), encoding="utf-8")
        extra_args = (*extra_args, f"{LINKED_ONLY}={paths.links}")
    for stale in (paths.records, paths.coverage, paths.log, paths.progress, paths.stdout, paths.stderr,
                  *_worker_files(paths.records), *_worker_files(paths.coverage), *_worker_files(paths.progress),
                  *paths.dir.glob("records.w*.out")):
        stale.unlink(missing_ok=True)
    if packages is None:
        packages = code_packages(config)
    if timeout is None:
        timeout = config.trace_timeout_seconds
    paths.rcfile.write_text(coverage_rc(config, paths.coverage, packages), encoding="utf-8")
    run_env = trace_env(paths, env)
    workers = trace_workers(jobs)
    command = trace_command(config, paths, extra_args, load_plugin=bool(run_env.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")),
                            workers=workers)
    # output goes to files, and the wait is for pytest itself: a process a test started (and
    # that inherited pytest's stdout) can neither hang the trace nor outlive it
    with open(paths.stdout, "wb") as stdout, open(paths.stderr, "wb") as stderr:
        code = run_in_group(command, cwd=root, env=run_env, stdout=stdout, stderr=stderr, timeout=timeout)
    out_text, err_text = _read_output(paths.stdout), _read_output(paths.stderr)
    for worker in (f"w{index}" for index in range(workers)):  # in worker order
        output = worker_output(paths.records, worker)
        if output.exists():
            out_text += f"\n--- worker {worker} (stdout and stderr) ---\n{_read_output(output)}"
    _write_log(paths, command, code, out_text, err_text)
    if code is None:
        raise IncompleteError(f"the test run did not finish within {timeout:g} s ([tool.testplan] trace_timeout_seconds); "
                              f"{_running_test(paths.progress)}; see {paths.log}")
    proc = subprocess.CompletedProcess(command, code, out_text, err_text)
    records = _read_records(paths.records)
    if workers and records is not None:
        crashed = next((w["crashed"] for w in records.get("workers", []) if w.get("crashed")), None)
        if crashed:
            raise BaselineError(f"a trace worker crashed while running {crashed} (a test ended its process: "
                                f"os._exit, a signal); fix the test, or trace without --jobs; see {paths.log}")
        records = combine_records([records, *filter(None, map(_read_records, _worker_files(paths.records)))])
    problem = baseline_problem(proc.returncode, records, proc.stdout + "\n" + proc.stderr, config, extra_args)
    if problem:
        raise BaselineError(problem)
    assert records is not None
    trace = build_trace(config, records, paths.coverage, exit_code=proc.returncode)
    trace.hash_seed = int(run_env[HASH_SEED])
    ran = sum(1 for t in trace.tests if t.outcome in ("passed", "failed", "xpassed"))
    if ran and packages and not any(lines for per_test in trace.lines.values() for lines in per_test.values()):
        raise BaselineError(
            f"{ran} tests ran but coverage recorded no line of {', '.join(packages)} for any of them; "
            f"another coverage tool may be replacing testplan's (a sitecustomize, a plugin), or the code "
            f"is outside [tool.testplan] source; see {paths.log}")
    shadowed = shadowing_copy(config, trace, packages)
    if shadowed:
        package, used, own = shadowed
        raise BaselineError(
            f"the tests imported {package} from {used}, not the project's {own}: testplan would measure "
            f"and mutate a copy the tests never run; put the project's copy first (pytest pythonpath, "
            f"or 'pip install -e .')")
    return trace


def shadowing_copy(config: Config, trace: TraceData, packages: Sequence[str]) -> tuple[str, str, str] | None:
    """(package, the directory the tests imported it from, the project's own copy) when the
    tests ran an installed copy of a package the requirements name while the project has its
    own copy of it; else None."""
    from .scope import find_module

    root = config.root.resolve()
    executed = {Path(file) for per_test in trace.lines.values() for file, lines in per_test.items() if lines}
    for package in packages:
        own = find_module(package, [r for r in config.source_roots if r.is_dir()])
        if own is None or not own.is_relative_to(root):
            continue  # the requirements name an installed package: measuring it there is right
        own_dir = own.parent if own.name == "__init__.py" else own
        if any(f == own or f.is_relative_to(own_dir) for f in executed):
            continue
        elsewhere = [f for f in executed if not f.is_relative_to(root)
                     and package in f.parts and f.parts[f.parts.index(package) - 1] != root.name]
        if elsewhere:
            used = Path(*elsewhere[0].parts[: elsewhere[0].parts.index(package) + 1])
            return package, str(used), str(own_dir.relative_to(root))
    return None


def _read_output(path: Path) -> str:
    """What pytest wrote to ``path`` (then removed: the log keeps it)."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
    path.unlink(missing_ok=True)
    return text


def _unfinished(files: Sequence[Path]) -> tuple[dict[str, float], str | None]:
    """From progress files: the tests started and not finished (nodeid -> start time), and the
    last test to finish."""
    started: dict[str, float] = {}
    last_end = None
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            kind, _, rest = line.partition(" ")
            stamp, _, nodeid = rest.partition(" ")
            if kind == "start":
                started[nodeid] = float(stamp)
            elif kind == "end":
                started.pop(nodeid, None)
                last_end = nodeid
    return started, last_end


def _running_test_of(progress: Path) -> str:
    """The test a worker of a parallel trace was running when it died (from its progress file)."""
    started, last_end = _unfinished([progress])
    if started:
        return max(started, key=lambda nodeid: started[nodeid])
    return f"no test (after {last_end})" if last_end else "no test (before its first)"


def _running_test(progress: Path) -> str:
    """Which test was running when the trace was stopped (from the recorder's progress file, and
    its workers' in a parallel trace)."""
    started, last_end = _unfinished([progress, *_worker_files(progress)])
    if started:
        nodeid, since = min(started.items(), key=lambda item: item[1])
        return f"still running: {nodeid} (for {time.time() - since:.0f} s)"
    if last_end:
        return f"no test was running (the last one to finish was {last_end}): a fixture teardown or the session end hung"
    return "no test had started: collection (or a session fixture) hung"


def _write_log(paths: TracePaths, command: list[str], code: int | None, stdout: str, stderr: str) -> None:
    paths.log.write_text(
        f"$ {' '.join(command)}\n# exit code: {code}\n\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n",
        encoding="utf-8",
    )


def _read_records(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _collection_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    if first.get("syntax"):
        hint = "fix the test file" if first.get("test_file") else "fix the syntax error"
    elif first.get("import"):
        hint = "install the missing dependency or fix the import"
    else:
        hint = "fix the test module"
    what = f"{first['kind']}: {first['message']}" if first.get("message") else first["kind"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _one_line(f"tests could not be collected: {first['where']}: {what}{more}; {hint}")


_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt)\b(?::.*)?$")
_FILE_LINE = re.compile(r'^File "(.+)", line (\d+)')
_FRAME_LINE = re.compile(r"^(\S+?):(\d+): in ")


def _project_path(path: str, root: Path) -> str | None:
    """``path`` relative to the project root when it is inside it (pytest prints such frames
    relative, others absolute), else None."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return None if path.startswith("..") else candidate.as_posix()
    try:
        return candidate.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _output_error(output: str, root: Path) -> tuple[str | None, str | None]:
    """From pytest's console output of a failed conftest import: (file:line, 'Kind: message').

    The exception is the first ``E`` line of the first block that names an exception
    (``SyntaxError: invalid syntax``; a SyntaxError's ``File "...", line N`` lines come before
    it). The place is that ``File`` line for a syntax error, else the deepest traceback frame
    inside the project (not Python's ``ast.py`` or a site-packages frame), relative to the
    project root; else the deepest frame."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("E ")), None)
    if start is None:
        return None, None
    block: list[str] = []
    for line in lines[start:]:
        if not line.startswith("E "):
            break
        block.append(line[1:].strip())
    error = next((line for line in block if _EXCEPTION_LINE.match(line)), block[0])
    for line in block:
        match = _FILE_LINE.match(line)
        if match:
            where = _project_path(match.group(1), root)
            return f"{where or match.group(1)}:{match.group(2)}", error
    frames = [m for m in (_FRAME_LINE.match(line) for line in lines[:start]) if m]
    for match in reversed(frames):
        where = _project_path(match.group(1), root)
        if where is not None and "site-packages" not in Path(match.group(1)).parts:
            return f"{where}:{match.group(2)}", error
    return (f"{frames[-1].group(1)}:{frames[-1].group(2)}" if frames else None), error


def _usage_error(output: str) -> str | None:
    for line in output.splitlines():
        match = re.search(r"(?:^|[\s:])error: (.+)$", line.strip())
        if match:
            return match.group(1)
    for line in output.splitlines():
        if line.startswith("ERROR: ") and not line.startswith("ERROR: usage:"):
            return line[len("ERROR: "):]
    return None


# options of well-known plugins, for the hint when one is used but not installed
KNOWN_PLUGIN_OPTIONS = {
    "--timeout": "pytest-timeout", "--timeout-method": "pytest-timeout",
    "--cov": "pytest-cov", "--cov-report": "pytest-cov", "--cov-fail-under": "pytest-cov",
    "-n": "pytest-xdist", "--numprocesses": "pytest-xdist", "--dist": "pytest-xdist",
    "--reruns": "pytest-rerunfailures", "--reruns-delay": "pytest-rerunfailures",
    "--benchmark-skip": "pytest-benchmark", "--benchmark-disable": "pytest-benchmark",
    "--randomly-seed": "pytest-randomly",
    "--hypothesis-profile": "hypothesis", "--hypothesis-show-statistics": "hypothesis",
    "--mypy": "pytest-mypy", "--flake8": "pytest-flake8", "--html": "pytest-html",
    "--asyncio-mode": "pytest-asyncio", "--django-settings-module": "pytest-django", "--ds": "pytest-django",
}


def _usage_problem(output: str, config: Config, ours: Sequence[str]) -> str:
    """The one line for pytest's exit code 4, with a hint that names the culprit: testplan's
    own options unknown (its plugin is disabled), an option or ``-p`` plugin of the project's
    pytest configuration that nothing installed provides, or else testplan's settings."""
    message = _usage_error(output) or _last_line(output)
    unknown = re.match(r"unrecognized arguments: (.+)$", message)
    if unknown:
        args = unknown.group(1).split()
        if any(a.startswith("--testplan-") for a in args):
            return _one_line(
                f"pytest usage error: {message}; testplan's pytest plugin is disabled (-p no:testplan in the "
                f"project's pytest configuration or PYTEST_ADDOPTS): the audit needs it, remove -p no:testplan")
        foreign = [a for a in args if a not in ours]
        if foreign:
            options = dedupe(a.split("=", 1)[0] for a in foreign if a.startswith("-")) or foreign
            needs = {o: KNOWN_PLUGIN_OPTIONS[o] for o in options if o in KNOWN_PLUGIN_OPTIONS}
            remove = f"remove {' '.join(foreign)} from the project's pytest configuration (addopts)"
            if len(options) == 1 and needs:
                what = f"{options[0]} needs {needs[options[0]]}, which is not installed: install it, or {remove}"
            elif len(options) == 1:
                what = f"no installed plugin provides {options[0]}: install the one that does, or {remove}"
            else:
                known = f" ({', '.join(f'{o} needs {p}' for o, p in needs.items())})" if needs else ""
                what = f"no installed plugin provides {', '.join(options)}{known}: install them, or {remove}"
            return _one_line(f"pytest usage error: {message}; {what}")
    plugin = re.match(r"""Error importing plugin "([^"]+)": No module named '([^']+)'""", message)
    if plugin:
        name, module = plugin.groups()
        where = "[tool.testplan] pytest_args" if name in ours else "the project's pytest configuration (addopts)"
        if name == module or name.startswith(module + "."):
            what = f"the pytest plugin {name} is not installed: install it, or remove -p {name} from {where}"
        else:
            what = f"the pytest plugin {name} needs {module}, which is not installed: install it, or remove -p {name} from {where}"
        return _one_line(f"pytest usage error: {message}; {what}")
    return _one_line(f"pytest usage error: {message}; check [tool.testplan] tests and pytest_args")


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("Coverage.py warning")]
    return lines[-1] if lines else "no output"


def baseline_problem(exit_code: int, records: dict[str, Any] | None, output: str, config: Config,
                     extra_args: Sequence[str] = ()) -> str | None:
    """The one-line reason a run is not a usable baseline, or None (exit 0/1 with records).
    ``extra_args``: what the caller added to ``[tool.testplan] pytest_args`` (to tell the
    project's own pytest configuration from testplan's in a usage error)."""
    if records and records.get("collection_errors"):
        return _collection_message(records["collection_errors"])
    if exit_code in (0, 1) and records is not None:
        return None
    tests = " ".join(config.tests)
    if exit_code == 5 and any(arg.startswith(LINKED_ONLY) for arg in extra_args):
        return (f"no test in {tests} links a requirement or case, and --linked-only runs only those (pytest exit code 5); "
                "link tests with @pytest.mark.verifies or [tool.testplan.links], or audit without --linked-only")
    if exit_code == 5:
        return f"no tests were collected from {tests} (pytest exit code 5); check [tool.testplan] tests and pytest_args and the project's pytest configuration"
    if "while loading conftest" in output:
        where, error = _output_error(output, config.root.resolve())
        if error and ("ImportError" in error or "ModuleNotFoundError" in error):
            hint = "install the missing dependency or fix the import"
        elif error and error.startswith(("SyntaxError", "IndentationError", "TabError")) and where and not where.split(":")[0].endswith("conftest.py"):
            hint = "fix the syntax error"
        else:
            hint = "fix the conftest"
        return _one_line(f"tests could not be collected: {where or 'conftest.py'}: {error or _last_line(output)}; {hint}")
    if exit_code == 4:
        return _usage_problem(output, config, [*config.tests, *config.pytest_args, *extra_args])
    if exit_code == 3:
        internal = [line for line in output.splitlines() if line.startswith("INTERNALERROR>")]
        message = internal[-1][len("INTERNALERROR>"):].strip() if internal else _last_line(output)
        return _one_line(f"pytest stopped with an internal error: {message}; run pytest by hand to see the traceback")
    if exit_code == 2:
        banners = [line.strip("! ").strip() for line in output.splitlines() if line.startswith("!!!")]
        return _one_line(f"the test run was interrupted: {banners[-1] if banners else _last_line(output)}")
    if records is None and exit_code in (0, 1):
        return "pytest ran but testplan's plugin recorded nothing; is it disabled (-p no:testplan) in the project's pytest configuration?"
    return _one_line(f"pytest exited with code {exit_code}: {_last_line(output)}")


def peak_mb() -> float:
    """The peak resident set size so far of this process or of a process it waited for (a
    subprocess a test ran), the larger, in MB: what a mutant's child may need, as the mutation
    worker measures its children (:func:`os.wait4`: a child's own and its waited-for descendants'),
    whose memory limit is a multiple of it (:mod:`testplan.mutate.worker`)."""
    import resource

    kb = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round((kb / 1024 if sys.platform == "darwin" else kb) / 1024, 1)


def combine_records(parts: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The records of a parallel trace as one document, as the serial trace would have written it:
    ``parts`` are the collecting process's records (every test collected, none run) and then its
    workers' (in worker order; each holds the collection too, and outcomes for the tests it ran).
    The tests come in the first part's collection order, each with the record of the worker that
    ran it (``worker``: whose coverage data holds its lines); the collection errors are the first
    part's that has any. None when there are no parts."""
    if not parts:
        return None
    ran: dict[str, dict[str, Any]] = {}
    for part in parts:
        for record in part.get("tests", []):
            if record.get("outcome") is not None and record["nodeid"] not in ran:
                ran[record["nodeid"]] = {**record, "worker": part.get("worker")}
    first = parts[0]
    return {
        **first,
        "exitstatus": max(int(part.get("exitstatus") or 0) for part in parts),
        "peak_mb": max((part["peak_mb"] for part in parts if part.get("peak_mb") is not None), default=None),
        "tests": [ran.get(record["nodeid"], record) for record in first.get("tests", [])],
        "collection_errors": next((p["collection_errors"] for p in parts if p.get("collection_errors")), []),
    }


def build_trace(config: Config, records: dict[str, Any], coverage_file: Path, *, exit_code: int = 0) -> TraceData:
    """TraceData from the recorder's JSON and the coverage data of the same run. A test record
    with a ``worker`` (a parallel trace, :func:`combine_records`) has its lines in that worker's
    coverage data (``worker_path(coverage_file, worker)``)."""
    root = config.root.resolve()
    trace = TraceData(root=root)
    complete = exit_code in (0, 1)
    for record in records.get("tests", []):
        if record.get("outcome") is None:
            complete = False  # collected but never run (-x, --maxfail)
            continue
        path = Path(record["path"])
        analysis = analyze_test(path, int(record.get("line") or 0), record.get("name"))
        trace.tests.append(TestRecord(
            nodeid=record["nodeid"],
            file=_relative(path, root),
            line=analysis.line if analysis else int(record.get("line") or 0),
            links=combine(record.get("links", []), record["nodeid"], config.links),
            outcome=record["outcome"],
            failure_class=record.get("failure_class"),
            duration=float(record.get("duration") or 0.0),
            setup=float(record.get("setup") or 0.0),
            assertions=analysis.assertions if analysis else 0,
            flags=list(analysis.flags) if analysis else [],
            marker_links=list(record.get("links", [])),
        ))
    shared = {r["nodeid"]: r.get("fixture_contexts", []) for r in records.get("tests", [])}
    nodeids = [t.nodeid for t in trace.tests]
    workers = {r["nodeid"]: r.get("worker") for r in records.get("tests", [])}
    if not any(workers.values()):
        trace.lines = read_lines(coverage_file, nodeids, shared)
    else:  # fixture contexts are numbered per process: each worker's data is read on its own
        trace.lines = {nodeid: {} for nodeid in nodeids}
        order = {nodeid: index for index, nodeid in enumerate(nodeids)}
        parts = []
        for worker in dedupe(workers[n] for n in nodeids):
            ran = [n for n in nodeids if workers[n] == worker]
            first = {n: order[n] for n in ran}
            for nodeid in ran:
                for context in shared.get(nodeid, []):
                    first.setdefault(context, order[nodeid])
            parts.append((ran, read_contexts(worker_path(coverage_file, worker)), first))
        once_per_suite([(contexts, first) for _, contexts, first in parts])
        for ran, contexts, _ in parts:
            trace.lines.update(credit(contexts, ran, shared))
    trace.complete = complete
    trace.peak_mb = records.get("peak_mb")
    return trace


def read_lines(coverage_file: Path, nodeids: Sequence[str],
               shared: dict[str, list[str]] | None = None) -> dict[str, dict[str, set[int]]]:
    """``{nodeid: {absolute file: lines}}`` from a coverage data file whose contexts are nodeids.
    Every nodeid gets an entry (empty when the test executed no measured line). ``shared`` maps a
    nodeid to the contexts of the module/session fixtures it used (see :class:`Recorder`); their
    lines count for every test that used them."""
    return credit(read_contexts(coverage_file), nodeids, shared)


def read_contexts(coverage_file: Path) -> dict[str, dict[str, set[int]]]:
    """``{context: {absolute file: lines}}`` of a coverage data file (``{}`` when there is none)."""
    contexts: dict[str, dict[str, set[int]]] = {}
    if not coverage_file.is_file():
        return contexts
    from coverage import CoverageData

    data = CoverageData(basename=str(coverage_file))
    data.read()
    for measured in data.measured_files():
        key = str(Path(measured).resolve())
        for lineno, names in data.contexts_by_lineno(measured).items():
            for context in names:
                contexts.setdefault(context, {}).setdefault(key, set()).add(lineno)
    return contexts


def credit(contexts: Mapping[str, dict[str, set[int]]], nodeids: Sequence[str],
           shared: dict[str, list[str]] | None = None) -> dict[str, dict[str, set[int]]]:
    """Each nodeid's lines: its own context's, plus those of the shared fixture contexts it used."""
    lines: dict[str, dict[str, set[int]]] = {nodeid: {} for nodeid in nodeids}
    for nodeid in nodeids:
        for context in [nodeid, *(shared or {}).get(nodeid, [])]:
            for key, numbers in contexts.get(context, {}).items():
                lines[nodeid].setdefault(key, set()).update(numbers)
    return lines


def import_time_lines(file: str) -> set[int]:
    """The lines of a Python file that run only when it is imported (module and class bodies, a
    plain function's ``def`` line), not those inside a function or lambda, nor a decorated
    function's decorator and ``def`` lines (coverage records a decorated function's first line
    each time it is called); empty when it cannot be parsed."""
    import ast

    try:
        tree = pyast.parse(Path(file).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min(d.lineno for d in node.decorator_list) if node.decorator_list else node.lineno + 1
            inside.update(range(first, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.Lambda):
            inside.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    last = max((getattr(n, "end_lineno", 0) or 0 for n in ast.walk(tree)), default=0)
    return set(range(1, last + 1)) - inside


def once_per_suite(workers: Sequence[tuple[dict[str, dict[str, set[int]]], dict[str, int]]]) -> None:
    """Make the import-time lines of the workers' contexts what one process would have recorded.

    A module first imported during a test runs its module-level code once per process: serially
    in the first test (suite order) that imports it; in a parallel trace in the first test of
    *each* worker that does. ``workers`` holds each worker's ``{context: {file: lines}}`` and
    ``{context: suite index of the first test that ran or used it}``; for every import-time line
    (:func:`import_time_lines`) only the earliest context keeps it (and, when that context is a
    shared fixture's, every worker's setup of the fixture of that name, which serially serves
    all their tests). Changes the dicts in place."""
    owners: dict[tuple[str, int], tuple[int, str]] = {}  # (file, line) -> (first index, context name)
    module_lines: dict[str, set[int]] = {}
    for contexts, first in workers:
        for context, files in contexts.items():
            if context not in first:
                continue  # "" (collection) and contexts of no recorded test: never credited
            for file, numbers in files.items():
                if file not in module_lines:
                    module_lines[file] = import_time_lines(file)
                for line in numbers & module_lines[file]:
                    owner = owners.get((file, line))
                    if owner is None or first[context] < owner[0]:
                        owners[(file, line)] = (first[context], context)

    def kind(context: str) -> str:  # a fixture's setups share its name across workers
        return context.split(":", 2)[2] if context.startswith(FIXTURE_CONTEXT) else context

    for contexts, first in workers:
        for context, files in contexts.items():
            for file, numbers in files.items():
                for line in numbers & module_lines.get(file, set()):
                    owner = owners.get((file, line))
                    if owner is not None and kind(owner[1]) != kind(context):
                        numbers.discard(line)


# --- the recorder (runs inside the project's pytest session) ------------------------------------

RECORDS_VERSION = 2  # history: 1 (2026-11-22) first version; 2: tests' fixture_contexts
FIXTURE_CONTEXT = "testplan-fixture:"  # prefix of the coverage context of a shared fixture's setup


def classify_exception(exc: BaseException | None) -> str:
    """``assert`` when a test's check failed, ``crash`` when anything else escaped.

    ``assert``: AssertionError (pytest's rewritten asserts, ``pytest.raises(match=...)``
    mismatches, unittest's ``assert*``) and pytest's ``Failed`` (``pytest.fail``,
    ``pytest.raises``' "DID NOT RAISE"). An exception group is ``assert`` when every
    exception in it is.
    """
    if exc is None:
        return "crash"
    if isinstance(exc, BaseExceptionGroup):
        leaves = list(exc.exceptions)
        return "assert" if leaves and all(classify_exception(e) == "assert" for e in leaves) else "crash"
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        return "assert"
    return "crash"


def marker_links(item: pytest.Item) -> list[str]:
    """IDs from ``verifies`` markers, closest first (parametrized case and function, then
    class, then module), each once. Non-string arguments are kept as ``str(arg)``; lists and
    tuples are flattened. IDs are not validated: a bad one is reported as DANGLING later."""
    ids: list[str] = []

    def add(value: object) -> None:
        if isinstance(value, (list, tuple, set, frozenset)):
            for v in value:
                add(v)
        elif value is not None:
            ids.append(value if isinstance(value, str) else str(value))

    for mark in item.iter_markers("verifies"):
        add(mark.args)
    return dedupe(ids)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


def describe_item(item: pytest.Item, rootpath: Path) -> dict[str, Any]:
    """A test's record before it runs: where it is defined and what it links to."""
    path, lineno, _ = item.reportinfo()
    absolute = Path(os.fspath(path)).resolve()
    return {
        "nodeid": item.nodeid,
        "file": _relative(absolute, rootpath),
        "path": str(absolute),
        "line": lineno + 1 if isinstance(lineno, int) and lineno >= 0 else 0,
        "name": getattr(item, "originalname", None) or item.name,
        "links": marker_links(item),
        "outcome": None,
        "failure_class": None,
        "duration": 0.0,
    }


def apply_report(record: dict[str, Any], report: pytest.TestReport, failure_class: str | None) -> None:
    """Fold one phase's report into a test's record (pytest's own categories)."""
    expected_failure = hasattr(report, "wasxfail")
    if report.when == "call":
        record["duration"] = report.duration
    elif report.when == "setup":
        record["setup"] = report.duration
    if report.passed:
        if report.when == "call":
            record["outcome"] = "xpassed" if expected_failure else "passed"
    elif report.skipped:
        if record["outcome"] is None or report.when != "teardown":
            record["outcome"] = "xfailed" if expected_failure else "skipped"
    elif report.when == "call":
        record["outcome"] = "failed"
        record["failure_class"] = failure_class or "assert"  # no exception: a strict XPASS
    elif record["outcome"] != "failed":  # setup or teardown: an error
        record["outcome"] = "error"
        record["failure_class"] = failure_class or "crash"


def _deepest_frame_in(tb: TracebackType | None, root: Path) -> tuple[Path, int] | None:
    found = None
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        if filename.is_absolute() and "site-packages" not in filename.parts:
            try:
                filename.resolve().relative_to(root)
                found = (filename.resolve(), tb.tb_lineno)
            except ValueError:
                pass
        tb = tb.tb_next
    return found


def describe_collection_error(node: pytest.Collector, exc: BaseException, rootpath: Path) -> dict[str, Any]:
    """One collection failure as ``{nodeid, where, kind, message}``; ``where`` is file:line."""
    cause = exc.__cause__ if isinstance(exc, pytest.Collector.CollectError) and exc.__cause__ else exc
    node_path = Path(os.fspath(node.path)).resolve() if getattr(node, "path", None) else rootpath
    kind = type(cause).__name__
    if isinstance(cause, SyntaxError) and cause.filename:
        where = f"{_relative(Path(cause.filename).resolve(), rootpath)}:{cause.lineno or 0}"
        message = cause.msg
    else:
        frame = _deepest_frame_in(cause.__traceback__, rootpath)
        where = f"{_relative(frame[0], rootpath)}:{frame[1]}" if frame else _relative(node_path, rootpath)
        message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        if isinstance(cause, pytest.Collector.CollectError):
            kind = "CollectError"
    return {
        "nodeid": node.nodeid,
        "where": where,
        "kind": kind,
        "message": message,
        "import": isinstance(cause, ImportError),
        "syntax": isinstance(cause, SyntaxError),
        "test_file": where.split(":", 1)[0] == _relative(node_path, rootpath),
    }


def test_file_groups(items: Sequence[pytest.Item]) -> list[list[pytest.Item]]:
    """The tests as runs of one test file each, in suite order: a parallel trace's units of work
    (pytest-xdist's ``--dist loadfile``). A file's tests stay in one worker in the file's order, so
    a module-scoped fixture is set up once and tests that depend on their module's order run as
    they do serially."""
    groups: list[list[pytest.Item]] = []
    for item in items:
        if groups and groups[-1][0].nodeid.partition("::")[0] == item.nodeid.partition("::")[0]:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


_QUEUE_ENTRY = 4  # bytes per group index in a parallel trace's work queue (a pipe)


def feed_queue(feed: int, start: int, stop: int) -> None:
    """Put the indexes start..stop-1 on a parallel trace's work queue (the write end of a pipe), in
    whole entries per write of at most ``PIPE_BUF`` bytes: such writes are atomic, so the pipe
    never holds part of an entry and each worker's read of one entry gets exactly one."""
    entries = b"".join(index.to_bytes(_QUEUE_ENTRY, "little") for index in range(start, stop))
    chunk = select.PIPE_BUF - select.PIPE_BUF % _QUEUE_ENTRY
    for start in range(0, len(entries), chunk):
        os.write(feed, entries[start:start + chunk])


def next_group(queue: int, groups: list[list[pytest.Item]]) -> list[pytest.Item] | None:
    """A worker takes the next test file off the work queue (the read end of the pipe
    :func:`feed_queue` writes): None once the queue is empty and every writer has closed it."""
    entry = os.read(queue, _QUEUE_ENTRY)
    return groups[int.from_bytes(entry, "little")] if entry else None


def worker_takes(first: list[pytest.Item], queue: int,
                 groups: list[list[pytest.Item]]) -> Callable[[], list[pytest.Item] | None]:
    """What a worker takes, one test file a call: the one dealt to it at the fork, then the
    queue's (:func:`next_group`). Dealing each worker a first file (as pytest-xdist deals each of
    its workers some) means every worker runs one, however late it starts."""
    dealt = [first]
    return lambda: dealt.pop() if dealt else next_group(queue, groups)


def start_worker_coverage(rcfile: Path, worker: str) -> Any:
    """A started Coverage configured by a trace's ``rcfile``, writing to the worker's own data file."""
    import coverage

    cov = coverage.Coverage(config_file=str(rcfile))
    data_file = Path(cov.config.data_file)
    cov = coverage.Coverage(config_file=str(rcfile), data_file=str(worker_path(data_file, worker)))
    cov.start()
    return cov


class Recorder:
    """Registered by the plugin only with ``--testplan-record``: records every test of the
    session and writes them as JSON at session end. With ``contexts``, switches coverage.py's
    dynamic context to the test's nodeid for its setup, call and teardown (pytest-cov's
    ``--cov-context=test``, one context per test instead of one per phase), back to ``""``
    after it.

    The setup of a fixture wider than a function (class, module, package, session) runs once,
    inside whichever test first needs it, yet its result serves every test that uses it: a
    mutant in that code changes what all of them see. Each such setup gets its own context
    (``testplan-fixture:<n>:<name>``) and each test records, as ``fixture_contexts``, the ones
    it used, so :func:`read_lines` credits those lines to every one of them rather than to the
    first. Its teardown (finalizers) runs in that context too, not in the context of whichever test
    happened to be last to use it (so the data does not depend on how a parallel trace split the
    suite: there, a session fixture is set up and torn down once per worker).

    With ``workers`` (≥ 2, a parallel trace: ``--testplan-workers``) the session collects once,
    unmeasured, and then the recorder runs the tests itself (:meth:`pytest_runtestloop`) in
    ``workers`` forked processes that take whole test files (:func:`test_file_groups`) off one
    queue in suite order. Each worker starts a Coverage of its own configured by ``coverage_rc``
    (the trace's configuration), and writes its data to ``worker_path(<data_file>, worker)``, its
    records to ``worker_path(path, worker)`` and its progress lines likewise; the collecting
    process writes the collection and ``workers`` (each worker's ID, exit and, when it died
    without records, the test it was running: ``crashed``)."""

    def __init__(self, path: Path, *, contexts: bool = False, rootpath: Path | None = None,
                 coverage_rc: Path | None = None, workers: int = 0):
        self.worker: str | None = None  # this process's worker ID, in a parallel trace's worker
        self.workers = workers
        self.worker_exits: list[dict[str, Any]] = []
        self._coverage_rc = coverage_rc
        self._own_coverage: Any = None
        self.path = Path(path)
        self.rootpath = (rootpath or Path.cwd()).resolve()
        self.tests: dict[str, dict[str, Any]] = {}
        self.collection_errors: list[dict[str, Any]] = []
        self._classes: dict[tuple[str, str], str] = {}
        self._coverage: Any = None
        self._context = ""
        self._fixture_contexts: dict[int, str] = {}  # id(FixtureDef) -> context of its live setup
        self._fixture_setups = 0
        self._teardowns: dict[int, str] = {}  # id(FixtureDef) -> the context its teardown interrupted
        progress = os.environ.get(PROGRESS_ENV)  # set by run_trace: which test runs now (for its timeout)
        self._progress = open(progress, "a", encoding="utf-8", buffering=1) if progress else None
        self._contexts = contexts
        if contexts and workers < 2:
            import coverage

            self._coverage = coverage.Coverage.current()

    def _switch(self, context: str) -> None:
        if self._coverage is not None:
            self._coverage.switch_context(context)
            self._context = context

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
        if self._coverage is None or fixturedef.scope == "function":
            return (yield)
        self._fixture_setups += 1  # a module-scoped fixture is set up again for each module
        context = f"{FIXTURE_CONTEXT}{self._fixture_setups}:{fixturedef.argname}"
        self._fixture_contexts[id(fixturedef)] = context
        previous = self._context
        self._switch(context)
        try:
            return (yield)
        finally:
            self._switch(previous)
            # registered last, so run first when the fixture is torn down; post_finalizer switches back
            fixturedef.addfinalizer(lambda: self._enter_teardown(fixturedef, context))

    def _enter_teardown(self, fixturedef: pytest.FixtureDef[Any], context: str) -> None:
        self._teardowns[id(fixturedef)] = self._context
        self._switch(context)

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
        previous = self._teardowns.pop(id(fixturedef), None)
        if previous is not None:
            self._switch(previous)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Before fixtures are torn down: which shared fixture setups this test used."""
        record = self.tests.get(item.nodeid)
        if self._coverage is None or record is None:
            return
        info = getattr(item, "_fixtureinfo", None)
        definitions = getattr(info, "name2fixturedefs", {}) or {}
        used: list[str] = []
        setup = getattr(item, "funcargs", {}) or {}  # the fixtures its setup obtained (none when skipped there)
        for name in getattr(item, "fixturenames", ()):
            if name not in setup:
                continue
            for fixturedef in definitions.get(name, ()):
                context = self._fixture_contexts.get(id(fixturedef))
                if context and fixturedef.cached_result is not None and context not in used:
                    used.append(context)
        record["fixture_contexts"] = used

    def pytest_report_header(self, config: pytest.Config) -> str:
        if self.workers >= 2:
            contexts = "per-test coverage contexts" if self._contexts and self._coverage_rc else "no coverage contexts"
            return f"testplan: recording tests to {self.path} ({contexts}, {self.workers} forked workers)"
        contexts = "per-test coverage contexts" if self._coverage is not None else "no coverage contexts"
        return f"testplan: recording tests to {self.path} ({contexts})"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """A parallel trace's run: fork the workers, hand them the test files, wait for them."""
        if self.workers < 2 or session.config.option.collectonly or (
                session.testsfailed and not session.config.option.continue_on_collection_errors):
            return None  # pytest's own loop: it runs nothing, or stops on the collection errors
        groups = test_file_groups(session.items)
        self.path.parent.mkdir(parents=True, exist_ok=True)  # where the workers write
        gc.freeze()  # what collection made stays in pages the workers share (no collector writes to them)
        queue, feed = os.pipe()
        pids: dict[int, str] = {}
        for index in range(min(self.workers, len(groups))):
            worker = f"w{index}"
            for stale in (worker_path(self.path, worker), worker_output(self.path, worker),
                          self._worker_progress(worker)):
                stale.unlink(missing_ok=True)  # (run by hand, a worker that dies must not leave last run's)
            pid = os.fork()
            if pid == 0:  # pragma: no cover - measured by its own Coverage, not the caller's
                self._work(session, groups, queue, feed, index)
            pids[pid] = worker
        gc.unfreeze()
        os.close(queue)
        feed_queue(feed, len(pids), len(groups))  # the first len(pids) files are dealt at the fork
        os.close(feed)
        exits = {worker: os.waitpid(pid, 0)[1] for pid, worker in pids.items()}  # only our own children
        interrupted = None
        failing = 0  # workers with a failing test, or that died
        for worker, status in exits.items():
            records = _read_records(worker_path(self.path, worker))
            entry: dict[str, Any] = {"worker": worker, "exit": os.waitstatus_to_exitcode(status)}
            if records is None:
                entry["crashed"] = _running_test_of(self._worker_progress(worker))
            interrupted = interrupted or (records or {}).get("interrupted")
            if records is None or records["exitstatus"] == pytest.ExitCode.TESTS_FAILED:
                failing += 1
            self.worker_exits.append(entry)
        session.testsfailed += failing  # so pytest exits 1 when a test failed
        reporter = session.config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("-", f"the tests ran in {len(exits)} forked worker{'s' * (len(exits) != 1)} ({failing} with a failing test), each "
                                    f"printing to {worker_output(self.path, 'w<N>').name}; pytest's counts below include "
                                    f"none of them")
            for entry in self.worker_exits:
                if "crashed" in entry:
                    reporter.write_line(f"testplan: worker {entry['worker']} died (exit {entry['exit']}) "
                                        f"while running {entry['crashed']}")
        if interrupted:
            raise session.Interrupted(interrupted)
        return True

    def _worker_progress(self, worker: str) -> Path:
        """A worker's progress file, next to the records (``progress.w0.log``): whatever the
        environment says, so a worker that dies can be told by the test it was running."""
        return worker_path(self.path.with_name(PROGRESS_FILE), worker)

    def _work(self, session: pytest.Session, groups: list[list[pytest.Item]], queue: int, feed: int,
              index: int) -> None:  # pragma: no mutate block - only a forked child runs it: test_trace_parallel.py
        """Forked worker ``index`` of a parallel trace: its output to a file of its own, then
        :meth:`run_worker` on the test file dealt to it and those it takes off ``queue``; exit.
        Never returns."""
        worker = f"w{index}"
        code = 70  # EX_SOFTWARE, unless the records are written
        try:
            os.close(feed)  # the queue's end is when every writer has closed it
            capture = session.config.pluginmanager.getplugin("capturemanager")
            capturing = capture is not None and capture.is_globally_capturing()
            if capturing:  # pytest's global capture files are shared with the other workers since the fork
                capture.stop_global_capturing()
            output = os.open(worker_output(self.path, worker), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for fd in (1, 2):  # what this worker prints goes to a file of its own, read into the trace's log
                os.dup2(output, fd)
            os.close(output)
            if capturing:  # and it captures into files of its own
                capture.start_global_capturing()
                capture.suspend_global_capture()
            self.run_worker(session, worker, worker_takes(groups[index], queue, groups))
            code = 0
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)

    def run_worker(self, session: pytest.Session, worker: str, take: Callable[[], list[pytest.Item] | None]) -> None:
        """Be worker ``worker`` of a parallel trace in this process: measure (with the trace's
        coverage configuration) and run the test files ``take()`` returns, in that order, until it
        returns None; then print this worker's failures and counts, and write its records."""
        self.worker = worker
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._progress is not None:
            self._progress.close()
        self._progress = open(self._worker_progress(worker), "a", encoding="utf-8", buffering=1)
        self.path = worker_path(self.path, worker)
        if self._contexts and self._coverage_rc is not None:
            self._own_coverage = start_worker_coverage(Path(self._coverage_rc), worker)
            self._coverage = self._own_coverage
        interrupted = None
        group = take()
        try:
            while group is not None:
                following = None
                for index, item in enumerate(group):
                    if index + 1 < len(group):
                        nextitem = group[index + 1]
                    else:
                        following = take()
                        nextitem = following[0] if following else None
                    item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                    if session.shouldfail or session.shouldstop:
                        following = None
                        break
                group = following
        except (KeyboardInterrupt, pytest.exit.Exception) as exc:
            interrupted = f"{type(exc).__name__}: {exc}"
        reporter = session.config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None:  # the failures' tracebacks and the counts of this worker's tests
            reporter.summary_errors()
            reporter.summary_failures()
            reporter.summary_stats()
        if self._own_coverage is not None:
            self._own_coverage.stop()
            self._own_coverage.save()
        self.write(2 if interrupted else 1 if session.testsfailed else 0, interrupted=interrupted)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self.tests[item.nodeid] = describe_item(item, self.rootpath)

    def pytest_exception_interact(self, node: pytest.Item | pytest.Collector, call: pytest.CallInfo[Any], report: Any) -> None:
        if isinstance(node, pytest.Collector) and call.excinfo is not None:
            self.collection_errors.append(describe_collection_error(node, call.excinfo.value, self.rootpath))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and all(e["nodeid"] != report.nodeid for e in self.collection_errors):
            lines = [line for line in report.longreprtext.splitlines() if line.strip()]
            errors = [line[1:].strip() for line in lines if line.startswith("E ")]
            message = errors[-1] if errors else (lines[-1].strip() if lines else "collection failed")
            kind, _, rest = message.partition(": ")
            self.collection_errors.append({
                "nodeid": report.nodeid,
                "where": report.nodeid or ".",
                "kind": kind if rest and kind.isidentifier() else "CollectError",
                "message": rest if rest and kind.isidentifier() else message,
                "import": "ImportError" in kind or "ModuleNotFoundError" in kind,
                "syntax": "SyntaxError" in kind,
                "test_file": True,
            })

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        self._switch(item.nodeid)
        try:
            return (yield)
        finally:
            self._switch("")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.excinfo is not None:
            self._classes[(item.nodeid, call.when)] = classify_exception(call.excinfo.value)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.tests.get(report.nodeid)
        if record is not None:
            apply_report(record, report, self._classes.pop((report.nodeid, report.when), None))

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if self._progress is not None:
            self._progress.write(f"start {time.time():.3f} {nodeid}\n")

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        if self._progress is not None:
            self._progress.write(f"end {time.time():.3f} {nodeid}\n")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._own_coverage is not None:
            self._own_coverage.stop()
            self._own_coverage.save()
        self.write(int(exitstatus))
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    def write(self, exitstatus: int, interrupted: str | None = None) -> None:
        document = {
            "version": RECORDS_VERSION,
            "rootdir": str(self.rootpath),
            "exitstatus": exitstatus,
            "worker": self.worker,
            **({"workers": self.worker_exits} if self.workers >= 2 else {}),
            **({"interrupted": interrupted} if interrupted else {}),
            "coverage_contexts": self._coverage is not None,
            "peak_mb": peak_mb(),
            "tests": list(self.tests.values()),
            "collection_errors": self.collection_errors,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(partial, self.path)
