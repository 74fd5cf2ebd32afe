"""``testplan audit`` and ``testplan gate``: thin commands over :mod:`testplan.audit` and :mod:`testplan.gate`.

Registered on :data:`testplan.cli.app` by importing this module (the last line of cli.py).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli import JsonFlag, Root, _config, app, console, err_console, info_console, quiet, verbose
from .errors import InputError
from .escape import visible

if TYPE_CHECKING:  # the audit's modules load only when a command of theirs runs
    from .result import AuditResult

MinScore = Annotated[Optional[float], typer.Option("--min-score", help="Fail when the project score is below N (0-100; overrides min_score).", show_default=False)]
MinReqScore = Annotated[Optional[float], typer.Option("--min-requirement-score", help="Fail when any requirement scores below N (overrides min_requirement_score).", show_default=False)]
Formats = Annotated[Optional[list[str]], typer.Option("--format", metavar="LIST", help="Reports to write: md, junit, sarif, stryker, html, json, codequality (comma-separated or repeated).", show_default=False)]
AllowStale = Annotated[bool, typer.Option("--allow-stale", help="Gate a saved result even when the tree changed since the audit (or it has no inputs record); the output says it is stale.")]
FailOn = Annotated[Optional[str], typer.Option("--fail-on", metavar="LIST", help="Comma-separated states that fail the gate: suspect, unreviewed, uncovered, failing, weak, unjudged, dangling, orphan; 'none' clears (overrides fail_on).", show_default=False)]

STATE_STYLES = {"OK": "green", "WEAK": "yellow", "NOK": "red", "UNCOVERED": "red", "SUSPECT": "magenta", "UNREVIEWED": "cyan",
                "UNJUDGED": "yellow"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _gap(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.0f}"


def _score(result: AuditResult, value: float | None) -> str:
    """A score cell: 'incomplete' while the result is, '-' for a requirement without evidence."""
    if not result.complete:
        return "incomplete"
    return "-" if value is None else f"{value:.1f}"


def print_result(result: AuditResult) -> None:
    out = console()
    for problem in result.problems:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        prefix = "" if problem.severity == "error" else f"{problem.severity}: "
        err_console().print(visible(f"{where}: {prefix}{problem.message}"))
    title = visible(f"testplan audit{' of ' + result.project if result.project else ''}")
    table = Table(title=title, title_justify="left")
    cases_only = any(r.score_basis == "cases" for r in result.requirements)
    for column, justify in (("requirement", "left"), ("risk", "left"), ("state", "left"), ("plan", "left"),
                            ("C", "right"), ("L", "right"), ("O", "right"), ("gap", "right"),
                            ("score (cases only)" if cases_only else "score", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for req in result.requirements:
        table.add_row(visible(f"{req.id} {req.title}"), req.risk, Text(req.state, style=STATE_STYLES.get(req.state, "")), req.plan_state,
                      _pct(req.case_coverage), _pct(req.line_coverage), _pct(req.oracle_score),
                      _gap(req.oracle_gap), _score(result, req.score))
    out.print(table)
    for req in result.requirements:
        if req.state == "UNJUDGED":
            out.print(f"{req.id}: UNJUDGED, no score: {req.evidence_reason}")
    score = _score(result, result.score) if result.score is not None or not result.complete else "none (no requirement is judged)"
    mutation = "" if result.mutation else " (cases only: no mutation, O not measured, S = 100·C)"
    out.print(f"project score {score}{mutation}")
    stats = result.mutation_stats or {}
    if result.mutation and stats:
        sample = (f" (--max-mutants: a sample of {int(stats['sampled.ran'])} of {int(stats['sampled.of'])})"
                  if "sampled.ran" in stats else "")
        if "topped_up.added" in stats:
            sample += (f" (--min-mutants: the diff selected {int(stats['topped_up.diff'])} with tests, topped up with "
                       f"{int(stats['topped_up.added'])} sampled from the whole scope)")
        from .report.report_core import matrix_mode

        matrix = {"decisive": "decisive matrix", "full": "full matrix", "fast": "--fast"}[matrix_mode(result) or "full"]
        out.print(f"mutation: {len(result.mutants)} mutants{sample}, {int(stats.get('executed', 0))} run, "
                  f"{int(stats.get('cache_hits', 0))} from cache, {stats.get('seconds.total', 0):.1f} s, {matrix}")
        if "mutation_score_all_tests" in stats:
            detected = int(stats.get("detected_by_any_test", 0))
            out.print(f"mutation score over all tests (--all-tests, linked or not): {100 * detected / max(len(result.mutants), 1):.1f}% "
                      f"({detected} of {len(result.mutants)} mutants detected by some test)")
    scope = {k: v for k, v in (result.mutation_options or {}).items() if k in ("diff_base", "min_mutants", "max_mutants", "shard") and v}
    if result.mutation and scope:
        told = {"diff_base": f"--diff {scope.get('diff_base')}", "min_mutants": f"--min-mutants {scope.get('min_mutants')}",
                "max_mutants": f"--max-mutants {scope.get('max_mutants')}",
                "shard": f"--shard {scope.get('shard')}"}
        what = (f" (a sample of {int(stats['sampled.ran'])} of the {int(stats['sampled.of'])} selected, in proportion "
                "to each requirement's covered and uncovered mutants, the lowest mutant IDs within each)"
                if "sampled.ran" in stats else "")
        out.print(f"note: {', '.join(told[k] for k in scope)}: O and M count only the mutants this run judged{what}; "
                  "a requirement with none of them is UNJUDGED (no score)")
    if result.linked_only:
        out.print(f"note: --linked-only: only the {len(result.tests)} tests that link a requirement or case ran; "
                  "unlinked tests were not traced (none is ORPHAN)")
    print_survivors(result)
    for req in result.requirements:
        code = [u for u in req.unmutated if not u.endswith(("(module-level code)", "(class-level code)"))]
        if code:  # import-time code is never mutated; functions mutmut skips are worth naming
            more = f" and {len(code) - 3} more (audit.json: unmutated)" if len(code) > 3 else ""
            out.print(visible(f"{req.id}: not mutated: {', '.join(code[:3])}{more}"))
    print_gate(result)


TOP_SURVIVORS = 10


def print_survivors(result: AuditResult) -> None:
    """The surviving mutants with their IDs, riskiest requirement first: the top 10 (every one
    with -v); ``--json`` and audit.json have them all."""
    from .report.report_core import survivors

    found = survivors(result)
    if not found:
        return
    out = console()
    shown = found if verbose() else found[:TOP_SURVIVORS]
    out.print(f"surviving mutants ({len(found)}; 'testplan explain ID' shows one):")
    for mutant in shown:
        out.print(visible(f"  {mutant.id}  {mutant.file}:{mutant.line}  {mutant.operator}  {', '.join(mutant.requirements) or '-'}"))
    if len(shown) < len(found):
        out.print(f"  … and {len(found) - len(shown)} more (-v lists every one; --json and audit.json have them all)")


def show(result: AuditResult, as_json: bool) -> None:
    """The whole result as JSON (``--json``), or the table and the gate verdict."""
    if as_json:
        sys.stdout.write(result.dump())
    else:
        print_result(result)


def print_gate(result: AuditResult) -> None:
    out = console()
    gate = result.gate
    if not result.complete:
        out.print(visible(f"gate: INCOMPLETE — {result.incomplete_reason or 'the audit did not finish'}"))
    if gate is None:
        return
    if gate.passed:
        out.print(f"gate: passed (min score {gate.min_score:g}, fail on {', '.join(gate.fail_on) or 'nothing'})")
        return
    out.print(f"gate: FAILED ({len(gate.reasons)} reason{'s' if len(gate.reasons) != 1 else ''})")
    for reason in gate.reasons:
        out.print(visible(f"  - {reason}"))


@app.command()
def audit(
    root: Root = Path("."),
    no_mutation: Annotated[bool, typer.Option("--no-mutation", help="Skip mutation testing (O and M are not measured; S = 100·C).")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Where to write audit.json (default .testplan/).", show_default=False)] = None,
    min_score: MinScore = None,
    min_requirement_score: MinReqScore = None,
    fail_on: FailOn = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Mutants run in parallel (default: the number of cores); N ≥ 2 also traces the tests in N worker processes forked after one collection (without --jobs the trace is serial).", show_default=False)] = None,
    matrix: Annotated[str, typer.Option("--matrix", metavar="MODE", help="decisive (default): run a mutant's tests only until its status is settled (first assertion kill; a timeout paid once), with the statuses, scores and case states of the full matrix; full: every linked covering test on every mutant (the complete kill matrix; a hang is paid once per requirement, its later tests not run).")] = "decisive",
    fast: Annotated[bool, typer.Option("--fast", help="Stop each mutant at its first kill of any kind, a crash included (as mutmut does), without the decisive run's extra runs for the cases: a mutant may show killed-by-crash, a case WEAK, where the full matrix says killed, VERIFIED.")] = False,
    all_tests: Annotated[bool, typer.Option("--all-tests", help="Also run unlinked tests that cover a mutant (recorded; the status still counts linked tests only).")] = False,
    linked_only: Annotated[bool, typer.Option("--linked-only", help="Trace only the tests that link a requirement or case (a verifies marker or [tool.testplan.links]); the others do not run (no test is ORPHAN), e.g. in CI after the whole suite has run.")] = False,
    diff: Annotated[Optional[str], typer.Option("--diff", metavar="BASE", help="Only mutants on lines changed since the git revision BASE.", show_default=False)] = None,
    shard: Annotated[Optional[str], typer.Option("--shard", metavar="K/N", help="Run shard K of N (deterministic split by mutant ID); combine with 'testplan merge'.", show_default=False)] = None,
    max_mutants: Annotated[Optional[int], typer.Option("--max-mutants", metavar="N", help="Judge exactly N mutants (all if fewer): a deterministic sample stratified by requirement and covered/uncovered, e.g. to bound a CI job.", show_default=False)] = None,
    min_mutants: Annotated[Optional[int], typer.Option("--min-mutants", metavar="N", help="With --diff: when fewer than N mutants are selected, top up with the lowest mutant IDs of the rest of the scope.", show_default=False)] = None,
    formats: Formats = None,
    as_json: JsonFlag = False,
) -> None:
    """Trace the tests, mutate the requirements' code, score, gate; writes .testplan/audit.json (exit 0 pass, 1 fail, 3 baseline failing, 4 incomplete)."""
    from .audit import run_audit
    from .gate import exit_code
    from .report import check_formats

    config = _config(root)
    report_formats = check_formats(formats or [])  # an unknown format fails now, not after an hour of mutants
    if no_mutation and (fast or all_tests or diff or shard or max_mutants is not None or min_mutants is not None
                        or matrix != "decisive"):
        raise InputError("--no-mutation: --fast, --matrix, --all-tests, --diff, --shard, --max-mutants and --min-mutants are mutation options; drop them or drop --no-mutation")
    if linked_only and all_tests:
        raise InputError("--linked-only and --all-tests: --all-tests runs unlinked tests on the mutants, and "
                         "--linked-only does not trace them; drop one")
    if not no_mutation:
        from .mutate.lab import check_matrix, check_options

        check_options(shard, max_mutants, min_mutants, diff)  # before the tests run, not after
        check_matrix(matrix, fast)
    with mutation_progress(enabled=not no_mutation and not as_json and not quiet()) as progress:
        options = {"jobs": jobs, "fast": fast, "matrix": matrix, "all_tests": all_tests, "diff_base": diff, "shard": shard,
                   "max_mutants": max_mutants, "progress": progress,
                   **({"on_estimate": _print_estimate} if not as_json else {}),
                   **({"min_mutants": min_mutants} if min_mutants is not None else {})}
        result = run_audit(config, mutation=not no_mutation, out_dir=out_dir, min_score=min_score,
                           min_requirement_score=min_requirement_score, fail_on=fail_on, mutation_options=options,
                           linked_only=linked_only)
    show(result, as_json)
    if report_formats:
        _write_reports(result, report_formats, out_dir if out_dir is not None else config.state_dir, config)
    append_step_summary(result, config)
    raise typer.Exit(int(exit_code(result)))


def _print_estimate(estimate: dict) -> None:
    from .mutate.lab import estimate_line

    info_console().print(estimate_line(estimate))


STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def append_step_summary(result: AuditResult, config) -> None:
    """On GitHub Actions (``$GITHUB_STEP_SUMMARY`` set): append the Markdown summary to that file.
    A file that cannot be written is said on stderr; the verdict (exit code) stands."""
    import os

    target = os.environ.get(STEP_SUMMARY, "")
    if not target:
        return
    from .report.md import MarkdownReporter
    from .report.report_core import ReportContext

    text = StringIO()
    MarkdownReporter(ReportContext(result, config.root, config.plans)).report(text)
    try:
        with open(target, "a", encoding="utf-8") as summary:
            summary.write(text.getvalue())
    except OSError as exc:
        err_console().print(visible(f"testplan: cannot append the summary to ${STEP_SUMMARY} ({target}): {exc.strerror}"))


def _write_reports(result: AuditResult, formats: list[str], out_dir: Path, config) -> None:
    from .report import write_reports

    for path in write_reports(result, formats, out_dir, config.root, plans_dir=config.plans):
        info_console().print(f"wrote {path}")


TRACE_LABEL = "tracing tests"
MUTANTS_LABEL = "mutants"


@contextmanager
def mutation_progress(enabled: bool):
    """A progress callback: a rich bar with mutants/s and ETA on a terminal, labelled 'tracing
    tests' until the first mutant result and 'mutants' after; on CI (no terminal) a plain line on
    stderr at most every 10 seconds and at the end."""
    if not enabled:
        yield None
        return
    if sys.stderr.isatty() and not err_console().is_dumb_terminal:  # rich draws no live bar on TERM=dumb
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.fields[phase]}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                       console=err_console(), transient=True)
        # until mutation calls back, the tests are being traced (pytest under coverage)
        task = bar.add_task("audit", total=None, rate="", phase=TRACE_LABEL)
        clock: dict = {}  # the rate counts from the first call (mutation starting), not the trace

        def tick(done: int, total: int) -> None:
            now = time.monotonic()
            started, base = clock.setdefault("start", (now, done))
            rate = (done - base) / max(now - started, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{rate:.1f}/s" if done > base else "", phase=MUTANTS_LABEL)

        with bar:
            yield tick
        return
    state: dict = {"last": 0.0}

    def line(done: int, total: int) -> None:
        now = time.monotonic()
        started, base = state.setdefault("start", (now, done))  # the first call: mutation starts
        if done < total and now - state["last"] < 10:
            return
        state["last"] = now
        elapsed = max(now - started, 1e-6)
        rate = (done - base) / elapsed
        eta = f", about {int((total - done) / rate)} s left" if rate > 0 and done < total else ""
        speed = f"{rate:.1f}/s" if rate >= 0.1 else f"{1 / rate:.0f} s each" if rate > 0 else ""  # not '0.0/s'
        told = f" ({speed}{eta})" if speed else " (starting)" if done < total else " (none to run)"
        print(f"testplan: mutants {done}/{total}{told}", file=sys.stderr, flush=True)

    yield line


def print_stale(note: str | None, as_json: bool) -> None:
    """The note of a result gated with --allow-stale: with the verdict, or on stderr beside JSON."""
    if note:
        (err_console() if as_json else console()).print(note)


@app.command()
def gate(
    audit_json: Annotated[Optional[Path], typer.Argument(metavar="[AUDIT_JSON]", help="A saved audit result (default .testplan/audit.json under -C).", show_default=False)] = None,
    root: Root = Path("."),
    min_score: MinScore = None,
    min_requirement_score: MinReqScore = None,
    fail_on: FailOn = None,
    allow_stale: AllowStale = False,
    as_json: JsonFlag = False,
) -> None:
    """Re-apply the gate to a saved audit result, after checking it still matches the tree (exit 0 pass, 1 fail, 2 not a valid result, 4 incomplete or stale)."""
    from .gate import apply_gate, exit_code
    from .inputs import verify_inputs
    from .result import load_result

    config = _config(root)
    path = audit_json if audit_json is not None else config.state_dir / "audit.json"
    result = load_result(path)
    result.gate = apply_gate(result, config, min_score, min_requirement_score, fail_on)  # bad flags: exit 2 first
    note = verify_inputs(result, config, allow_stale=allow_stale, source=path)
    print_stale(note, as_json)
    if as_json:
        sys.stdout.write(result.gate.model_dump_json(indent=2) + "\n")
    else:
        print_gate(result)
    raise typer.Exit(int(exit_code(result)))


@app.command()
def merge(
    shards: Annotated[list[Path], typer.Argument(metavar="SHARD_AUDIT_JSON...", help="The audit.json of every shard ('testplan audit --shard k/n --out DIR').")],
    root: Root = Path("."),
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Where to write the merged audit.json (default .testplan/).", show_default=False)] = None,
    min_score: MinScore = None,
    min_requirement_score: MinReqScore = None,
    fail_on: FailOn = None,
    allow_stale: AllowStale = False,
    as_json: JsonFlag = False,
) -> None:
    """Merge the results of 'audit --shard k/n' runs into one (incomplete if a shard is missing; stale, exit 4, if the tree changed since)."""
    from .gate import apply_gate, exit_code
    from .inputs import verify_inputs
    from .mutate import merge_shards
    from .result import save_result
    from .review import load_project
    from .score import rescore

    from .statedir import state_lock

    config = _config(root)
    merged = merge_shards(list(shards))
    result = rescore(load_project(config), merged)
    result.gate = apply_gate(result, config, min_score, min_requirement_score, fail_on)
    note = verify_inputs(merged, config, allow_stale=allow_stale, source=shards[0])
    state = out_dir if out_dir is not None else config.state_dir
    with state_lock(state, config.root):  # not over an audit writing the same directory
        save_result(result, state / "audit.json")
    print_stale(note, as_json)
    show(result, as_json)
    raise typer.Exit(int(exit_code(result)))


@app.command()
def explain(
    mutant_id: Annotated[str, typer.Argument(metavar="MUTANT_ID", help="A mutant ID (or its first 4+ characters) from the audit.")],
    root: Root = Path("."),
    audit_json: Annotated[Optional[Path], typer.Option("--from", metavar="AUDIT_JSON", help="The audit result (default .testplan/audit.json).", show_default=False)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a mutant: its diff, its requirement, the tests that ran it, their verdicts, and why it survived."""
    from .result import load_result

    config = _config(root)
    result = load_result(audit_json if audit_json is not None else config.state_dir / "audit.json")
    matches = [m for m in result.mutants if m.id.startswith(mutant_id)] if len(mutant_id) >= 4 else []
    if len(matches) != 1:
        what = f"is ambiguous ({len(matches)} mutants)" if matches else "matches no mutant of this audit"
        raise InputError(f"explain: mutant ID '{mutant_id}' {what}; copy an ID from the audit report (4+ characters)")
    mutant = matches[0]
    if as_json:
        import json

        requirements = [{"id": r.id, "title": r.title, "state": r.state, "evidence_reason": r.evidence_reason}
                        for r in (result.requirement(i) for i in mutant.requirements) if r is not None]
        document = {"mutant": mutant.model_dump(), "requirements": requirements, "why": why(mutant, result)}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    out = console()
    out.print(visible(f"mutant {mutant.id}  {mutant.status}  ({mutant.operator})"))
    out.print(visible(f"{mutant.file}:{mutant.line}"))
    for line in mutant.original.strip().splitlines() or [""]:
        out.print(visible(f"- {line}"))
    for line in mutant.mutated.strip().splitlines() or [""]:
        out.print(visible(f"+ {line}"))
    for req_id in mutant.requirements:
        req = result.requirement(req_id)
        out.print(visible(f"requirement {req_id}{' ' + req.title if req else ''}"))
        if req is not None and req.state == "UNJUDGED":
            out.print(visible(f"  UNJUDGED, no score: {req.evidence_reason}"))
    if mutant.verdicts:
        out.print("tests that ran it (suite order):")
        for nodeid, verdict in mutant.verdicts.items():
            out.print(visible(f"  {verdict:8} {nodeid}"))
    out.print(visible(f"why: {why(mutant, result)}"))


def why(mutant, result: AuditResult) -> str:
    """One sentence on what the verdicts mean."""
    linked = {n for r in result.requirements if r.id in mutant.requirements for n in r.tests}
    ran = [n for n in mutant.verdicts if n in linked]
    verdicts = {mutant.verdicts[n] for n in ran}
    if mutant.status == "no-coverage":
        reqs = ", ".join(mutant.requirements) or "its requirement"
        return f"no test linked to {reqs} executes line {mutant.line}: add a test for the case this line implements"
    if mutant.status == "survived":
        if not ran:
            return "the linked tests that run this line were not run on it (see --all-tests / --diff)"
        return (f"{len(ran)} linked test{'s' if len(ran) != 1 else ''} ran the mutated line and passed: "
                "no assertion checks what this line computes (assert the exact value or message)")
    if mutant.status == "killed-by-crash":
        return "the mutated code raised and the tests crashed; no assertion noticed a wrong answer (left out of the oracle score)"
    if mutant.status == "timeout":
        return ("the mutant made a linked test run past its time limit: detected (it counts in M), but no assertion "
                "noticed a wrong answer (left out of the oracle score O)")
    killers = [n for n in ran if mutant.verdicts[n] == "assert"]
    if "assert" in verdicts:
        return f"killed by an assertion in {killers[0]}"
    return "killed"


@app.command()
def report(
    formats: Formats = None,
    root: Root = Path("."),
    audit_json: Annotated[Optional[Path], typer.Option("--from", metavar="AUDIT_JSON", help="The audit result (default .testplan/audit.json).", show_default=False)] = None,
    out: Annotated[Optional[str], typer.Option("--out", metavar="DIR", help="Directory for the reports (default .testplan/); '-' prints one format to stdout.", show_default=False)] = None,
) -> None:
    """Write reports of a saved audit: md (PR comment), junit, sarif (code scanning), stryker, html (reviewer), json."""
    from .report import check_formats, write_report
    from .result import load_result

    config = _config(root)
    names = check_formats(formats or [])
    if not names:
        raise InputError("report: --format is required; use one or more of md, junit, sarif, stryker, html, json, codequality")
    result = load_result(audit_json if audit_json is not None else config.state_dir / "audit.json")
    if out == "-":
        if len(names) != 1:
            raise InputError("--out -: stdout takes exactly one format; pass a directory for several")
        write_report(result, names[0], "-", config.root, plans_dir=config.plans)
        return
    _write_reports(result, names, Path(out) if out else config.state_dir, config)
