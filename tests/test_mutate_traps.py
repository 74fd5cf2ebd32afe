"""mutmut's traps (DESIGN.md section 4) that the mutation engine must not fall into, each on
real mutmut mutants run by the real fork-per-mutant worker, with exact verdicts per (mutant, test).

tests/fixtures/mutate_traps gives each trap a concrete test:

* test order: ``test_zz_first`` registers "a", ``test_aa_second`` (defined later, sorted first
  by name) counts on it; in any other order both fail, for every mutant;
* module state: ``test_metered_counts_one_call`` asserts a module-level counter is 1 after one
  call; a child that inherits the counter of an earlier run (the baseline's, another
  mutant's) would fail it, and the survivors ``return x / 2`` and ``return x * 3`` would be
  reported killed (as would REG-1's two survivors);
* liveness: a copy of the project whose tests swallow every exception must be refused by the
  forced-fail check, not reported as "every mutant survived";
* the progress display: a rich bar on a terminal, plain lines on stderr off one.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import BaselineError
from testplan.mutate import run_mutation
from testplan.review import load_project
from testplan.trace import TraceData, run_trace

FIXTURE = Path(__file__).parent / "fixtures" / "mutate_traps"
FAST_TIMEOUTS = {"timeout_min_seconds": 1.0, "timeout_multiplier": 5.0}
T = "tests/test_traps.py::"
FIRST, SECOND, METERED = T + "test_zz_first", T + "test_aa_second", T + "test_metered_counts_one_call"
SUITE_ORDER = [FIRST, SECOND, METERED]

REG, METER = "src/traps/registry.py", "src/traps/meter.py"
# (file, line, mutated text) -> (status, ((test, verdict), ...) in suite order)
EXPECTED = {
    (REG, 6, "def register(name, shout=True):"): ("killed", ((FIRST, "pass"), (SECOND, "assert"))),
    (REG, 7, "REGISTRY.append(None)"): ("killed", ((FIRST, "pass"), (SECOND, "assert"))),
    (REG, 7, "REGISTRY.append(name.upper() if (shout) or True else name)"):
        ("killed", ((FIRST, "pass"), (SECOND, "assert"))),
    (REG, 7, "REGISTRY.append(name.lower() if shout else name)"): ("survived", ((FIRST, "pass"), (SECOND, "pass"))),
    (REG, 7, "REGISTRY.append(name.upper() if (shout) and False else name)"):
        ("survived", ((FIRST, "pass"), (SECOND, "pass"))),
    (METER, 7, 'CALLS["n"] -= 1'): ("killed", ((METERED, "assert"),)),
    (METER, 7, 'CALLS["n"] += 2'): ("killed", ((METERED, "assert"),)),
    (METER, 7, 'CALLS["XXnXX"] += 1'): ("killed-by-crash", ((METERED, "crash"),)),
    (METER, 7, 'CALLS["N"] += 1'): ("killed-by-crash", ((METERED, "crash"),)),
    (METER, 7, 'CALLS["n"] = 1'): ("survived", ((METERED, "pass"),)),
    (METER, 8, "return x / 2"): ("survived", ((METERED, "pass"),)),
    (METER, 8, "return x * 3"): ("survived", ((METERED, "pass"),)),
}
N = len(EXPECTED)  # 12: every mutant has tests, none is no-coverage

# Every test passes whatever the code does: with mutants forced to fail they still pass.
SWALLOWING_TESTS = '''import pytest

from traps.meter import metered
from traps.registry import register


@pytest.mark.verifies("REG-1.1")
def test_register_never_fails():
    try:
        register("a")
    except Exception:
        pass
    assert True


@pytest.mark.verifies("METER-1.1")
def test_metered_never_fails():
    try:
        metered(3)
    except Exception:
        pass
    assert True
'''


def copy_project(target: Path) -> Path:
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__", ".testplan"))
    return target


def load(root: Path):
    config = load_config(root, {"mutation": FAST_TIMEOUTS})
    return config, load_project(config)


def table(run) -> dict:
    return {(m.file, m.line, m.mutated): (m.status, tuple(m.verdicts.items())) for m in run.mutants}


@dataclass
class TrapRuns:
    trace: TraceData
    one_job: object
    two_jobs: object


@pytest.fixture(scope="module")
def traps(tmp_path_factory) -> TrapRuns:
    root = copy_project(tmp_path_factory.mktemp("traps") / "traps")
    config, project = load(root)
    trace = run_trace(config)
    one = run_mutation(config, project, trace, jobs=1, use_cache=False)
    two = run_mutation(config, project, trace, jobs=2, use_cache=False)
    return TrapRuns(trace, one, two)


def test_the_fixture_is_order_dependent_and_sorting_would_reorder_it(traps):
    """The premise of the order test: the suite order is not the sorted order."""
    assert [t.nodeid for t in traps.trace.tests] == SUITE_ORDER
    assert sorted(SUITE_ORDER) != SUITE_ORDER and sorted([FIRST, SECOND]) == [SECOND, FIRST]
    assert {t.nodeid: t.outcome for t in traps.trace.tests} == dict.fromkeys(SUITE_ORDER, "passed")


def test_each_mutants_tests_run_in_the_suites_order(traps):
    """Sorted (test_aa_second first) or shuffled, test_aa_second would fail for every mutant and
    test_zz_first would fail after it: the two survivors would be false kills."""
    for run in (traps.one_job, traps.two_jobs):
        assert run.complete and run.incomplete_reason is None
        registry = {k: v for k, v in table(run).items() if k[0] == REG}
        assert registry == {k: v for k, v in EXPECTED.items() if k[0] == REG}
        for mutant in run.mutants:
            if mutant.file == REG:
                assert list(mutant.verdicts) == [FIRST, SECOND]  # recorded in suite order too


def test_module_state_is_fresh_in_every_mutants_child(traps):
    """The counter is 0 in every child: no state from the baseline, the forced-fail run or
    another mutant; one child at a time or two, every verdict is the same."""
    assert table(traps.one_job) == EXPECTED
    assert table(traps.two_jobs) == EXPECTED
    for run in (traps.one_job, traps.two_jobs):
        assert run.stats["statuses"] == {"killed": 5, "killed-by-crash": 2, "survived": 5}
        assert (run.stats["executed"], run.stats["cache_hits"], run.stats["not_run"]) == (N, 0, 0)
        # 12 mutants: a lazy baseline, after them, of only the 2 tests that killed one (not all 3 selected)
        assert (run.stats["baseline_tests"], run.stats["baseline_lazy"]) == (2, 1)
        assert run.stats["forced_fail"]["failed"] >= 1
    assert (traps.one_job.stats["jobs"], traps.two_jobs.stats["jobs"]) == (1, 2)
    assert [m.id for m in traps.one_job.mutants] == [m.id for m in traps.two_jobs.mutants]


def test_tests_that_pass_whatever_the_code_does_fail_the_forced_fail_check(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "traps")
    (root / "tests" / "test_traps.py").write_text(SWALLOWING_TESTS)
    config, project = load(root)
    trace = run_trace(config)
    lab = importlib.import_module("testplan.mutate.lab")
    real_run_worker, workers = lab.run_worker, []

    def spy(*args, **kwargs):  # keeps what the worker reported
        workers.append(real_run_worker(*args, **kwargs))
        return workers[-1]

    monkeypatch.setattr(lab, "run_worker", spy)
    with pytest.raises(BaselineError, match="mutants are not active") as info:
        run_mutation(config, project, trace, jobs=2, use_cache=False)
    assert info.value.exit_code == 3
    # it is the forced-fail check that stopped it: the code was imported from the scratch copy,
    # every test still passed with every mutant forced to fail, no mutant ran (12 of them: their
    # baseline is lazy, after them, so none ran)
    (worker,) = workers
    scratch = (root / ".testplan" / "mutants").resolve()
    assert worker.live == {"traps.meter": str(scratch / METER), "traps.registry": str(scratch / REG)}
    tests = {T + "test_register_never_fails": "pass", T + "test_metered_never_fails": "pass"}
    assert (worker.baseline, worker.forced_fail, worker.mutants) == (None, tests, {})

    # the same through the CLI: the message and exit 3 (baseline failing)
    proc = subprocess.run([sys.executable, "-m", "testplan", "audit", "-C", str(root)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert re.search(r"^testplan: baseline-failing: mutants are not active", proc.stderr, re.M), proc.stderr
    assert "mutation:" not in proc.stdout  # no result table: nothing was scored


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PLAIN_LINE = re.compile(r"testplan: mutants (\d+)/(\d+) \((.*)\)")


def test_progress_on_a_terminal_is_a_rich_bar_with_the_rate(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    root = copy_project(tmp_path / "traps")  # its pyproject sets timeout_min_seconds = 1.0
    child = pexpect.spawn(sys.executable, ["-m", "testplan", "audit", "-C", str(root)], encoding="utf-8",
                          timeout=120, dimensions=(50, 200),
                          env={**os.environ, "TERM": "xterm", "NO_COLOR": "1", "COLUMNS": "200"})
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus in (0, 1), child.before  # the audit finished (the gate may fail: no plans)
    frames = [f.strip() for f in re.split(r"[\r\n]+", ANSI.sub("", child.before))]
    bars = [f for f in frames if f.startswith("mutants ")]
    assert any(re.fullmatch(rf"mutants ━+ {N}/{N} \d+\.\d/s( .*)?", f) for f in bars), bars  # full bar, N/N, rate
    assert any(re.fullmatch(rf"mutants .* 0/{N}( .*)?", f) for f in bars), bars  # the total is known before any ran
    assert not any(PLAIN_LINE.search(f) for f in frames)  # the CI lines are for a log, not a terminal
    assert f"mutation: {N} mutants, {N} run, 0 from cache" in child.before


def test_progress_off_a_terminal_is_plain_lines_on_stderr(tmp_path):
    root = copy_project(tmp_path / "traps")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "testplan", "audit", "-C", str(root)], capture_output=True,
                          text=True, timeout=120)
    seconds = time.monotonic() - started
    assert proc.returncode in (0, 1), proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("testplan: mutants")]
    # the first call, then at most one line every 10 s, then the last (a CI log, not a line per mutant)
    assert 2 <= len(lines) <= 2 + int(seconds // 10), lines
    assert lines[0] == f"testplan: mutants 0/{N} (starting)"  # no rate before a mutant finished
    assert re.fullmatch(rf"testplan: mutants {N}/{N} \((\d+\.\d/s|\d+ s each)\)", lines[-1]), lines
    for line in lines[1:-1]:
        assert re.fullmatch(rf"testplan: mutants \d+/{N} \(.*, about \d+ s left\)", line), lines
    assert "━" not in proc.stderr and "\x1b[" not in proc.stderr  # no bar, no cursor control
    # the README's line: the default run is decisive, and says so
    assert re.search(rf"^mutation: {N} mutants, {N} run, 0 from cache, \d+\.\d s, decisive matrix$", proc.stdout, re.M)


def test_progress_on_a_dumb_terminal_is_plain_lines(tmp_path):
    """rich draws no live bar on TERM=dumb (Emacs shells, some CI ptys): the plain lines instead of nothing."""
    pexpect = pytest.importorskip("pexpect")
    root = copy_project(tmp_path / "traps")
    child = pexpect.spawn(sys.executable, ["-m", "testplan", "audit", "-C", str(root)], encoding="utf-8",
                          timeout=120, dimensions=(50, 200), env={**os.environ, "TERM": "dumb"})
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus in (0, 1), child.before  # the audit finished (the gate may fail: no plans)
    lines = [m.group(0) for m in PLAIN_LINE.finditer(child.before)]
    assert lines[0] == f"testplan: mutants 0/{N} (starting)"
    assert re.fullmatch(rf"testplan: mutants {N}/{N} \((\d+\.\d/s|\d+ s each)\)", lines[-1]), child.before
