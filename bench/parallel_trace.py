#!/usr/bin/env python3
"""Parallel-trace benchmark (issue 15 item 3): the serial trace against ``--jobs N`` on a real project.

Runs :func:`testplan.trace.run_trace` on a project that ``testplan init`` has set up (for the
corpus projects: the ``testplan/`` copy ``compare_mutmut.py`` prepares under its workdir),
alternating serial and parallel ``--rounds`` times, each in a fresh interpreter of the project's
own venv (``VENV/bin/python``, which must have testplan installed), and prints each run's wall
seconds, the medians and their ratio, with the load average beside them. It then checks that the
last serial and parallel traces say the same: the tests in collection order with their links,
outcomes and failure classes, and the same lines per test.

    .venv/bin/python bench/parallel_trace.py PROJECT --venv VENV [--jobs 2] [--rounds 5]

e.g. ``bench/parallel_trace.py /work/bench-work/semver-3.1.1/testplan --venv /work/bench-work/semver-3.1.1/venv``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# runs in the project's venv: one trace, its wall time and what it says, as JSON on stdout
ONE_TRACE = r"""
import json, sys, time
from pathlib import Path
from testplan.config import load_config
from testplan.trace import run_trace

root, jobs = Path(sys.argv[1]), int(sys.argv[2])
config = load_config(root)
started = time.perf_counter()
trace = run_trace(config, jobs=jobs or None)
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "tests": [[t.nodeid, t.links, t.outcome, t.failure_class] for t in trace.tests],
    "lines": {n: {f: sorted(l) for f, l in per.items() if l} for n, per in trace.lines.items()},
}))
"""


def one(python: str, project: Path, jobs: int) -> dict:
    run = subprocess.run([python, "-c", ONE_TRACE, str(project), str(jobs)], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"trace with jobs={jobs} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--venv", type=Path, required=True, help="the project's venv, with testplan installed")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    python = str(args.venv / "bin" / "python")
    serial: list[float] = []
    parallel: list[float] = []
    last: dict[str, dict] = {}
    for round_ in range(1, args.rounds + 1):
        last["serial"] = one(python, args.project, 0)
        last["parallel"] = one(python, args.project, args.jobs)
        serial.append(last["serial"]["seconds"])
        parallel.append(last["parallel"]["seconds"])
        print(f"round {round_}: serial {serial[-1]:.2f} s, --jobs {args.jobs} {parallel[-1]:.2f} s "
              f"(load {os.getloadavg()[0]:.2f})", flush=True)
    s, p = statistics.median(serial), statistics.median(parallel)
    print(f"median: serial {s:.2f} s, --jobs {args.jobs} {p:.2f} s: {p / s:.2f}x")
    same = {key: last["serial"][key] == last["parallel"][key] for key in ("tests", "lines")}
    tests = len(last["serial"]["tests"])
    lines = sum(1 for n in last["serial"]["lines"] if last["serial"]["lines"][n] == last["parallel"]["lines"].get(n))
    print(f"same data: tests {same['tests']} ({tests}), lines per test {same['lines']} ({lines} of {tests} identical)")
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
