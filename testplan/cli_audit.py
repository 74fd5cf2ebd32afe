"""``testplan audit`` and ``testplan gate``: thin commands over :mod:`testplan.audit` and :mod:`testplan.gate`.

Registered on :data:`testplan.cli.app` by importing this module (the last line of cli.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli import JsonFlag, Root, _config, app, console, err_console
from .result import AuditResult

MinScore = Annotated[Optional[float], typer.Option("--min-score", help="Fail when the project score is below N (0-100; overrides min_score).", show_default=False)]
MinReqScore = Annotated[Optional[float], typer.Option("--min-requirement-score", help="Fail when any requirement scores below N (overrides min_requirement_score).", show_default=False)]
FailOn = Annotated[Optional[str], typer.Option("--fail-on", metavar="LIST", help="Comma-separated states that fail the gate: suspect, unreviewed, uncovered, failing, weak, dangling, orphan; 'none' clears (overrides fail_on).", show_default=False)]

STATE_STYLES = {"OK": "green", "WEAK": "yellow", "NOK": "red", "UNCOVERED": "red", "SUSPECT": "magenta", "UNREVIEWED": "cyan"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _gap(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.0f}"


def print_result(result: AuditResult) -> None:
    out = console()
    for problem in result.problems:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        prefix = "" if problem.severity == "error" else f"{problem.severity}: "
        err_console().print(f"{where}: {prefix}{problem.message}")
    title = f"testplan audit{' of ' + result.project if result.project else ''}"
    table = Table(title=title, title_justify="left")
    for column, justify in (("requirement", "left"), ("risk", "left"), ("state", "left"), ("plan", "left"),
                            ("C", "right"), ("L", "right"), ("O", "right"), ("gap", "right"), ("score", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for req in result.requirements:
        table.add_row(f"{req.id} {req.title}", req.risk, Text(req.state, style=STATE_STYLES.get(req.state, "")), req.plan_state,
                      _pct(req.case_coverage), _pct(req.line_coverage), _pct(req.oracle_score),
                      _gap(req.oracle_gap), f"{req.score:.1f}")
    out.print(table)
    score = "n/a" if result.score is None else f"{result.score:.1f}"
    mutation = "" if result.mutation else " (no mutation: O not measured, S = 100·C)"
    out.print(f"project score {score}{mutation}")
    print_gate(result)


def print_gate(result: AuditResult) -> None:
    out = console()
    gate = result.gate
    if not result.complete:
        out.print(f"gate: INCOMPLETE — {result.incomplete_reason or 'the audit did not finish'}")
    if gate is None:
        return
    if gate.passed:
        out.print(f"gate: passed (min score {gate.min_score:g}, fail on {', '.join(gate.fail_on) or 'nothing'})")
        return
    out.print(f"gate: FAILED ({len(gate.reasons)} reason{'s' if len(gate.reasons) != 1 else ''})")
    for reason in gate.reasons:
        out.print(f"  - {reason}")


@app.command()
def audit(
    root: Root = Path("."),
    no_mutation: Annotated[bool, typer.Option("--no-mutation", help="Skip mutation testing (O and M are not measured; S = 100·C).")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Where to write audit.json (default .testplan/).", show_default=False)] = None,
    min_score: MinScore = None,
    min_requirement_score: MinReqScore = None,
    fail_on: FailOn = None,
    as_json: JsonFlag = False,
) -> None:
    """Trace the tests, score every requirement, apply the gate; writes .testplan/audit.json (exit 0 pass, 1 fail, 4 incomplete)."""
    from .audit import run_audit
    from .gate import exit_code

    config = _config(root)
    result = run_audit(config, mutation=not no_mutation, out_dir=out_dir, min_score=min_score,
                       min_requirement_score=min_requirement_score, fail_on=fail_on)
    if as_json:
        sys.stdout.write(result.dump())
    else:
        print_result(result)
    raise typer.Exit(int(exit_code(result)))


@app.command()
def gate(
    audit_json: Annotated[Optional[Path], typer.Argument(metavar="[AUDIT_JSON]", help="A saved audit result (default .testplan/audit.json under -C).", show_default=False)] = None,
    root: Root = Path("."),
    min_score: MinScore = None,
    min_requirement_score: MinReqScore = None,
    fail_on: FailOn = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-apply the gate to a saved audit result (exit 0 pass, 1 fail, 4 incomplete)."""
    from .gate import apply_gate, exit_code
    from .result import load_result

    config = _config(root)
    result = load_result(audit_json if audit_json is not None else config.state_dir / "audit.json")
    result.gate = apply_gate(result, config, min_score, min_requirement_score, fail_on)
    if as_json:
        sys.stdout.write(result.gate.model_dump_json(indent=2) + "\n")
    else:
        print_gate(result)
    raise typer.Exit(int(exit_code(result)))
