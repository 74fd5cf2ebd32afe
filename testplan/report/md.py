"""The ``md`` format: a compact Markdown summary for a PR comment or ``$GITHUB_STEP_SUMMARY``.

Sections: the headline (project score, gate verdict), the gate's reasons, one table row per
requirement (state, scores C/O/M/L, oracle gap, survivors), then the top surviving mutants with
file:line and their diff. The whole text stays under :data:`MAX_BYTES` (a GitHub comment holds
65,536 characters): when it would not, the least interesting rows and survivors are left out and a
note says how many and where to find them.
"""

from __future__ import annotations

from datetime import timezone
from typing import IO

from ..result import AuditResult, MutantResult, RequirementResult
from .report_core import (
    matrix_text,
    BAD_STATES,
    Reporter,
    diff_lines,
    gate_reasons_for,
    gate_text,
    no_score_reason,
    pct,
    project_score_text,
    requirement_score_text,
    signed_pct,
    survivors,
    visible,
    worst_first,
)

MAX_BYTES = 64 * 1024
TOP_SURVIVORS = 10
MAX_REASONS = 15
MAX_CELL = 60  # characters of a title in the table
MAX_DIFF_LINE = 160

STATE_ICON = {"OK": "✅", "WEAK": "🟡", "NOK": "❌", "UNCOVERED": "⭕", "SUSPECT": "🟠", "UNREVIEWED": "❔", "UNJUDGED": "🔍"}
GATE_ICON = {"passed": "✅", "failed": "❌", "incomplete": "⚠️", "not evaluated": "➖"}


def _cell(text: str, limit: int = MAX_CELL) -> str:
    text = " ".join(visible(text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _code(text: str) -> str:
    """An inline code span that survives backticks in the text."""
    text = visible(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _clip(line: str) -> str:
    line = visible(line)
    return line if len(line) <= MAX_DIFF_LINE else line[: MAX_DIFF_LINE - 1] + "…"


def _size(parts: list[str]) -> int:
    return sum(len(part.encode("utf-8")) for part in parts)


class MarkdownReporter(Reporter):
    name = "md"
    filename = "testplan.md"
    description = "Markdown summary for a PR comment or $GITHUB_STEP_SUMMARY"

    def report(self, outfile: IO[str]) -> None:
        outfile.write(render_markdown(self.result, impact=self.context.impact()))


def render_markdown(result: AuditResult, max_bytes: int = MAX_BYTES, impact=None) -> str:
    head = _headline(result) + _impact(impact) + _gate(result)
    legend = ("\n<sub>C case coverage · O oracle score (mutants killed by an assertion; those detected only by crashes "
              "or timeouts left out) · M mutation score · L line coverage · gap = L − O · S = 100·C·O "
              "(100·C, \"cases only\", without mutation) · — no score (UNJUDGED: no evidence; not averaged in)</sub>\n")
    legend = _unjudged(result) + legend
    rows = {r.id: _row(result, r) for r in result.requirements}
    table_head = (
        "\n| Requirement | Risk | State | Score | C | O | M | L | Oracle gap | Survivors |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    found = survivors(result)
    blocks = [_survivor(result, m) for m in found[:TOP_SURVIVORS]]
    footer = _footer(result)
    critique = _critique(result)

    # always: headline, gate, table head, notes; then the top survivors; then rows, worst first
    budget = max_bytes - _size([head, legend, table_head, footer]) - 800  # room for the notes
    shown_blocks: list[str] = []
    for block in blocks:
        cost = len(block.encode("utf-8"))
        if cost > budget:
            break
        budget -= cost
        shown_blocks.append(block)
    chosen: set[str] = set()
    for requirement in worst_first(result.requirements, result):
        cost = len(rows[requirement.id].encode("utf-8"))
        if cost > budget:
            break
        budget -= cost
        chosen.add(requirement.id)
    shown_rows = [row for rid, row in rows.items() if rid in chosen]
    if len(critique.encode("utf-8")) > budget:
        critique = ""

    out = [head, table_head, *shown_rows]
    left_out = len(rows) - len(shown_rows)
    if left_out:
        out.append(
            f"\n_{left_out} more requirement{'s' if left_out != 1 else ''} not shown: this summary is kept under "
            f"{max_bytes // 1024} KiB. The rows shown are the ones needing attention first; "
            "the HTML report and audit.json have all of them._\n"
        )
    out.append(legend)
    if found:
        title = f"\n### Surviving mutants ({len(found)})\n\n"
        if len(shown_blocks) < len(found):
            title += (f"The {len(shown_blocks)} of highest risk are shown; "
                      "the HTML and SARIF reports list every one.\n\n")
        out.append(title)
        out.extend(shown_blocks)
    out.append(critique)
    out.append(footer)
    return "".join(out)


def _headline(result: AuditResult) -> str:
    verdict = gate_text(result)
    name = result.project or "project"
    lines = [f"## testplan: {_cell(name, 80)} — score {project_score_text(result)} · gate {GATE_ICON[verdict]} {verdict}\n\n"]
    counts: dict[str, int] = {}
    for r in result.requirements:
        counts[r.state] = counts.get(r.state, 0) + 1
    if counts:
        summary = " · ".join(f"{STATE_ICON.get(s, '')} {s} {n}" for s, n in counts.items())
        lines.append(f"{len(result.requirements)} requirements: {summary}. ")
    tests = len(result.tests)
    mutants = len(result.mutants)
    if result.mutation:
        surviving = sum(1 for m in result.mutants if m.status == "survived")
        uncovered = sum(1 for m in result.mutants if m.status == "no-coverage")
        lines.append(f"{tests} tests, {mutants} mutants, {surviving} survived, {uncovered} on lines no linked test runs.\n")
        lines.append(f"<sub>{matrix_text(result)}</sub>\n")
    else:
        lines.append(f"{tests} tests; mutation testing did not run (O and M not measured).\n")
    if not result.complete:
        reason = result.incomplete_reason or "the run did not finish"
        lines.append(f"\n> **Incomplete run**: {_cell(reason, 300)}. A gate never passes on an incomplete run.\n")
    if result.shard:
        lines.append(f"\n> Shard {result.shard} only: merge the shards for the whole project.\n")
    return "".join(lines)


MAX_TOUCHED = 30


def _impact(impact) -> str:
    """The ``--diff`` section: what the change touches (see :mod:`.impact`)."""
    if impact is None:
        return ""
    out = [f"\n### This change touches\n\nChanged since {_code(impact.base)}.\n\n"]
    if not impact.requirements:
        out.append("No requirement's code has a changed line.\n")
    for t in impact.requirements[:MAX_TOUCHED]:
        lines = ", ".join(_code(f"{c['file']}:{c['ranges']}") for c in t.as_view()["changed"])
        n = len(t.survivors)
        survivors = f" · **{n} new survivor{'s' if n != 1 else ''}** on changed lines: " + ", ".join(_code(i) for i in t.survivors[:5]) if n else ""
        out.append(f"- **{_cell(t.id, 40)}** {_cell(t.title)} · risk {t.risk} · {STATE_ICON.get(t.state, '')} {t.state} · "
                   f"changed lines {lines}{survivors}\n")
        if t.drift:
            out.append(f"  - ⚠️ **drift**: {_cell(t.drift, 300)}\n")
    more = len(impact.requirements) - MAX_TOUCHED
    if more > 0:
        out.append(f"- … and {more} more (see the HTML report)\n")
    return "".join(out)


def _gate(result: AuditResult) -> str:
    gate = result.gate
    if gate is None:
        return ""
    rules = [f"min score {gate.min_score:g}", f"min requirement score {gate.min_requirement_score:g}"]
    if gate.fail_on:
        rules.append("fail on " + ", ".join(gate.fail_on))
    out = [f"\n**Gate {'passed' if gate.passed and result.complete else 'failed'}** ({'; '.join(rules)})"]
    if gate.reasons:
        out.append(":\n")
        for reason in gate.reasons[:MAX_REASONS]:
            out.append(f"- {_cell(reason, 300)}\n")
        more = len(gate.reasons) - MAX_REASONS
        if more > 0:
            out.append(f"- … and {more} more (see audit.json)\n")
    else:
        out.append("\n")
    return "".join(out)


def _row(result: AuditResult, r: RequirementResult) -> str:
    state = f"{STATE_ICON.get(r.state, '')} {r.state}"
    if r.state in BAD_STATES and gate_reasons_for(result, r.id):
        state = f"**{state}**"
    survived = r.mutants.survived if r.mutants else None
    survived_text = "—" if survived is None else str(survived)
    return (
        f"| **{_cell(r.id, 40)}** {_cell(r.title)} | {r.risk} | {state} | {requirement_score_text(result, r)} | {pct(r.case_coverage)} | "
        f"{pct(r.oracle_score)} | {pct(r.mutation_score)} | {pct(r.line_coverage)} | {signed_pct(r.oracle_gap)} | "
        f"{survived_text} |\n"
    )


def _unjudged(result: AuditResult) -> str:
    """One line per UNJUDGED requirement, saying why it has no score."""
    if not result.complete:
        return ""  # the headline says the run is incomplete
    lines = [f"- **{_cell(r.id, 40)}** UNJUDGED, no score: {_cell(no_score_reason(result, r) or '', 200)}\n"
             for r in result.requirements if r.state == "UNJUDGED"]
    return "\n" + "".join(lines) if lines else ""


def _survivor(result: AuditResult, mutant: MutantResult) -> str:
    reqs = ", ".join(mutant.requirements) or "no requirement"
    ran = len(mutant.verdicts)
    tests = f"{ran} linked test{'s' if ran != 1 else ''} ran it, none failed" if ran else "no linked test runs this line"
    diff = "\n".join(f"{sign} {_clip(line.strip())}" for sign, line in diff_lines(mutant))
    fence = "```"
    while fence in diff:
        fence += "`"
    return (
        f"- **{_cell(reqs, 80)}** {_code(f'{mutant.file}:{mutant.line}')} ({_cell(mutant.operator, 40)}): {tests}\n\n"
        f"  {fence}diff\n" + "\n".join(f"  {line}" for line in diff.splitlines()) + f"\n  {fence}\n\n"
    )


def _critique(result: AuditResult) -> str:
    """``testplan critique``'s findings that are not checks-expected, beside their case (advisory)."""
    if not result.critique:
        return ""
    titles = {c.id: c.title for r in result.requirements for c in r.cases}
    lines = [f"- **{_cell(f.case, 40)}** {_cell(titles.get(f.case, ''), 80)} · {_code(f.test)}: "
             f"{f.label}, {_cell(f.reason, 200)} ({_cell(f.by, 60)})\n"
             for f in result.critique if f.label != "checks-expected"]
    good = sum(1 for f in result.critique if f.label == "checks-expected")
    head = (f"\n### Critique (advisory, scores unchanged)\n\n{good} of {len(result.critique)} linked tests "
            f"check their case's expected outcome.\n\n")
    return head + "".join(lines)


def _footer(result: AuditResult) -> str:
    finished = result.finished_at
    if finished is not None and finished.tzinfo is not None:
        finished = finished.astimezone(timezone.utc)
    when = f" · finished {finished:%Y-%m-%d %H:%M} UTC" if finished else ""
    problems = len(result.problems)
    extra = f" · {problems} problem{'s' if problems != 1 else ''} in links (see the HTML or SARIF report)" if problems else ""
    return f"\n<sub>{_cell(result.tool, 80)}{when}{extra}</sub>\n"
