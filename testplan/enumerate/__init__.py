"""Propose test cases for a requirement and merge them into its plan.

Two enumerators propose cases: ``rules`` (deterministic, offline) and ``llm`` (any
OpenAI-compatible server). Both return :class:`Proposal` objects; :func:`merge` adds the new
ones to the plan as ``proposed`` without dropping, renumbering, changing or approving any case
already there. A proposal is recognised as already present by its ``key`` (kept in the case's
``provenance``), so re-running an enumerator is idempotent even after people edited the
proposed cases' wording, and a rejected case is never proposed again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import Case, CaseKind, CaseStatus, Priority
from ..store import PlanFile


@dataclass(frozen=True)
class Proposal:
    """A case an enumerator suggests; it gets an ID only when merged into a plan."""

    key: str  # stable identity of what is proposed, e.g. "rules:boundary:pets=-1"
    title: str
    kind: CaseKind
    given: Any  # prose, or a mapping parameter -> value
    expect: Any  # prose, or {returns: VALUE} / {raises: Name}
    origin: str  # rules | llm:<model>
    priority: Priority = Priority.medium
    provenance: dict[str, str] = field(default_factory=dict)
    inputs: tuple[tuple[str, str], ...] = ()  # (name, value) pairs, for near-duplicate detection


def existing_keys(plan_file: PlanFile) -> set[str]:
    keys = set()
    for case in plan_file.plan.cases:
        if case.provenance and "key" in case.provenance:
            keys.add(case.provenance["key"])
    return keys


def merge(plan_file: PlanFile, proposals: list[Proposal]) -> list[Case]:
    """Append the proposals the plan does not have yet; returns the cases added."""
    plan = plan_file.plan
    known = existing_keys(plan_file)
    number = plan.next_case_number()
    added: list[Case] = []
    for proposal in proposals:
        if proposal.key in known:
            continue
        known.add(proposal.key)
        provenance = {"key": proposal.key, **proposal.provenance}
        case = Case(
            id=f"{plan.requirement}.{number}",
            title=proposal.title,
            kind=proposal.kind,
            given=proposal.given,
            expect=proposal.expect,
            priority=proposal.priority,
            origin=proposal.origin,
            status=CaseStatus.proposed,
            provenance=provenance,
        )
        plan_file.add_case(case)
        added.append(case)
        number += 1
    return added
