"""Dump every mutant of a finished ``mutmut run`` as JSON lines (run by compare_mutmut.py).

Runs with the *project's* interpreter (mutmut 3.8.1 installed there), with the mutmut copy of the
project as the working directory (mutmut reads ``mutants/`` and its config relative to the cwd).
One line per mutant: name, source path, exit code, status (mutmut's own ``status_by_exit_code``)
and the unified diff mutmut shows for it (``mutmut show NAME``), from which the comparison takes
the changed line and text. Only mutmut's read-side API is used: no mutant is applied.

Usage: python mutmut_dump.py OUT.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out: str) -> int:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    count = 0
    with open(out, "w", encoding="utf-8") as fh:
        for path in walk_mutatable_files():
            data = SourceFileMutationData(path=path)
            data.load()
            for name, exit_code in sorted(data.exit_code_by_key.items()):
                try:
                    diff = get_diff_for_mutant(name, path=path)
                except Exception as exc:  # a diff we cannot read still has a verdict
                    diff = f"!error {type(exc).__name__}: {exc}"
                fh.write(json.dumps({
                    "name": name, "path": Path(path).as_posix(), "exit_code": exit_code,
                    "status": status_by_exit_code[exit_code], "diff": diff,
                    "duration": (data.durations_by_key or {}).get(name),
                }) + "\n")
                count += 1
    print(f"{count} mutants dumped to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
