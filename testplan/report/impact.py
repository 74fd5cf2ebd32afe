"""What a ``--diff BASE`` change touches: the requirements whose code has changed lines, and drift.

Read by the ``md``, ``html`` and ``sarif`` reports of a result whose ``mutation_options`` carry a
``diff_base``, when the project is at hand (``source_root``): the changed lines are the ones
``--diff`` mutated (:func:`testplan.mutate.diff.changed_lines`, uncommitted edits included).

For each requirement whose code (its run-time lines, ``code_lines`` in audit.json) has a changed
line: its risk and state, the changed lines, the *new survivors* (its mutants on changed lines
that survived its tests), and **drift** when neither a file of its linked tests nor its plan
(``plans/<ID>.yaml``) changed: the code a requirement promises something about changed and
nothing that checks or states the promise did (the silent contract drift a reviewer should ask
about). A test file counts as changed when any of its lines did.

No impact is computed (None) without a diff base, without the project's files, or when git
cannot answer (not a clone, the base unknown there): the reports then carry no such section.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError
from ..ranges import line_ranges, parse_line_ranges
from ..result import AuditResult
from .report_core import ReportContext, plan_file, status_in

DRIFT = "its code changed, but none of its linked tests and not its plan did: check the change still does what {id} promises"


@dataclass
class Touched:
    id: str
    title: str
    risk: str
    state: str
    changed: dict[str, set[int]]  # file -> changed lines of the requirement's code
    survivors: list[str] = field(default_factory=list)  # mutant IDs on changed lines that survived its tests
    drift: str | None = None

    def as_view(self) -> dict:
        return {"id": self.id, "title": self.title, "risk": self.risk, "state": self.state, "drift": self.drift,
                "survivors": self.survivors,
                "changed": [{"file": f, "ranges": line_ranges(lines), "first": min(lines)} for f, lines in sorted(self.changed.items())]}


@dataclass
class Impact:
    base: str
    files: list[str]  # changed files among the requirements' code, tests and plans
    requirements: list[Touched]

    def as_view(self) -> dict:
        return {"base": self.base, "files": self.files, "requirements": [t.as_view() for t in self.requirements]}


def change_impact(context: ReportContext) -> Impact | None:
    """The impact of the result's ``--diff`` base on its requirements, or None (see the module docstring)."""
    result = context.result
    base = (result.mutation_options or {}).get("diff_base")
    if not base or context.source_root is None:
        return None
    tests = {t.nodeid: t.file for t in result.tests}
    code_files = sorted({f for r in result.requirements for f in r.code_lines})
    test_files = sorted({tests[n] for r in result.requirements for n in r.tests if n in tests})
    plans = {r.id: plan_file(context, r.id) for r in result.requirements}
    from ..mutate.diff import changed_lines

    try:
        changed = changed_lines(context.source_root, str(base), sorted(set(code_files) | set(test_files) | set(plans.values())))
    except InputError:
        return None  # not where the audit ran: the reports leave the section out
    return Impact(str(base), sorted(changed), _touched(result, changed, tests, plans))


def _touched(result: AuditResult, changed: dict[str, set[int] | None], tests: dict[str, str],
             plans: dict[str, str]) -> list[Touched]:
    out = []
    for r in result.requirements:
        hit: dict[str, set[int]] = {}
        for file, ranges in r.code_lines.items():
            if file not in changed:
                continue
            lines = parse_line_ranges(ranges)
            mine = lines if changed[file] is None else lines & changed[file]  # type: ignore[operator]
            if mine:
                hit[file] = mine
        if not hit:
            continue
        survivors = [m.id for m in result.mutants
                     if r.id in m.requirements and m.line in hit.get(m.file, ()) and status_in(result, m, r.id) == "survived"]
        tests_changed = any(tests.get(n) in changed for n in r.tests)
        drift = None if tests_changed or plans[r.id] in changed else DRIFT.format(id=r.id)
        out.append(Touched(r.id, r.title, r.risk, r.state, hit, survivors, drift))
    return out


__all__ = ["DRIFT", "Impact", "Touched", "change_impact"]
