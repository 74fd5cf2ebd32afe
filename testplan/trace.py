"""Run the project's tests once under coverage.py with per-test dynamic contexts -> TraceData.

TraceData is the contract between tracing and everything after it (mutation, score, reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    assertions: int = 0  # static count of assertion constructs in the test function
    flags: list[str] = field(default_factory=list)  # "no-assertion", "raises-without-match"


@dataclass
class TraceData:
    root: Path  # the project root the run used
    tests: list[TestRecord] = field(default_factory=list)  # suite order
    # nodeid -> {absolute resolved source file path: set of executed line numbers}
    lines: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    complete: bool = False

    def test(self, nodeid: str) -> TestRecord | None:
        return next((t for t in self.tests if t.nodeid == nodeid), None)

    def covering(self, file: Path, line: int) -> list[str]:
        """Nodeids (suite order) whose run executed ``file:line``."""
        key = str(file.resolve())
        return [t.nodeid for t in self.tests if line in self.lines.get(t.nodeid, {}).get(key, set())]
