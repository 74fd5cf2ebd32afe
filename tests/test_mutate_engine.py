"""The mutation engine end to end on a real fixture project: real mutmut mutants, a real trace,
the real fork-per-mutant worker; exact verdicts per (mutant, test).

tests/fixtures/mutate_shop gives each status a concrete mutant: a strong test (TAX-1), a weak
one (SHIP-1), a crash-only one (LBL-1 slug), an infinite loop (WAIT-1 countdown), a decorated
function (LBL-1 label, unmutated) and a test linked to CART-1 that would catch SHIP-1's mutants
but must not be credited with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import BaselineError, InputError
from testplan.mutate import merge_shards, run_mutation
from testplan.result import AuditResult, save_result
from testplan.review import load_project
from testplan.trace import TraceData, run_trace
from tp_helpers import replaced

FIXTURE = Path(__file__).parent / "fixtures" / "mutate_shop"
FAST_TIMEOUTS = {"timeout_min_seconds": 1.0, "timeout_multiplier": 5.0}
# a comment on the line of gross(): --diff HEAD selects its 4 mutants (few: their baseline is lazy)
GROSS_EDIT = ("    return net + net * RATE // 100\n", "    return net + net * RATE // 100  # gross\n")
T = "tests/test_shop.py::"

# (line, mutated text) -> (status, {test: verdict})
EXPECTED = {
    (8, "self.lines = None"): ("killed-by-crash", {"test_cart_total": "crash"}),
    (11, "self.lines.append(None)"): ("killed-by-crash", {"test_cart_total": "crash"}),
    (11, "self.lines.append(price / qty)"): ("killed", {"test_cart_total": "assert"}),
    (15, "return sum(line - shipping(line) for line in self.lines)"): ("killed", {"test_cart_total": "assert"}),
    (15, "return sum(None)"): ("killed-by-crash", {"test_cart_total": "crash"}),
    (15, "return sum(line + shipping(None) for line in self.lines)"): ("killed-by-crash", {"test_cart_total": "crash"}),
    (9, "return net - net * RATE // 100"): ("killed", {"test_gross_strong": "assert"}),
    (9, "return net + net * RATE / 100"): ("killed", {"test_gross_strong": "assert"}),
    (9, "return net + net / RATE // 100"): ("killed", {"test_gross_strong": "assert"}),
    (9, "return net + net * RATE // 101"): ("killed", {"test_gross_strong": "assert"}),
    (12, "def shipping(total, parcels=2):"): ("survived", {"test_shipping_weak": "pass"}),
    (13, "if total > 50:"): ("survived", {"test_shipping_weak": "pass"}),
    (13, "if total >= 51:"): ("survived", {"test_shipping_weak": "pass"}),
    (14, "return 1"): ("no-coverage", {}),
    (15, "return 5 / parcels"): ("killed", {"test_shipping_weak": "assert"}),
    (15, "return 6 * parcels"): ("survived", {"test_shipping_weak": "pass"}),
    (24, "text = None"): ("killed-by-crash", {"test_slug_runs": "crash"}),
    (25, 'return text.lower().replace(None, "-")'): ("killed-by-crash", {"test_slug_runs": "crash"}),
    (25, 'return text.lower().replace(" ", None)'): ("killed-by-crash", {"test_slug_runs": "crash"}),
    (25, 'return text.lower().replace("-")'): ("killed-by-crash", {"test_slug_runs": "crash"}),
    (25, 'return text.lower().replace(" ", )'): ("killed-by-crash", {"test_slug_runs": "crash"}),
    (25, 'return text.upper().replace(" ", "-")'): ("survived", {"test_slug_runs": "pass"}),
    (25, 'return text.lower().replace("XX XX", "-")'): ("survived", {"test_slug_runs": "pass"}),
    (25, 'return text.lower().replace(" ", "XX-XX")'): ("survived", {"test_slug_runs": "pass"}),
    (29, "steps = None"): ("killed-by-crash", {"test_countdown": "crash"}),
    (29, "steps = 1"): ("killed", {"test_countdown": "assert"}),
    (30, "while n >= 0:"): ("killed", {"test_countdown": "assert"}),
    (30, "while n > 1:"): ("killed", {"test_countdown": "assert"}),
    (31, "n = 1"): ("timeout", {"test_countdown": "timeout"}),
    (31, "n += 1"): ("timeout", {"test_countdown": "timeout"}),
    (31, "n -= 2"): ("killed", {"test_countdown": "assert"}),
    (32, "steps = 1"): ("killed", {"test_countdown": "assert"}),
    (32, "steps -= 1"): ("killed", {"test_countdown": "assert"}),
    (32, "steps += 2"): ("killed", {"test_countdown": "assert"}),
}


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file of the user's tree (everything but .testplan/)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".testplan" or not path.is_file():
            continue
        out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def copy_project(source: Path, target: Path, keep_state: bool = False) -> Path:
    ignore = ["__pycache__"] + ([] if keep_state else [".testplan"])
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*ignore))
    return target


def retarget(trace: TraceData, root: Path) -> TraceData:
    """The same trace for an identical copy of the project at ``root``."""
    old, new = str(Path(trace.root).resolve()), str(root.resolve())
    lines = {n: {f.replace(old, new, 1): set(v) for f, v in files.items()} for n, files in trace.lines.items()}
    return replace(trace, root=root.resolve(), lines=lines)


def load(root: Path, **mutation):
    config = load_config(root, {"mutation": {**FAST_TIMEOUTS, **mutation}})
    return config, load_project(config)


def table(run) -> dict:
    return {(m.line, m.mutated): (m.status, {k.removeprefix(T): v for k, v in m.verdicts.items()}) for m in run.mutants}


@dataclass
class ShopRun:
    root: Path
    trace: TraceData
    run: object
    before: dict
    after: dict
    seconds: float


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> ShopRun:
    root = copy_project(FIXTURE, tmp_path_factory.mktemp("mutate") / "shop")
    before = digest(root)
    config, project = load(root)
    trace = run_trace(config)
    calls: list[tuple[int, int]] = []
    started = time.perf_counter()
    run = run_mutation(config, project, trace, jobs=2, matrix="full",
                       progress=lambda done, total: calls.append((done, total)))
    seconds = time.perf_counter() - started
    run.stats["progress_calls"] = calls
    return ShopRun(root, trace, run, before, digest(root), seconds)


@pytest.mark.verifies("MUT-1.2")
def test_every_mutant_gets_its_exact_status_and_verdicts(shop):
    assert shop.run.complete and shop.run.incomplete_reason is None
    assert table(shop.run) == EXPECTED


def test_statuses_requirements_and_stats(shop):
    stats = shop.run.stats
    assert stats["statuses"] == {"killed": 14, "killed-by-crash": 10, "no-coverage": 1, "survived": 7, "timeout": 2}
    assert stats["per_requirement"]["SHIP-1"] == {"killed": 1, "no-coverage": 1, "survived": 4}
    assert (stats["executed"], stats["cache_hits"], stats["cache_misses"]) == (33, 0, 33)
    assert stats["forced_fail"]["failed"] >= 1
    assert stats["progress_calls"] == [(n, 34) for n in range(1, 35)]  # the no-coverage mutant is done at once
    by_req = {m.requirements[0] for m in shop.run.mutants if m.file == "src/shop/cart.py"}
    assert by_req == {"CART-1"}
    # the two infinite loops cost about one timeout each (1 s minimum), not the whole run
    assert shop.seconds < 30


def test_unmutated_code_is_reported_not_hidden(shop):
    assert shop.run.unmutated["LBL-1"] == ["shop.core:label (decorated)"]
    assert shop.run.unmutated["TAX-1"] == ["shop.core:RATE (module-level code)"]


@pytest.mark.verifies("MUT-1.3")
def test_the_users_tree_is_byte_identical(shop):
    assert shop.after == shop.before
    assert not list(shop.root.rglob("__pycache__"))


DROPPING_TEST = '''from pathlib import Path


def test_leaves_a_file_in_the_users_tree():
    if ".testplan" not in __file__:  # the trace, in the user's tree; not the worker, in the scratch copy
        (Path(__file__).parent / "made-by-a-test.txt").write_text("x")
'''


def test_the_audit_generates_during_the_trace_from_a_copy_taken_before_the_tests_run(shop, tmp_path):
    from testplan.audit import run_audit

    root = copy_project(FIXTURE, tmp_path / "shop")
    (root / "tests" / "test_dropping.py").write_text(DROPPING_TEST, encoding="utf-8")
    config, _ = load(root)
    result = run_audit(config, mutation=True, mutation_options={"jobs": 2, "matrix": "full"})
    assert (root / "tests" / "made-by-a-test.txt").exists()  # the trace ran it in the user's tree
    assert not (root / ".testplan" / "mutants" / "tests" / "made-by-a-test.txt").exists()  # copied before
    # the mutants generated meanwhile are those of run_mutation alone, with the same verdicts
    assert {(m.line, m.mutated): (m.status, {k.removeprefix(T): v for k, v in m.verdicts.items()})
            for m in result.mutants} == table(shop.run)
    assert result.complete and result.mutation_stats["generated"] == shop.run.stats["generated"]


def test_bad_options_are_refused_before_the_trace_runs(tmp_path):
    from testplan.audit import run_audit

    root = copy_project(FIXTURE, tmp_path / "shop")
    config, _ = load(root)
    with pytest.raises(InputError, match=r"^--fast and --matrix full contradict each other"):
        run_audit(config, mutation=True, mutation_options={"fast": True, "matrix": "full"})
    assert not (root / ".testplan" / "trace").exists() and not (root / ".testplan" / "mutants").exists()


def test_the_worker_reads_each_tasks_tests_and_groups_back_from_the_jobs_index_ranges():
    """The job names every test once (``tests``); a task's tests and its rule's groups are index
    ranges into that table, in the lab's order. In-process: the worker runs as a subprocess, so
    the per-test trace never sees ``_expand`` run."""
    from testplan.mutate.worker import _expand
    from testplan.ranges import index_ranges, parse_index_ranges

    table = [f"tests/test_a.py::test_{n}" for n in range(9)]
    full = [table[n] for n in (0, 1, 2, 7, 3)]
    job = {"tests": table, "tasks": [
        {"id": "m1", "name": "a.x__mutmut_1", "tests": index_ranges([0, 1, 2, 7, 3]), "rule": None},
        {"id": "m2", "name": "a.x__mutmut_2", "tests": index_ranges([4, 5, 6, 8]),
         "rule": {"groups": [index_ranges([4, 5]), index_ranges([6, 8]), ""], "settle": ["assert", "timeout"]}},
        {"id": "m3", "name": "a.x__mutmut_3", "tests": "", "rule": None}]}
    assert [t["tests"] for t in job["tasks"]] == ["0-2,7,3", "4-6,8", ""]
    _expand(job)
    first, second, third = job["tasks"]
    assert first == {"id": "m1", "name": "a.x__mutmut_1", "tests": full, "rule": None}
    assert second["tests"] == [table[4], table[5], table[6], table[8]]
    assert second["rule"] == {"groups": [[table[4], table[5]], [table[6], table[8]], []], "settle": ["assert", "timeout"]}
    assert third["tests"] == []
    assert all(a is b for a, b in zip(first["tests"], full))  # the table's strings, not copies
    assert parse_index_ranges("12,3-5,0") == [12, 3, 4, 5, 0] and parse_index_ranges("") == []


@pytest.mark.verifies("MUT-1")
def test_the_baseline_is_cut_into_one_contiguous_run_of_about_equal_trace_time_per_worker():
    """In-process, as ``_expand``: the worker's baseline runs these segments side by side."""
    from testplan.mutate.worker import baseline_segments

    names = [f"t{n}" for n in range(6)]
    even = dict.fromkeys(names, 1.0)
    assert baseline_segments(names, even, 2) == [["t0", "t1", "t2"], ["t3", "t4", "t5"]]
    assert baseline_segments(names, even, 3) == [["t0", "t1"], ["t2", "t3"], ["t4", "t5"]]
    assert baseline_segments(names, even, 1) == [names]
    # a long first test is a run of its own; the order inside and across runs is the suite's
    assert baseline_segments(names, {"t0": 10.0, **dict.fromkeys(names[1:], 1.0)}, 2) == [["t0"], names[1:]]
    # the cut is made before the test whose midpoint passes the share (6 of 12 s): t2 ends at 7 s
    assert baseline_segments(names[:4], {"t0": 2.0, "t1": 3.0, "t2": 2.0, "t3": 5.0}, 2) == [["t0", "t1", "t2"], ["t3"]]
    # tests the trace did not time count 1 ms each, never zero (nor a second)
    assert baseline_segments(names[:4], {}, 2) == [["t0", "t1"], ["t2", "t3"]]
    assert baseline_segments(names[:4], {"t0": 0.003}, 2) == [["t0"], ["t1", "t2", "t3"]]
    assert baseline_segments(names[:4], {"t0": 0.0018}, 2) == [["t0", "t1"], ["t2", "t3"]]
    # more workers than tests: one test a run; no test: one empty run (the worker reports an empty baseline)
    assert baseline_segments(names[:2], even, 8) == [["t0"], ["t1"]]
    assert baseline_segments([], {}, 2) == [[]]
    # never inside a test file: its tests may count on each other in the file's order (mutate_traps'
    # test_aa_second on test_zz_first); a file counts as the sum of its tests, and is cut by its midpoint
    tests = ["a.py::t1", "a.py::t2", "a.py::C::t3", "b.py::t4", "c.py::t5", "c.py::t6"]
    assert baseline_segments(tests, dict.fromkeys(tests, 1.0), 2) == [tests[:3], tests[3:]]
    assert baseline_segments(tests, dict.fromkeys(tests, 1.0), 3) == [tests[:3], ["b.py::t4"], tests[4:]]
    assert baseline_segments(tests[:3], dict.fromkeys(tests, 1.0), 2) == [tests[:3]]  # one file: one run
    assert baseline_segments(tests, {"a.py::t1": 0.5, "a.py::t2": 0.5, "a.py::C::t3": 0.5, "b.py::t4": 0.25,
                                     "c.py::t5": 1.5, "c.py::t6": 0.5}, 2) == [tests[:4], tests[4:]]


@pytest.mark.verifies("MUT-1")
def test_the_worker_compiles_the_regexes_its_baseline_children_compiled_before_forking_the_mutants():
    """In-process, as ``_expand``: what a baseline child reports (``_compiled``), the worker
    compiles into ``re``'s cache (``_warm``), so no mutant's child compiles it again."""
    import gc
    import re

    from testplan.mutate.worker import _compiled, _warm

    pattern = f"tp-warm-{os.getpid()}-{time.time_ns()}-[a-z]+"
    before = set(_compiled())
    assert (pattern, re.IGNORECASE) not in before
    try:
        _warm({(pattern, re.IGNORECASE), ("(unbalanced", 0)})  # a pattern that does not compile is left out
    finally:
        gc.unfreeze()
    after = set(_compiled())
    assert after - before == {(pattern, re.IGNORECASE)}
    assert re.compile(pattern, re.IGNORECASE) is re.compile(pattern, re.IGNORECASE)  # served from the cache
    re.compile(b"tp-bytes-[0-9]+")
    assert all(isinstance(p, str) and isinstance(f, int) for p, f in _compiled())  # str patterns only (JSON)


def worker_in_process(job: dict, tmp_path: Path, monkeypatch) -> tuple[int, list[dict]]:
    """Run the mutation worker's ``main`` in this process on ``job`` (in its scratch copy), so the
    trace sees its lines (the audit runs it as a subprocess, which no test's coverage follows);
    its exit code and the events it wrote. The shop's modules it imports are forgotten after."""
    from testplan.mutate import worker

    job_path, events_path = tmp_path / "job.json", tmp_path / "events.jsonl"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    modules, handlers = dict(sys.modules), {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for name in [n for n in sys.modules if n == "conftest" or n.startswith(("test_", "shop"))]:
        del sys.modules[name]  # the shop's conftest and tests import under these names
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(job["scratch"])
    monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    try:
        code = worker.main([str(job_path), str(os.open(events_path, os.O_WRONLY | os.O_CREAT, 0o600))])
    finally:
        sys.modules.clear()
        sys.modules.update(modules)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return code, [json.loads(line) for line in events_path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.verifies("MUT-1")
def test_the_worker_run_in_process_on_the_shops_job_gives_the_subprocess_runs_verdicts(shop, tmp_path, monkeypatch):
    """The worker's own loop (collection, the baseline in segments, forced-fail, the pool of
    mutant children), run in this process on the job the audit wrote, so the trace sees it (the
    audit runs it as a subprocess, which no test's coverage follows)."""
    job = json.loads((shop.root / ".testplan" / "mutate-job.json").read_text(encoding="utf-8"))
    code, events = worker_in_process(job, tmp_path, monkeypatch)
    kinds = Counter(e["ev"] for e in events)
    assert (code, kinds) == (0, Counter(collected=1, live=1, baseline=1, forced_fail=1, mutant=len(job["tasks"]), done=1))
    collected, baseline = events[0], next(e for e in events if e["ev"] == "baseline")
    assert (collected["n"], collected["missing"], collected["extra_count"]) == (len(job["trace_tests"]), [], 0)
    assert baseline["verdicts"] == dict.fromkeys(job["tests"], "pass")  # every test once, suite order, both segments
    assert list(baseline["durations"]) == job["tests"]
    # the default limit, from the children's peak (a fork of this process: its size depends on where the suite runs)
    assert baseline["memory_limit_mb"] == pytest.approx(max(2048, 4 * baseline["peak_mb"]), abs=1)
    audited = {m.id: m.verdicts for m in shop.run.mutants}
    assert {e["id"]: e["verdicts"] for e in events if e["ev"] == "mutant"} == {t["id"]: audited[t["id"]] for t in job["tasks"]}


@pytest.mark.verifies("MUT-1")
def test_timeouts_and_the_memory_limit_of_a_mutants_child():
    from testplan.mutate.worker import generous_timeouts, memory_limit_mb, mutant_timeouts

    job = {"tests": ["a", "b", "c", "d"], "durations": {"a": 0.5, "b": 2.0, "d": 0.01}, "timeout_multiplier": 5.0,
           "timeout_min_seconds": 2.0, "setup_seconds": 0.25}
    # the longer of the baseline's and the trace's duration, plus the longest setup (the trace's 0.25 s here), x 5, >= 2 s
    assert mutant_timeouts(job, {"a": 0.75, "b": 1.0}) == {"a": 5.0, "b": 11.25, "c": 2.0, "d": 2.0}
    # a baseline setup longer than the trace's counts instead; without the trace's, 0
    assert mutant_timeouts(job, {"setup:d": 1.0})["b"] == 15.0
    assert mutant_timeouts({**job, "setup_seconds": None}, {})["b"] == 10.0
    assert generous_timeouts(job, ["a", "b", "c"]) == {"a": 60.0, "b": 100.0, "c": 60.0}  # 10 x 5 x 1 s without one
    assert (memory_limit_mb(job, 100.0), memory_limit_mb(job, 800.4), memory_limit_mb({**job, "memory_limit_mb": 300}, 800.0)) == (
        2048, 3201, 300)


@pytest.mark.verifies("MUT-1")
def test_the_worker_in_process_with_a_lazy_baseline_confirms_only_what_killed(shop, tmp_path, monkeypatch):
    """The same job with ``lazy_baseline``: no baseline before the mutants, the same verdicts, then
    the tests that killed a mutant run unmutated (one ``baseline`` event, last), all passing."""
    from testplan.mutate.outcome import KILLING

    job = json.loads((shop.root / ".testplan" / "mutate-job.json").read_text(encoding="utf-8"))
    job.update(lazy_baseline=True, trace_peak_mb=100.0, setup_seconds=0.0)
    code, events = worker_in_process(job, tmp_path, monkeypatch)
    assert code == 0
    assert [e["ev"] for e in events] == ["collected", "live", "forced_fail"] + ["mutant"] * len(job["tasks"]) + ["baseline", "done"]
    audited = {m.id: m.verdicts for m in shop.run.mutants}
    assert {e["id"]: e["verdicts"] for e in events if e["ev"] == "mutant"} == {t["id"]: audited[t["id"]] for t in job["tasks"]}
    killers = {n for t in job["tasks"] for n, v in audited[t["id"]].items() if v in KILLING}
    baseline = events[-2]
    assert baseline["verdicts"] == {n: "pass" for n in job["tests"] if n in killers}
    assert list(baseline["durations"]) == list(baseline["verdicts"]) and all(d > 0 for d in baseline["durations"].values())
    assert len(killers) == len(job["tests"]) == 5  # in the full matrix each of the 5 tests killed some mutant
    # 2048 MB: the default, as 4 x the trace's 100 MB is less; nothing timed out too soon
    assert (baseline["lazy"], baseline["slow"], baseline["memory_limit_mb"]) == (True, [], 2048)
    assert baseline["child_overhead"] >= 0 and baseline["peak_mb"] > 0


@pytest.mark.verifies("MUT-1.1")
def test_a_test_of_another_requirement_is_not_credited(shop, tmp_path, monkeypatch):
    """test_cart_total (CART-1) would fail for SHIP-1's `parcels=2`; that mutant still survives."""
    mutant = next(m for m in shop.run.mutants if m.mutated == "def shipping(total, parcels=2):")
    assert (mutant.status, list(mutant.verdicts)) == ("survived", [T + "test_shipping_weak"])
    # --all-tests runs the other covering tests too: the verdict is recorded, the status is not moved
    root = copy_project(shop.root, tmp_path / "shop")
    monkeypatch.chdir(root)  # and the CLI's way of loading: a relative root
    config, project = load(Path("."))
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, all_tests=True, fast=True, use_cache=False)
    again = next(m for m in run.mutants if m.id == mutant.id)
    assert again.verdicts == {T + "test_shipping_weak": "pass", T + "test_cart_total": "assert"}
    assert again.status == "survived"
    uncovered = next(m for m in run.mutants if m.mutated == "return 1")
    assert uncovered.status == "no-coverage"
    assert {(m.line, m.mutated): m.status for m in run.mutants} == {k: v[0] for k, v in EXPECTED.items()}


def test_cache_unchanged_rerun_executes_nothing_and_an_edited_test_reruns_its_mutants(shop, tmp_path):
    root = copy_project(shop.root, tmp_path / "shop", keep_state=True)
    config, project = load(root)
    rerun = run_mutation(config, project, retarget(shop.trace, root), jobs=2, matrix="full")
    assert (rerun.stats["executed"], rerun.stats["cache_hits"]) == (0, 33)
    assert table(rerun) == EXPECTED
    test_file = root / "tests" / "test_shop.py"
    test_file.write_text(test_file.read_text().replace("assert countdown(3) == 3", "assert countdown(4) == 4"))
    config, project = load(root)
    edited = run_mutation(config, project, run_trace(config), jobs=2, matrix="full")
    countdown = sorted(m.id for m in shop.run.mutants if T + "test_countdown" in m.verdicts)
    assert len(countdown) == 10
    assert edited.stats["executed_ids"] == countdown
    assert edited.stats["cache_hits"] == 23
    assert table(edited) == EXPECTED


@pytest.mark.slow
def test_three_shards_merge_to_the_unsharded_result(shop, tmp_path):
    root = copy_project(shop.root, tmp_path / "shop")
    config, project = load(root)
    trace = retarget(shop.trace, root)
    paths = []
    for k in (1, 2, 3):
        run = run_mutation(config, project, trace, jobs=2, shard=f"{k}/3", use_cache=False)
        assert run.complete and run.stats["shard"] == f"{k}/3"
        path = tmp_path / f"shard{k}" / "audit.json"
        save_result(AuditResult(complete=True, mutation=True, shard=f"{k}/3", mutants=run.mutants), path)
        paths.append(path)
    merged = merge_shards(paths)
    assert merged.complete and merged.shard is None
    assert [(m.id, m.status, m.verdicts) for m in merged.mutants] == \
        [(m.id, m.status, m.verdicts) for m in shop.run.mutants]
    partial = merge_shards([paths[0], paths[2]])
    assert not partial.complete and partial.incomplete_reason == "shard 2/3 missing"
    with pytest.raises(InputError, match="given twice"):
        merge_shards([paths[0], paths[0]])


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def commit_then_edit(root: Path, old: str | None = None, new: str | None = None) -> Path:
    """Make ``root`` a git repository with one commit (``.testplan/`` ignored), then replace ``old``
    with ``new`` in ``src/shop/core.py`` (nothing without them): ``--diff HEAD`` then selects the
    mutants of the edited line. Returns core.py's path."""
    (root / ".gitignore").write_text(".testplan/\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    core = root / "src" / "shop" / "core.py"
    if old is not None:
        core.write_text(replaced(core.read_text(), old, new))
    return core


def test_diff_mode_mutates_only_changed_lines(shop, tmp_path):
    root = copy_project(shop.root, tmp_path / "shop", keep_state=True)  # with the full run's cache
    commit_then_edit(root, "if total >= 50:", "if total >= 40:")
    config, project = load(root)
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD")
    assert {(m.line, m.mutated): m.status for m in run.mutants} == {
        (13, "if total > 40:"): "survived", (13, "if total >= 41:"): "survived"}
    assert run.stats["changed_files"] == ["src/shop/core.py"]
    assert run.stats["files"] == 1  # shop/cart.py is in scope but unchanged: mutmut never processes it
    assert run.stats["generated"] == len([m for m in shop.run.mutants if m.file == "src/shop/core.py"])
    cached = json.loads((root / ".testplan" / "cache" / "mutation.json").read_text())["mutants"]
    cart = {m.id for m in shop.run.mutants if m.file == "src/shop/cart.py" and m.verdicts}
    assert len(cart) == 6 and cart <= set(cached)  # a --diff run keeps the cache of files it did not touch
    with pytest.raises(InputError, match="not a git revision"):
        run_mutation(config, project, retarget(shop.trace, root), diff_base="no-such-branch")
    elsewhere = copy_project(FIXTURE, tmp_path / "nogit")
    config, project = load(elsewhere)
    with pytest.raises(InputError, match="not inside a git work tree"):
        run_mutation(config, project, retarget(shop.trace, elsewhere), diff_base="HEAD")


@pytest.mark.verifies("MUT-1.5")
def test_a_topped_up_diff_generates_the_changed_files_then_every_file_in_one_scratch_copy(shop, tmp_path, monkeypatch):
    from testplan.mutate import lab
    from testplan.mutate.generate import SCRATCH_DIR, make_scratch

    root = copy_project(shop.root, tmp_path / "shop")
    commit_then_edit(root, "if total >= 50:", "if total >= 40:")
    config, project = load(root)
    changed = lab._changed(config, project, "HEAD")
    assert changed == {"src/shop/core.py": {13}}
    calls = []  # (only_files, copied, the token and seconds of what came back), per call of the real generate
    real = lab.generate

    def spy(*args, **kwargs):
        gen = real(*args, **kwargs)
        calls.append((kwargs.get("only_files"), kwargs.get("copied"), gen.token, gen.seconds))
        return gen

    monkeypatch.setattr(lab, "generate", spy)
    where = (config.state_dir / SCRATCH_DIR).resolve()
    token = make_scratch(config.root.resolve(), where, [])
    # line 13 holds 2 mutants: enough for 2, and only the changed file is generated, in the copy made before
    gen = lab._generate(config, project, changed, 2, where, True, token)
    assert ([c[:3] for c in calls], sorted(gen.files), gen.token) == ([({"src/shop/core.py"}, token, token)],
                                                                      ["src/shop/core.py"], token)
    assert {m.line for m in gen.mutants if m.line == 13} == {13} and gen.seconds == calls[0][3]
    # not enough for 3: then every file in scope, in the same copy; the seconds are both calls'
    calls.clear()
    gen = lab._generate(config, project, changed, 3, where, True, token)
    assert [c[:3] for c in calls] == [({"src/shop/core.py"}, token, token), (None, token, token)]
    assert (len(gen.files), gen.token, gen.seconds) == (2, token, calls[0][3] + calls[1][3])
    # without a copy made before: the first call makes it, the second generates into that one
    calls.clear()
    gen = lab._generate(config, project, changed, 3, where, True, None)
    assert [c[:2] for c in calls] == [({"src/shop/core.py"}, None), (None, calls[0][2])]
    assert calls[0][2] not in ("", token) and gen.token == calls[1][2] == calls[0][2]


@pytest.mark.verifies("MUT-1.5")
def test_min_mutants_tops_a_diff_up_with_the_lowest_ids_of_the_whole_scope(shop, tmp_path):
    root = copy_project(shop.root, tmp_path / "shop", keep_state=True)  # with the full run's cache
    core = commit_then_edit(root)
    config, project = load(root)
    with_tests = sorted(m.id for m in shop.run.mutants if m.verdicts)
    assert len(with_tests) == 33
    full = {m.id: (m.status, m.verdicts) for m in shop.run.mutants}

    # nothing changed since HEAD: --diff alone judges nothing, --min-mutants 4 judges exactly 4
    assert run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD").mutants == []
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=4)
    assert sorted(m.id for m in run.mutants) == with_tests[:4]  # no uncovered mutant outside the diff comes along
    assert all(m.verdicts for m in run.mutants)
    assert {m.id: (m.status, m.verdicts) for m in run.mutants} == {i: full[i] for i in with_tests[:4]}
    assert run.stats["topped_up"] == {"diff": 0, "added": 4}
    assert (run.stats["files"], run.stats["min_mutants"]) == (2, 4)  # the whole scope is generated to sample from

    # the diff selects 2 mutants with tests: topped up with the 3 lowest IDs of the other 31
    core.write_text(core.read_text().replace("if total >= 50:", "if total >= 40:"))
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=5)
    diff_ids = {m.id for m in run.mutants if m.line == 13}
    assert {(m.line, m.mutated) for m in run.mutants if m.id in diff_ids} == {(13, "if total > 40:"), (13, "if total >= 41:")}
    old_line_13 = {m.id for m in shop.run.mutants if m.line == 13 and m.file == "src/shop/core.py"}
    rest = sorted(set(with_tests) - old_line_13)
    assert {m.id for m in run.mutants} == diff_ids | set(rest[:3])
    assert len([m for m in run.mutants if m.verdicts]) == 5
    assert run.stats["topped_up"] == {"diff": 2, "added": 3}
    assert run.stats["files"] == 2  # the changed file first: it holds 2 of 5, so every file in scope

    # a diff that already selects N: no top-up, and no file but the changed one is generated
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=2)
    assert {m.id for m in run.mutants} == diff_ids and "topped_up" not in run.stats
    assert (run.stats["files"], run.stats["generated"]) == (1, 28)

    # .ci/run's --min-mutants N --max-mutants N: a top-up to N is not cut; a diff above N is sampled down to N
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=5, max_mutants=5)
    assert {m.id for m in run.mutants} == diff_ids | set(rest[:3]) and "sampled" not in run.stats
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=1, max_mutants=1)
    assert [m.id for m in run.mutants] == [min(diff_ids)]
    assert run.stats["sampled"] == {"ran": 1, "of": 2, "strata": {"SHIP-1/covered": {"ran": 1, "of": 2}}}

    # the diff's mutants without tests count too (as the top-up counts them): 3 on lines 13-14, no top-up
    core.write_text(core.read_text().replace("        return 0\n", "        return 0  # free shipping\n"))
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=3)
    assert {(m.line, m.status) for m in run.mutants if m.id not in diff_ids} == {(14, "no-coverage")}
    assert (len(run.mutants), run.stats["files"], "topped_up" in run.stats) == (3, 1, False)
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, diff_base="HEAD", min_mutants=4)
    assert (len(run.mutants), run.stats["files"], run.stats["topped_up"]) == (4, 2, {"diff": 3, "added": 1})


@pytest.mark.parametrize("kwargs, message", [
    ({"min_mutants": 0, "diff_base": "HEAD"}, "--min-mutants 0: must be at least 1"),
    ({"min_mutants": 3}, "--min-mutants tops up a --diff selection (without --diff every mutant runs); "
                         "add --diff BASE or drop --min-mutants"),
    ({"min_mutants": 3, "diff_base": "HEAD", "shard": "1/2"},
     "--min-mutants and --shard do not combine (merged shards must equal one unsharded run); drop one"),
    ({"min_mutants": 13, "max_mutants": 12, "diff_base": "HEAD"},
     "--min-mutants 13 is above --max-mutants 12; make --min-mutants at most --max-mutants"),
])
def test_bad_min_mutants_is_refused_before_anything_runs(shop, tmp_path, kwargs, message):
    root = copy_project(FIXTURE, tmp_path / "shop")
    config, project = load(root)
    with pytest.raises(InputError) as caught:
        run_mutation(config, project, retarget(shop.trace, root), **kwargs)
    assert str(caught.value) == message
    assert not (root / ".testplan").exists()


def test_a_failing_linked_test_stops_before_any_mutant(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    test_file = root / "tests" / "test_shop.py"
    test_file.write_text(test_file.read_text().replace("assert gross(100) == 120", "assert gross(100) == 121"))
    before = digest(root)
    config, project = load(root)
    with pytest.raises(BaselineError, match="test_gross_strong") as info:
        run_mutation(config, project, run_trace(config))
    assert info.value.exit_code == 3
    assert digest(root) == before


@pytest.mark.verifies("MUT-1.1")
def test_a_link_to_a_rejected_or_unknown_case_does_not_make_a_test_a_judge(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    plan = root / "plans" / "TAX-1.yaml"
    plan.write_text(plan.read_text() + "  - id: TAX-1.2\n    title: tax on zero\n    kind: edge\n    origin: human\n"
                    "    status: rejected\n    reason: zero is not a price\n")
    (root / "tests" / "test_links.py").write_text(
        'import pytest\n\nfrom shop.core import gross\n\n\n'
        '@pytest.mark.verifies("TAX-1.2")\ndef test_rejected_link():\n    assert gross(100) == 120\n\n\n'
        '@pytest.mark.verifies("TAX-1.7")\ndef test_unknown_case():\n    assert gross(100) == 120\n')
    config, project = load(root)
    run = run_mutation(config, project, run_trace(config), jobs=2)
    tax = {m.mutated: m.verdicts for m in run.mutants if m.requirements == ["TAX-1"]}
    assert tax == {  # only test_gross_strong, linked to the live case TAX-1.1, runs and judges them
        "return net - net * RATE // 100": {f"{T}test_gross_strong": "assert"},
        "return net + net * RATE / 100": {f"{T}test_gross_strong": "assert"},
        "return net + net / RATE // 100": {f"{T}test_gross_strong": "assert"},
        "return net + net * RATE // 101": {f"{T}test_gross_strong": "assert"},
    }


@pytest.mark.verifies("MUT-1.1")
def test_code_of_two_requirements_is_judged_by_each_ones_tests_even_with_fast(tmp_path):
    from testplan.score import build_result

    root = copy_project(FIXTURE, tmp_path / "shop")
    reqs = root / "requirements.yaml"
    reqs.write_text(reqs.read_text() + "  - id: INV-1\n    title: Invoices show the gross price\n"
                    "    statement: An invoice line shows the gross price.\n    code: [shop.core:gross]\n")
    (root / "plans" / "INV-1.yaml").write_text("requirement: INV-1\ncases:\n  - id: INV-1.1\n    title: a gross price is shown\n"
                                               "    kind: nominal\n    origin: human\n    status: proposed\n")
    (root / "tests" / "test_invoice.py").write_text(
        'import pytest\n\nfrom shop.core import gross\n\n\n'
        '@pytest.mark.verifies("INV-1.1")\ndef test_invoice_shows_a_price():\n    assert gross(100) > 100\n')
    config, project = load(root)
    trace = run_trace(config)
    run = run_mutation(config, project, trace, jobs=2, fast=True)
    strong, weak = f"{T}test_gross_strong", "tests/test_invoice.py::test_invoice_shows_a_price"
    gross = {m.mutated: (m.requirements, m.verdicts) for m in run.mutants if m.line == 9}
    assert gross == {  # --fast does not stop at TAX-1's kill: INV-1's test must be heard too
        "return net - net * RATE // 100": (["TAX-1", "INV-1"], {strong: "assert", weak: "assert"}),
        "return net + net * RATE / 100": (["TAX-1", "INV-1"], {strong: "assert", weak: "pass"}),
        "return net + net / RATE // 100": (["TAX-1", "INV-1"], {strong: "assert", weak: "assert"}),
        "return net + net * RATE // 101": (["TAX-1", "INV-1"], {strong: "assert", weak: "pass"}),
    }
    result = build_result(project, trace, run.mutants, run.unmutated)
    counts = {r.id: (r.mutants.killed, r.mutants.survived, r.oracle_score) for r in result.requirements if r.id in ("TAX-1", "INV-1")}
    assert counts == {"TAX-1": (4, 0, 1.0), "INV-1": (2, 2, 0.5)}


def test_a_test_failing_only_in_the_scratch_copy_is_a_baseline_error(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    (root / "tests" / "test_where.py").write_text(
        'import pytest\n\nfrom shop.core import gross\n\n\n@pytest.mark.verifies("TAX-1.1")\n'
        'def test_not_in_a_copy():\n    assert gross(5) == 6\n    assert ".testplan" not in __file__\n')
    config, project = load(root)
    with pytest.raises(BaselineError, match=r"fail unmutated in the scratch copy .*test_not_in_a_copy \(assert\)"):
        run_mutation(config, project, run_trace(config))


@pytest.mark.verifies("MUT-1")
def test_few_mutants_get_a_lazy_baseline_of_their_killing_tests_with_the_full_runs_verdicts(shop, tmp_path, monkeypatch):
    from testplan.mutate import lab

    root = copy_project(shop.root, tmp_path / "shop")
    config, project = load(root)
    workers = []
    real = lab.run_worker
    monkeypatch.setattr(lab, "run_worker", lambda *a, **k: workers.append(real(*a, **k)) or workers[-1])
    full = {m.id: (m.status, m.verdicts) for m in shop.run.mutants}
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, matrix="full", max_mutants=12,
                       use_cache=False)
    assert len(run.mutants) == 12 and {m.id: (m.status, m.verdicts) for m in run.mutants} == {m.id: full[m.id] for m in run.mutants}
    job = json.loads((root / ".testplan" / "mutate-job.json").read_text())
    assert (job["lazy_baseline"], job["trace_peak_mb"]) == (True, shop.trace.peak_mb) and shop.trace.peak_mb > 0
    assert job["setup_seconds"] == max(t.setup for t in shop.trace.tests if t.nodeid in job["tests"])
    killers = {n for m in run.mutants for n, v in m.verdicts.items() if v != "pass"}
    (worker,) = workers
    # only the tests that killed a mutant ran unmutated, each passing, after the mutants
    assert (worker.baseline_lazy, worker.slow, worker.baseline) == (True, [], {n: "pass" for n in sorted(killers, key=job["tests"].index)})
    assert (run.stats["baseline_lazy"], run.stats["baseline_tests"]) == (1, len(killers)) and len(killers) < len(job["tests"])
    assert worker.memory_limit_mb == max(2048, int(4 * shop.trace.peak_mb))
    # 13 mutants: the baseline runs every selected test first, as before
    workers.clear()
    run = run_mutation(config, project, retarget(shop.trace, root), jobs=2, matrix="full", max_mutants=13,
                       use_cache=False)
    job = json.loads((root / ".testplan" / "mutate-job.json").read_text())
    assert (job["lazy_baseline"], workers[0].baseline_lazy, run.stats["baseline_lazy"]) == (False, False, 0)
    assert workers[0].baseline == {n: "pass" for n in job["tests"]}
    assert {m.id: (m.status, m.verdicts) for m in run.mutants} == {m.id: full[m.id] for m in run.mutants}


def test_a_kill_by_a_test_failing_only_in_the_scratch_copy_is_a_baseline_error_after_a_lazy_baseline(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    (root / "tests" / "test_where.py").write_text(
        'import pytest\n\nfrom shop.core import gross\n\n\n@pytest.mark.verifies("TAX-1.1")\n'
        'def test_not_in_a_copy():\n    assert gross(5) == 6\n    assert ".testplan" not in __file__\n')
    config, project = load(root)
    commit_then_edit(root, *GROSS_EDIT)  # the 4 mutants of gross(): few, so the baseline is lazy
    with pytest.raises(BaselineError, match=r"^1 test\(s\) fail unmutated in the scratch copy .*: "
                                            r"tests/test_where.py::test_not_in_a_copy \(assert\); they pass in the project"):
        run_mutation(config, project, run_trace(config), diff_base="HEAD", matrix="full")
    # the kills it made are not kept: nothing is cached from a run whose baseline failed
    cache = root / ".testplan" / "cache" / "mutation.json"
    assert not cache.exists() or json.loads(cache.read_text())["mutants"] == {}


def test_a_timeout_shorter_than_the_unmutated_run_needs_is_a_baseline_error_after_a_lazy_baseline(tmp_path):
    """The trace said 0 s; unmutated in the scratch copy the test takes 1.5 s, over its 1-s timeout
    (the trace's duration x 5, at least 1 s): its timeout verdicts on the mutants say nothing, and the
    run stops, naming the test and what to do."""
    root = copy_project(FIXTURE, tmp_path / "shop")
    (root / "tests" / "test_slow_copy.py").write_text(
        'import time\n\nimport pytest\n\nfrom shop.core import gross\n\n\n@pytest.mark.verifies("TAX-1.1")\n'
        'def test_slower_in_a_copy():\n    if ".testplan" in __file__:\n        time.sleep(1.5)\n'
        '    assert gross(5) == 6\n')
    config, project = load(root)
    commit_then_edit(root, *GROSS_EDIT)
    with pytest.raises(BaselineError, match=r"^1 test\(s\) take as long unmutated in the scratch copy as the timeout "
                                            r"they had on a mutant \(from the trace's durations\), so their timeouts say "
                                            r"nothing: tests/test_slow_copy.py::test_slower_in_a_copy; raise "
                                            r"\[tool.testplan.mutation\] timeout_multiplier, or judge more than 12 mutants"):
        run_mutation(config, project, run_trace(config), diff_base="HEAD", matrix="full")


def test_code_imported_from_outside_the_scratch_copy_is_refused(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    (root / "tests" / "conftest.py").write_text(
        f"import sys\n\nsys.path.insert(0, {str(root / 'src')!r})  # the user's tree, even in a copy\n")
    config, project = load(root)
    with pytest.raises(BaselineError, match=r"mutants are not active: module shop\.\w+ is imported from \S+/shop/src/shop/"):
        run_mutation(config, project, run_trace(config))


INTERRUPTED = """
import json, sys
from pathlib import Path
from testplan.config import load_config
from testplan.review import load_project
from testplan.trace import run_trace
from testplan.mutate import run_mutation
config = load_config(Path(sys.argv[1]), {"mutation": {"timeout_min_seconds": 5.0}})
project = load_project(config)
trace = run_trace(config)
print("traced", flush=True)
run = run_mutation(config, project, trace, jobs=1)
print(json.dumps({"complete": run.complete, "reason": run.incomplete_reason, "mutants": len(run.mutants),
                  "not_run": run.stats["not_run"]}), flush=True)
"""


def _processes_in(directory: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(directory):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.verifies("MUT-1.3")
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc to look for stray processes")
def test_ctrl_c_returns_a_partial_result_and_leaves_nothing_behind(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    before = digest(root)
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "traced"
    job = root / ".testplan" / "mutate-job.json"
    deadline = time.monotonic() + 30
    while not job.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # the worker is running mutants (two of them loop for 5 s each)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - started < 8
    result = json.loads(out.strip().splitlines()[-1])
    assert result["complete"] is False and result["reason"] == "interrupted"
    assert result["not_run"] > 0 and result["mutants"] + result["not_run"] == 34
    assert proc.returncode == 0
    assert _processes_in(root / ".testplan") == []
    assert digest(root) == before


INTERRUPTED_AT_START = """
import json, os, signal, subprocess, sys
from pathlib import Path
from testplan.config import load_config
from testplan.review import load_project
from testplan.trace import run_trace
from testplan.mutate import executor, run_mutation
config = load_config(Path(sys.argv[1]), {"mutation": {"timeout_min_seconds": 5.0}})
project = load_project(config)
trace = run_trace(config)
real_popen = subprocess.Popen
started = []

def popen_then_ctrl_c(*args, **kwargs):  # Ctrl-C lands the instant the worker exists
    proc = real_popen(*args, **kwargs)
    started.append(proc.pid)
    os.kill(os.getpid(), signal.SIGINT)
    return proc

executor.subprocess.Popen = popen_then_ctrl_c
run = run_mutation(config, project, trace, jobs=1)
print(json.dumps({"complete": run.complete, "reason": run.incomplete_reason,
                  "statuses": [m.status for m in run.mutants], "worker": started[0]}), flush=True)
"""


@pytest.mark.verifies("MUT-1.3")
@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc to look for stray processes")
def test_ctrl_c_while_the_worker_starts_stops_the_worker_too(tmp_path):
    root = copy_project(FIXTURE, tmp_path / "shop")
    before = digest(root)
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED_AT_START, str(root)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # nothing ran; only the mutant no test covers has a status
    assert (result["complete"], result["reason"], result["statuses"]) == (False, "interrupted", ["no-coverage"])
    assert not Path(f"/proc/{result['worker']}").exists()  # reaped, not left running on its own
    assert _processes_in(root / ".testplan") == []
    assert digest(root) == before


def test_worker_drops_the_users_source_dirs_but_keeps_a_venv_inside_the_project(tmp_path, monkeypatch):
    from testplan.mutate import worker

    root = tmp_path / "proj"
    venv_site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    scratch_src = root / ".testplan" / "mutants" / "src"
    for d in (venv_site, scratch_src, root / "src"):
        d.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(root / "src"), str(root), str(venv_site), "/usr/lib/python3.11"])
    worker._fix_sys_path({"user_root": str(root), "scratch": str(root / ".testplan" / "mutants"),
                          "sys_path": [str(scratch_src)]})
    assert sys.path == [str(scratch_src), str(venv_site), "/usr/lib/python3.11"]


@pytest.mark.verifies("MUT-1")
def test_a_module_to_mutate_imported_before_the_worker_fixed_sys_path_is_imported_again_from_the_scratch_copy(tmp_path, monkeypatch):
    # pytest imports iniconfig (and pluggy) itself, and the worker imports pytest before it puts the
    # scratch copy first: when the project under test is one of them, its tests must still get the mutants
    from testplan.mutate.worker import _forget_shadowed

    for where, text in (("installed", "WHERE = 'installed'\n"), ("scratch", "WHERE = 'scratch'\n")):
        (tmp_path / where / "tp_shadowed_pkg").mkdir(parents=True)
        (tmp_path / where / "tp_shadowed_pkg" / "__init__.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / "installed"))
    import tp_shadowed_pkg

    assert tp_shadowed_pkg.WHERE == "installed"
    monkeypatch.syspath_prepend(str(tmp_path / "scratch"))
    scratch_file = str(tmp_path / "scratch" / "tp_shadowed_pkg" / "__init__.py")
    try:
        assert _forget_shadowed({"modules": {"tp_shadowed_pkg": scratch_file, "tp_never_imported": "/nowhere.py"}}) == ["tp_shadowed_pkg"]
        import tp_shadowed_pkg as again

        assert (again.WHERE, again.__file__) == ("scratch", scratch_file)
        assert _forget_shadowed({"modules": {"tp_shadowed_pkg": scratch_file}}) == []  # the scratch copy stays
    finally:
        sys.modules.pop("tp_shadowed_pkg", None)


def test_the_cost_estimate_is_fitted_on_the_first_mutants_and_covers_every_test_run(shop):
    estimate = shop.run.stats["estimate"]
    # no cache and the full matrix: every mutant with tests ran each selected test once (its verdicts)
    runs = [n for m in shop.run.mutants for n in m.verdicts]
    assert len(runs) == shop.run.stats["cells"] and estimate["test_runs"] == len(runs) == 33
    assert (estimate["mutants"], estimate["calibrated_on"], estimate["upper_bound"], estimate["matrix"]) == (33, 12, False, "full")
    assert estimate["seconds"] == pytest.approx(
        estimate["startup"] + (33 * estimate["per_mutant"] + estimate["factor"] * estimate["test_seconds"]) / estimate["at_once"],
        abs=0.01)
    assert shop.run.stats["seconds"]["worker"] > 0  # the actual, next to it in audit.json


def test_calibrate_fits_a_cost_per_mutant_and_a_factor_on_the_baseline_time():
    from testplan.mutate.lab import calibrate

    # seconds = 0.05 + 3 * baseline seconds, exactly
    assert calibrate([(0.05 + 3 * x, x) for x in (0.01, 0.02, 0.04, 0.1)]) == pytest.approx((0.05, 3.0))
    assert calibrate([(0.2, 0.01), (0.3, 0.01)]) == (pytest.approx(0.25), 0.0)  # same tests: all per mutant
    assert calibrate([(0.1, 0.1), (0.5, 0.2)]) == (0.0, pytest.approx(2.0))  # a negative intercept: 0, mean ratio
    assert calibrate([]) == (0.0, 1.0)


def test_estimate_cost_is_start_up_plus_per_mutant_and_scaled_test_time_over_the_children_at_once():
    from testplan.mutate.lab import _Plan, estimate_cost

    class M:
        id = "m"

    plans = [_Plan(M, ["a", "b"], ["a", "b"]), _Plan(M, ["b"], ["b"])]
    got = estimate_cost(plans, {"a": 0.5, "b": 0.25}, 0.1, 2.0, 2, "full", calibrated_on=12, at_once=1.5, startup=3.0)
    assert got["seconds"] == round(3.0 + (2 * 0.1 + 2.0 * 1.0) / 1.5, 3)
    assert (got["test_seconds"], got["test_runs"], got["mutants"], got["upper_bound"]) == (1.0, 3, 2, False)
    assert estimate_cost(plans, {"a": 0.5, "b": 0.25}, 0.1, 2.0, 2, "decisive")["upper_bound"] is True


def test_the_first_mutants_to_run_are_spread_over_the_list():
    from testplan.mutate.lab import CALIBRATION_MUTANTS, calibration_first

    items = list(range(48))
    order = calibration_first(items)
    assert order[:CALIBRATION_MUTANTS] == list(range(0, 48, 4)) and sorted(order) == items
    assert calibration_first(items[:5]) == items[:5]


CACHE_FIXTURE = Path(__file__).parent / "fixtures" / "mutate_cache"


@pytest.mark.parametrize("path, old, new, executed", [
    # a callee of the mutated function (in no requirement's code, so its own AST is no mutant's function hash)
    ("src/calc/rates.py", "n < 10", "n < 11", 7),
    # a helper module the test imports (not a conftest.py)
    ("tests/helpers.py", "SMALL = 2", "SMALL = 1 + 1", 7),
    # the pytest configuration: every mutant
    ("pyproject.toml", 'addopts = "-ra"', 'addopts = "-rA"', 12),
    # a module no test imports or runs, and a comment: nothing
    ("src/calc/unused.py", "return 1", "return 2", 0),
    ("src/calc/rates.py", "def rate(n):", "def rate(n):  # a comment", 0),
], ids=["callee", "helper-module", "addopts", "unrelated-module", "comment"])
def test_the_cache_reruns_the_mutants_whose_tests_depend_on_an_edited_file(tmp_path, cli, path, old, new, executed):
    root = copy_project(CACHE_FIXTURE, tmp_path / "calc")
    assert cli("audit", "-C", root, "--jobs", "2").code in (0, 1)
    first = json.loads((root / ".testplan" / "audit.json").read_text())
    assert (first["mutation_stats"]["executed"], first["mutation_stats"]["cache_hits"]) == (12, 0)
    assert Counter(m["requirements"][0] for m in first["mutants"]) == {"PRICE-1": 7, "DISC-1": 5}
    target = root / path
    target.write_text(replaced(target.read_text(), old, new))
    assert cli("audit", "-C", root, "--jobs", "2").code in (0, 1)
    again = json.loads((root / ".testplan" / "audit.json").read_text())
    assert (again["mutation_stats"]["executed"], again["mutation_stats"]["cache_hits"]) == (executed, 12 - executed)
    assert {m["id"]: m["status"] for m in again["mutants"]} == {m["id"]: m["status"] for m in first["mutants"]}
