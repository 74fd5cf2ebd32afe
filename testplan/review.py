"""Human review of plans: approve, reject, and the state a plan is in.

This module is the only writer of ``review:`` records. Approval records who approved, when,
and a fingerprint of what they vouched for (see :func:`testplan.model.fingerprint`); any later
change to that content makes the plan SUSPECT until someone approves it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from .config import Config
from .errors import Finding, InputError
from .model import CaseStatus, Plan, PlanOutline, PlanState, Requirement, Review, fingerprint, outline, vouched_text
from .parsecache import memo_key
from .store import ParseCache, PlanFile, Plans, Requirements, load_plans, load_requirements, paused_gc


@dataclass
class Project:
    """Requirements and plans of one project, loaded and cross-checked."""

    config: Config
    requirements: Requirements
    plans: Plans
    cache: ParseCache | None = None  # the parse cache it was loaded with (its memo of outlines)

    def plan_state(self, requirement: Requirement) -> PlanState:
        """:func:`testplan.model.plan_state` of the requirement and its plan (from the parse
        cache's memo while both files are as read: :meth:`outline`)."""
        outline = self.outline(requirement)
        return outline.state if outline is not None else PlanState.NO_PLAN

    def memo_key(self, requirement: Requirement, plan_file: PlanFile, plan_sha256: str | None = None) -> str | None:
        """The key of the parse cache's memo (:class:`testplan.parsecache.Memo`) for this project's
        ``requirement`` and ``plan_file`` as read (or, with ``plan_sha256``, as just written); None
        when either file's bytes are not known (no usable parse cache, an edited plan)."""
        req_sha = self.requirements.digests.get(requirement.id)
        plan_sha = plan_sha256 or plan_file.sha256
        if self.cache is None or req_sha is None or plan_sha is None:
            return None
        return memo_key(requirement.id, req_sha, plan_sha)

    def outline(self, requirement: Requirement) -> PlanOutline | None:
        """:func:`testplan.model.outline` of ``requirement`` (this project's) and its plan (None
        without one): from the memo when both files are as read, else computed (and kept in the
        memo for the next command)."""
        plan_file = self.plans.files.get(requirement.id)
        if plan_file is None:
            return None
        key = self.memo_key(requirement, plan_file)
        if key is None:
            return outline(requirement, plan_file.plan)
        kept = self.cache.memo("outlines", key)
        if kept is not None:
            try:
                return PlanOutline.model_validate(kept)
            except ValidationError:
                pass  # not what this code keeps (edited by hand): computed again below, and replaced
        made = outline(requirement, plan_file.plan)
        self.cache.keep("outlines", key, made.model_dump(mode="json"))
        return made

    def plan_file(self, requirement_id: str) -> PlanFile:
        self.requirements.get(requirement_id)
        plan_file = self.plans.files.get(requirement_id)
        if plan_file is None:
            raise InputError(f"{requirement_id} has no plan yet; run 'testplan enumerate {requirement_id}' first")
        return plan_file


def counted_requirement(project: Project, link: str) -> str | None:
    """The requirement a test's link counts for: the ID itself when it names a known
    requirement, its requirement when it names a proposed or approved case; None for a
    malformed or unknown ID (DANGLING) or a rejected case (the scorer reports those)."""
    from .model import is_case_id, is_requirement_id, requirement_of

    if not (is_requirement_id(link) or is_case_id(link)):
        return None
    req_id = requirement_of(link)
    if req_id not in project.requirements.items:
        return None
    if is_case_id(link):
        plan = project.plans.get(req_id)
        case = plan.case(link) if plan is not None else None
        if case is None or case.status is CaseStatus.rejected:
            return None
    return req_id


def load_project(config: Config, findings: list[Finding] | None = None, cache: ParseCache | None = None) -> Project:
    """The project's requirements and plans (see :func:`testplan.store.load_requirements`);
    files whose bytes are in ``cache`` are not parsed again. Writes nothing."""
    with paused_gc():
        requirements = load_requirements(config.requirements_path, config.root, findings, max_bytes=config.max_input_bytes, cache=cache)
        plans = load_plans(config.plans_dir, requirements, config.root, findings, max_bytes=config.max_input_bytes, cache=cache)
    return Project(config, requirements, plans, cache)


@contextmanager
def parse_cache(config: Config, prune: bool = False) -> Iterator[ParseCache]:
    """The project's parse cache for one command (``lint``, ``status``, ``enumerate``: the
    commands run again and again on an unchanged tree; the others, ``audit`` and so the gate
    among them, read every file themselves): read during the block, its new entries saved when
    the block completes, never when it raises (a refused command writes nothing). ``prune``
    (``enumerate``, under the writer's lock) also removes the entries no file of the project
    has any more. See :class:`testplan.store.ParseCache` for where and when it writes. The block
    runs without the cyclic garbage collector (:func:`testplan.store.paused_gc`): the project it
    loads is millions of values without cycles, which every pass of the collector would walk
    (2,000 plans of 20 cases: ~0.4 s of a 2.5-s ``status``)."""
    cache = ParseCache(config.root)
    with paused_gc():
        yield cache
    cache.save(prune)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def approve(plan_file: PlanFile, requirement: Requirement, by: str, case_ids: list[str] | None = None,
            at: datetime | None = None, all_proposed: bool = False) -> list[str]:
    """Approve the named cases and record the review.

    Approval means someone looked: without ``case_ids`` nothing is approved unless
    ``all_proposed`` says to approve every proposed case; with proposed cases present and
    neither, it is refused (InputError, nothing changed) listing them. Without proposed cases
    and without ``case_ids`` the review is signed again and nothing new approved: that is how
    a reviewer vouches for a SUSPECT plan again.

    Returns the IDs whose status changed.
    """
    if not by.strip():
        raise InputError("--by: the reviewer's name is empty; pass --by 'Your Name'")
    plan = plan_file.plan
    proposed = [c for c in plan.cases if c.status is CaseStatus.proposed]
    if case_ids:
        for case_id in case_ids:
            if plan.case(case_id) is None:
                known = ", ".join(c.id for c in plan.cases) or "none"
                raise InputError(f"--case: {case_id} is not a case of {plan.requirement} (cases: {known}); check the ID")
        targets = [plan.case(c) for c in case_ids]
    elif all_proposed:
        targets = list(proposed)
    elif proposed:
        approved = plan.approved()
        resign = (f"; to re-sign without approving them, name an approved case (--case {approved[0].id})"
                  if approved else "")
        raise InputError(f"approve: {plan.requirement} has {len(proposed)} proposed case{'s' if len(proposed) != 1 else ''} "
                         f"({', '.join(c.id for c in proposed)}); name them with --case, approve all shown with "
                         f"--all-proposed, or reject them{resign} (nothing was changed)")
    else:
        targets = []
    if not targets and not plan.approved():
        raise InputError(f"approve: {plan.requirement} has no proposed or approved case, and a review must vouch for "
                         f"at least one; run 'testplan enumerate {plan.requirement}' or add a case to its plan")
    changed = []
    for case in targets:
        assert case is not None
        if case.status is not CaseStatus.approved:
            plan_file.set_case_status(case.id, CaseStatus.approved.value)
            changed.append(case.id)
    record_review(plan_file, requirement, by, at)
    return changed


def reject(plan_file: PlanFile, case_id: str, reason: str) -> None:
    if not reason.strip():
        raise InputError("--reason: a rejection needs a reason; pass --reason 'why this case is wrong'")
    plan = plan_file.plan
    if plan.case(case_id) is None:
        raise InputError(f"{case_id} is not a case of {plan.requirement}; check the ID with 'testplan status'")
    plan_file.set_case_status(case_id, CaseStatus.rejected.value, reason)


def record_review(plan_file: PlanFile, requirement: Requirement, by: str, at: datetime | None = None) -> Review:
    plan = plan_file.plan
    review = Review(by=by, at=at or now(), fingerprint=fingerprint(requirement, plan), vouched=vouched_text(requirement, plan))
    plan_file.set_review(review)
    return review


@dataclass
class RequirementStatus:
    id: str
    title: str
    risk: str
    plan_state: PlanState
    cases_by_status: dict[str, int] = field(default_factory=dict)
    cases_by_kind: dict[str, int] = field(default_factory=dict)
    reviewed_by: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "risk": self.risk,
            "plan_state": self.plan_state.value,
            "cases_by_status": self.cases_by_status,
            "cases_by_kind": self.cases_by_kind,
            "reviewed_by": self.reviewed_by,
        }


def status(project: Project) -> list[RequirementStatus]:
    rows = []
    for requirement in project.requirements:
        outline = project.outline(requirement)
        row = RequirementStatus(requirement.id, requirement.title, requirement.risk.value,
                                outline.state if outline is not None else PlanState.NO_PLAN)
        if outline is not None:
            row.cases_by_status = dict(outline.cases_by_status)
            row.cases_by_kind = dict(outline.cases_by_kind)
            row.reviewed_by = outline.reviewed_by
        rows.append(row)
    return rows


def suspect_findings(project: Project) -> list[Finding]:
    """A warning per SUSPECT plan: the files are valid, but the plan needs another review."""
    findings = []
    for requirement in project.requirements:
        plan_file = project.plans.files.get(requirement.id)
        if plan_file is None:
            continue
        if project.plan_state(requirement) is PlanState.SUSPECT:
            plan = plan_file.plan
            line = plan_file.line(["review"])
            approved = plan.approved()
            named = f" --case {approved[0].id}" if approved and any(c.status is CaseStatus.proposed for c in plan.cases) else ""
            findings.append(Finding(plan_file.shown, line, f"plan of {requirement.id} is SUSPECT: the requirement or an "
                                    f"approved case changed after review; see what changed with 'testplan diff "
                                    f"{requirement.id}', then re-sign with 'testplan approve {requirement.id}{named} --by "
                                    f"NAME' (it approves no proposed case)", "warning"))
    return findings


def changes_since_review(requirement: Requirement, plan: Plan) -> str | None:
    """What changed since the last review, as a unified diff of :func:`vouched_text` (the
    reviewed snapshot against now); "" when nothing did. None when the review kept no
    snapshot (written before reviews did); InputError when the plan was never reviewed."""
    import difflib

    review = plan.review
    if review is None:
        raise InputError(f"diff: {requirement.id} has never been reviewed, so there is nothing to compare; "
                         f"review it with 'testplan review {requirement.id}'")
    if review.vouched is None:
        return None
    stamp = review.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    diff = difflib.unified_diff(review.vouched.splitlines(keepends=True), vouched_text(requirement, plan).splitlines(keepends=True),
                                f"reviewed by {review.by} at {stamp}", "now")
    return "".join(diff)
