"""testplan audits itself (plans/ and [tool.testplan] in pyproject.toml): every module of the
package is some requirement's code, every plan is approved, and CI's self-audit judges mutants on
every commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.model import PlanState, plan_state
from testplan.review import load_project
from testplan.scope import ref_spans

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def project():
    return load_project(load_config(REPO))


def test_every_module_of_testplan_is_in_some_requirements_code(project):
    spans = [span for requirement in project.requirements
             for ref in requirement.code for span in ref_spans(ref, project.config.source_roots)]
    named = {span.file.resolve() for span in spans}
    modules = {path.resolve() for path in (REPO / "testplan").rglob("*.py") if "__pycache__" not in path.parts}
    # __init__.py of the package holds only __version__ (a 'testplan' ref would mean every module)
    missing = sorted(str(p.relative_to(REPO)) for p in modules - named if p != (REPO / "testplan" / "__init__.py").resolve())
    assert missing == []


def test_every_plan_of_testplan_is_approved(project):
    states = {r.id: plan_state(r, project.plans.get(r.id)) for r in project.requirements}
    assert {k: v for k, v in states.items() if v is not PlanState.APPROVED} == {}
    plan_files = {p.stem for p in (REPO / "plans").glob("*.yaml") if p.name != "requirements.yaml"}
    assert set(states) == plan_files and len(states) >= 11  # every requirement has its plan file


def test_ci_judges_at_least_ten_mutants_of_testplan_on_every_commit():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    audit = [line for line in script.splitlines() if line.startswith(".venv/bin/testplan audit")]
    assert len(audit) == 1  # one audit: one trace of the suite
    minimum = re.search(r"--min-mutants (\d+)", audit[0])
    assert minimum is not None and int(minimum.group(1)) >= 10
    assert "--diff" in audit[0]  # --min-mutants tops a --diff selection up
