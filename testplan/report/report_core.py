"""What every report format shares: the output file, and the views of an AuditResult they all show.

The output file belongs here, not to the reporters: a reporter renders into a text stream; then
:func:`render_report` writes the whole text to ``-`` (stdout) or atomically to a file, so a
failure while rendering leaves no partial report behind (and an older report, if any, intact).
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

from ..errors import InputError
from ..escape import visible, visible_json  # noqa: F401  (the reporters take them from here)
from ..result import AuditResult, MutantResult, RequirementResult
from ..store import atomic_write

RISK_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 5}
BAD_STATES = ("NOK", "UNCOVERED", "SUSPECT", "UNREVIEWED", "WEAK", "UNJUDGED")
REQUIREMENT_STATES = ("OK", "WEAK", "NOK", "UNCOVERED", "SUSPECT", "UNREVIEWED", "UNJUDGED")
STATE_MEANING = {
    "OK": "approved plan; every approved case has a passing test that kills mutants",
    "WEAK": "linked tests pass but some cases kill no mutant of the requirement's code",
    "NOK": "a linked test fails",
    "UNCOVERED": "an approved case has no linked test",
    "SUSPECT": "the requirement or an approved case changed after review",
    "UNREVIEWED": "the plan is not approved yet",
    "UNJUDGED": "mutation gave no evidence about the tests' oracles (no run-time line, no mutant, only crash or timeout "
                "detections, or none in this run's selection): no score, not averaged in",
}
DETECTED = ("killed", "killed-by-crash", "timeout")

@dataclass
class ReportContext:
    """What a reporter is given: the result, and where the project's files are (if known)."""

    result: AuditResult
    source_root: Path | None = None
    plans_dir: str = "plans"  # relative to source_root, '/' separated
    _impact: object = field(default=None, init=False, repr=False, compare=False)

    def impact(self):
        """What the result's ``--diff`` change touches (:func:`.impact.change_impact`), computed once; None without one."""
        if self._impact is None:
            from .impact import change_impact

            self._impact = change_impact(self) or False
        return self._impact or None


class Reporter:
    """One report format. Subclasses set ``name``/``filename`` and write the report to a stream."""

    name: ClassVar[str]
    filename: ClassVar[str]  # the default file name in an output directory
    description: ClassVar[str]

    def __init__(self, context: ReportContext):
        self.context = context
        self.result = context.result

    def report(self, outfile: IO[str]) -> None:
        raise NotImplementedError


def render_report(reporter: Reporter, output: str | Path) -> Path | None:
    """Render ``reporter`` to ``output``: ``'-'`` is stdout, anything else a file path.

    The report is rendered in memory first, so nothing is written when rendering fails.
    Returns the path written (None for stdout).
    """
    buffer = io.StringIO()
    reporter.report(buffer)
    text = buffer.getvalue()
    if str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    path = Path(output)
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise InputError(f"cannot write the {reporter.name} report: {exc.strerror}; check the output directory", str(path)) from None
    return path


# --- shared views -------------------------------------------------------------------------------

def pct(value: float | None) -> str:
    """0..1 as a whole percentage; None (not measured) as an em dash."""
    return "—" if value is None else f"{round(value * 100):d}%"


def signed_pct(value: float | None) -> str:
    if value is None:
        return "—"
    rounded = round(value * 100)
    return f"+{rounded}%" if rounded > 0 else f"{rounded}%"


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def project_score_text(result: AuditResult) -> str:
    """The project score as every report shows it: ``incomplete`` while the run is (never a
    number), ``none`` when no requirement is judged."""
    if not result.complete:
        return "incomplete"
    return "none" if result.score is None else f"{result.score:.1f}"


def requirement_score_text(result: AuditResult, requirement: RequirementResult) -> str:
    """``incomplete`` / ``—`` (no score: UNJUDGED) / ``75.0`` / ``75.0 (cases only)``."""
    if not result.complete:
        return "incomplete"
    if requirement.score is None:
        return "—"
    label = " (cases only)" if requirement.score_basis == "cases" else ""
    return f"{requirement.score:.1f}{label}"


def no_score_reason(result: AuditResult, requirement: RequirementResult) -> str | None:
    """Why a requirement has no score, or is scored on cases only; None when it is judged on mutants."""
    if not result.complete:
        return f"incomplete run: {result.incomplete_reason or 'the audit did not finish'}"
    if requirement.state == "UNJUDGED" or requirement.score_basis == "cases":
        return requirement.evidence_reason
    return None


MATRIX_TEXT = {
    "full": ("kill matrix: full (every linked covering test ran on every mutant, but for a requirement's tests "
             "after a timeout: a hang is paid once)"),
    "decisive": ("kill matrix: decisive (each mutant's tests ran until its status was settled: the statuses, scores "
                 "and case states are the full matrix's; a mutant's list of tests may stop at its first kill, "
                 "--matrix full lists them all)"),
    "fast": ("kill matrix: --fast (each mutant stopped at its first kill, a crash included: a mutant may show "
             "killed-by-crash and a case WEAK where the full matrix shows killed and VERIFIED)"),
}


def matrix_mode(result: AuditResult) -> str | None:
    """Which kill matrix the mutation run made: "decisive", "full" or "fast" (None without
    mutation). A result from before ``--matrix`` existed ran the full matrix unless ``--fast``."""
    if not result.mutation:
        return None
    options = result.mutation_options or {}
    mode = options.get("matrix")
    if isinstance(mode, str) and mode in MATRIX_TEXT:
        return mode
    return "fast" if options.get("fast") else "full"


def matrix_text(result: AuditResult) -> str | None:
    """One line saying which kill matrix the reports show (None without mutation)."""
    mode = matrix_mode(result)
    return None if mode is None else MATRIX_TEXT[mode]


def gate_text(result: AuditResult) -> str:
    """``passed`` / ``failed`` / ``incomplete`` / ``not evaluated``."""
    if not result.complete:
        return "incomplete"
    if result.gate is None:
        return "not evaluated"
    return "passed" if result.gate.passed else "failed"


def gate_reasons_for(result: AuditResult, requirement_id: str) -> list[str]:
    """The gate's reasons about this requirement (recorded per requirement by the gate)."""
    if result.gate is None:
        return []
    return list(result.gate.requirements.get(requirement_id, []))


def project_reasons(result: AuditResult) -> list[str]:
    """Gate reasons about no single requirement (project score, incomplete run, tests' links, ...)."""
    if result.gate is None:
        return []
    own = {reason for reasons in result.gate.requirements.values() for reason in reasons}
    return [reason for reason in result.gate.reasons if reason not in own]


def mutants_of(result: AuditResult, requirement_id: str) -> list[MutantResult]:
    return [m for m in result.mutants if requirement_id in m.requirements]


def status_in(result: AuditResult, mutant: MutantResult, requirement_id: str) -> str:
    """The mutant's status as the tests of one of its requirements see it."""
    from ..score import status_for

    requirement = result.requirement(requirement_id)
    return status_for(mutant, requirement.tests) if requirement is not None else mutant.status


def survivors(result: AuditResult) -> list[MutantResult]:
    """Surviving mutants, riskiest requirement first, then by file and line (per requirement, as
    its own tests see a mutant, use :func:`status_in`)."""
    weight = {r.id: RISK_WEIGHT.get(r.risk, 1) for r in result.requirements}
    order = {r.id: index for index, r in enumerate(result.requirements)}
    found = [m for m in result.mutants if m.status == "survived"]

    def key(m: MutantResult):
        top = max((weight.get(r, 1) for r in m.requirements), default=1)
        first = min((order.get(r, len(order)) for r in m.requirements), default=len(order))
        return (-top, first, m.file, m.line, m.id)

    return sorted(found, key=key)


def killers(mutant: MutantResult) -> list[str]:
    return [nodeid for nodeid, verdict in mutant.verdicts.items() if verdict != "pass"]


def status_reason(mutant: MutantResult) -> str:
    """One line: why the mutant has its status."""
    ran = len(mutant.verdicts)
    if mutant.status == "no-coverage":
        return "no test linked to its requirement runs this line"
    if mutant.status == "survived":
        return f"{ran} linked test{'s' if ran != 1 else ''} ran it and passed"
    if mutant.status == "killed-by-crash":
        return "killed only by crashes (an exception escaped), never by an assertion: " + ", ".join(killers(mutant))
    if mutant.status == "timeout":
        return "timed out under: " + ", ".join(killers(mutant))
    return "killed by: " + ", ".join(killers(mutant))


def diff_lines(mutant: MutantResult) -> list[tuple[str, str]]:
    """The mutant as a diff: ('-', original line), ('+', mutated line) pairs."""
    out = [("-", line) for line in mutant.original.splitlines() or [""]]
    out += [("+", line) for line in mutant.mutated.splitlines() or [""]]
    return out


def worst_first(requirements: list[RequirementResult], result: AuditResult) -> list[RequirementResult]:
    """Requirements by how much a reviewer should look at them: gate failures, bad states, low scores."""
    def key(r: RequirementResult):
        return (
            0 if gate_reasons_for(result, r.id) else 1,
            0 if r.state in BAD_STATES else 1,
            -RISK_WEIGHT.get(r.risk, 1),
            -1.0 if r.score is None else r.score,
        )

    return sorted(requirements, key=key)


# --- the project's files ------------------------------------------------------------------------

def read_source(context: ReportContext, relative: str, purpose: str) -> str:
    """The text of a project file (relative to the source root), or an InputError saying why not."""
    if context.source_root is None:
        raise InputError(f"the {purpose} needs the project's source files; run it from the project root (source_root is not set)")
    path = context.source_root / relative
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"source file not found for the {purpose}; run the report from the project the audit ran on",
            str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read source file for the {purpose}: {exc}", str(path)) from None


def plan_file(context: ReportContext, requirement_id: str) -> str:
    """The plan file of a requirement, relative to the project root, '/' separated."""
    plans = context.plans_dir.strip("/") or "."
    return f"{plans}/{requirement_id}.yaml" if plans != "." else f"{requirement_id}.yaml"


_CASE_ID_LINE = r"^\s*(?:-\s+)?id:\s*['\"]?{}['\"]?\s*(?:#.*)?$"


def case_line(context: ReportContext, requirement_id: str, case_id: str) -> int:
    """The line of ``id: <case>`` in the requirement's plan file; 1 when it cannot be read."""
    if context.source_root is None:
        return 1
    try:
        text = (context.source_root / plan_file(context, requirement_id)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 1
    pattern = re.compile(_CASE_ID_LINE.format(re.escape(case_id)))
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


@dataclass(frozen=True)
class Span:
    """A mutation as a replaced range of the original file (1-based lines and columns, end exclusive)."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    replacement: str
    exact: bool  # False: the original text was not found where the mutant says; the whole line is used


def mutation_span(source: str, mutant: MutantResult) -> Span:
    """Where ``mutant.original`` sits in ``source`` at ``mutant.line``, narrowed to what changed."""
    lines = source.splitlines(keepends=True)
    line_index = min(max(mutant.line, 1), max(len(lines), 1)) - 1
    line_start = sum(len(line) for line in lines[:line_index])
    line_text = lines[line_index] if lines else ""
    original, mutated = mutant.original, mutant.mutated
    position = source.find(original, line_start) if original else -1
    exact = position != -1 and position < line_start + max(len(line_text), 1)
    if not exact:
        # fall back to the whole line (without its newline and indentation)
        body = line_text.rstrip("\r\n")
        indent = len(body) - len(body.lstrip())
        return Span(line_index + 1, indent + 1, line_index + 1, len(body) + 1, mutated.strip(), False)
    prefix = 0
    while prefix < min(len(original), len(mutated)) and original[prefix] == mutated[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(original), len(mutated)) - prefix
           and original[len(original) - 1 - suffix] == mutated[len(mutated) - 1 - suffix]):
        suffix += 1
    prefix, suffix = _whole_tokens(original, mutated, prefix, suffix)
    start = position + prefix
    end = position + len(original) - suffix
    replacement = mutated[prefix:len(mutated) - suffix]
    start_line, start_column = _line_column(source, start)
    end_line, end_column = _line_column(source, end)
    return Span(start_line, start_column, end_line, end_column, replacement, True)


_OPERATOR_CHARS = set("<>=!+-*/%&|^~@")


def _kind(ch: str) -> str | None:
    if ch.isalnum() or ch == "_":
        return "word"
    return "operator" if ch in _OPERATOR_CHARS else None


def _whole_tokens(original: str, mutated: str, prefix: int, suffix: int) -> tuple[int, int]:
    """Widen the changed range to whole words/operators: ``>`` → ``>=``, not an inserted ``=``."""
    def changed_kinds(at_left: bool) -> set[str | None]:
        kinds = set()
        for text in (original, mutated):
            lo, hi = prefix, len(text) - suffix
            if lo < hi:
                kinds.add(_kind(text[lo] if at_left else text[hi - 1]))
        return kinds

    while prefix > 0 and _kind(original[prefix - 1]) is not None and _kind(original[prefix - 1]) in changed_kinds(True):
        prefix -= 1
    while suffix > 0:
        ch = original[len(original) - suffix]
        if _kind(ch) is None or _kind(ch) not in changed_kinds(False):
            break
        suffix -= 1
    return prefix, suffix


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
