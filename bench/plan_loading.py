#!/usr/bin/env python3
"""Plan-loading benchmark (issue 15 item 2): how long ``lint``, ``status --json`` and a no-op
``enumerate --all`` take on a large project.

Generates, in a temporary directory, a project with ``--requirements`` requirements (2,000 by
default) in one ``requirements.yaml``, each with a code reference and a declared input, and
``plans/<ID>.yaml`` with ``--cases`` cases each (20 by default): every rule-based proposal of
the requirement (so ``enumerate --all`` has nothing to add) padded with human cases, all
approved, with a valid review (fingerprint and vouched text computed by testplan itself), so
``status`` reports APPROVED and ``lint`` has every approved case to check.

Then times the runs a user sees, each command with this interpreter (``python -m testplan``,
its bytecode cached as an installed package's is: :func:`bytecode_env`), in wall seconds (and the CPU seconds of the same runs), with the load average beside them (the
machine may be shared: under load the wall time grows, the CPU time much less):

* **fresh clone** (no ``.testplan/``, as in CI): ``lint`` and ``status --json`` never create
  ``.testplan/``, so every run reads every file (libyaml, :mod:`testplan.fastyaml`); ``--runs``
  runs each (3 by default), each run and the median printed, and the tree checked to have no
  ``.testplan/`` after them.
* **working checkout** (``.testplan/`` exists, as after any ``enumerate`` or ``audit``): for
  each command, from an empty parse cache, the first (cold) run alone, which reads every file
  and fills ``.testplan/cache/parsed/`` (one entry per file, checked, and the memo of the plans'
  outlines and of what ``enumerate`` found nothing to add to), then ``--runs`` more and
  their median: those read every file from the cache. The no-op ``enumerate --all`` starts
  from a fresh clone (it is a writer: it makes ``.testplan/`` itself).

The generated tree is deleted afterwards unless ``--keep``.

    .venv/bin/python bench/plan_loading.py [--requirements 2000] [--cases 20] [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testplan.enumerate.rules import propose
from testplan.model import Plan, Requirement, fingerprint, vouched_text

PYPROJECT = """[project]
name = "bigplan"
version = "0"

[tool.testplan]
requirements = "requirements.yaml"
plans = "plans"
source = ["src"]
"""

MODULE = "def price(pets, amount=100):\n    return amount * (1 if pets < 2 else 0.9)\n"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def requirement_dict(n: int) -> dict:
    return {
        "id": f"REQ-{n}",
        "title": f"Requirement number {n}",
        "statement": f"The price for requirement {n} is computed from the pet count and the amount; "
                     "two or more pets get ten percent off.",
        "acceptance": ["one pet pays the full amount", "two pets pay 90 %", "a negative amount is rejected"],
        "risk": "medium",
        "code": ["bigplan.pricing:price"],
        "inputs": {"pets": {"type": "int", "min": 0, "max": 50}},
    }


def requirement_yaml(req: dict) -> str:
    lines = [f"  - id: {req['id']}", f"    title: {_q(req['title'])}", f"    statement: {_q(req['statement'])}",
             "    acceptance:"]
    lines += [f"      - {_q(a)}" for a in req["acceptance"]]
    lines += [f"    risk: {req['risk']}", f"    code: [{', '.join(req['code'])}]", "    inputs:"]
    for name, spec in req["inputs"].items():
        lines.append(f"      {name}: {{{', '.join(f'{k}: {v}' for k, v in spec.items())}}}")
    return "\n".join(lines) + "\n"


def plan_cases(requirement: Requirement, count: int) -> list[dict]:
    cases = []
    for number, proposal in enumerate(propose(requirement)[:count], start=1):
        case = {"id": f"{requirement.id}.{number}", "title": proposal.title, "kind": proposal.kind.value,
                "given": proposal.given, "expect": proposal.expect, "priority": proposal.priority.value,
                "origin": proposal.origin, "status": "approved", "provenance": {"key": proposal.key, **proposal.provenance}}
        cases.append(case)
    while len(cases) < count:
        number = len(cases) + 1
        cases.append({"id": f"{requirement.id}.{number}", "title": f"hand-written case {number}", "kind": "nominal",
                      "given": f"{number} pets and an amount of 100", "expect": "the discounted price",
                      "priority": "medium", "origin": "human", "status": "approved"})
    return cases


def _value(value) -> str:
    """A case's given/expect as one line of YAML (flow style for mappings)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return _q(value)
    return json.dumps(value)


def plan_yaml(requirement: Requirement, cases: list[dict], count: int) -> str:
    plan = Plan.model_validate({"requirement": requirement.id, "cases": cases})
    lines = [f"requirement: {requirement.id}", "cases:"]
    for case in cases:
        lines.append(f"  - id: {case['id']}")
        for key in ("title", "kind", "given", "expect", "priority", "origin", "status"):
            lines.append(f"    {key}: {_value(case[key])}")
        if "provenance" in case:
            lines.append(f"    provenance: {_value(case['provenance'])}")
    lines += ["review:", "  by: Bench Reviewer", "  at: '2026-01-01T00:00:00Z'",
              f"  fingerprint: {fingerprint(requirement, plan)}", f"  vouched: {_q(vouched_text(requirement, plan))}"]
    return "\n".join(lines) + "\n"


def generate(root: Path, requirements: int, cases: int) -> None:
    (root / "src" / "bigplan").mkdir(parents=True)
    (root / "src" / "bigplan" / "__init__.py").write_text("")
    (root / "src" / "bigplan" / "pricing.py").write_text(MODULE)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "plans").mkdir()
    parts = ["# generated by bench/plan_loading.py\nproject: bigplan\nrequirements:\n"]
    for n in range(1, requirements + 1):
        req = requirement_dict(n)
        parts.append(requirement_yaml(req))
        requirement = Requirement.model_validate(req)
        (root / "plans" / f"{requirement.id}.yaml").write_text(plan_yaml(requirement, plan_cases(requirement, cases), cases))
    (root / "requirements.yaml").write_text("".join(parts))


COMMANDS = [("lint", ["lint"]), ("status --json", ["status", "--json"]), ("enumerate --all (no-op)", ["enumerate", "--all"])]


CPU: list[float] = []  # the CPU seconds (user + system) of each run, beside its wall time


def run(root: Path, args: list[str]) -> float:
    """Wall seconds of one run (its CPU seconds appended to CPU)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "testplan", *args, "--root", str(root)], capture_output=True, text=True,
                          env=bytecode_env(root))
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0 or done.stderr:
        sys.exit(f"testplan {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    if args[0] == "enumerate" and "wrote" in done.stdout:
        sys.exit("enumerate --all wrote a plan: the generated tree is not a no-op for it")
    if args[0] == "status":
        states = {row["plan_state"] for row in json.loads(done.stdout)}
        if states != {"APPROVED"}:
            sys.exit(f"status: plan states {sorted(states)}, expected only APPROVED")
    return elapsed


def bytecode_env(root: Path) -> dict[str, str]:
    """The environment of a run: as an installed testplan runs, with its modules' bytecode
    cached (PYTHONDONTWRITEBYTECODE dropped; the compiled files under the tree's ``.pycache/``,
    so the checkout is not written). The first run compiles them; the runs after it do not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(root / ".pycache")
    return env


def entries(root: Path) -> int:
    """The parse cache's entries (its memo, ``memo.*.json``, aside)."""
    return len([p for p in (root / ".testplan" / "cache" / "parsed").glob("*.json") if not p.name.startswith("memo.")])


def shown(times: list[float]) -> str:
    """Median and runs, wall seconds; then the CPU seconds of the same runs."""
    cpu = CPU[-len(times):]
    return (f"{statistics.median(times):6.2f}  ({' '.join(f'{t:.2f}' for t in times)})"
            f"  cpu {statistics.median(cpu):.2f} ({' '.join(f'{t:.2f}' for t in cpu)})")


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the generated tree (its path is printed)")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="testplan-bench-plans-"))
    state = root / ".testplan"
    try:
        start = time.perf_counter()
        generate(root, options.requirements, options.cases)
        files = options.requirements + 1
        size = sum(p.stat().st_size for p in root.rglob("*.yaml"))
        print(f"generated {options.requirements} requirements x {options.cases} cases in {root} "
              f"({size / 1e6:.1f} MB of YAML, {time.perf_counter() - start:.1f} s)", flush=True)
        print(f"fresh clone (no .testplan/): every run reads every file; median (runs), seconds", flush=True)
        for name, args in COMMANDS[:2]:
            times = [run(root, args) for _ in range(options.runs)]
            if state.exists():
                sys.exit(f"{name} made .testplan/ in a fresh clone")
            print(f"  {name:26} {shown(times)}  {load()}", flush=True)
        print(f".testplan/ present: first run on an empty parse cache, then median (runs), seconds", flush=True)
        for name, args in COMMANDS:
            shutil.rmtree(state, ignore_errors=True)
            if args[0] != "enumerate":
                state.mkdir()
            cold = run(root, args)
            if entries(root) != files:
                sys.exit(f"{name}: {entries(root)} parse cache entries after the first run, expected {files}")
            times = [run(root, args) for _ in range(options.runs)]
            print(f"  {name:26} first {cold:6.2f} (cpu {CPU[-len(times) - 1]:.2f})   then {shown(times)}  {load()}",
                  flush=True)
    finally:
        if options.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
