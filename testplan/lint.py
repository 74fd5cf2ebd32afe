"""``testplan lint``: validate requirements and plans without running anything."""

from __future__ import annotations

from .config import Config
from .errors import Finding
from .review import load_project, suspect_findings
from .scope import check_refs


def lint(config: Config) -> list[Finding]:
    """Every problem in the project's requirements and plans, errors and warnings, in file order."""
    findings: list[Finding] = []
    project = load_project(config, findings)
    for requirement in project.requirements:
        source = project.requirements.sources[requirement.id]
        findings.extend(check_refs(requirement, config.source_roots, source.path, source.code_lines, config.root))
    findings.extend(suspect_findings(project))
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.message))
