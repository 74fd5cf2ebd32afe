"""``testplan lint``: validate requirements and plans without running anything."""

from __future__ import annotations

from .callables import check_case_calls
from .config import Config
from .errors import Finding
from .model import CaseStatus
from .review import load_project, suspect_findings
from .scope import check_refs


def lint(config: Config) -> list[Finding]:
    """Every problem in the project's requirements and plans, errors and warnings, in file order."""
    findings: list[Finding] = []
    project = load_project(config, findings)
    signatures: dict = {}  # each callable's parameters, read once per lint
    for requirement in project.requirements:
        source = project.requirements.sources[requirement.id]
        findings.extend(check_refs(requirement, config.source_roots, source.path, source.code_lines, config.root))
        plan_file = project.plans.files.get(requirement.id)
        if plan_file is not None:
            cases = []
            for index, case in enumerate(plan_file.plan.cases):
                if case.status is not CaseStatus.approved:
                    continue  # a proposed case is checked once someone vouches for it
                keys = case.given if isinstance(case.given, dict) else {}
                key_lines = {k: plan_file.line(["cases", index, "given", k]) for k in keys}
                cases.append((case, plan_file.line(["cases", index, "id"]), key_lines))
            findings.extend(check_case_calls(requirement, cases, config.source_roots, plan_file.shown, config.root, signatures))
    findings.extend(suspect_findings(project))
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.message))
