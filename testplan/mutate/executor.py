"""Runs the warm worker (:mod:`testplan.mutate.worker`) and collects its events.

The worker is a separate Python process (the user's tests are never imported into the testplan
process) started in its own session with the scratch copy as cwd, so:

* Ctrl-C reaches testplan only; testplan then sends SIGTERM to the worker, which kills its
  children and reports ``interrupted``; whatever finished is kept (partial result);
* at the end the whole process group is SIGKILLed before the worker is reaped, so no child
  (nor a process a test spawned) outlives the run (:mod:`testplan.process`);
* the events are read until the worker is done or has exited, never until every copy of the
  pipe is closed (a process a test forked may keep one open);
* it runs with the trace's ``PYTHONHASHSEED`` (:func:`worker_env`), so it collects the same
  test IDs in the same order as the trace did.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..determinism import HASH_SEED, hash_seed
from ..errors import TestplanError
from ..process import STOP_GRACE_SECONDS, exited, signal_group, start_in_group, stop_group


class WorkerError(TestplanError):
    """The worker process died without finishing (an internal error; its log says why)."""

    slug = "mutation-worker"


@dataclass
class WorkerResult:
    collected: int | None = None
    missing: list[str] = field(default_factory=list)  # tests of the job the worker did not collect
    extra: list[str] = field(default_factory=list)  # tests it collected that the trace did not have (the first few)
    extra_count: int = 0
    live: dict[str, str | None] | None = None
    baseline: dict[str, str] | None = None
    baseline_durations: dict[str, float] = field(default_factory=dict)
    forced_fail: dict[str, str] | None = None
    mutants: dict[str, dict[str, str]] = field(default_factory=dict)
    child_seconds: dict[str, float] = field(default_factory=dict)  # mutant ID -> wall time of its children
    # mutant ID -> the verdicts the case completion of a decisive run added (``extra`` events)
    completion: dict[str, dict[str, str]] = field(default_factory=dict)
    # mutant ID -> the tests whose run hit the memory limit (their verdict is ``crash``)
    memory: dict[str, list[str]] = field(default_factory=dict)
    memory_limit_mb: int | None = None
    child_overhead: float = 0.0  # the baseline children's wall time minus their tests' durations, per child
    baseline_peak_mb: float | None = None
    # a lazy baseline (after the mutants, only the tests that gave a killing verdict): its tests with
    # a ``timeout`` verdict whose unmutated run says their timeout was too short
    baseline_lazy: bool = False
    slow: list[str] = field(default_factory=list)
    error: str | None = None
    done: bool = False
    interrupted: bool = False
    returncode: int | None = None
    seconds: float = 0.0


def worker_env(job: dict, scratch: Path) -> dict[str, str]:
    """The worker's environment: ours without a mutant selected, no bytecode, Hypothesis' files
    in the scratch copy, and the trace's PYTHONHASHSEED (``job["hash_seed"]``; without one, the
    seed a trace in this environment would pin), so the worker collects the trace's test IDs."""
    env = dict(os.environ)
    env.pop("MUTANT_UNDER_TEST", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(Path(scratch) / ".hypothesis")
    seed = job.get("hash_seed")
    env[HASH_SEED] = str(hash_seed(env) if seed is None else seed)
    return env


def run_worker(job: dict, *, scratch: Path, job_path: Path, log_path: Path,
               on_mutant: Callable[[str, dict[str, str], float], None] | None = None,
               on_baseline: Callable[[dict[str, float], float], None] | None = None) -> WorkerResult:
    """Start the worker on ``job`` and wait for it; KeyboardInterrupt stops it cleanly and
    returns the partial result with ``interrupted`` set."""
    job_path.parent.mkdir(parents=True, exist_ok=True)
    job_path.write_text(json.dumps(job), encoding="utf-8")
    env = worker_env(job, scratch)
    read_fd, write_fd = os.pipe()
    result = WorkerResult()
    buffer = b""

    def handle(line: bytes) -> None:
        event = json.loads(line)
        kind = event.pop("ev")
        if kind == "collected":
            result.collected, result.missing = event["n"], event["missing"]
            result.extra, result.extra_count = event.get("extra", []), event.get("extra_count", 0)
        elif kind == "live":
            result.live = event["modules"]
        elif kind == "baseline":
            result.baseline, result.baseline_durations = event["verdicts"], event["durations"]
            result.baseline_peak_mb = event.get("peak_mb")
            result.memory_limit_mb = event.get("memory_limit_mb")
            result.child_overhead = event.get("child_overhead", 0.0)
            result.baseline_lazy, result.slow = bool(event.get("lazy")), list(event.get("slow", []))
            if on_baseline is not None and all(v == "pass" for v in event["verdicts"].values()):
                on_baseline(event["durations"], event.get("child_overhead", 0.0))
        elif kind == "forced_fail":
            result.forced_fail = event["verdicts"]
        elif kind == "mutant":
            result.mutants[event["id"]] = event["verdicts"]
            result.child_seconds[event["id"]] = event.get("seconds", 0.0)
            if event.get("memory"):
                result.memory[event["id"]] = event["memory"]
            if on_mutant is not None:
                on_mutant(event["id"], event["verdicts"], event.get("seconds", 0.0))
        elif kind == "extra":
            result.completion.setdefault(event["id"], {}).update(event["verdicts"])
            if event.get("memory"):
                result.memory.setdefault(event["id"], []).extend(event["memory"])
        elif kind == "error":
            result.error = event["message"]
        elif kind == "done":
            result.done = True
        elif kind == "interrupted":
            result.interrupted = True

    def pump(timeout: float | None) -> bool:
        """Read what is there; False at EOF."""
        nonlocal buffer
        ready, _, _ = select.select([read_fd], [], [], timeout)
        if not ready:
            return True
        data = os.read(read_fd, 1 << 16)
        if not data:
            return False
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line:
                handle(line)
        return True

    started = time.perf_counter()
    # Ctrl-C is held back until we own the worker's pid (start_in_group): the worker runs in its
    # own session (so Ctrl-C reaches testplan only), and a KeyboardInterrupt between its fork and
    # the ``finally`` below would leave it running on its own.
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            proc = start_in_group(
                [sys.executable, "-m", "testplan.mutate.worker", str(job_path), str(write_fd)],
                cwd=scratch, env=env, pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    try:
        try:
            proc._testplan_deferred.restore()  # type: ignore[attr-defined]  (a Ctrl-C meanwhile is raised here)
            # until the worker says it is done or exits: not until every copy of the pipe closes
            while not result.done and pump(0.25 if exited(proc) else 1.0):
                if exited(proc) and not _readable(read_fd):
                    break
        except KeyboardInterrupt:
            result.interrupted = True
            signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            try:
                while (time.monotonic() < deadline and not exited(proc)
                       and pump(max(0.0, min(0.25, deadline - time.monotonic())))):
                    pass
                while _readable(read_fd) and pump(0):  # what it said before exiting
                    pass
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                pass
    finally:
        os.close(read_fd)
        # after "done" the worker has said all it will: its pytest session finish (a terminal
        # summary that may import Hypothesis, ~1 s) is not waited for
        stop_group(proc, grace=0.0 if result.done else STOP_GRACE_SECONDS)
        result.returncode = proc.returncode
        result.seconds = time.perf_counter() - started
    return result


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])
