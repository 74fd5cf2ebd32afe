"""``testplan lint``: every validation rule, on a corpus of broken projects.

Each directory under tests/lint_corpus/ overlays files on the valid project in _base/; its
``expect`` file holds the exact lines lint must print. Every case exits 2, prints one line
per problem as ``path:line: message``, and never a traceback.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "lint_corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))


def build(tmp_path: Path, case: str | None) -> Path:
    project = tmp_path / "p"
    shutil.copytree(CORPUS / "_base", project)
    if case:
        shutil.copytree(CORPUS / case, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expect"))
    return project


def test_corpus_has_at_least_twenty_broken_inputs():
    assert len(CASES) >= 20


@pytest.mark.verifies("LINT-1.1")
def test_base_project_is_clean(tmp_path, cli):
    result = cli("lint", "-C", build(tmp_path, None))
    assert (result.code, result.out, result.err) == (0, "lint: no problems\n", "")


@pytest.mark.verifies("LINT-1.2")
@pytest.mark.parametrize("case", CASES)
def test_broken_input_gives_exit_2_and_one_line_per_problem(case, tmp_path, cli):
    result = cli("lint", "-C", build(tmp_path, case))
    expected = (CORPUS / case / "expect").read_text().splitlines()
    printed = result.out.splitlines() + [line for line in result.err.splitlines() if not line.startswith("lint: ")]
    assert result.code == 2
    assert printed == expected
    assert "Traceback" not in result.out + result.err
    for line in printed:
        assert re.match(r"^[\w./-]+\.(yaml|yml|toml)(:\d+)?: \S", line), line


def test_lint_counts_errors_and_warnings_on_stderr(tmp_path, cli):
    result = cli("lint", "-C", build(tmp_path, "17-case-of-other-requirement"))
    assert result.err == "lint: 1 error, 0 warnings\n"


def test_lint_json_lists_findings(tmp_path, cli):
    import json

    result = cli("lint", "--json", "-C", build(tmp_path, "09-bad-risk"))
    assert result.code == 2
    assert json.loads(result.out) == [{
        "path": "requirements.yaml",
        "line": 6,
        "severity": "error",
        "message": "requirements[0].risk: 'urgent' is not allowed; use one of 'low', 'medium', 'high' or 'critical'",
    }]


def test_lint_json_reports_a_broken_config_as_a_finding(tmp_path, cli):
    import json

    result = cli("lint", "--json", "-C", build(tmp_path, "29-unknown-config-key"))
    assert (result.code, result.err) == (2, "")
    assert json.loads(result.out) == [{
        "path": "pyproject.toml", "line": 3, "severity": "error",
        "message": (CORPUS / "29-unknown-config-key" / "expect").read_text().strip().split(": ", 1)[1],
    }]


@pytest.mark.verifies("LINT-1.4")
def test_unknown_flag_is_a_one_line_usage_error(tmp_path, cli):
    result = cli("lint", "--strict", "-C", build(tmp_path, None))
    assert result.code == 2
    assert result.out == ""
    assert result.err == "testplan: usage error: No such option: --strict (see 'testplan lint --help')\n"


def test_root_that_is_not_a_directory(tmp_path, cli):
    result = cli("lint", "-C", tmp_path / "nowhere")
    assert result.code == 2
    assert result.err == f"testplan: bad-input: --root: '{tmp_path / 'nowhere'}' is not a directory; pass the project's directory with -C\n"


@pytest.mark.verifies("LINT-1.1", "REV-1.2")
def test_example_lints_clean_with_one_suspect_warning(cli):
    from tp_helpers import EXAMPLE

    result = cli("lint", "-C", EXAMPLE)
    assert result.code == 0
    assert result.out == (
        "plans/CARD-2.yaml:43: warning: plan of CARD-2 is SUSPECT: the requirement or an approved case "
        "changed after review; see what changed with 'testplan diff CARD-2', then re-sign with "
        "'testplan approve CARD-2 --by NAME' (it approves no proposed case)\n"
    )
    assert result.err == "lint: 0 errors, 1 warning\n"


def test_requirements_directory_with_duplicate_across_files(tmp_path, cli):
    project = build(tmp_path, None)
    reqdir = project / "reqs"
    reqdir.mkdir()
    shutil.move(project / "requirements.yaml", reqdir / "a.yaml")
    (reqdir / "b.yaml").write_text(
        "requirements:\n  - id: PAY-1\n    title: again\n    statement: a second PAY-1\n"
    )
    (project / "pyproject.toml").write_text('[tool.testplan]\nrequirements = "reqs"\n')
    result = cli("lint", "-C", project)
    assert result.code == 2
    assert result.out == "reqs/b.yaml:2: duplicate requirement ID PAY-1 (first defined at reqs/a.yaml:4); IDs are unique and never reused\n"


@pytest.mark.verifies("LINT-1.3")
def test_a_broken_requirement_does_not_also_orphan_its_plan(tmp_path, cli):
    """plans/PAY-1.yaml stays valid while PAY-1 itself fails: one finding, not two."""
    result = cli("lint", "-C", build(tmp_path, "04-unknown-requirement-key"))
    assert result.out == ("requirements.yaml:6: unknown key 'owner' (allowed: id, title, statement, acceptance, risk, "
                          "code, inputs); remove or rename it\n")


def test_a_package_ref_means_every_module_in_it(tmp_path):
    from testplan.model import Requirement
    from testplan.scope import requirement_spans

    package = tmp_path / "src" / "shop"
    (package / "billing").mkdir(parents=True)
    for rel in ("__init__.py", "pricing.py", "billing/__init__.py", "billing/cards.py"):
        (package / rel).write_text("X = 1\n")
    requirement = Requirement(id="PAY-1", title="t", statement="s", code=["shop"])
    spans = requirement_spans(requirement, [tmp_path / "src"])
    assert [(s.ref, s.file.relative_to(package).as_posix()) for s in spans] == [
        ("shop", "__init__.py"), ("shop.billing", "billing/__init__.py"),
        ("shop.billing.cards", "billing/cards.py"), ("shop.pricing", "pricing.py"),
    ]
