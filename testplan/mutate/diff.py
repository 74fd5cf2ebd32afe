"""``--diff BASE``: mutate only the lines changed since a git revision (code-review mutation).

Changed lines are the added or modified lines of ``git diff -U0 BASE`` against the working tree
(uncommitted edits included); a file git does not track yet counts as changed everywhere.
Pure deletions change no line that is still there, so they select nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ..errors import InputError

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise InputError("--diff: git is not installed; install git or drop --diff") from None


def parse_diff(text: str) -> dict[str, set[int]]:
    """``git diff -U0`` output -> {path (as git shows it after 'b/'): added/modified line numbers}."""
    changed: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = None if target == "/dev/null" else changed.setdefault(target.removeprefix("b/"), set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            current.update(range(start, start + count))
    return changed


def changed_lines(root: Path, base: str, files: list[str]) -> dict[str, set[int] | None]:
    """{file relative to root: changed lines, or None when the whole file is new (untracked)}."""
    if _git(root, "rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        raise InputError(f"--diff {base}: {root} is not inside a git work tree; run without --diff or from a clone")
    if _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}").returncode != 0:
        raise InputError(f"--diff {base}: not a git revision here; pass a branch, tag or commit (e.g. origin/main)")
    result = _git(root, "diff", "--relative", "--no-color", "--no-ext-diff", "-U0", base, "--", *files)
    if result.returncode != 0:
        raise InputError(f"--diff {base}: git diff failed: {result.stderr.strip().splitlines()[-1:]}")
    changed: dict[str, set[int] | None] = dict(parse_diff(result.stdout))
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--", *files).stdout.split()
    for path in untracked:
        changed[path] = None
    return {f: changed[f] for f in files if f in changed}


def touches(lines: set[int] | None, start: int, end: int) -> bool:
    return lines is None or any(n in lines for n in range(start, end + 1))
