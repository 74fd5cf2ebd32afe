"""Plan files: round-trip YAML, atomic writes, and nothing but the named plan is written."""

from __future__ import annotations

import json
import re
import os
from pathlib import Path

import pytest

from tp_helpers import tree_digest
from tp_helpers import REQUIREMENTS
from testplan.errors import InputError
from testplan.store import atomic_write, load_plan_file, read_yaml


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "pyproject.toml").write_text('[tool.testplan]\nrequirements = "requirements.yaml"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_x():\n    assert 1 + 1 == 2\n")
    return tmp_path


HAND_WRITTEN = """\
# Plan for PAY-1, kept by the pricing team.
requirement: PAY-1
cases:
  - id: PAY-1.1   # the boundary everyone gets wrong
    title: "exactly 2 pets"
    kind: boundary
    given: 'a household with 2 pets'
    expect: premium 90.00
    priority: high
    origin: human
    status: proposed
"""


@pytest.mark.verifies("STORE-1.1", "STORE-1.2")
def test_load_save_keeps_comments_order_and_quoting(tmp_path):
    path = tmp_path / "PAY-1.yaml"
    path.write_text(HAND_WRITTEN)
    plan_file = load_plan_file(path)
    assert plan_file.render() == HAND_WRITTEN
    assert plan_file.save() is False  # unchanged: not even rewritten
    plan_file.set_case_status("PAY-1.1", "rejected", "covered by PAY-2")
    assert plan_file.save() is True
    assert path.read_text() == HAND_WRITTEN.replace(
        "    status: proposed\n", "    status: rejected\n    reason: covered by PAY-2\n")


@pytest.mark.verifies("STORE-1.2")
def test_only_the_named_plan_file_is_written(project, cli):
    cli("enumerate", "CARD-1", "-C", project)
    before = tree_digest(project)
    cli("enumerate", "PAY-1", "-C", project)
    after = tree_digest(project)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {"plans/PAY-1.yaml"}
    cli("approve", "CARD-1", "--all-proposed", "--by", "R", "-C", project)
    final = tree_digest(project)
    assert {k for k in final if final[k] != after.get(k)} == {"plans/CARD-1.yaml"}


@pytest.mark.verifies("STORE-1.1")
def test_read_commands_write_nothing(project, cli):
    cli("enumerate", "--all", "-C", project)
    before = tree_digest(project, exclude=())
    for args in (["lint"], ["status"], ["status", "--json"]):
        cli(*args, "-C", project)
    assert tree_digest(project, exclude=()) == before


@pytest.mark.verifies("STORE-1.3")
def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("old: content\n")
    os.chmod(path, 0o640)

    with pytest.raises(TypeError, match="write\\(\\) argument must be str, not int"):
        atomic_write(path, 12345)  # type: ignore[arg-type]  # the write fails midway
    assert path.read_text() == "old: content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]  # no temp file left behind
    atomic_write(path, "new: content\n")
    assert path.read_text() == "new: content\n"
    assert oct(path.stat().st_mode & 0o777) == "0o640"  # permissions kept


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"^nowhere.yaml: file not found; create it or point \[tool.testplan\] at the right path$"):
        read_yaml(tmp_path / "nowhere.yaml", "nowhere.yaml")


def test_non_utf8_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"^latin1.yaml:1: not UTF-8 text \(invalid continuation byte\); save the file as UTF-8$"):
        read_yaml(path, "latin1.yaml")


def test_init_scaffolds_and_never_overwrites(tmp_path, cli):
    result = cli("init", "-C", tmp_path)
    assert result.code == 0
    assert result.out.splitlines() == [
        f"created  {tmp_path / 'requirements.yaml'}",
        f"created  {tmp_path / 'plans'}/",
        f"created  {tmp_path / 'pyproject.toml'} with [tool.testplan]",
        f"created  {tmp_path / '.gitignore'} with .testplan/",
        "next: add requirements, then 'testplan enumerate --all' and 'testplan review ID'",
    ]
    assert cli("lint", "-C", tmp_path).out == "lint: no problems\n"
    before = tree_digest(tmp_path, exclude=())
    again = cli("init", "-C", tmp_path)
    assert again.out.splitlines()[:3] == [
        f"kept     {tmp_path / 'requirements.yaml'} (exists)",
        f"kept     {tmp_path / 'plans'}/ (exists)",
        f"kept     {tmp_path / 'pyproject.toml'} (has [tool.testplan])",
    ]
    assert tree_digest(tmp_path, exclude=()) == before


def test_init_appends_the_table_to_an_existing_pyproject(tmp_path, cli):
    original = '[project]\nname = "shop"  # keep me\n'
    (tmp_path / "pyproject.toml").write_text(original)
    cli("init", "-C", tmp_path)
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original)
    assert '\n[tool.testplan]\nrequirements = "requirements.yaml"\n' in text


def test_init_sees_a_testplan_table_in_any_toml_form(tmp_path, cli):
    original = '[project]\nname = "shop"\n\n[tool]\ntestplan = { min_score = 50 }\n'
    (tmp_path / "pyproject.toml").write_text(original)
    result = cli("init", "-C", tmp_path)
    assert result.out.splitlines()[2] == f"kept     {tmp_path / 'pyproject.toml'} (has [tool.testplan])"
    assert (tmp_path / "pyproject.toml").read_text() == original
    assert cli("lint", "-C", tmp_path).code == 0


def test_init_refuses_a_malformed_pyproject_and_writes_nothing_to_it(tmp_path, cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop\n')
    result = cli("init", "-C", tmp_path)
    assert result.code == 2
    assert re.fullmatch(r"pyproject\.toml:2: malformed TOML: .+; fix the syntax \(nothing was written\)\n", result.err)
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\nname = "shop\n'


@pytest.mark.parametrize("kind", ["requirements", "plan", "audit"])
def test_schema_is_json_schema_of_the_file_format(cli, kind, tmp_path):
    import jsonschema

    result = cli("schema", kind, "-C", tmp_path)
    schema = json.loads(result.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    if kind == "plan":
        validator = jsonschema.Draft202012Validator(schema)
        assert list(validator.iter_errors({"requirement": "PAY-1", "cases": []})) == []
        errors = list(validator.iter_errors({"requirement": "PAY-1", "cases": [], "owner": "x"}))
        assert [e.message for e in errors] == ["Additional properties are not allowed ('owner' was unexpected)"]
    if kind == "audit":  # the example's result, as the audit writes it, is valid against it
        from report_fixtures import pet_insurance_result

        validator = jsonschema.Draft202012Validator(schema)
        assert list(validator.iter_errors(json.loads(pet_insurance_result().dump()))) == []
        assert schema["properties"]["schema_version"]["default"] == 1


def test_schema_unknown_kind(cli):
    result = cli("schema", "tests")
    assert (result.code, result.err) == (2, "testplan: bad-input: schema: unknown format 'tests'; use 'requirements', 'plan' or 'audit'\n")


@pytest.mark.verifies("STORE-1.2")
@pytest.mark.parametrize("text", ["a\x85b", "x\u2028y", "bell\x07", "\ufeffbom", "multi\nline\n", " lead", "trail ", "it's \"quoted\""])
def test_strings_yaml_would_break_survive_a_round_trip(tmp_path, text):
    """Found by hypothesis: NEL (\\x85) was written plain and read back as a line break."""
    from testplan.model import Case
    from testplan.store import PlanFile

    path = tmp_path / "REQ-1.yaml"
    plan_file = PlanFile.new(path, "REQ-1")
    plan_file.add_case(Case(id="REQ-1.1", title="t", kind="nominal", expect=text))
    plan_file.save()
    loaded = load_plan_file(path)
    assert loaded.plan.cases[0].expect == text
    assert loaded.render() == path.read_text(encoding="utf-8")
