"""CLI conventions on a real audit of tests/fixtures/mutate_shop: shell completion, -q/-v on every command,
survivors with their IDs after the audit table, explain --json, the labelled trace phase of the progress bar,
schema --write and the yaml-language-server line of the files init creates."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from testplan.cli import app, main
from tp_helpers import read_audit

FIXTURE = Path(__file__).parent / "fixtures" / "mutate_shop"
SURVIVORS = [  # the shop's surviving mutants, riskiest requirement first, then file and line
    ("ce994d86fd5e", "src/shop/core.py:12", "number", "SHIP-1"),
    ("552708417068", "src/shop/core.py:13", "number", "SHIP-1"),
    ("7b66e27c6cee", "src/shop/core.py:13", "swap_op", "SHIP-1"),
    ("2a7cfbfb383b", "src/shop/core.py:15", "number", "SHIP-1"),
    ("3734755e14e5", "src/shop/core.py:25", "symmetric_string_methods_swap", "LBL-1"),
    ("9403b295a5c2", "src/shop/core.py:25", "string", "LBL-1"),
    ("f2d31b33c3b3", "src/shop/core.py:25", "string", "LBL-1"),
]
HEADING = "surviving mutants (7; 'testplan explain ID' shows one):\n"


def _line(survivor: tuple[str, str, str, str]) -> str:
    return "  " + "  ".join(survivor) + "\n"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("conventions") / "shop"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__"))
    assert main(["audit", "-C", str(root), "--jobs", "2"]) == 0
    return root


def test_every_command_has_quiet_and_verbose() -> None:
    import typer.main

    main(["--version"])  # registers the options
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"-q", "--quiet", "-v", "--verbose"} <= options, name


def test_shell_completion_is_on(capsys, monkeypatch) -> None:
    with pytest.raises(SystemExit) as done:  # typer's completion options exit at once
        main(["--show-completion", "bash"])
    assert done.value.code == 0 and "_TESTPLAN_COMPLETE=complete_bash" in capsys.readouterr().out
    monkeypatch.setenv("_TESTPLAN_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "testplan audit --fo")
    monkeypatch.setenv("COMP_CWORD", "2")
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 0 and capsys.readouterr().out == "--format\n"


@pytest.mark.slow
def test_survivors_are_listed_with_ids_after_the_table(shop: Path, cli, monkeypatch) -> None:
    import testplan.cli_audit as cli_audit

    run = cli("gate", "-C", shop)  # the gate shows no table; the survivors come with the audit's table
    assert "surviving mutants" not in run.out
    result = cli("audit", "-C", shop, "--jobs", "2")
    table_end = result.out.index("project score")
    listed = result.out[result.out.index(HEADING):]
    assert table_end < result.out.index(HEADING)
    assert listed.startswith(HEADING + "".join(_line(s) for s in SURVIVORS))
    monkeypatch.setattr(cli_audit, "TOP_SURVIVORS", 3)
    top = cli("audit", "-C", shop, "--jobs", "2")
    assert HEADING + "".join(_line(s) for s in SURVIVORS[:3]) + \
        "  … and 4 more (-v lists every one; --json and audit.json have them all)\n" in top.out
    every = cli("audit", "-C", shop, "--jobs", "2", "-v")
    assert HEADING + "".join(_line(s) for s in SURVIVORS) + "LBL-1: not mutated" in every.out
    as_json = json.loads(cli("audit", "-C", shop, "--jobs", "2", "--json").out)
    assert sorted(m["id"] for m in as_json["mutants"] if m["status"] == "survived") == sorted(s[0] for s in SURVIVORS)


@pytest.mark.slow
def test_quiet_prints_only_json_and_errors(shop: Path, cli) -> None:
    quiet = cli("audit", "-C", shop, "--jobs", "2", "-q")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    assert json.loads(cli("gate", "-C", shop, "-q", "--json").out)["passed"] is True
    reports = cli("report", "-C", shop, "--format", "md", "--out", shop / "reports", "--quiet")
    assert (reports.code, reports.out, reports.err) == (0, "", "")  # no 'wrote PATH'
    assert (shop / "reports" / "testplan.md").is_file()
    normal = cli("report", "-C", shop, "--format", "md", "--out", shop / "reports")
    assert normal.err == f"wrote {shop / 'reports' / 'testplan.md'}\n"
    bad = cli("explain", "zzzz", "-C", shop, "-q")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err == "testplan: bad-input: explain: mutant ID 'zzzz' matches no mutant of this audit; copy an ID from the audit report (4+ characters)\n"


@pytest.mark.slow
def test_explain_json(shop: Path, cli) -> None:
    run = cli("explain", "ce994d86", "-C", shop, "--json")
    assert run.code == 0
    document = json.loads(run.out)
    saved = next(m for m in read_audit(shop / ".testplan" / "audit.json")["mutants"] if m["id"] == "ce994d86fd5e")
    assert document["mutant"] == saved
    assert document["requirements"] == [{"id": "SHIP-1", "title": "Shipping is free above a threshold", "state": "UNREVIEWED",
                                         "evidence_reason": None}]
    ran = sum(1 for v in saved["verdicts"].values())
    assert document["why"] == (f"{ran} linked test{'s' if ran != 1 else ''} ran the mutated line and passed: "
                               "no assertion checks what this line computes (assert the exact value or message)")


def test_verbose_shows_the_traceback_of_an_internal_error(cli, monkeypatch, tmp_path) -> None:
    import testplan.model

    def broken(kind):
        raise RuntimeError("boom")

    monkeypatch.setattr(testplan.model, "json_schema", broken)
    plain = cli("schema", "plan", "-C", tmp_path)
    assert plain.code == 70 and "Traceback" not in plain.err
    verbose = cli("schema", "plan", "-C", tmp_path, "-v")
    assert verbose.code == 70
    assert verbose.err.startswith("Traceback (most recent call last):\n") and verbose.err.endswith(
        "testplan: internal error: RuntimeError: boom (rerun with TESTPLAN_DEBUG=1 for the traceback, and please report it)\n")


def test_schema_write_and_the_modeline_of_init(cli, tmp_path) -> None:
    import jsonschema
    from ruamel.yaml import YAML

    run = cli("schema", "--write", "schemas", "-C", tmp_path)
    names = ["requirements.schema.json", "plan.schema.json", "audit.schema.json"]
    assert (run.code, run.out) == (0, "".join(f"wrote {tmp_path / 'schemas' / n}\n" for n in names))
    for name in names:
        schema = json.loads((tmp_path / "schemas" / name).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"urn:testplan:schema:{name.split('.')[0]}"  # an identifier, no host to resolve

    project = tmp_path / "new"
    project.mkdir()
    assert cli("init", "-C", project).code == 0
    text = (project / "requirements.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=.testplan/schemas/requirements.schema.json\n")
    schema = json.loads((project / ".testplan" / "schemas" / "requirements.schema.json").read_text())
    document = YAML(typ="safe").load(text)
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document)) == []
    assert cli("lint", "-C", project).code == 0


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_the_progress_bar_labels_the_trace_phase(tmp_path) -> None:
    import pexpect

    root = tmp_path / "shop"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__"))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    child = pexpect.spawn(sys.executable, ["-m", "testplan", "audit", "-C", str(root), "--jobs", "2"], env=env,
                          encoding="utf-8", timeout=180, dimensions=(40, 120))
    child.expect("tracing tests")
    child.expect("mutants")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
