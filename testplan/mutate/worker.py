"""The warm process: pytest collects once in the scratch copy, then one forked child per mutant.

Run by :mod:`testplan.mutate.executor` as ``python -m testplan.mutate.worker JOB.json EVENT_FD``
with the scratch copy as cwd. It writes one JSON object per line to ``EVENT_FD``:

``collected`` · ``live`` · ``baseline`` · ``forced_fail`` · ``mutant`` (one per mutant, as it
finishes) · ``extra`` (more verdicts for a mutant, from the case completion of a decisive run) ·
``error`` · ``interrupted`` · ``done``.

How it avoids mutmut's traps:

* **the worker never runs a test**: baseline, forced-fail and every mutant run in forked
  children, so each child starts from the same post-collection module state (no state leaks
  from one run into the next, no reset hook needed); the baseline runs as ``workers``
  contiguous segments of suite order (whole test files) side by side (:func:`baseline_segments`), and the regexes
  they compiled are compiled in the worker before the mutants' children fork (:func:`_warm`); with
  ``job["lazy_baseline"]`` (few mutants) there is no baseline first: the trace's durations, longest
  setup and peak RSS set the timeouts and the memory limit, and after the mutants what each kill
  rests on runs unmutated (:meth:`Driver._confirm`);
* tests run in the suite's own (collection) order, without ``-x``; a task's stop rule
  (:class:`~testplan.mutate.outcome.StopRule`, :data:`~testplan.mutate.outcome.SETTLE`) leaves
  out the tests that can no longer change the mutant's status (a full-matrix task: only those of
  a requirement after its timeout); then the runs the cases' states still need
  (``job["cases"]``) are made the same way;
* the verdict of each (mutant, test) comes from the exception object, not the exit code:
  ``assert`` (AssertionError raised outside the mutated code, ``pytest.fail``, ``DID NOT RAISE``),
  ``crash`` (any other exception, a setup/teardown error, a child that dies), ``timeout``
  (the child is SIGKILLed at the test's deadline and a new child resumes after that test);
* ``MUTANT_UNDER_TEST`` is set with mutmut's ``set_mutant_under_test`` in the child only;
* each child is the leader of its own process group, killed as a group when it ends (a process a
  test started dies with it), and its end is seen by its exit, not by its pipe closing (a
  process a test forked may hold the pipe open);
* each mutant child runs under a memory limit (``RLIMIT_DATA``: ``[tool.testplan.mutation]
  memory_limit_mb``, default max(2048 MB, 4 x the baseline children's peak RSS, or the trace's)): a runaway
  allocation raises MemoryError, a ``crash`` verdict (never ``assert``), reported in the
  ``mutant`` event's ``memory`` list and in the log (stderr).
* the trace's conditions: its ``PYTHONHASHSEED`` (set by the executor) and the derandomized
  Hypothesis profile without a database (``-p testplan.determinism``), so collection gives the
  trace's test IDs and a ``@given`` test draws the same examples for every mutant and every run;
* ``collected`` names the trace's tests that are missing and the tests collected that the
  trace did not have (``extra``), so a nondeterministic collection can be told apart from a
  scratch copy that lacks files.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import sys
import time
from collections import deque

from ..ranges import parse_index_ranges
from .outcome import KILLING, StopRule, case_completion

ASSERT_TYPES = ("AssertionError", "Failed")  # Failed: pytest.fail(), pytest.raises' DID NOT RAISE
IDLE_SECONDS = 30.0  # a child that says nothing between tests for this long is killed
POLL_SECONDS = 0.25  # how often running children are checked for having exited
DEFAULT_MEMORY_MB = 2048  # the memory limit is at least this, and 4x the baseline's peak RSS
RESERVE_BYTES = 4 << 20  # freed on MemoryError, so pytest can still report the test
EXTRA_SHOWN = 20  # tests collected that the trace did not have: at most this many are named


class Stop(BaseException):
    """SIGTERM/SIGINT in the worker: stop cleanly (children killed, partial results kept)."""


def _on_signal(signum, frame):  # pragma: no cover - exercised through the executor
    raise Stop()


class Driver:
    """A pytest plugin: classifies test outcomes (in children) and owns the run loop (in the worker)."""

    def __init__(self, job: dict, events):
        self.job = job
        self.events = events
        self.verdict: dict[str, str] = {}
        self.setup_seconds: dict[str, float] = {}
        self.mutated_files = {os.path.realpath(f) for f in job["mutated_files"]}
        self.stopped = False
        self.memory_limit: int | None = None  # bytes, for mutant children (set after the baseline)
        self.memory_hits: set[str] = set()  # child side: tests that raised MemoryError
        self.peak_kb = 0  # worker side: the largest ru_maxrss of a finished child
        self.child_seconds: dict[str | int, float] = {}  # worker side: task key -> wall time of its children
        self.memory_reports: dict[str, list[str]] = {}  # worker side: task key -> tests that hit the limit
        self.patterns: set[tuple[str, int]] = set()  # worker side: regexes the baseline children compiled
        self._parts: list[str] = []  # worker side: the task keys of the last baseline's segments
        self._reserve: bytearray | None = None

    # --- child side ---------------------------------------------------------------------------
    import pytest as _pytest

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "setup":
            self.setup_seconds[item.nodeid] = report.duration
        if self.verdict.get(item.nodeid, "pass") != "pass":
            return  # the first failing phase decides
        if call.excinfo is None or report.skipped:
            self.verdict.setdefault(item.nodeid, "pass")
            return
        name = call.excinfo.type.__name__
        if issubclass(call.excinfo.type, MemoryError):
            self._reserve = None  # room for pytest to finish this test
            self.memory_hits.add(item.nodeid)
        verdict = "crash"
        if call.when == "call" and name in ASSERT_TYPES:
            verdict = "assert"
            if name == "AssertionError":  # an assert inside the code under test is the code crashing
                tb = call.excinfo.tb
                while tb.tb_next is not None:
                    tb = tb.tb_next
                if os.path.realpath(tb.tb_frame.f_code.co_filename) in self.mutated_files:
                    verdict = "crash"
        self.verdict[item.nodeid] = verdict

    def _child(self, wfd: int, items: list, mutant: str, rule: StopRule | None) -> None:
        """Runs in the forked child; never returns."""
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            if mutant and self.memory_limit:
                _limit_memory(self.memory_limit)
                self._reserve = bytearray(RESERVE_BYTES)
            os.close(self.events.fileno())
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            from mutmut.mutation.trampoline import set_mutant_under_test

            # nobody reads a child's failure reports (its output goes to /dev/null, its verdicts
            # come from the exception): pytest's long traceback of each failure (source read and
            # parsed for every frame) is not made. A lambda, not a function of this module: see below.
            unformatted = lambda excinfo, style=None: "(a failure in a mutant's child: not formatted)"  # noqa: E731
            for item in items:
                item.repr_failure = item._repr_failure_py = unformatted
            if mutant:
                set_mutant_under_test(mutant)
            # a test's "done" line goes out with the next test's "start" (flushed: the worker times
            # each test from its start) or at the end, one write and one wake-up of the worker per test
            out = os.fdopen(wfd, "w")
            cached = set(_compiled()) if not mutant else None  # a baseline child says what it compiled
            # the stop rule as plain data, applied inline: when testplan audits itself, this child's
            # own modules are the scratch copy's mutants, and with MUTANT_UNDER_TEST=fail any call of
            # a testplan function here (StopRule's methods) would raise before the first test
            groups = None if rule is None else list(rule.groups)
            judges = set() if rule is None else rule.judges
            settle = frozenset() if rule is None else rule.settle
            for index, item in enumerate(items):
                if groups is not None and not (any(item.nodeid in g for g in groups) if item.nodeid in judges
                                               else bool(groups)):
                    continue  # its requirements' statuses are settled (StopRule.wanted)
                out.write(json.dumps({"ev": "start", "id": item.nodeid}) + "\n")
                out.flush()
                started = time.perf_counter()
                nextitem = items[index + 1] if index + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                verdict = self.verdict.get(item.nodeid, "crash")
                out.write(json.dumps({"ev": "done", "id": item.nodeid, "v": verdict,
                                      "dur": time.perf_counter() - started,
                                      "setup": self.setup_seconds.get(item.nodeid, 0.0),
                                      "mem": item.nodeid in self.memory_hits}) + "\n")
                if item.nodeid in self.memory_hits and self._reserve is None:
                    self._reserve = bytearray(RESERVE_BYTES)
                if groups is not None and verdict in settle:  # StopRule.note, then StopRule.done
                    groups = [g for g in groups if item.nodeid not in g]
                    if not groups:
                        break
            if cached is not None:
                out.write(json.dumps({"ev": "patterns", "p": [k for k in _compiled() if k not in cached]}) + "\n")
            out.close()
        finally:
            os._exit(0)

    # --- worker side --------------------------------------------------------------------------
    def _spawn(self, items: list, mutant: str, rule: StopRule | None) -> dict:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.setpgid(0, 0)  # its own group: whatever its tests start is killed with it
            except OSError:
                pass
            os.close(read)
            self._child(write, items, mutant, rule)
        try:
            os.setpgid(pid, pid)  # (both sides: no race with a kill right after the fork)
        except OSError:
            pass
        os.close(write)
        return {"pid": pid, "fd": read, "buf": b"", "items": items, "mutant": mutant, "t0": time.perf_counter(),
                "cur": None, "deadline": time.monotonic() + IDLE_SECONDS}

    def run_pool(self, tasks: list[tuple], timeouts: dict[str, float], workers: int, on_done) -> None:
        """tasks: (key, mutant name, items, rule spec, case). Calls ``on_done(key, verdicts, durations)``
        when every test of a task that its rule wants has a verdict. Suite order is kept inside a
        task. A rule spec (``{"groups": [[nodeid, ...], ...], "settle": [verdict, ...]}``, see
        :class:`~testplan.mutate.outcome.StopRule`; None: every test runs) is replayed on the
        task's verdicts so far whenever a child (re)starts, so a resumed task runs only what is
        still wanted. A task with a ``case`` is dropped (reported with what it has) once another
        task of that case has a killing verdict."""
        queue = deque(tasks)
        outstanding = {key: 1 for key, *_ in tasks}
        verdicts: dict[str, dict[str, str]] = {key: {} for key, *_ in tasks}
        durations: dict[str, dict[str, float]] = {key: {} for key, *_ in tasks}
        running: dict[int, dict] = {}
        settled_cases: set[str] = set()

        def done(key: str, case: str | None) -> None:
            outstanding[key] -= 1
            if outstanding[key] == 0:
                if case is not None and any(v in KILLING for v in verdicts[key].values()):
                    settled_cases.add(case)
                on_done(key, verdicts[key], durations[key])

        def finish(child: dict, resume: bool) -> None:
            key = child["key"]
            if resume and child["cur"] is not None:
                ids = [i.nodeid for i in child["items"]]
                rest = child["items"][ids.index(child["cur"]) + 1:]
                if rest:
                    queue.appendleft((key, child["mutant"], rest, child["spec"], child["case"]))
                    return  # outstanding unchanged: the resumed segment replaces this one
            done(key, child["case"])

        def start(key: str, mutant: str, items: list, spec: dict | None, case: str | None) -> None:
            rule = None
            if spec is not None:
                rule = StopRule(spec["groups"], spec["settle"])
                for nodeid, verdict in verdicts[key].items():
                    rule.note(nodeid, verdict)
                items = [i for i in items if rule.wanted(i.nodeid)]
            if not items or (rule is not None and rule.done()) or (case is not None and case in settled_cases):
                done(key, case)
                return
            child = self._spawn(items, mutant, rule)
            child.update(key=key, spec=spec, case=case)
            running[child["fd"]] = child

        def ended(fd: int, child: dict) -> None:
            """The child exited (EOF, or seen exiting while a process it forked keeps the pipe)."""
            os.close(fd)
            del running[fd]
            self._reap(child["pid"])
            self.child_seconds[child["key"]] = (self.child_seconds.get(child["key"], 0.0)
                                                + time.perf_counter() - child["t0"])
            if child["cur"] is not None:  # died inside a test (os._exit, segfault, ...)
                verdicts[child["key"]][child["cur"]] = "crash"
            finish(child, resume=child["cur"] is not None)

        try:
            while queue or running:
                while queue and len(running) < workers:
                    start(*queue.popleft())
                now = time.monotonic()
                wait = max(0.0, min([c["deadline"] - now for c in running.values()] + [POLL_SECONDS]))
                ready, _, _ = select.select(list(running), [], [], wait)

                for fd in ready:
                    child = running[fd]
                    if self._read(child, timeouts, verdicts, durations):
                        continue
                    ended(fd, child)
                for fd, child in list(running.items()):
                    if fd not in ready and _exited(child["pid"]):
                        while select.select([fd], [], [], 0)[0] and self._read(child, timeouts, verdicts, durations):
                            pass
                        ended(fd, child)
                now = time.monotonic()
                for fd, child in list(running.items()):
                    if now > child["deadline"]:
                        _kill(child["pid"])
                        os.close(fd)
                        del running[fd]
                        if child["cur"] is not None:
                            verdicts[child["key"]][child["cur"]] = "timeout"
                        finish(child, resume=True)
        finally:
            for fd, child in running.items():  # Stop, or an error: no child may outlive the worker
                _kill(child["pid"])
                os.close(fd)

    def _read(self, child: dict, timeouts, verdicts, durations) -> bool:
        """Read and handle what the child wrote; False at EOF."""
        data = os.read(child["fd"], 65536)
        if not data:
            return False
        child["buf"] += data
        *lines, child["buf"] = child["buf"].split(b"\n")
        for line in lines:
            self._event(child, json.loads(line), timeouts, verdicts, durations)
        return True

    def _reap(self, pid: int) -> None:
        """Kill what is left of an exited child's group, reap it, keep its peak RSS."""
        _kill_group(pid)
        try:
            _, _, usage = os.wait4(pid, 0)
        except ChildProcessError:
            return
        self.peak_kb = max(self.peak_kb, usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss)

    def _event(self, child: dict, event: dict, timeouts, verdicts, durations) -> None:
        now = time.monotonic()
        if event["ev"] == "start":
            child["cur"] = event["id"]
            child["deadline"] = now + timeouts.get(event["id"], IDLE_SECONDS)
        elif event["ev"] == "patterns":
            self.patterns.update(map(tuple, event["p"]))
        elif event["ev"] == "done":
            verdicts[child["key"]][event["id"]] = event["v"]
            durations[child["key"]][event["id"]] = event["dur"]
            durations[child["key"]]["setup:" + event["id"]] = event["setup"]
            if event.get("mem"):
                self.memory_reports.setdefault(child["key"], []).append(event["id"])
                os.write(2, (f"testplan: {child['mutant'] or 'baseline'}: {event['id']}: MemoryError at the memory "
                             f"limit ({(self.memory_limit or 0) >> 20} MB): verdict crash (memory)\n").encode())
            child["cur"] = None
            child["deadline"] = now + IDLE_SECONDS

    def emit(self, **event) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    @_pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        try:
            self._loop(session)
        except Stop:
            self.emit(ev="interrupted")
        return True

    def _loop(self, session) -> None:
        job = self.job
        if session.testsfailed:
            self.emit(ev="error", kind="collection",
                      message=f"{session.testsfailed} collection error(s) in the scratch copy")
            return
        by_id = {item.nodeid: item for item in session.items}
        missing = [n for n in job["tests"] if n not in by_id]
        traced = set(job.get("trace_tests", job["tests"]))
        extra = [item.nodeid for item in session.items if item.nodeid not in traced]
        self.emit(ev="collected", n=len(session.items), missing=missing, extra=extra[:EXTRA_SHOWN], extra_count=len(extra))
        if missing:
            return
        order = {item.nodeid: n for n, item in enumerate(session.items)}

        def items_of(nodeids):
            return [by_id[n] for n in sorted(set(nodeids), key=order.__getitem__)]

        live = {}
        for module, path in job["modules"].items():
            live[module] = _module_file(module)
        self.emit(ev="live", modules=live)
        expected = {m: os.path.realpath(p) for m, p in job["modules"].items()}
        if any(live[m] != expected[m] for m in expected):
            return
        gc.freeze()  # copy-on-write friendly forks
        durations = dict(job["durations"])
        base_items = items_of(job["tests"])

        results: dict[str | int, tuple[dict, dict]] = {}

        def keep(key, verdicts, durs):
            results[key] = (verdicts, durs)

        lazy = bool(job.get("lazy_baseline"))
        if lazy:  # the trace's durations, its tests' longest setup and its peak RSS stand in for the baseline's
            limit_mb = memory_limit_mb(job, job.get("trace_peak_mb") or 0.0)
            self.memory_limit = limit_mb << 20
            timeouts = mutant_timeouts(job, {})
        else:
            verdicts, durs = self._baseline(job["tests"], items_of, durations, keep, results)
            peak_mb = self.peak_kb / 1024
            limit_mb = memory_limit_mb(job, peak_mb)
            self.memory_limit = limit_mb << 20
            tests_seconds = {k: v for k, v in durs.items() if not k.startswith("setup:")}
            self.emit(ev="baseline", verdicts=verdicts, durations=tests_seconds,
                      child_overhead=round(self._overhead(tests_seconds), 4), peak_mb=round(peak_mb, 1),
                      memory_limit_mb=limit_mb)
            if any(verdicts.get(n) != "pass" for n in job["tests"]):
                return
            _warm(self.patterns)
            timeouts = mutant_timeouts(job, durs)
        # forced-fail: every test until the first one that notices (any killing verdict)
        self.run_pool([("fail", "fail", base_items, {"groups": [job["tests"]], "settle": KILLING}, None)],
                      timeouts, 1, keep)
        forced = results["fail"][0]
        self.emit(ev="forced_fail", verdicts=forced)
        if all(v == "pass" for v in forced.values()):
            return

        tasks = [(task["id"], task["name"], items_of(task["tests"]), task.get("rule"), None) for task in job["tasks"]]
        ran: dict[str, dict[str, str]] = {}

        def report(key, verdicts, durs):
            ran[key] = verdicts
            self.emit(ev="mutant", id=key, verdicts=verdicts, memory=self.memory_reports.pop(key, []),
                      seconds=round(self.child_seconds.get(key, 0.0), 4))

        self.run_pool(tasks, timeouts, job["workers"], report)
        if job.get("cases"):
            for key, verdicts in self._complete_cases(job, ran, items_of, timeouts).items():
                ran[key] = {**ran.get(key, {}), **verdicts}
        if lazy:
            self._confirm(job, ran, items_of, timeouts, limit_mb, keep, results)
        self.emit(ev="done")

    def _baseline(self, nodeids: list[str], items_of, durations: dict[str, float], keep, results) -> tuple[dict, dict]:
        """Run ``nodeids`` unmutated, as :func:`baseline_segments` side by side (generous timeouts):
        their verdicts and durations (``setup:<nodeid>`` keys for their setup phases), in suite order."""
        generous = generous_timeouts(self.job, nodeids)
        # the baseline's segments are tasks "base0", "base1", ...: keys no mutant ID can be
        parts = baseline_segments(nodeids, durations, self.job["workers"])
        self._parts = [f"base{n}" for n in range(len(parts))]
        self.run_pool([(key, "", items_of(part), None, None) for key, part in zip(self._parts, parts)], generous,
                      self.job["workers"], keep)
        verdicts, durs = {}, {}
        for key in self._parts:  # suite order: the segments are contiguous
            verdicts.update(results[key][0])
            durs.update(results[key][1])
        return verdicts, durs

    def _overhead(self, tests_seconds: dict[str, float]) -> float:
        """What a baseline child cost besides its tests' own time: fork, start-up, exit, reaping (per child)."""
        spent = sum(self.child_seconds.get(key, 0.0) for key in self._parts)
        return max(0.0, (spent - sum(tests_seconds.values())) / len(self._parts))

    def _confirm(self, job: dict, ran: dict[str, dict[str, str]], items_of, timeouts, limit_mb: int,
                 keep, results) -> None:
        """A lazy baseline: after the mutants, what each mutant's verdicts rest on runs unmutated.
        For a mutant with killing verdicts: the tests it ran in the files of its killing tests, up
        to the last of them, in suite order (a test that counts on an earlier test of its file, as
        serially, finds it run here as it was for the mutant); the tests that passed on mutated code
        need no such run. Identical runs are made once. Emits ``baseline`` with the killing tests'
        verdicts: one that is not ``pass`` means a kill is not to be trusted (the lab stops, as after
        an eager baseline). ``slow``: the tests with a ``timeout`` verdict whose unmutated run (setup
        included, as a test's deadline counts it) took at least their timeout, which came from the
        trace's duration: their timeout verdicts say nothing of the mutants."""
        runs: dict[tuple[str, ...], set[str]] = {}  # a run unmutated -> the killing tests it confirms
        for verdicts in ran.values():
            order = list(verdicts)
            killers = [n for n in order if verdicts[n] in KILLING]
            if not killers:
                continue
            files = {n.partition("::")[0] for n in killers}
            last = max(order.index(n) for n in killers)
            run = tuple(n for n in order[:last + 1] if n.partition("::")[0] in files)
            runs.setdefault(run, set()).update(killers)
        keys = [f"confirm{index}" for index in range(len(runs))]
        self.run_pool([(key, "", items_of(run), None, None) for key, run in zip(keys, runs)],
                      generous_timeouts(job, job["tests"]), job["workers"], keep)
        verdicts: dict[str, str] = {}
        durs: dict[str, float] = {}  # each killing test's seconds in the first run that has it, setup included
        for key, (run, killers) in zip(keys, runs.items()):
            run_verdicts, run_seconds = results[key]
            for nodeid in sorted(killers, key=run.index):
                if verdicts.get(nodeid, "pass") == "pass":
                    verdicts[nodeid] = run_verdicts.get(nodeid, "crash")
                durs.setdefault(nodeid, run_seconds.get(nodeid, 0.0))
        timed_out = {n for mutant in ran.values() for n, v in mutant.items() if v == "timeout"}
        # a test whose unmutated run alone takes its timeout: its timeout verdicts say nothing of the mutants
        slow = [n for n in job["tests"] if n in timed_out and durs.get(n, 0.0) >= timeouts[n]]
        self._parts = keys
        ran_seconds = {f"{key}\x00{n}": v for key in keys for n, v in results[key][1].items() if not n.startswith("setup:")}
        self.emit(ev="baseline", verdicts={n: verdicts[n] for n in job["tests"] if n in verdicts},
                  durations={n: durs[n] for n in job["tests"] if n in durs},
                  child_overhead=round(self._overhead(ran_seconds), 4) if keys else 0.0,
                  peak_mb=round(self.peak_kb / 1024, 1), memory_limit_mb=limit_mb, lazy=True, slow=slow)

    def _complete_cases(self, job: dict, ran: dict[str, dict[str, str]], items_of, timeouts) -> dict[str, dict[str, str]]:
        """After a decisive run: the runs :func:`~testplan.mutate.outcome.case_completion` says
        the cases still need, each stopped at its first killing verdict, a case's remaining runs
        dropped at its first kill. Emits one ``extra`` event per run (mutant ID, verdicts), and
        returns what they added per mutant."""
        known = {m: {"name": v["name"], "tests": v["tests"], "verdicts": dict(v["verdicts"])}
                 for m, v in job.get("known", {}).items()}
        for task in job["tasks"]:
            known[task["id"]] = {"name": task["name"], "tests": task["tests"], "verdicts": dict(ran.get(task["id"], {}))}
        runs = case_completion(job["cases"], known)
        tasks = [(f"{case}\x00{mutant}", known[mutant]["name"], items_of(tests), {"groups": [tests], "settle": KILLING},
                  case) for case, mutant, tests in runs]
        added: dict[str, dict[str, str]] = {}

        def report(key, verdicts, durs):
            if verdicts:
                mutant = key.split("\x00", 1)[1]
                added.setdefault(mutant, {}).update(verdicts)
                self.emit(ev="extra", id=mutant, verdicts=verdicts, memory=self.memory_reports.pop(key, []))

        self.run_pool(tasks, timeouts, job["workers"], report)
        return added


def mutant_timeouts(job: dict, durs: dict[str, float]) -> dict[str, float]:
    """Each test's timeout on a mutant: ``timeout_multiplier`` times (its longer duration, in the
    baseline's runs ``durs`` or the trace's ``job["durations"]``, plus the longest setup phase, in
    ``durs``' ``setup:<nodeid>`` keys or the trace's ``job["setup_seconds"]``), at least
    ``timeout_min_seconds``. A test without a duration counts 0 s."""
    trace = job["durations"]
    setup = max([v for k, v in durs.items() if k.startswith("setup:")] + [float(job.get("setup_seconds") or 0.0)])
    return {n: max(job["timeout_min_seconds"], job["timeout_multiplier"] * (max(durs.get(n, 0.0), trace.get(n, 0.0)) + setup))
            for n in job["tests"]}


def generous_timeouts(job: dict, nodeids: list[str]) -> dict[str, float]:
    """The timeouts of tests run unmutated (a baseline): 10 x the multiplier x the trace's duration
    (1 s without one), at least 60 s."""
    return {n: max(60.0, 10 * job["timeout_multiplier"] * job["durations"].get(n, 1.0)) for n in nodeids}


def memory_limit_mb(job: dict, peak_mb: float) -> int:
    """The memory limit of a mutant's child: ``memory_limit_mb`` when the project sets it, else
    :data:`DEFAULT_MEMORY_MB` or 4 x ``peak_mb`` (the baseline's children's, or the trace's), the larger."""
    return job.get("memory_limit_mb") or max(DEFAULT_MEMORY_MB, int(4 * peak_mb))


def baseline_segments(nodeids: list[str], durations: dict[str, float], workers: int) -> list[list[str]]:
    """The baseline's tests (in suite order) cut into at most ``workers`` contiguous runs of about
    the same trace time, to run side by side, never inside a test file: a file's tests run in one
    child in the file's order, so a test that counts on an earlier test of its file (as serially)
    still finds its state. Each run starts in its own child from the state right after collection,
    as every mutant's tests do. A file goes to the next run when its midpoint lies past the current
    run's share; a test the trace did not time counts 1 ms. Never empty: no test gives one empty run."""
    files: list[list[str]] = []
    for nodeid in nodeids:
        if files and files[-1][0].partition("::")[0] == nodeid.partition("::")[0]:
            files[-1].append(nodeid)
        else:
            files.append([nodeid])
    cost = [sum(max(durations.get(n, 0.0), 0.001) for n in file) for file in files]
    total, wanted = sum(cost), max(1, min(workers, len(files)))
    runs: list[list[str]] = []
    current: list[str] = []
    spent = 0.0
    for file, seconds in zip(files, cost):
        if current and len(runs) < wanted - 1 and spent + seconds / 2 > total * (len(runs) + 1) / wanted:
            runs.append(current)
            current = []
        current.extend(file)
        spent += seconds
    runs.append(current)
    return runs


def _compiled() -> list[tuple[str, int]]:
    """The (pattern, flags) of the ``str`` regexes in the ``re`` module's cache."""
    import re

    return [(key[1], key[2]) for key in list(getattr(re, "_cache", {}))
            if isinstance(key, tuple) and len(key) == 3 and key[0] is str and isinstance(key[2], int)]


def _warm(patterns) -> None:
    """Compile in the worker the regexes its baseline children compiled while running the tests
    (a parser that compiles its patterns on first use, as mistune does, made each mutant's child
    compile them again: a third of a child's time there). ``re`` caches them, so every child
    forked afterwards finds them compiled; the cache holds equivalent pattern objects either way,
    so no verdict changes. Then frozen with the rest of the worker's objects."""
    import re

    for pattern, flags in patterns:
        try:
            re.compile(pattern, flags)
        except (re.error, TypeError, ValueError, OverflowError):
            pass
    gc.freeze()


def _kill_group(pid: int) -> None:
    """SIGKILL the process group a child leads (and the child, in case it had not made it yet)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _kill(pid: int) -> None:
    _kill_group(pid)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _exited(pid: int) -> bool:
    """Whether a child has exited, without reaping it (its group ID stays taken until then)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
    except ChildProcessError:
        return True


def _limit_memory(limit: int) -> None:
    """Cap the data segment (heap and private mappings, what Python allocates) of this process."""
    import resource

    which = getattr(resource, "RLIMIT_DATA", resource.RLIMIT_AS)
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(which, (limit, hard))
    except (ValueError, OSError):
        pass


def _module_file(module: str) -> str | None:
    """Where ``module`` is imported from (without importing it when it is not loaded yet)."""
    import importlib.util

    loaded = sys.modules.get(module)
    path = getattr(loaded, "__file__", None) if loaded is not None else None
    if path is None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        path = spec.origin if spec is not None else None
    return os.path.realpath(path) if path else None


def _fix_sys_path(job: dict) -> None:
    """The scratch copy's source roots first; no source directory of the user's tree (an editable
    install or a PYTHONPATH would otherwise import the unmutated package). Installed packages stay,
    even when the virtualenv lives inside the project."""
    user_root = os.path.realpath(job["user_root"])
    scratch = os.path.realpath(job["scratch"])
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix)}

    def under(path: str, directory: str) -> bool:
        return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)

    def from_user_tree(entry: str) -> bool:
        real = os.path.realpath(entry or ".")
        if not under(real, user_root) or under(real, scratch):
            return False
        if any(under(real, prefix) for prefix in prefixes):
            return False
        return not ({"site-packages", "dist-packages"} & set(real.split(os.sep)))

    sys.path[:] = list(job["sys_path"]) + [p for p in sys.path if p and not from_user_tree(p)]


def _forget_shadowed(job: dict) -> list[str]:
    """Drop from ``sys.modules`` the modules to mutate that were imported before the sys.path fix
    from elsewhere than the scratch copy (pytest's own dependencies, iniconfig or pluggy, when
    they are the project under test: this module imports pytest), so the tests import the scratch
    copy. pytest keeps its reference to the old module. Returns the names dropped."""
    wanted = {name: os.path.realpath(path) for name, path in job["modules"].items()}
    dropped = []
    for name, expected in wanted.items():
        loaded = sys.modules.get(name)
        path = getattr(loaded, "__file__", None) if loaded is not None else None
        if path is not None and os.path.realpath(path) != expected:
            del sys.modules[name]
            dropped.append(name)
    return sorted(dropped)


def _expand(job: dict) -> None:
    """A task's tests and its rule's groups come as ranges of indexes into ``job["tests"]``
    ("0-52,60", :func:`~testplan.ranges.index_ranges`); they become lists of those nodeids in
    the ranges' order (the same ``str`` objects: a test named by a thousand tasks is one string
    in the worker)."""
    names = job["tests"]

    def nodeids(text: str) -> list[str]:
        return [names[i] for i in parse_index_ranges(text)]

    for task in job["tasks"]:
        task["tests"] = nodeids(task["tests"])
        if task.get("rule"):
            task["rule"]["groups"] = [nodeids(group) for group in task["rule"]["groups"]]


def main(argv: list[str]) -> int:
    job_path, event_fd = argv[0], int(argv[1])
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    _expand(job)
    events = os.fdopen(event_fd, "w", buffering=1)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    os.environ.pop("MUTANT_UNDER_TEST", None)
    _fix_sys_path(job)
    _forget_shadowed(job)
    driver = Driver(job, events)
    import pytest

    try:  # testplan.determinism: Hypothesis derandomized, no example database (as in the trace)
        code = pytest.main(["-p", "testplan.determinism", *job["pytest_args"]], plugins=[driver])
    except Stop:
        driver.emit(ev="interrupted")
        code = 2
    events.close()
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
