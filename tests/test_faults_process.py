"""Faults of processes and the state directory (issue 11: 1, 2, 4 and the .testplan part of 6),
with real processes: concurrent audits, tests that fork children that never exit, a runaway
mutant, a read-only source tree audited by an unprivileged user, a symlinked ``.testplan``."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import InputError
from testplan.mutate.generate import make_scratch
from testplan.statedir import remove_tree
from tp_helpers import REPO, read_audit

README = (REPO / "README.md").read_text(encoding="utf-8")

PYPROJECT = """\
[project]
name = "tiny"
version = "0.1.0"

[tool.testplan]
requirements = "requirements.yaml"
plans = "plans"
tests = ["tests"]
source = ["."]
"""

REQUIREMENTS = """\
project: tiny
requirements:
  - id: TINY-1
    title: Halving
    statement: halve_count(n) counts the halvings of n down to 1.
    code: [tiny:halve_count]
"""

# one megabyte per halving: the mutant ``n = n * 2`` never stops allocating
CODE = """\
def halve_count(n):
    parts = []
    while n > 1:
        parts.append(b"x" * 1_000_000)
        n = n / 2
    return len(parts)
"""

HALVING_TEST = """\
import os, subprocess, sys, time
import pytest
from tiny import halve_count


@pytest.mark.verifies("TINY-1")
def test_halving():
    assert halve_count(8) == 3
"""

# appends the pids of what it starts to $TP_PIDS; waits for $TP_GATE when that is set
FORKING_TEST = HALVING_TEST + """

def _note(pid):
    with open(os.environ["TP_PIDS"], "a") as handle:
        handle.write(f"{pid}\\n")


@pytest.mark.verifies("TINY-1")
def test_starts_a_sleeper():
    _note(subprocess.Popen(["sleep", "100000"]).pid)
    assert halve_count(4) == 2


@pytest.mark.verifies("TINY-1")
def test_forks_a_sleeper():
    pid = os.fork()
    if pid == 0:  # keeps pytest's stdout and every pipe open, forever
        time.sleep(100000)
        os._exit(0)
    _note(pid)
    assert halve_count(2) == 1
"""

GATED_TEST = HALVING_TEST + """

def test_waits_for_the_gate():
    gate = os.environ.get("TP_GATE")
    if gate:
        open(gate + ".started", "w").close()
        while not os.path.exists(gate):
            time.sleep(0.05)
"""


def make_project(root: Path, tests: str = HALVING_TEST, pyproject_extra: str = "") -> Path:
    (root / "tiny").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT + pyproject_extra, encoding="utf-8")
    (root / "requirements.yaml").write_text(REQUIREMENTS, encoding="utf-8")
    (root / "tiny" / "__init__.py").write_text(CODE, encoding="utf-8")
    (root / "tests" / "test_tiny.py").write_text(tests, encoding="utf-8")
    return root


def run_cli(*args: object, env: dict | None = None, user: list[str] | None = None) -> subprocess.CompletedProcess:
    """The real command in a process of its own (bounded: a hang fails the test, not CI)."""
    return subprocess.run([*(user or []), sys.executable, "-m", "testplan", *map(str, args)],
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300)


def start(*args: object, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "testplan", *map(str, args)], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen) -> None:
    """Until ``path`` exists (the gated test started); fails if the audit ends first."""
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the gated test never started"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie is dead: nobody may reap orphans in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def outcomes(audit: dict) -> dict:
    return {"requirements": {r["id"]: (r["state"], r["score"]) for r in audit["requirements"]},
            "tests": {t["nodeid"]: t["outcome"] for t in audit["tests"]},
            "mutants": {m["id"]: (m["status"], m["verdicts"]) for m in audit["mutants"]}}


def load(path: Path) -> dict:
    return read_audit(path)


# --- 1. one writer per state directory ---------------------------------------------------------

def test_a_second_writer_exits_2_naming_the_first_and_out_dirs_run_side_by_side(tmp_path):
    root = make_project(tmp_path / "proj", GATED_TEST)
    gate = tmp_path / "gate"
    first = start("audit", "--no-mutation", "-C", root, env={"TP_GATE": str(gate)})
    try:
        wait_for(Path(str(gate) + ".started"), first)
        busy = f"testplan: bad-input: another testplan (pid {first.pid}) is writing .testplan/; wait for it or use --out DIR\n"
        second = run_cli("audit", "--no-mutation", "-C", root)
        assert (second.returncode, second.stderr, second.stdout) == (2, busy, "")
        assert f"`{busy.strip().replace(str(first.pid), 'N')}`" in README  # as the README shows it
        enumerate_ = run_cli("enumerate", "TINY-1", "-C", root)
        assert (enumerate_.returncode, enumerate_.stderr) == (2, busy)
        assert not (root / "plans").exists()
        # the way out the message names: another state directory, while the first still runs
        side = run_cli("audit", "--no-mutation", "-C", root, "--out", tmp_path / "side")
        assert side.returncode == 0, side.stderr
        assert sorted(p.name for p in (tmp_path / "side").iterdir()) == ["audit.json", "lock", "trace"]
        shard = json.loads((tmp_path / "side" / "audit.json").read_text(encoding="utf-8"))
        (tmp_path / "shard.json").write_text(json.dumps({**shard, "shard": "1/1"}), encoding="utf-8")
        merge = run_cli("merge", tmp_path / "shard.json", "-C", root)  # into .testplan/ (the default)
        assert (merge.returncode, merge.stderr) == (2, busy)
    finally:
        gate.touch()
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert outcomes(load(root / ".testplan" / "audit.json")) == outcomes(load(tmp_path / "side" / "audit.json"))
    assert load(root / ".testplan" / "audit.json")["complete"] is True


def test_the_lock_dies_with_its_holder(tmp_path):
    root = make_project(tmp_path / "proj")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from testplan.statedir import state_lock\n"
         "with state_lock(Path(sys.argv[1]) / '.testplan', Path(sys.argv[1])):\n print('held', flush=True); time.sleep(1000)",
         str(root)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    blocked = run_cli("audit", "--no-mutation", "-C", root)
    assert (blocked.returncode, blocked.stderr) == (
        2, f"testplan: bad-input: another testplan (pid {holder.pid}) is writing .testplan/; wait for it or use --out DIR\n")
    holder.kill()  # SIGKILL: no cleanup runs, the kernel releases the lock
    holder.wait()
    after = run_cli("audit", "--no-mutation", "-C", root)
    assert after.returncode == 0, after.stderr


def test_a_replaced_scratch_copy_makes_the_run_incomplete_and_caches_nothing(tmp_path):
    # the linked test, run in the scratch copy by the worker, rewrites the copy's token as
    # another process recreating .testplan/mutants would
    replacing = HALVING_TEST.replace("    assert halve_count(8) == 3\n", (
        "    if os.path.exists('.testplan-scratch'):\n"
        "        open('.testplan-scratch', 'w').write('someone else')\n"
        "    assert halve_count(8) == 3\n"))
    root = make_project(tmp_path / "proj", replacing)
    run = run_cli("audit", "-C", root, "--jobs", "1")
    scratch = (root / ".testplan" / "mutants").resolve()
    assert run.returncode == 4, run.stderr
    assert f"gate: INCOMPLETE — the scratch copy {scratch} was replaced during the run (by another process); run the audit again" in run.stdout
    audit = load(root / ".testplan" / "audit.json")
    assert (audit["complete"], audit["gate"]["passed"]) == (False, False)
    assert not (root / ".testplan" / "cache" / "mutation.json").exists()


# --- 2. hermetic test processes ----------------------------------------------------------------

def test_forked_and_spawned_children_neither_hang_the_audit_nor_outlive_it(tmp_path):
    root = make_project(tmp_path / "proj", FORKING_TEST)
    pids = tmp_path / "pids"
    run = run_cli("audit", "-C", root, "--jobs", "2", env={"TP_PIDS": str(pids)})
    assert run.returncode == 0, run.stderr
    started = [int(p) for p in pids.read_text().split()]
    # the trace, the worker's baseline and forced-fail runs, and the mutants all started sleepers
    assert len(started) > 6
    assert [p for p in started if alive(p)] == []
    audit = load(root / ".testplan" / "audit.json")
    assert audit["complete"] is True
    assert {t["nodeid"]: t["outcome"] for t in audit["tests"]} == {
        "tests/test_tiny.py::test_halving": "passed",
        "tests/test_tiny.py::test_starts_a_sleeper": "passed",
        "tests/test_tiny.py::test_forks_a_sleeper": "passed"}
    stats = audit["mutation_stats"]  # the default memory limit: 2048 MB unless 4x the baseline's peak is more
    assert stats["memory.limit_mb"] == max(2048, int(4 * stats["memory.baseline_peak_mb"])) == 2048
    # (the runaway mutant n * 2 meets either the memory limit or its timeout first, depending on the
    # machine's load: test_a_runaway_mutant_is_a_crash_labelled_memory pins that verdict under a fixed limit)


def test_sigterm_kills_the_traced_tests_and_what_they_started(tmp_path):
    tests = FORKING_TEST.replace("def test_starts_a_sleeper():\n", "def test_starts_a_sleeper():\n"
                                 "    _note(os.getpid())\n"
                                 "    _note(subprocess.Popen(['sleep', '100000']).pid)\n"
                                 "    open(os.environ['TP_GATE'] + '.started', 'w').close()\n"
                                 "    time.sleep(100000)\n")
    root = make_project(tmp_path / "proj", tests)
    pids, gate = tmp_path / "pids", tmp_path / "gate"
    audit = start("audit", "--no-mutation", "-C", root, env={"TP_PIDS": str(pids), "TP_GATE": str(gate)})
    wait_for(Path(str(gate) + ".started"), audit)
    audit.send_signal(signal.SIGTERM)
    out, err = audit.communicate(timeout=120)
    assert (audit.returncode, err) == (4, f"testplan: incomplete: interrupted; {root}/.testplan/audit.json records an incomplete audit\n")
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2  # pytest itself, and its sleeper
    assert [p for p in started if alive(p)] == []


def test_trace_timeout_is_exit_4_naming_the_running_test(tmp_path):
    tests = HALVING_TEST + "\n\ndef test_hangs():\n    _note = open(os.environ['TP_PIDS'], 'w').write(str(os.getpid()))\n" \
                           "    time.sleep(100000)\n"
    root = make_project(tmp_path / "proj", tests, "trace_timeout_seconds = 5\n")
    pids = tmp_path / "pids"
    run = run_cli("audit", "--no-mutation", "-C", root, env={"TP_PIDS": str(pids)})
    log = (root / ".testplan" / "trace" / "pytest.log").resolve()
    assert run.returncode == 4
    assert run.stderr.startswith("testplan: incomplete: the test run did not finish within 5 s "
                                 "([tool.testplan] trace_timeout_seconds); still running: tests/test_tiny.py::test_hangs (for ")
    assert run.stderr.endswith(f" s); see {log}\n")
    assert not alive(int(pids.read_text()))
    assert load(root / ".testplan" / "audit.json")["complete"] is False


def test_trace_timeout_must_be_positive(tmp_path):
    root = make_project(tmp_path / "proj", pyproject_extra="trace_timeout_seconds = 0\n")
    run = run_cli("audit", "--no-mutation", "-C", root)
    assert (run.returncode, run.stderr) == (
        2, "pyproject.toml:10: [tool.testplan] trace_timeout_seconds: Input should be greater than 0; fix the value\n")


def test_a_runaway_mutant_is_a_crash_labelled_memory(tmp_path):
    root = make_project(tmp_path / "proj", pyproject_extra="\n[tool.testplan.mutation]\nmemory_limit_mb = 300\n")
    run = run_cli("audit", "-C", root, "--jobs", "1")
    assert run.returncode == 0, run.stderr
    audit = load(root / ".testplan" / "audit.json")
    runaway = [m for m in audit["mutants"] if m["mutated"].strip() == "n = n * 2"]
    assert [(m["status"], m["verdicts"]) for m in runaway] == [
        ("killed-by-crash", {"tests/test_tiny.py::test_halving": "crash"})]  # never "killed": no O credit
    stats = audit["mutation_stats"]
    assert (stats["memory.limit_mb"], stats["memory.crashes"]) == (300, 1)
    log = (root / ".testplan" / "mutate.log").read_text(encoding="utf-8")
    hits = [line for line in log.splitlines() if "MemoryError" in line]
    assert len(hits) == 1
    assert re.fullmatch(r"testplan: tiny\.x_halve_count__mutmut_\d+: tests/test_tiny\.py::test_halving: MemoryError "
                        r"at the memory limit \(300 MB\): verdict crash \(memory\)", hits[0])


# --- 4. read-only source tree, unwritable state ------------------------------------------------

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
          # may read everything (the interpreter under /root, pytest's tmp dirs), write only what nobody may
          "--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search"]


@pytest.fixture
def open_tmp():
    """A temp dir every user may enter (pytest's own are 0700: the unprivileged user could not
    even reach the project); removed afterwards."""
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="testplan-faults-"))
    directory.chmod(0o755)
    yield directory
    for path in [directory, *directory.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(directory)


def read_only(tree: Path) -> None:
    for path in sorted(tree.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    tree.chmod(0o555)


def test_a_read_only_tree_is_audited_and_a_read_only_leftover_scratch_does_not_block(open_tmp):
    tmp_path = open_tmp
    root = make_project(tmp_path / "proj")
    state = root / ".testplan"
    leftover = state / "mutants"  # what a failed run of the old code left: the source's modes
    shutil.copytree(root, leftover, ignore=shutil.ignore_patterns(".testplan"))
    for tree in (leftover, root / "tiny", root / "tests"):
        read_only(tree)
    for path in (root / "pyproject.toml", root / "requirements.yaml"):
        path.chmod(0o444)
    for path in [state, *state.rglob("*")]:  # the state is the auditing user's, as a failed run left it
        os.lchown(path, 65534, 65534)
    root.chmod(0o555)
    env = {"HOME": str(tmp_path)}
    touch = subprocess.run([*NOBODY, "touch", root / "tiny" / "probe"], capture_output=True, text=True)
    assert touch.returncode == 1  # the test is honest: this user cannot write the source tree
    for _ in range(2):  # and a second run, over the first one's scratch copy
        run = run_cli("audit", "-C", root, "--jobs", "1", env=env, user=NOBODY)
        assert run.returncode == 0, run.stderr
        assert load(state / "audit.json")["complete"] is True
        assert all(p.stat().st_mode & 0o200 for p in (state / "mutants").rglob("*"))


def test_an_unwritable_state_dir_or_project_dir_is_exit_2_saying_what_to_fix(open_tmp):
    tmp_path = open_tmp
    root = make_project(tmp_path / "proj")
    root.chmod(0o555)
    env = {"HOME": str(tmp_path)}
    run = run_cli("audit", "--no-mutation", "-C", root, env=env, user=NOBODY)
    assert (run.returncode, run.stderr) == (
        2, f"testplan: bad-input: cannot create .testplan/ (permission denied): make {root} writable by this user, "
           "or pass --out DIR\n")
    root.chmod(0o755)
    (root / ".testplan").mkdir(mode=0o555)
    run = run_cli("audit", "--no-mutation", "-C", root, env=env, user=NOBODY)
    assert (run.returncode, run.stderr) == (
        2, f"testplan: bad-input: .testplan/ is not writable (permission denied): make it writable by this user "
           f"(chmod -R u+w {root}/.testplan), or pass --out DIR\n")


@pytest.mark.verifies("STORE-1.4")
def test_lint_and_status_read_an_unwritable_state_dir_without_failing_or_warning(open_tmp):
    """The parse cache (testplan/store.py ParseCache): a read-only command that cannot write it
    prints what it prints anywhere else, and writes nothing."""
    root = make_project(open_tmp / "proj")
    assert run_cli("enumerate", "TINY-1", "-C", root).returncode == 0  # root's .testplan/, every file's entry
    parsed = root / ".testplan" / "cache" / "parsed"
    plan = root / "plans" / "TINY-1.yaml"
    env = {"HOME": str(open_tmp)}
    commands = (("lint",), ("status", "--json"))
    for edit in ("# one edit\n", "# another\n"):
        if edit == "# another\n":
            shutil.rmtree(root / ".testplan" / "cache")  # the cache directories must be made, and cannot be
        plan.write_text(plan.read_text(encoding="utf-8") + edit, encoding="utf-8")  # new bytes: no entry yet
        before = sorted(parsed.iterdir()) if parsed.exists() else []
        unwritable = [run_cli(*args, "-C", root, env=env, user=NOBODY) for args in commands]  # may read, not write
        assert (sorted(parsed.iterdir()) if parsed.exists() else []) == before
        writable = [run_cli(*args, "-C", root) for args in commands]
        assert [(r.returncode, r.stdout, r.stderr) for r in unwritable] == [(r.returncode, r.stdout, r.stderr) for r in writable]
        assert [(r.returncode, r.stderr) for r in unwritable] == [(0, ""), (0, "")]
        # root's runs wrote them: the plan's new entry (and, into an empty cache, the requirements' and the memo)
        assert len(list(parsed.iterdir())) == len(before) + (3 if not before else 1)


# --- 6. a .testplan symlink; deletions stay inside the state directory ------------------------

def test_a_symlinked_testplan_is_refused_and_its_target_untouched(tmp_path):
    root = make_project(tmp_path / "proj")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious").write_text("keep", encoding="utf-8")
    (root / ".testplan").symlink_to(target)
    for command in (["audit"], ["audit", "--no-mutation"], ["enumerate", "TINY-1"]):
        run = run_cli(*command, "-C", root)
        assert (run.returncode, run.stderr) == (
            2, f"testplan: bad-input: .testplan is a symlink (to {target}); testplan deletes and rewrites trees "
               f"there, so it must be a real directory: remove the link (rm {root}/.testplan)\n")
    assert sorted(p.name for p in target.iterdir()) == ["precious"]


def test_a_scratch_copy_that_is_a_symlink_is_unlinked_not_followed(tmp_path):
    root = make_project(tmp_path / "proj")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep", encoding="utf-8")
    state = root / ".testplan"
    state.mkdir()
    (state / "mutants").symlink_to(outside)
    token = make_scratch(root, state / "mutants")
    assert (state / "mutants").is_dir() and not (state / "mutants").is_symlink()
    assert (state / "mutants" / ".testplan-scratch").read_text() == token
    assert sorted(p.name for p in (state / "mutants").iterdir()) == [
        ".testplan-scratch", "pyproject.toml", "requirements.yaml", "tests", "tiny"]
    assert sorted(p.name for p in outside.iterdir()) == ["precious"]


def test_remove_tree_refuses_a_path_that_resolves_outside_the_state_dir(tmp_path):
    state = tmp_path / "proj" / ".testplan"
    (state / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "tree").mkdir(parents=True)
    (state / "link").symlink_to(outside)
    with pytest.raises(InputError, match=f"^refusing to delete {state}/link/tree: it resolves to {outside}/tree, "
                                         f"outside the state directory {state}; remove whatever links it there$"):
        remove_tree(state / "link" / "tree", state)
    with pytest.raises(InputError, match=f"^refusing to delete {state}: it resolves to {state}, outside"):
        remove_tree(state, state)
    assert (outside / "tree").is_dir()
    remove_tree(state / "link", state)  # the link itself is inside: it goes, its target stays
    assert not (state / "link").exists() and (outside / "tree").is_dir()


def test_the_readme_configuration_shows_the_new_keys_with_their_meaning(tmp_path):
    block = README.split("## Configuration", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(block, encoding="utf-8")
    config = load_config(tmp_path)
    assert (config.trace_timeout_seconds, config.mutation.memory_limit_mb) == (3600, 4096)
    (tmp_path / "pyproject.toml").write_text("[tool.testplan]\n", encoding="utf-8")
    defaults = load_config(tmp_path)  # one hour; no fixed memory limit (the worker derives it)
    assert (defaults.trace_timeout_seconds, defaults.mutation.memory_limit_mb) == (3600, None)


def test_symlinks_planted_in_testplan_are_removed_not_followed(tmp_path):
    root = make_project(tmp_path / "proj")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "records.json").write_text("keep", encoding="utf-8")
    (outside / "audit.json").write_text("keep", encoding="utf-8")
    state = root / ".testplan"
    state.mkdir()
    (state / "trace").symlink_to(outside)
    (state / "audit.json").symlink_to(outside / "audit.json")
    run = run_cli("audit", "--no-mutation", "-C", root)
    assert run.returncode == 0, run.stderr
    assert not (state / "trace").is_symlink() and (state / "trace" / "records.json").is_file()
    assert {p.name: p.read_text() for p in outside.iterdir()} == {"records.json": "keep", "audit.json": "keep"}
