"""Child processes that run the user's tests: each in its own session (so Ctrl-C reaches testplan
only, and the whole group can be killed), waited for by the child's exit, never by its pipes
(a process a test forked may hold them open forever), and killed with everything it started.

:func:`run_in_group` runs one command to completion (the trace); :func:`start_in_group` and
:func:`stop_group` are its two halves, for a caller that reads events meanwhile (the mutation
worker).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

STOP_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.05


class DeferredInterrupt:
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


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def start_in_group(command: Sequence[str], **popen: Any) -> subprocess.Popen:
    """``Popen(command, start_new_session=True, **popen)``; a Ctrl-C during the start is held
    back until the caller owns the pid (raise it by calling :func:`stop_group` in a ``finally``)."""
    deferred = DeferredInterrupt()
    try:
        proc = subprocess.Popen(list(command), start_new_session=True, **popen)
    except BaseException:
        deferred.restore()
        raise
    proc._testplan_deferred = deferred  # type: ignore[attr-defined]
    return proc


def exited(proc: subprocess.Popen) -> bool:
    """Whether ``proc`` has exited, without reaping it (its pid, hence its group ID, stays taken)."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
    except ChildProcessError:
        return True


def stop_group(proc: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """Wait up to ``grace`` seconds for ``proc`` to exit (then SIGKILL its group), SIGKILL its
    process group while it is still a zombie (so the group ID cannot have been reused), then reap
    it: nothing it started outlives it (short of a process that left the group with setsid)."""
    deferred = getattr(proc, "_testplan_deferred", None)
    deadline = time.monotonic() + grace
    try:
        while not exited(proc):
            if time.monotonic() > deadline:
                signal_group(proc.pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(POLL_SECONDS / 2)
    finally:
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        if deferred is not None:
            deferred.restore()


def run_in_group(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdout: IO, stderr: IO,
                 timeout: float | None = None) -> int | None:
    """Run ``command`` in its own session with its output going to files (never pipes) and
    wait for *it* to exit; then kill its whole group. Returns the exit code, or None when
    ``timeout`` seconds passed first. Ctrl-C (KeyboardInterrupt) kills the group and propagates."""
    proc = start_in_group(command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        proc._testplan_deferred.restore()  # type: ignore[attr-defined]  (a Ctrl-C meanwhile is raised here)
        while not exited(proc):
            if deadline is not None and time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(POLL_SECONDS)
    finally:
        stop_group(proc, grace=0.0)
    return None if timed_out else proc.returncode
