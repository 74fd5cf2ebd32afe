"""One classifier: the verdicts of a mutant's tests -> its status.

``killed`` (some test's assertion failed) > ``timeout`` (no assertion noticed it, but a test ran
past its deadline: an infinite loop is as detected as a wrong answer) > ``killed-by-crash``
(only exceptions escaping the code noticed it, not an oracle) > ``survived``. A mutant no test
of its requirement executes is ``no-coverage`` and is not run.
"""

from __future__ import annotations

from collections.abc import Iterable

DETECTED = ("killed", "timeout", "killed-by-crash")


def status(verdicts: dict[str, str], judges: Iterable[str]) -> str:
    """Status from the verdicts of the ``judges`` (the tests linked to the mutant's requirements;
    every selected test for a mutant outside all requirements)."""
    seen = {verdicts[n] for n in judges if n in verdicts}
    if not seen:
        return "no-coverage"
    if "assert" in seen:
        return "killed"
    if "timeout" in seen:
        return "timeout"
    if "crash" in seen:
        return "killed-by-crash"
    return "survived"
