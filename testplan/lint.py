"""``testplan lint``: validate requirements and plans without running anything."""

from __future__ import annotations

from .callables import CallSite, check_case_calls
from .config import Config
from .errors import Finding
from .review import load_project, parse_cache, suspect_findings
from .scope import check_refs


def lint(config: Config) -> list[Finding]:
    """Every problem in the project's requirements and plans, errors and warnings, in file order.

    Reads nothing but the project's files and its parse cache, and writes nothing but that
    cache's new entries (:func:`testplan.review.parse_cache`)."""
    findings: list[Finding] = []
    with parse_cache(config) as cache:  # lint keeps the parse cache (see testplan.store.ParseCache)
        project = load_project(config, findings, cache)
        signatures: dict = {}  # each callable's parameters, read once per lint
        refs: dict = {}  # each code ref's outcome, resolved once per lint
        for requirement in project.requirements:
            source = project.requirements.sources[requirement.id]
            findings.extend(check_refs(requirement, config.source_roots, source.path, source.code_lines, config.root, refs))
            plan_file = project.plans.files.get(requirement.id)
            outline = project.outline(requirement)
            if plan_file is not None and outline is not None:
                sites = [CallSite(*call) for call in outline.calls]  # approved cases: a proposed one is checked once someone vouches for it
                findings.extend(check_case_calls(requirement, sites, plan_file.line, config.source_roots, plan_file.shown,
                                                 config.root, signatures))
        findings.extend(suspect_findings(project))
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.message))
