"""``testplan init --from-code``: drafted requirements and suggested links, on real projects."""

from __future__ import annotations

import shutil
import textwrap
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from tp_helpers import EXAMPLE, tree_digest
from testplan.draft import draft_requirements, id_prefix, init_from_code
from testplan.errors import InputError
from testplan.store import load_requirements

FILES = {
    "pyproject.toml": """\
        [project]
        name = "semver-lite"

        [tool.pytest.ini_options]
        pythonpath = ["src"]
        """,
    "src/semver_lite/__init__.py": '"""Semantic versions."""\nfrom .version import parse\n\n__all__ = ["parse"]\n',
    "src/semver_lite/_private.py": "def hidden():\n    return 1\n",
    "src/semver_lite/consts.py": '"""Constants."""\nMAJOR = 0\n',
    "src/semver_lite/cli.py": "def main():\n    return 0\n",
    "src/semver_lite/version.py": '''\
        """Parse and compare versions. Nothing else.

        Longer text that is not part of the title.
        """

        __all__ = ["parse", "compare", "Version"]


        def parse(text):
            """Split ``MAJOR.MINOR.PATCH`` into three ints.

            Raises ValueError otherwise.
            """
            return tuple(int(p) for p in text.split("."))


        def compare(a, b):
            return (a > b) - (a < b)


        class Version:
            def bump(self):
                return 1


        def internal_tool():
            return 2


        def _helper():
            return 3
        ''',
    "tests/test_version.py": """\
        from semver_lite.version import compare, parse


        def test_parse():
            assert parse("1.2.3") == (1, 2, 3)


        def test_compare():
            assert compare((1,), (2,)) == -1


        def test_nothing():
            assert True
        """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "semver-lite"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"), markup=False)  # noqa: SIM115


@pytest.mark.parametrize(("package", "prefix"), [("semver", "SEMVER"), ("my_pkg.core", "MYPKGCORE"), ("2fa", "P2FA")])
def test_id_prefix(package, prefix):
    assert id_prefix(package) == prefix


def test_module_granularity_drafts_one_requirement_per_public_module(project, cli):
    tests_before = tree_digest(project / "tests")
    run = cli("init", "--from-code", "semver_lite", "-C", project)
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "created  requirements.yaml: 2 draft requirements (SEMVERLITE-1..SEMVERLITE-2), no plans yet",
        "  SEMVERLITE-1 semver_lite.cli  module semver_lite.cli",
        "  SEMVERLITE-2 semver_lite.version  Parse and compare versions",
        "suggested links from per-test coverage (2 tests):",
        "  SEMVERLITE-1: no test executes its code",
        "  SEMVERLITE-2: 2 tests: tests/test_version.py (2)",
        "to use them, add this table to pyproject.toml (or rerun with --write-links):",
        "[tool.testplan.links]",
        '"tests/test_version.py::test_parse" = ["SEMVERLITE-2"]',
        '"tests/test_version.py::test_compare" = ["SEMVERLITE-2"]',
        "next: rewrite each statement as what the code must do, then 'testplan enumerate ID' and review",
    ]
    printed = "\n".join(run.out.splitlines()[7:10])  # the table, ready to paste
    assert tomllib.loads(printed)["tool"]["testplan"]["links"] == {
        "tests/test_version.py::test_parse": ["SEMVERLITE-2"], "tests/test_version.py::test_compare": ["SEMVERLITE-2"]}
    text = (project / "requirements.yaml").read_text()
    assert text.split("project:", 1)[1] == """ semver_lite
requirements:
  - id: SEMVERLITE-1
    title: module semver_lite.cli
    statement: 'TODO: say what semver_lite.cli (main) must do.'
    risk: medium
    code: [semver_lite.cli]
  - id: SEMVERLITE-2
    title: Parse and compare versions
    statement: Parse and compare versions. Nothing else.
    risk: medium
    code: [semver_lite.version]
"""
    requirements = load_requirements(project / "requirements.yaml", project)
    assert [r.id for r in requirements] == ["SEMVERLITE-1", "SEMVERLITE-2"]
    assert "[tool.testplan.links]" not in (project / "pyproject.toml").read_text()
    assert tree_digest(project / "tests") == tests_before
    assert not (project / "plans").exists()
    assert cli("lint", "-C", project).code == 0


def test_function_granularity_and_written_links(project):
    pyproject_before = (project / "pyproject.toml").read_text()
    report = init_from_code(project, "semver_lite", quiet(), granularity="function", write_links=True)
    assert [(d.id, d.code, d.title) for d in report.drafts] == [
        ("SEMVERLITE-1", ["semver_lite.cli:main"], "main in semver_lite.cli"),
        ("SEMVERLITE-2", ["semver_lite.version:parse"], "Split ``MAJOR.MINOR.PATCH`` into three ints"),
        ("SEMVERLITE-3", ["semver_lite.version:compare"], "compare in semver_lite.version"),
        ("SEMVERLITE-4", ["semver_lite.version:Version"], "Version in semver_lite.version"),
    ]
    assert report.links == {"tests/test_version.py::test_parse": ["SEMVERLITE-2"], "tests/test_version.py::test_compare": ["SEMVERLITE-3"]}
    assert report.links_written is True
    text = (project / "pyproject.toml").read_text()
    assert text.startswith(pyproject_before)  # appended, nothing else rewritten
    assert tomllib.loads(text)["tool"]["testplan"]["links"] == {
        "tests/test_version.py::test_parse": ["SEMVERLITE-2"], "tests/test_version.py::test_compare": ["SEMVERLITE-3"]}


def test_written_links_are_picked_up_by_the_audit(project, cli):
    init_from_code(project, "semver_lite", quiet(), granularity="function", write_links=True)
    run = cli("audit", "--no-mutation", "-C", project, "--json")
    assert run.code == 0, run.err
    from testplan.result import parse_result

    result = parse_result(run.out)
    assert {t.nodeid.split("::")[1]: (t.state, t.links) for t in result.tests} == {
        "test_parse": ("LINKED", ["SEMVERLITE-2"]), "test_compare": ("LINKED", ["SEMVERLITE-3"]), "test_nothing": ("ORPHAN", [])}
    assert {r.id: (r.state, r.plan_state, r.line_coverage) for r in result.requirements} == {
        "SEMVERLITE-1": ("UNREVIEWED", "NO PLAN", 0.0), "SEMVERLITE-2": ("UNREVIEWED", "NO PLAN", 1.0),
        "SEMVERLITE-3": ("UNREVIEWED", "NO PLAN", 1.0), "SEMVERLITE-4": ("UNREVIEWED", "NO PLAN", 0.0)}
    assert result.score == 0.0


def test_an_existing_links_table_is_kept_and_the_suggestions_are_printed(project, cli):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.testplan.links]\n"tests/test_version.py" = ["SEMVERLITE-1"]\n')
    before = pyproject.read_text()
    run = cli("init", "--from-code", "semver_lite", "--granularity", "function", "--write-links", "-C", project)
    assert run.code == 0, run.err
    assert run.out.splitlines()[5:] == [
        "suggested links from per-test coverage (2 tests):",
        "  SEMVERLITE-1: no test executes its code",
        "  SEMVERLITE-2: 1 test: tests/test_version.py (1)",
        "  SEMVERLITE-3: 1 test: tests/test_version.py (1)",
        "  SEMVERLITE-4: no test executes its code",
        "pyproject.toml already has [tool.testplan.links]; kept it: add the suggested lines below to it by hand",
        '"tests/test_version.py::test_parse" = ["SEMVERLITE-2"]',
        '"tests/test_version.py::test_compare" = ["SEMVERLITE-3"]',
        "next: rewrite each statement as what the code must do, then 'testplan enumerate ID' and review",
    ]
    assert pyproject.read_text() == before


def test_the_library_reports_why_the_links_were_not_written(project):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.testplan.links]\n"tests/test_version.py" = ["SEMVERLITE-1"]\n')
    report = init_from_code(project, "semver_lite", quiet(), write_links=True)
    assert (report.links_written, report.links_note) == (
        False, "pyproject.toml already has [tool.testplan.links]; kept it: add the suggested lines below to it by hand")


def test_an_existing_requirements_file_is_never_overwritten(project, cli):
    (project / "requirements.yaml").write_text("requirements: []\n")
    run = cli("init", "--from-code", "semver_lite", "-C", project)
    assert (run.code, run.err) == (2, "requirements.yaml: requirements.yaml exists; --from-code only drafts a new file: move it away or add requirements by hand\n")
    assert (project / "requirements.yaml").read_text() == "requirements: []\n"


def test_unknown_package_is_bad_input(project, cli):
    run = cli("init", "--from-code", "nope", "-C", project)
    assert run.code == 2
    assert run.err == f"testplan: bad-input: --from-code: package 'nope' not found under {project}/src, {project}; check the name or [tool.testplan] source\n"
    assert not (project / "requirements.yaml").exists()


def test_without_tests_nothing_is_suggested(project):
    shutil.rmtree(project / "tests")
    report = init_from_code(project, "semver_lite", quiet())
    assert (report.links, report.links_note) == ({}, "no tests under tests; no links suggested")


def test_a_failing_trace_still_leaves_the_draft(project):
    (project / "tests" / "test_broken.py").write_text("def test_x(:\n")
    report = init_from_code(project, "semver_lite", quiet())
    assert report.links == {}
    assert report.links_note.startswith("no links suggested: the traced test run failed (tests could not be collected: tests/test_broken.py")
    assert (project / "requirements.yaml").exists()


def test_nothing_public_is_bad_input(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "_impl.py").write_text("def f():\n    pass\n")
    with pytest.raises(InputError, match=r"^--from-code: 'pkg' has no public module with a public class or function; nothing to draft$"):
        draft_requirements("pkg", [tmp_path])


def test_the_example_package(tmp_path):
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLE / "src", root / "src")
    drafts = draft_requirements("petinsure", [root / "src"])
    assert [(d.id, d.code) for d in drafts] == [
        ("PETINSURE-1", ["petinsure.cards"]), ("PETINSURE-2", ["petinsure.payments"]), ("PETINSURE-3", ["petinsure.policy"]),
        ("PETINSURE-4", ["petinsure.pricing"]), ("PETINSURE-5", ["petinsure.refunds"])]
    assert drafts[3].title == "Premium pricing with a multi-pet household discount"
