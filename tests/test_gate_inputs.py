"""The gate verifies what it reads (issue 10, item 4): a saved audit.json is validated in full
(every field present), and its ``inputs`` digest must match the tree, or the gate refuses it
(exit 4) unless ``--allow-stale`` says to gate the saved artifact as it is.

Real audits (``--no-mutation``) of tests/fixtures/determinism in temp dirs; the CLI runs in-process."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from testplan.cli import main
from testplan.config import load_config
from testplan.inputs import TOOL, check_inputs, digest_of, read_inputs
from testplan.result import AuditResult, Inputs, load_result, save_result
from tp_helpers import replaced

FIXTURE = Path(__file__).parent / "fixtures" / "determinism"
STUB = '{"schema_version":1,\n"complete":true,\n"score":100}\n'
GATE_PASSED = "gate: passed (min score 0, fail on dangling, failing)\n"
RERUN = "re-run 'testplan audit' (or pass --allow-stale to gate this saved result as it is)"


@pytest.fixture(scope="module")
def audited_once(tmp_path_factory) -> Path:
    """One real audit without mutation of a copy of the fixture (exit 0: the default gate passes)."""
    root = tmp_path_factory.mktemp("audited") / "tally"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__"))
    assert main(["audit", "-C", str(root), "--no-mutation"]) == 0
    return root


@pytest.fixture
def project(audited_once, tmp_path) -> Path:
    """A private copy of the audited project, .testplan/audit.json included (paths in the record
    are relative to the project root, so a copy still matches)."""
    root = tmp_path / "tally"
    shutil.copytree(audited_once, root)
    return root


def audit_json(root: Path) -> Path:
    return root / ".testplan" / "audit.json"


def stale_error(root: Path, why: str) -> str:
    return f"testplan: stale: {audit_json(root)}: the audit result does not match the tree: {why}; {RERUN}\n"


# --- the whole schema, every field -------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["gate", "{stub}", "--fail-on", "weak,uncovered,suspect,unreviewed"],
    ["gate", "{stub}"],
    ["report", "--format", "md", "--from", "{stub}"],
    ["explain", "abcd", "--from", "{stub}"],
    ["merge", "{stub}"],
])
def test_a_hand_written_stub_is_bad_input_naming_the_first_missing_field(project, tmp_path, cli, command):
    stub = tmp_path / "stub.json"
    stub.write_text(STUB, encoding="utf-8")
    run = cli(*[str(stub) if part == "{stub}" else part for part in command], "-C", project)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"{stub}:1: not a testplan audit result (field 'tool' is missing); pass the audit.json that 'testplan audit' wrote\n"


def test_a_truncated_audit_json_is_bad_input_at_the_line_where_it_ends(project, cli):
    path = audit_json(project)
    text = path.read_text(encoding="utf-8")
    cut = text[: len(text) // 2]
    path.write_text(cut, encoding="utf-8")
    last = cut.count("\n") + 1
    run = cli("gate", "-C", project)
    assert (run.code, run.out) == (2, "")
    assert re.fullmatch(rf"{re.escape(str(path))}:{last}: not a complete JSON document \(EOF while parsing [a-z ]+ at line "
                        rf"{last} column \d+\): the file is truncated or damaged; run 'testplan audit' again\n", run.err), run.err
    path.write_text("", encoding="utf-8")
    empty = cli("gate", "-C", project)
    assert (empty.code, empty.err) == (2, f"{path}:1: not a complete JSON document (EOF while parsing a value at line 1 column 0): "
                                          "the file is truncated or damaged; run 'testplan audit' again\n")


@pytest.mark.parametrize(("edit", "detail"), [
    (lambda d: d["requirements"][0]["cases"][0].pop("kind"), "field 'requirements[0].cases[0].kind' is missing"),
    (lambda d: d["tests"][2].pop("duration"), "field 'tests[2].duration' is missing"),
    (lambda d: d["gate"].pop("requirements"), "field 'gate.requirements' is missing"),
    (lambda d: d["inputs"].pop("files"), "field 'inputs.files' is missing"),
    (lambda d: d.update(score="high"), "score: Input should be a valid number, unable to parse string as a number"),
    (lambda d: d.update(verdict="passed"), "verdict: Extra inputs are not permitted"),
])
def test_a_damaged_field_is_named_with_its_path(project, cli, edit, detail):
    data = json.loads(audit_json(project).read_text(encoding="utf-8"))
    edit(data)
    audit_json(project).write_text(json.dumps(data, indent=2), encoding="utf-8")
    run = cli("gate", "-C", project)
    assert (run.code, run.err) == (2, f"{audit_json(project)}:1: not a testplan audit result ({detail}); "
                                      "pass the audit.json that 'testplan audit' wrote\n")


def test_what_audit_writes_loads_back_equal_and_results_built_in_memory_keep_defaults(project, tmp_path):
    saved = load_result(audit_json(project))
    assert (saved.complete, saved.hash_seed, saved.inputs.tool) == (True, 0, TOOL)
    save_result(saved, tmp_path / "again.json")
    assert load_result(tmp_path / "again.json") == saved
    fresh = AuditResult(complete=True)
    assert (fresh.inputs, fresh.hash_seed, fresh.requirements) == (None, None, [])
    save_result(fresh, tmp_path / "fresh.json")  # dump() writes every field: it loads strictly
    assert load_result(tmp_path / "fresh.json") == fresh


# --- the inputs digest ------------------------------------------------------------------------

def test_audit_records_the_inputs_it_read(project):
    inputs = load_result(audit_json(project)).inputs
    assert list(inputs.files) == [
        "conftest.py", "plans/KIND-1.yaml", "plans/LUCK-1.yaml", "pyproject.toml[tool.pytest]",
        "pyproject.toml[tool.testplan]", "requirements.yaml", "src/tally/__init__.py", "tests/test_tally.py",
    ]
    assert inputs.files["src/tally/__init__.py"] == hashlib.sha256((project / "src/tally/__init__.py").read_bytes()).hexdigest()
    assert inputs.digest == digest_of(TOOL, inputs.files)
    assert inputs == read_inputs(load_config(project))


def test_gate_refuses_a_result_from_before_a_source_edit(project, cli):
    assert (cli("gate", "-C", project).code, cli("gate", "-C", project).out) == (0, GATE_PASSED)
    source = project / "src" / "tally" / "__init__.py"
    original = source.read_text(encoding="utf-8")
    source.write_text(replaced(original, "number == 13", "number == 31"), encoding="utf-8")
    stale = cli("gate", "-C", project)
    assert (stale.code, stale.out) == (4, "")
    assert stale.err == stale_error(project, "src/tally/__init__.py changed since the audit")
    allowed = cli("gate", "-C", project, "--allow-stale")
    assert (allowed.code, allowed.err) == (0, "")
    assert allowed.out == "stale: src/tally/__init__.py changed since the audit (--allow-stale)\n" + GATE_PASSED
    verdict = cli("gate", "-C", project, "--allow-stale", "--min-score", "50")  # the gate's own verdict, not a pass
    assert verdict.code == 1
    assert verdict.out == ("stale: src/tally/__init__.py changed since the audit (--allow-stale)\n"
                           "gate: FAILED (1 reason)\n  - project score 0 is below the minimum 50\n")
    as_json = cli("gate", "-C", project, "--allow-stale", "--json")
    assert (as_json.code, json.loads(as_json.out)["passed"]) == (0, True)
    assert as_json.err == "stale: src/tally/__init__.py changed since the audit (--allow-stale)\n"
    source.write_text(original, encoding="utf-8")  # the content counts, not the time stamp
    assert (cli("gate", "-C", project).code, cli("gate", "-C", project).out) == (0, GATE_PASSED)


def _append(path: str, text: str):
    def edit(root: Path) -> None:
        target = root / path
        target.write_text(target.read_text(encoding="utf-8") + text, encoding="utf-8")
    return edit


def _write(path: str, text: str):
    def edit(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return edit


@pytest.mark.parametrize(("edit", "why"), [
    (_append("tests/test_tally.py", "\n\ndef test_more():\n    assert True\n"), "tests/test_tally.py changed"),
    (_write("tests/test_new.py", "def test_new():\n    assert True\n"), "tests/test_new.py was added"),
    (_write("tests/sub/conftest.py", "import pytest\n"), "tests/sub/conftest.py was added"),
    (lambda root: (root / "conftest.py").unlink(), "conftest.py was removed"),
    (_append("plans/KIND-1.yaml", "# reviewed again\n"), "plans/KIND-1.yaml changed"),
    (_write("plans/NEW-1.yaml", "requirement: NEW-1\ncases: []\n"), "plans/NEW-1.yaml was added"),
    (_append("requirements.yaml", "# a comment\n"), "requirements.yaml changed"),
    (lambda root: _write("pyproject.toml", replaced((root / "pyproject.toml").read_text(), 'tests = ["tests"]',
                                                    'tests = ["tests"]\nmin_score = 0'))(root),
     "pyproject.toml[tool.testplan] changed"),
    (lambda root: _write("pyproject.toml", replaced((root / "pyproject.toml").read_text(), 'testpaths = ["tests"]',
                                                    'testpaths = ["tests"]\naddopts = "-q"'))(root),
     "pyproject.toml[tool.pytest] changed"),
    (_write("pytest.ini", "[pytest]\n"), "pytest.ini was added"),
    (_write("tox.ini", "[pytest]\naddopts = -q\n"), "tox.ini was added"),
])
def test_each_kind_of_input_makes_the_result_stale_and_is_named(project, cli, edit, why):
    edit(project)
    run = cli("gate", "-C", project)
    assert (run.code, run.out, run.err) == (4, "", stale_error(project, f"{why} since the audit"))


@pytest.mark.parametrize("edit", [
    _write("README.md", "# tally\n"),
    lambda root: _write("pyproject.toml", replaced((root / "pyproject.toml").read_text(), 'version = "0.1.0"', 'version = "0.2.0"'))(root),
    _write("tox.ini", "[tox]\nenvlist = py312\n"),
    _write("tests/__pycache__/test_tally.cpython-312.py", "x = 1\n"),
    _write("tests/.hypothesis/examples/x.py", "x = 1\n"),
    _write("tests/venv/lib/site.py", "x = 1\n"),
    lambda root: (_write("tests/env/pyvenv.cfg", "home = /usr\n")(root), _write("tests/env/lib/site.py", "x = 1\n")(root)),
    _write("src/tally/unrelated.py", "x = 1\n"),  # not in any requirement's code
])
def test_files_that_are_not_inputs_leave_the_result_valid(project, cli, edit):
    edit(project)
    run = cli("gate", "-C", project)
    assert (run.code, run.out, run.err) == (0, GATE_PASSED, "")


def test_an_older_result_without_inputs_is_refused_unless_allow_stale(project, cli):
    data = json.loads(audit_json(project).read_text(encoding="utf-8"))
    del data["inputs"], data["hash_seed"]  # as a testplan from before these fields wrote it
    audit_json(project).write_text(json.dumps(data, indent=2), encoding="utf-8")
    why = "it has no inputs record (written by an older testplan), so it cannot be checked against the tree"
    run = cli("gate", "-C", project)
    assert (run.code, run.out, run.err) == (4, "", stale_error(project, why))
    allowed = cli("gate", "-C", project, "--allow-stale")
    assert (allowed.code, allowed.out) == (0, f"stale: {why} (--allow-stale)\n" + GATE_PASSED)


def test_the_first_difference_is_a_changed_file_then_a_removed_then_an_added_one():
    saved = Inputs(digest="", tool=TOOL, files={"a.py": "1", "b.py": "2", "c.py": "3"})

    def now(files, tool=TOOL):
        return Inputs(digest=digest_of(tool, files), tool=tool, files=files)

    saved.digest = digest_of(TOOL, saved.files)
    assert check_inputs(saved, now(dict(saved.files))) is None
    assert check_inputs(saved, now({"a.py": "1", "c.py": "9", "d.py": "4"})) == "c.py changed since the audit (and 2 more files)"
    assert check_inputs(saved, now({"a.py": "1", "c.py": "3", "d.py": "4"})) == "b.py was removed since the audit (and 1 more file)"
    assert check_inputs(saved, now({**saved.files, "0.py": "0"})) == "0.py was added since the audit"
    assert check_inputs(saved, now(dict(saved.files), "testplan 9.9")) == f"the audit was made by {TOOL}, this is testplan 9.9"
    tampered = saved.model_copy(update={"digest": "sha256:0"})
    assert check_inputs(tampered, now(dict(saved.files))) == "its inputs digest sha256:0 is not the digest of its own files"


# --- merge ------------------------------------------------------------------------------------

def _shard(root: Path, k: int, inputs: Inputs) -> Path:
    path = root / f"shard{k}" / "audit.json"
    base = load_result(audit_json(root))
    save_result(base.model_copy(update={"shard": f"{k}/2", "mutation": True, "inputs": inputs}), path)
    return path


def test_merge_refuses_shards_of_different_inputs_and_a_stale_merge(project, cli):
    inputs = read_inputs(load_config(project))
    other = inputs.model_copy(update={"digest": "sha256:" + "0" * 64})
    first, second = _shard(project, 1, inputs), _shard(project, 2, other)
    run = cli("merge", first, second, "-C", project, "--out", project / "merged")
    assert (run.code, run.out) == (2, "")
    assert run.err == (f"{second}:1: merge: shard 2/2 audited other inputs than shard 1/2 ({first}); were they run on "
                       "the same commit? Run every shard on one commit\n")
    second = _shard(project, 2, inputs)
    assert cli("merge", first, second, "-C", project, "--out", project / "merged").code == 0
    _append("tests/test_tally.py", "\n# edited\n")(project)
    stale = cli("merge", first, second, "-C", project, "--out", project / "merged")
    assert (stale.code, stale.out) == (4, "")
    assert stale.err == (f"testplan: stale: {first}: the audit result does not match the tree: tests/test_tally.py "
                         f"changed since the audit; {RERUN}\n")
    allowed = cli("merge", first, second, "-C", project, "--out", project / "merged", "--allow-stale")
    assert allowed.code == 0
    assert allowed.out.startswith("stale: tests/test_tally.py changed since the audit (--allow-stale)\n")


def test_the_readme_shows_what_the_gate_prints(project, cli, monkeypatch):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    monkeypatch.chdir(project)
    Path("stub.json").write_text('{"schema_version":1,"complete":true,"score":100}\n', encoding="utf-8")
    assert "$ echo '{\"schema_version\":1,\"complete\":true,\"score\":100}' > stub.json; testplan gate stub.json\n" in readme
    stub = cli("gate", "stub.json")
    assert stub.code == 2 and stub.err in readme
    _append("src/tally/__init__.py", "# edited\n")(project)
    stale = cli("gate")
    assert stale.code == 4 and f"$ testplan gate\n{stale.err}" in readme
    allowed = cli("gate", "--allow-stale")
    assert allowed.code == 0 and f"$ testplan gate --allow-stale\n{allowed.out}```" in readme
