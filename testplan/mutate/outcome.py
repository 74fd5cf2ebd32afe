"""One classifier: the verdicts of a mutant's tests -> its status.

A requirement's tests are read in suite order, and the first of them that fails by an assertion
or runs past its deadline settles the status: ``killed`` (an assertion noticed it) or ``timeout``
(an infinite loop is as detected as a wrong answer; the tests after it are not run, so a
decisive run and the full matrix give the same status). With neither, ``killed-by-crash`` (only
exceptions escaping the code noticed it, not an oracle), else ``survived``. A mutant in the code
of several requirements is ``killed`` when one of them says so, else ``timeout`` when one does.
A mutant no test of its requirement executes is ``no-coverage`` and is not run.

Which of a mutant's tests must run for its status (:class:`StopRule`), and which more runs the
cases' states need after a decisive run (:func:`case_completion`), are decided here too.
"""

from __future__ import annotations

from collections.abc import Iterable

DETECTED = ("killed", "timeout", "killed-by-crash")


def status(verdicts: dict[str, str], judges: Iterable[str], groups: Iterable[Iterable[str]] | None = None) -> str:
    """Status from the verdicts (in suite order) of the ``judges`` (the tests linked to the
    mutant's requirements; every selected test for a mutant outside all requirements).
    ``groups``: the judges per requirement (default: one group), each settled by its own first
    ``assert`` or ``timeout`` (see the module's docstring)."""
    judges = set(judges)
    seen = {v for n, v in verdicts.items() if n in judges}
    if not seen:
        return "no-coverage"
    settled = set()
    for group in ([judges] if groups is None else [set(g) for g in groups]):
        first = next((v for n, v in verdicts.items() if n in group and v in SETTLING), None)
        if first is not None:
            settled.add(first)
    if "assert" in settled:
        return "killed"
    if "timeout" in settled:
        return "timeout"
    if "crash" in seen:
        return "killed-by-crash"
    return "survived"


KILLING = ("assert", "crash", "timeout")  # a (mutant, test) verdict that detects the mutant
SETTLING = ("assert", "timeout")  # a requirement's status is settled by one of these (see :class:`StopRule`)
MATRIX_MODES = ("decisive", "full")
# what settles a requirement's tests on a mutant (:class:`StopRule`), per mode: decisive, its
# status (the first assert or timeout); --fast, any kill; the full matrix, only a timeout (a
# hanging mutant pays it once per requirement, not on test after test: the status is settled)
SETTLE = {"decisive": SETTLING, "fast": KILLING, "full": ("timeout",)}


class StopRule:
    """When the rest of a mutant's tests can no longer change its status.

    ``groups``: for each requirement the mutant is in, the mutant's tests linked to it (for a
    mutant outside every requirement, under ``--all-tests``: all of them). A group is settled by
    one verdict in ``settle`` from one of its tests: with ``settle`` = :data:`SETTLING` an
    ``assert`` or a ``timeout`` settles the requirement's status (:func:`status`: the first of
    them in suite order decides), so the rest of its tests are not run and a timeout is paid once. A test outside
    every group (an ``--all-tests`` extra) runs while any group is unsettled; a test only in
    settled groups is not run. Empty groups are dropped (they have nothing to settle). The worker's
    child applies the same rule inline on these attributes (``Driver._child``): it must call no
    testplan function once a mutant is active, since testplan's own audit mutates this module.
    """

    def __init__(self, groups: Iterable[Iterable[str]], settle: Iterable[str]):
        self.groups = [set(g) for g in groups if g]
        self.settle = frozenset(settle)
        self.judges = set().union(*self.groups)

    def note(self, nodeid: str, verdict: str) -> None:
        if verdict in self.settle:
            self.groups = [g for g in self.groups if nodeid not in g]

    def done(self) -> bool:
        return not self.groups

    def wanted(self, nodeid: str) -> bool:
        if nodeid not in self.judges:
            return bool(self.groups)
        return any(nodeid in g for g in self.groups)


def case_completion(cases: list[dict], mutants: dict[str, dict]) -> list[tuple[str, str, list[str]]]:
    """The runs a decisive result still needs so that every case's VERIFIED/WEAK state is the one
    the full kill matrix gives. A case is VERIFIED when one of its tests has a killing verdict on
    one of its requirement's mutants; a decisive run stops a mutant at its first assertion kill,
    so a case whose tests were all cut off may have seen no kill. ``cases``: ``{"id", "tests",
    "mutants"}`` (the case's linked tests; the IDs of its requirement's mutants); ``mutants``:
    mutant ID -> ``{"tests": the mutant's selected tests, "verdicts": what ran so far}``.

    Returns ``(case ID, mutant ID, tests)`` for each unsettled case: its tests that cover the
    mutant and did not run on it, mutants some test killed first (most likely killable), then
    the others, each in ID order; the caller runs them and drops a case's remaining runs at its
    first killing verdict."""
    out = []
    for case in cases:
        tests = case["tests"]
        scope = [m for m in case["mutants"] if m in mutants]
        if any(mutants[m]["verdicts"].get(t) in KILLING for m in scope for t in tests):
            continue
        killed = [m for m in scope if "assert" in mutants[m]["verdicts"].values()]
        first = set(killed)
        rest = [m for m in scope if m not in first]
        for m in sorted(killed) + sorted(rest):
            todo = [t for t in mutants[m]["tests"] if t in tests and t not in mutants[m]["verdicts"]]
            if todo:
                out.append((case["id"], m, todo))
    return out
