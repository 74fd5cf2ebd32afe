"""One exception hierarchy, caught in exactly one place (``cli.main``) and mapped to exit codes.

Exit codes (DESIGN.md section 6): 0 gate passed, 1 gate failed, 2 bad input or usage,
3 baseline tests fail, 4 incomplete run, 70 internal error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    GATE_FAILED = 1
    BAD_INPUT = 2
    BASELINE_FAILING = 3
    INCOMPLETE = 4
    INTERNAL = 70


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in a user's file: printed as ``path:line: message``."""

    path: str
    line: int
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {prefix}{self.message}"


class TestplanError(Exception):
    """Base of every error testplan reports to a user. ``str(err)`` is one line."""

    __test__ = False  # not a pytest test class, despite the name
    exit_code: ExitCode = ExitCode.INTERNAL
    slug = "error"


class InputError(TestplanError):
    """Bad input: a malformed file, an unknown ID, a bad flag value."""

    exit_code = ExitCode.BAD_INPUT
    slug = "bad-input"

    def __init__(self, message: str, path: str | Path | None = None, line: int = 0):
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self.finding) if self.path else message)

    @property
    def finding(self) -> Finding:
        return Finding(self.path or "", self.line, self.message)


class BaselineError(TestplanError):
    """The tests fail before any mutant runs (or cannot be collected at all)."""

    exit_code = ExitCode.BASELINE_FAILING
    slug = "baseline-failing"


class IncompleteError(TestplanError):
    """The run did not finish: interrupted, shard missing, budget exceeded."""

    exit_code = ExitCode.INCOMPLETE
    slug = "incomplete"


class ProviderError(TestplanError):
    """An LLM provider failed (refusal, invalid output, HTTP error, timeout): the enumeration
    did not complete (exit 4). Configuration problems (no key, 401, 400) are InputErrors."""

    exit_code = ExitCode.INCOMPLETE
    slug = "provider"


class SigtermAsInterrupt:
    """SIGTERM (a CI job cancelled, ``kill``) ends a run as Ctrl-C does: KeyboardInterrupt in the
    main thread, so the partial result is saved, child processes are killed and the exit is 4.
    Nests: the previous handler is put back on exit."""

    def __enter__(self):
        import signal
        import threading

        self.previous = None
        if threading.current_thread() is threading.main_thread():
            def raise_interrupt(signum, frame):
                raise KeyboardInterrupt()
            self.previous = signal.signal(signal.SIGTERM, raise_interrupt)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            import signal

            signal.signal(signal.SIGTERM, self.previous)
        return False
