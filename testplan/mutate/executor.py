"""Runs the warm worker (:mod:`testplan.mutate.worker`) and collects its events.

The worker is a separate Python process (the user's tests are never imported into the testplan
process) started in its own session with the scratch copy as cwd, so:

* Ctrl-C reaches testplan only; testplan then sends SIGTERM to the worker, which kills its
  children and reports ``interrupted``; whatever finished is kept (partial result);
* at the end the whole process group is SIGKILLed before the worker is reaped, so no child
  (nor a process a test spawned) outlives the run;
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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..determinism import HASH_SEED, hash_seed
from ..errors import TestplanError

STOP_GRACE_SECONDS = 10.0


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
               on_mutant: Callable[[str, dict[str, str]], None] | None = None) -> WorkerResult:
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
        elif kind == "forced_fail":
            result.forced_fail = event["verdicts"]
        elif kind == "mutant":
            result.mutants[event["id"]] = event["verdicts"]
            if on_mutant is not None:
                on_mutant(event["id"], event["verdicts"])
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
    # Ctrl-C is held back until we own the worker's pid: the worker runs in its own session (so
    # Ctrl-C reaches testplan only), and a KeyboardInterrupt between its fork and the ``finally``
    # below would leave it running on its own.
    deferred = _DeferredInterrupt()
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "testplan.mutate.worker", str(job_path), str(write_fd)],
                cwd=scratch, env=env, pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
    except BaseException:
        deferred.restore()
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    try:
        try:
            deferred.restore()  # a Ctrl-C that came meanwhile is raised here
            while pump(1.0):
                pass
        except KeyboardInterrupt:
            result.interrupted = True
            _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            try:
                while time.monotonic() < deadline and pump(max(0.0, deadline - time.monotonic())):
                    pass
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                pass
    finally:
        deferred.restore()
        os.close(read_fd)
        _reap(proc)
        result.returncode = proc.returncode
        result.seconds = time.perf_counter() - started
    return result


class _DeferredInterrupt:
    """Replaces the SIGINT handler with one that only takes note; ``restore`` puts the previous
    handler back and raises KeyboardInterrupt if Ctrl-C came in between. Off the main thread
    (where Python delivers no signals) it does nothing."""

    def __init__(self) -> None:
        self.pending = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._note)

    def _note(self, signum, frame) -> None:
        self.pending = True

    def restore(self) -> None:
        if self.previous is None:
            return
        previous, self.previous = self.previous, None
        signal.signal(signal.SIGINT, previous)
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(proc: subprocess.Popen) -> None:
    """Wait for the worker (killing it after a grace period), then SIGKILL its process group while
    the worker is still a zombie (so the group ID cannot have been reused), then reap it."""
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while True:
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:
            info = None
            break
        if info is not None:
            break
        if time.monotonic() > deadline:
            _signal_group(proc.pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.02)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
