"""``testplan init`` defaults a user can keep: .testplan/ git-ignored, a src/ layout the tests can
import, and a gate that fails on suspect, failing and dangling."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testplan.config import load_config


def test_init_appends_testplan_to_gitignore_and_keeps_every_other_line(tmp_path, cli):
    original = "node_modules\n# build output\n/dist\n*.pyc"  # no final newline
    (tmp_path / ".gitignore").write_text(original)
    result = cli("init", "-C", tmp_path)
    assert result.code == 0
    assert f"appended .testplan/ to {tmp_path / '.gitignore'}" in result.out.splitlines()
    assert (tmp_path / ".gitignore").read_text() == original + "\n.testplan/\n"
    again = cli("init", "-C", tmp_path)
    assert f"kept     {tmp_path / '.gitignore'} (ignores .testplan/)" in again.out.splitlines()
    assert (tmp_path / ".gitignore").read_text() == original + "\n.testplan/\n"


def test_git_add_all_after_an_audit_commits_no_state(tmp_path, cli):
    assert cli("init", "-C", tmp_path).code == 0
    (tmp_path / ".testplan").mkdir(exist_ok=True)  # init wrote .testplan/schemas/ (the editor's JSON Schemas)
    (tmp_path / ".testplan" / "audit.json").write_text("{}")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    listed = subprocess.run(["git", "-C", str(tmp_path), "ls-files"], capture_output=True, text=True, check=True).stdout
    assert listed.splitlines() == [".gitignore", "pyproject.toml", "requirements.yaml"]


SRC_NOTE = ("note     src/ layout: the tests cannot import petshop (not installed, and pytest has no pythonpath = [\"src\"]); "
            "testplan runs pytest with -o pythonpath=src (pytest_args); for plain pytest add pythonpath = [\"src\"] to "
            "[tool.pytest.ini_options] or pip install -e .")


def src_project(root: Path) -> Path:
    (root / "src" / "petshop").mkdir(parents=True)
    (root / "src" / "petshop" / "__init__.py").write_text("")
    (root / "src" / "petshop" / "pricing.py").write_text(
        "def discount(pets):\n    if pets < 0:\n        raise ValueError('pet count must be >= 0')\n"
        "    return 0.9 if pets >= 2 else 1.0\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_pricing.py").write_text(
        "import pytest\nfrom petshop.pricing import discount\n\n\n@pytest.mark.verifies('PAY-1')\n"
        "def test_two_pets():\n    assert discount(2) == 0.9\n")
    return root


def test_init_detects_a_src_layout_and_configures_pytest_args_so_the_audit_imports_it(tmp_path, cli):
    root = src_project(tmp_path)
    result = cli("init", "-C", root)
    assert SRC_NOTE in result.out.splitlines()
    assert load_config(root).pytest_args == ["-o", "pythonpath=src"]
    (root / "requirements.yaml").write_text("project: petshop\nrequirements:\n  - id: PAY-1\n    title: discount\n"
                                            "    statement: 2 or more pets get 10 % off.\n    code: [petshop.pricing:discount]\n")
    audit = cli("audit", "--no-mutation", "--fail-on", "none", "-C", root)
    assert audit.code == 0, audit.err
    assert "PAY-1 discount" in audit.out
    assert cli("init", "-C", root).out.count("note ") == 0  # configured now


def test_init_says_how_to_fix_a_src_layout_when_the_table_exists(tmp_path, cli):
    root = src_project(tmp_path)
    (root / "pyproject.toml").write_text("[tool.testplan]\n")
    out = cli("init", "-C", root).out.splitlines()
    assert ("note     src/ layout: the tests cannot import petshop (not installed, and pytest has no pythonpath = [\"src\"]); "
            "add pytest_args = [\"-o\", \"pythonpath=src\"] to [tool.testplan]; for plain pytest add pythonpath = [\"src\"] "
            "to [tool.pytest.ini_options] or pip install -e .") in out
    assert (root / "pyproject.toml").read_text() == "[tool.testplan]\n"


def test_a_src_layout_pytest_can_import_gets_no_note(tmp_path, cli):
    root = src_project(tmp_path)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    out = cli("init", "-C", root).out
    assert "note" not in out and "pytest_args" not in (root / "pyproject.toml").read_text()


def test_the_gate_init_writes_fails_on_a_suspect_plan(tmp_path, cli):
    root = src_project(tmp_path)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    assert cli("init", "-C", root).code == 0
    (root / "requirements.yaml").write_text(
        "project: petshop\nrequirements:\n  - id: PAY-1\n    title: discount\n    statement: 2 or more pets get 10 % off.\n"
        "    code: [petshop.pricing:discount]\n")
    (root / "plans" / "PAY-1.yaml").write_text(
        "requirement: PAY-1\ncases:\n  - id: PAY-1.1\n    title: two pets\n    kind: nominal\n    given: {pets: 2}\n"
        "    expect: {returns: 0.9}\n    status: proposed\n")
    assert cli("approve", "PAY-1", "--case", "PAY-1.1", "--by", "R", "-C", root).code == 0
    (root / "tests" / "test_pricing.py").write_text(
        (root / "tests" / "test_pricing.py").read_text().replace("'PAY-1'", "'PAY-1.1'"))
    req = root / "requirements.yaml"
    req.write_text(req.read_text().replace("10 % off", "15 % off"))
    result = cli("audit", "--no-mutation", "-C", root)
    assert result.code == 1
    assert "gate: FAILED" in result.out + result.err
    assert "PAY-1 (discount) is SUSPECT" in result.out + result.err
