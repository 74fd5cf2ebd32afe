"""``testplan review REQ``: the interactive review, on a terminal.

Shows the requirement (for a SUSPECT plan, first what changed since the last review, as a
unified diff), then each proposed case (with its origin, so a reviewer can tell
rule-based, LLM and human cases apart) and asks: approve, reject with a reason, skip, quit.
Nothing is written until the reviewer confirms at the end; then the decisions and the review
record (who, when, fingerprint) are saved in one atomic write.
"""

from __future__ import annotations

import subprocess

from rich.console import Console
from rich.markup import escape

from .errors import InputError
from .model import CaseStatus, PlanState, Requirement, plan_state
from .review import approve, changes_since_review, record_review, reject
from .store import PlanFile

CHOICES = {"a": "approve", "r": "reject", "s": "skip", "q": "quit"}


def _git_user() -> str:
    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def _ask(console: Console, prompt: str, default: str = "") -> str:
    try:
        answer = console.input(escape(prompt)).strip()
    except EOFError:
        answer = "q"
    return answer or default


def show_requirement(console: Console, requirement: Requirement, state: PlanState) -> None:
    console.print(f"[bold]{requirement.id}[/] {escape(requirement.title)}  (risk {requirement.risk.value}, plan {state.value})")
    console.print(escape(" ".join(requirement.statement.split())))
    if requirement.acceptance:
        console.print("acceptance:")
        for line in requirement.acceptance:
            console.print(f"  - {escape(line)}")
    if requirement.code:
        console.print(f"code: {', '.join(requirement.code)}")


def interactive_review(plan_file: PlanFile, requirement: Requirement, by: str | None, console: Console) -> None:
    plan = plan_file.plan
    state = plan_state(requirement, plan)
    show_requirement(console, requirement, state)
    proposed = [c for c in plan.cases if c.status is CaseStatus.proposed]
    approved_before = len(plan.approved())
    rejected_before = sum(1 for c in plan.cases if c.status is CaseStatus.rejected)
    console.print(f"\n{len(proposed)} proposed case{'s' if len(proposed) != 1 else ''} to review "
                  f"({approved_before} approved, {rejected_before} rejected already)")
    if state is PlanState.SUSPECT:
        console.print("[yellow]this plan is SUSPECT: the requirement or an approved case changed since the last review[/]")
        changes = changes_since_review(requirement, plan)
        if changes:
            console.print("what changed since the last review:")
            console.print(escape(changes.rstrip("\n")))
    to_approve: list[str] = []
    to_reject: list[tuple[str, str]] = []
    for index, case in enumerate(proposed, start=1):
        console.print(f"\n[{index}/{len(proposed)}] [bold]{case.id}[/]  {case.kind.value}  priority {case.priority.value}  origin [cyan]{escape(case.origin)}[/]")
        console.print(f"  {escape(case.title)}")
        if case.given:
            console.print(f"  given:  {escape(case.given_text())}")
        if case.expect:
            console.print(f"  expect: {escape(case.expect_text())}")
        choice = ""
        while choice not in CHOICES:
            choice = _ask(console, "(a)pprove, (r)eject, (s)kip, (q)uit [s]: ", "s")[:1].lower()
        if choice == "q":
            break
        if choice == "a":
            to_approve.append(case.id)
        elif choice == "r":
            reason = ""
            while not reason:
                reason = _ask(console, "  reason for rejecting: ")
                if reason == "q":
                    reason = ""
                    break
            if reason:
                to_reject.append((case.id, reason))
    console.print(f"\ndecisions: {len(to_approve)} approve, {len(to_reject)} reject, "
                  f"{len(proposed) - len(to_approve) - len(to_reject)} left proposed")
    signs = bool(to_approve) or approved_before > 0  # a review vouches for at least one approved case
    if not to_approve and not to_reject and (state is PlanState.APPROVED or not signs):
        console.print("nothing to save" + ("" if signs else ": no case is approved, so there is no review to sign"))
        return
    name = by or _ask(console, f"reviewer name [{_git_user()}]: ", _git_user())
    if not name or name == "q":
        raise InputError("review: no reviewer name; pass --by NAME (nothing was saved)")
    confirm = _ask(console, f"save these decisions and sign the review of {requirement.id} as {name}? [y/N]: ", "n").lower()
    if confirm not in ("y", "yes"):
        console.print("not saved")
        return
    for case_id, reason in to_reject:
        reject(plan_file, case_id, reason)
    if to_approve:
        approve(plan_file, requirement, name, to_approve)
    elif signs:
        record_review(plan_file, requirement, name)
    plan_file.save()
    if signs:
        console.print(f"saved {plan_file.shown}: review signed by {name}")
    else:
        console.print(f"saved {plan_file.shown}: rejections only; nothing approved, no review signed")
