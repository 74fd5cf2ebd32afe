"""``testplan audit`` with explicit mutation options, through the library (run by compare_mutmut.py).

Used only while ``testplan audit`` has no ``--jobs``/``--fast`` flags: it does what the command
does (``run_audit`` with testplan's own mutation engine), passing ``jobs``/``fast`` to
``testplan.mutate.run_mutation``, and also saves the engine's run statistics (cache hits, seconds
per phase), which audit.json does not carry.

Usage: python audit_driver.py ROOT --jobs N [--fast] --stats STATS.json
Exit code: like ``testplan audit`` (0 pass, 1 gate failed, 3 baseline, 4 incomplete, 2 input).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--stats", type=Path, required=True)
    args = parser.parse_args(argv)

    from testplan.audit import run_audit
    from testplan.config import load_config
    from testplan.errors import TestplanError
    from testplan.gate import exit_code
    from testplan.mutate import run_mutation

    stats: dict = {}

    def hook(config, project, trace):
        run = run_mutation(config, project, trace, jobs=args.jobs, fast=args.fast)
        stats.update(run.stats)
        if not run.complete:
            from testplan.mutate import MutationIncomplete

            raise MutationIncomplete(f"mutation testing did not finish: {run.incomplete_reason}", run)
        return run

    try:
        result = run_audit(load_config(args.root), mutate=hook)
        code = int(exit_code(result))
    except TestplanError as exc:
        print(f"testplan: {exc.slug}: {exc}", file=sys.stderr)
        code = int(getattr(exc, "exit_code", 2) or 2)
    args.stats.write_text(json.dumps(stats, indent=2, default=str) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
