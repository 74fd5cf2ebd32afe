"""Exit codes of the real ``testplan`` command (DESIGN.md section 6), end to end.

An internal error is provoked for real, without mocks: a broken install (a copy of the package
whose HTML template is missing, first on PYTHONPATH) run as a subprocess, both as
``python -m testplan`` and as the ``testplan`` console script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from report_fixtures import pet_insurance_result
from testplan.report import write_report
from testplan.result import save_result
from tp_helpers import REPO

INTERNAL = ("testplan: internal error: TemplateNotFound: report.html.j2 "
            "(rerun with TESTPLAN_DEBUG=1 for the traceback, and please report it)\n")
ENTRY_POINTS = {
    "python -m testplan": [sys.executable, "-m", "testplan"],
    "console script": [str(Path(sys.executable).parent / "testplan")],
}


@pytest.fixture
def saved(tmp_path) -> Path:
    """The example's audit result saved where 'testplan report' would not look by default."""
    path = tmp_path / "saved" / "run-42.json"
    result = pet_insurance_result()
    result.project = "pet-insurance (run 42)"  # shows that the report came from this file
    save_result(result, path)
    return path


@pytest.fixture
def broken_install(tmp_path) -> Path:
    """A directory for PYTHONPATH holding a copy of testplan without report/templates/report.html.j2."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "testplan", site / "testplan", ignore=shutil.ignore_patterns("__pycache__", "report.html.j2"))
    assert (site / "testplan" / "report" / "templates").is_dir()
    assert not (site / "testplan" / "report" / "templates" / "report.html.j2").exists()
    return site


def _run(command: list[str], site: Path, *args: object, debug: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TESTPLAN_DEBUG", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    if debug is not None:
        env["TESTPLAN_DEBUG"] = debug
    # cwd: not the repository, whose testplan/ would come first on sys.path for 'python -m' and '-c'
    return subprocess.run([*command, *map(str, args)], env=env, cwd=site, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_an_internal_error_is_exit_70_in_one_line(entry, broken_install, saved, example, tmp_path):
    command = ENTRY_POINTS[entry]
    # the subprocess imports the broken copy, not the installed package
    where = _run([sys.executable, "-c", "import testplan; print(testplan.__file__)"], broken_install)
    assert where.stdout == f"{broken_install / 'testplan' / '__init__.py'}\n"
    out = tmp_path / "reports"
    done = _run(command, broken_install, "report", "--format", "html", "--from", saved, "--out", out, "-C", example)
    assert (done.returncode, done.stdout, done.stderr) == (70, "", INTERNAL)
    assert not out.exists()  # nothing half-written
    # the same install still works where it does not need the template
    done = _run(command, broken_install, "report", "--format", "md", "--from", saved, "--out", out, "-C", example)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", f"wrote {out / 'testplan.md'}\n")


def test_testplan_debug_shows_the_traceback(broken_install, saved, example, tmp_path):
    out = tmp_path / "reports"
    done = _run(ENTRY_POINTS["python -m testplan"], broken_install, "report", "--format", "html", "--from", saved,
                "--out", out, "-C", example, debug="1")
    assert (done.returncode, done.stdout) == (1, "")  # Python's own exit status for an uncaught exception
    assert done.stderr.startswith("Traceback (most recent call last):\n")
    assert done.stderr.splitlines()[-1] == "jinja2.exceptions.TemplateNotFound: report.html.j2"
    assert "testplan: internal error" not in done.stderr
    assert not out.exists()


def test_testplan_debug_0_is_off(broken_install, saved, example, tmp_path):
    done = _run(ENTRY_POINTS["python -m testplan"], broken_install, "report", "--format", "html", "--from", saved,
                "--out", tmp_path / "reports", "-C", example, debug="0")
    assert (done.returncode, done.stdout, done.stderr) == (70, "", INTERNAL)


# --- report --from a saved result at a path of its own --------------------------------------------

def test_report_reads_a_saved_result_from_any_path(saved, example, tmp_path, cli):
    out = tmp_path / "reports"
    result = cli("report", "--format", "md,stryker", "--from", saved, "--out", out, "-C", example)
    assert (result.code, result.out) == (0, "")
    assert result.err.splitlines() == [f"wrote {out / 'testplan.md'}", f"wrote {out / 'mutation.json'}"]
    assert sorted(p.name for p in out.iterdir()) == ["mutation.json", "testplan.md"]
    assert not (example / ".testplan").exists()  # the default place was neither read nor written
    markdown = (out / "testplan.md").read_text(encoding="utf-8")
    assert markdown.startswith("## testplan: pet-insurance (run 42) — score 72.0 · gate ❌ failed\n")
    expected = pet_insurance_result()
    expected.project = "pet-insurance (run 42)"
    assert markdown == write_report(expected, "md", tmp_path / "expected.md").read_text(encoding="utf-8")
    stryker = json.loads((out / "mutation.json").read_text(encoding="utf-8"))
    assert stryker["config"]["testplan"]["project"] == "pet-insurance (run 42)"
    assert stryker["projectRoot"] == str(example.resolve())  # sources come from -C
    assert sum(len(f["mutants"]) for f in stryker["files"].values()) == 40
    for path, entry in stryker["files"].items():
        assert entry["source"] == (example / path).read_text(encoding="utf-8")


def test_report_from_a_missing_path_is_exit_2(example, tmp_path, cli):
    missing = tmp_path / "saved" / "run-43.json"
    result = cli("report", "--format", "md", "--from", missing, "--out", tmp_path / "reports", "-C", example)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"{missing}: no audit result here; run 'testplan audit' first or pass the path of an audit.json\n"
    assert not (tmp_path / "reports").exists()


def test_report_from_a_file_that_is_not_an_audit_result_is_exit_2(example, tmp_path, cli):
    bogus = tmp_path / "saved" / "run-44.json"
    bogus.parent.mkdir()
    bogus.write_text('{"schema_version": 1, "tool": 3}\n', encoding="utf-8")
    result = cli("report", "--format", "md", "--from", bogus, "--out", tmp_path / "reports", "-C", example)
    assert result.code == 2
    assert result.err.startswith(f"{bogus}:1: not a testplan audit result (")
    assert result.err.endswith("); pass the audit.json that 'testplan audit' wrote\n")
    assert len(result.err.splitlines()) == 1
    assert not (tmp_path / "reports").exists()
