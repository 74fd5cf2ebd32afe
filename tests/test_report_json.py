"""The ``json`` format, ``audit.json`` itself: format version 2 stores the kill matrix compact (a
test table plus two short strings per mutant), version 1 files still read, and every command
that reads a result (each report, gate, explain, merge) reads both into the same models.

A version 1 file here is ``model_dump_json(indent=2)`` of the models with ``schema_version`` 1:
exactly what ``AuditResult.dump()`` wrote in version 1 (the in-memory models did not change;
on semver's real audit the two were byte for byte equal)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import get_args

import pytest

from report_fixtures import EXAMPLE_ROOT, pet_insurance_result
from testplan.model import json_schema
from testplan.ranges import index_ranges
from testplan.result import (
    CODE_VERDICT,
    VERDICT_CODE,
    AuditResult,
    MutantResult,
    TestResult,
    Verdict,
    json_line,
    matrix_tests,
    load_result,
    save_result,
)

NOT_A_RESULT = "not a testplan audit result ({}); pass the audit.json that 'testplan audit' wrote"
T = [f"tests/test_m.py::test_{n}" for n in range(6)]
GONE = "tests/test_gone.py::test_renamed"
MISSING_TOOL, MISSING_TABLE = "field 'tool' is missing", "field 'matrix_tests' is missing"


def v1_text(result: AuditResult) -> str:
    """The result as format version 1 wrote it."""
    return result.model_copy(update={"schema_version": 1}).model_dump_json(indent=2) + "\n"


def small_result() -> AuditResult:
    """Six tests; mutants whose verdicts run in the suite's order, out of it, not at all, and on
    a test the trace no longer has."""
    def mutant(n: int, status: str, verdicts: dict[str, str]) -> MutantResult:
        return MutantResult(id=f"m{n}", file="src/m.py", line=n, operator="number", original="1", mutated="2",
                            requirements=["M-1"], status=status, verdicts=verdicts)  # type: ignore[arg-type]

    return AuditResult(
        complete=True, project="m", mutation=True,
        tests=[TestResult(nodeid=nodeid, file="tests/test_m.py", line=n + 1, outcome="passed") for n, nodeid in enumerate(T)],
        mutants=[mutant(1, "killed", {T[1]: "pass", T[2]: "assert", T[3]: "pass"}),
                 mutant(2, "killed-by-crash", {T[4]: "crash", T[0]: "timeout"}),
                 mutant(3, "no-coverage", {}),
                 mutant(4, "survived", {GONE: "pass"})])


def test_version_2_stores_a_test_table_and_two_strings_per_mutant():
    saved = json.loads(small_result().dump())
    assert saved["schema_version"] == 2
    assert saved["matrix_tests"] == [T[0], T[1], T[2], T[3], T[4], GONE]  # the suite's order; T[5] has no verdict
    assert [(m["tests"], m["verdicts"]) for m in saved["mutants"]] == [("1-3", "pap"), ("4,0", "ct"), ("", ""), ("5", "p")]
    assert "verdicts" not in json.dumps(saved["tests"]) and set(saved["mutants"][0]) == {
        "id", "file", "line", "operator", "original", "mutated", "requirements", "status", "tests", "verdicts"}


def test_every_verdict_has_its_own_letter():
    assert set(VERDICT_CODE) == set(get_args(Verdict))
    assert len(CODE_VERDICT) == len(VERDICT_CODE) and all(len(c) == 1 for c in CODE_VERDICT)


@pytest.mark.parametrize(("indexes", "text"), [
    ([], ""), ([7], "7"), ([0, 1, 2], "0-2"), ([0, 1, 2, 7, 3], "0-2,7,3"), ([5, 4, 3], "5,4,3"), ([9, 10, 2, 3, 11], "9-10,2-3,11"),
])
def test_index_ranges_keep_the_order(indexes, text):
    assert index_ranges(indexes) == text


def test_a_version_1_file_reads_into_equal_models_and_saves_as_version_2(tmp_path):
    for made in (small_result(), pet_insurance_result()):
        old = tmp_path / "v1.json"
        old.write_text(v1_text(made), encoding="utf-8")
        assert json.loads(old.read_text(encoding="utf-8"))["mutants"][0]["verdicts"] == made.mutants[0].verdicts  # a dict
        read = load_result(old)
        assert read == made and read.schema_version == 2
        save_result(read, tmp_path / "v2.json")
        again = load_result(tmp_path / "v2.json")
        assert again == made
        assert [list(m.verdicts.items()) for m in again.mutants] == [list(m.verdicts.items()) for m in made.mutants]  # order too
        assert again.dump() == (tmp_path / "v2.json").read_text(encoding="utf-8") == made.dump()


def test_the_kill_matrix_takes_a_fraction_of_version_1s_bytes(tmp_path):
    """Shaped like semver's audit (846 mutants, 534 tests, 45,269 verdicts: 5.4 MB in version 1,
    0.8 MB in version 2): every mutant ran by 50 of 200 parametrized tests, killed by one."""
    nodeids = [f"tests/test_parsing.py::test_should_parse_version[1.2.{n}-expected{n}]" for n in range(200)]
    made = AuditResult(tests=[TestResult(nodeid=nodeid, file="tests/test_parsing.py", line=n, outcome="passed")
                              for n, nodeid in enumerate(nodeids)],
                       mutants=[MutantResult(id=f"{n:012x}", file="src/semver/version.py", line=n, operator="number",
                                             original="x + 1", mutated="x + 2", status="killed",
                                             verdicts={nodeid: "assert" if k == 7 else "pass"
                                                       for k, nodeid in enumerate(nodeids[n % 150:n % 150 + 50])})
                                for n in range(300)])
    version_1, version_2 = len(v1_text(made).encode()), len(made.dump().encode())
    assert version_2 * 3 <= version_1, (version_1, version_2)  # 1.46 MB -> 0.18 MB (12 %)
    saved = json.loads(made.dump())
    assert (saved["mutants"][151]["tests"], saved["mutants"][151]["verdicts"]) == ("1-50", "p" * 7 + "a" + "p" * 42)
    save_result(made, tmp_path / "audit.json")
    assert load_result(tmp_path / "audit.json") == made


def test_the_schema_is_version_2s_and_describes_the_matrix():
    import jsonschema

    validator = jsonschema.Draft202012Validator(json_schema("audit"))
    assert list(validator.iter_errors(json.loads(small_result().dump()))) == []
    assert list(validator.iter_errors(json.loads(pet_insurance_result().dump()))) == []
    [old] = validator.iter_errors(json.loads(small_result().dump()) | {"schema_version": 1})
    assert (list(old.path), old.message) == (["schema_version"], "2 was expected")
    damaged = json.loads(small_result().dump())
    damaged["mutants"][0].update(tests="1-3;4", verdicts="pax")
    assert sorted((list(e.path), e.message) for e in validator.iter_errors(damaged)) == [
        (["mutants", 0, "tests"], "'1-3;4' does not match '^([0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)?$'"),
        (["mutants", 0, "verdicts"], "'pax' does not match '^[pact]*$'"),
    ]


# --- what is wrong in a version 2 file, at its line ---------------------------------------------

def _line_of(text: str, fragment: str) -> int:
    [line] = [n for n, text_line in enumerate(text.splitlines(), 1) if fragment in text_line]
    return line


@pytest.mark.parametrize(("edit", "fragment", "detail"), [
    (lambda d: d["mutants"][1].update(tests="4,9"), '"tests": "4,9"',
     "mutants[1].tests: test index 9 is out of range: matrix_tests has 6 tests"),
    (lambda d: d["mutants"][0].update(tests="1-6"), '"tests": "1-6"',
     "mutants[0].tests: test index 6 is out of range: matrix_tests has 6 tests"),
    (lambda d: d["mutants"][0].update(verdicts="pa"), '"verdicts": "pa"',
     "mutants[0].verdicts: 2 verdicts for 3 tests: one letter per test of 'tests'"),
    (lambda d: d["mutants"][3].update(verdicts="pp"), '"verdicts": "pp"',
     "mutants[3].verdicts: 2 verdicts for 1 test: one letter per test of 'tests'"),
    (lambda d: d["mutants"][0].update(verdicts="pxp"), '"verdicts": "pxp"',
     "mutants[0].verdicts: 'x' is not a verdict letter (p pass, a assert, c crash, t timeout)"),
    (lambda d: d["mutants"][1].update(tests="4,4"), '"tests": "4,4"', "mutants[1].tests: test index 4 is listed twice"),
    (lambda d: d["mutants"][0].update(tests="3-1"), '"tests": "3-1"',
     "mutants[0].tests: the range '3-1' runs backwards; write it '1-3'"),
    (lambda d: d["mutants"][0].update(tests="1 2 3"), '"tests": "1 2 3"',
     "mutants[0].tests: '1 2 3' is not a test index or a range of them (like '0-52,60')"),
    (lambda d: d["mutants"][2].update(tests=[0, 1]), '      "tests": [',
     "mutants[2].tests: Input should be a valid string"),
    (lambda d: d["matrix_tests"].__setitem__(4, T[0]), None,
     f"matrix_tests[4]: '{T[0]}' is listed twice (each test once)"),
])
def test_a_damaged_kill_matrix_is_bad_input_at_its_line(tmp_path, cli, edit, fragment, detail):
    data = json.loads(small_result().dump())
    edit(data)
    path = tmp_path / "audit.json"
    text = json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    line = _line_of(text, fragment) if fragment else text.splitlines().index(f'    "{T[0]}",', text.splitlines().index(f'    "{T[3]}",')) + 1
    for command in (["gate", path, "--allow-stale"], ["report", "--format", "md", "--from", path, "--out", tmp_path / "r"],
                    ["explain", "m1", "--from", path], ["merge", path, "--out", tmp_path / "merged"]):
        run = cli(*command, "-C", tmp_path)
        assert (run.code, run.out, run.err) == (2, "", f"{path}:{line}: {NOT_A_RESULT.format(detail)}\n"), command
    assert not (tmp_path / "r").exists() and not (tmp_path / "merged").exists()


def test_a_version_2_stub_or_an_unknown_version_is_bad_input(tmp_path, cli):
    stub = tmp_path / "stub.json"
    stub.write_text('{"schema_version":2,\n"complete":true,\n"score":100}\n', encoding="utf-8")
    run = cli("gate", stub, "-C", tmp_path)
    assert (run.code, run.err) == (2, f"{stub}:1: {NOT_A_RESULT.format(MISSING_TOOL)}\n")
    data = json.loads(small_result().dump())
    del data["matrix_tests"]
    stub.write_text(json.dumps(data, indent=2), encoding="utf-8")
    run = cli("gate", stub, "-C", tmp_path)
    assert (run.code, run.err) == (2, f"{stub}:1: {NOT_A_RESULT.format(MISSING_TABLE)}\n")
    stub.write_text(small_result().dump().replace('"schema_version": 2', '"schema_version": 3'), encoding="utf-8")
    run = cli("gate", stub, "-C", tmp_path)
    assert (run.code, run.err) == (2, f"{stub}:1: audit result has schema_version 3, this testplan reads 1 and 2; rerun 'testplan audit'\n")


@pytest.mark.parametrize(("text", "loc", "line"), [
    ('{"a": 1}', ["a"], 1),
    ('{\n "a": [\n  1,\n  {"b": "x\\"]}\\n",\n   "c": 2}\n ]\n}', ["a", 1, "c"], 5),
    ('{\n "a": [\n  1,\n  {"b": "x\\"]}\\n",\n   "c": 2}\n ]\n}', ["a", 1], 4),
    ('{\n "a": [\n  1,\n  {"b": "x\\"]}\\n",\n   "c": 2}\n ]\n}', ["a", 5, "c"], 2),  # no element 5: the array
    ('{\n "a": [\n  1,\n  {"b": "x\\"]}\\n",\n   "c": 2}\n ]\n}', ["z"], 1),
    ('\n\n{"a":\n\n  {"b": 2}}', ["a", "b"], 5),
])
def test_json_line_finds_the_value_at_a_path(text, loc, line):
    assert json_line(text, loc) == line


# --- every reader reads version 2 as it reads version 1 -----------------------------------------

@pytest.fixture
def saved_both(tmp_path) -> tuple[Path, Path, Path]:
    """A git checkout of the example whose refunds.py line 45 changed since HEAD (uncommitted),
    and the example's result (with ``--diff HEAD``) saved as version 1 and as version 2."""
    root = tmp_path / "pet-insurance"
    shutil.copytree(EXAMPLE_ROOT, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", "-C", str(root)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    source = root / "src/petinsure/refunds.py"
    source.write_text(source.read_text(encoding="utf-8").replace(
        "    remaining = payment.captured - payment.refunded\n", "    remaining = payment.captured - payment.refunded  # left\n"), encoding="utf-8")
    result = pet_insurance_result()
    result.mutation_options = {"diff_base": "HEAD"}
    v1, v2 = tmp_path / "v1" / "audit.json", tmp_path / "v2" / "audit.json"
    v1.parent.mkdir()
    v1.write_text(v1_text(result), encoding="utf-8")
    save_result(result, v2)
    assert '"matrix_tests"' in v2.read_text(encoding="utf-8") and '"matrix_tests"' not in v1.read_text(encoding="utf-8")
    return root, v1, v2


def test_every_report_gate_and_explain_read_version_2_as_version_1(saved_both, tmp_path, cli):
    root, v1, v2 = saved_both
    formats = "md,junit,sarif,stryker,html,json,codequality"
    for saved in (v1, v2):
        run = cli("report", "--format", formats, "--from", saved, "--out", saved.parent / "reports", "-C", root)
        assert run.code == 0, run.err
    one, two = v1.parent / "reports", v2.parent / "reports"
    names = sorted(p.name for p in two.iterdir())
    assert names == sorted(p.name for p in one.iterdir()) == [
        "audit.json", "gl-code-quality-report.json", "mutation.json", "testplan-junit.xml", "testplan.html", "testplan.md", "testplan.sarif"]
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert (two / "audit.json").read_text(encoding="utf-8") == v2.read_text(encoding="utf-8")  # json: version 2 either way
    md = (two / "testplan.md").read_text(encoding="utf-8")
    assert "### This change touches" in md and "changed lines `src/petinsure/refunds.py:45`" in md  # the impact section
    stryker = json.loads((two / "mutation.json").read_text(encoding="utf-8"))
    killed_by = {m["id"]: sorted(m.get("killedBy", [])) for f in stryker["files"].values() for m in f["mutants"]}
    made = pet_insurance_result()
    assert sum(1 for ids in killed_by.values() if ids) == sum(1 for m in made.mutants if set(m.verdicts.values()) & {"assert", "crash"})

    survivor = next(m for m in made.mutants if m.status == "survived" and m.verdicts)
    for command in (["explain", survivor.id, "--from"], ["explain", survivor.id, "--json", "--from"], ["gate", "--allow-stale"]):
        runs = [cli(*command, saved, "-C", root) for saved in (v1, v2)]
        assert runs[0] == runs[1] and runs[1].code in (0, 1), (command, runs[1].err)
    explained = json.loads(cli("explain", survivor.id, "--json", "--from", v2, "-C", root).out)
    assert explained["mutant"]["verdicts"] == survivor.verdicts  # the in-memory API: {nodeid: verdict}


def test_merge_reads_version_2_shards_and_a_version_1_one_beside_them(tmp_path, cli):
    made = pet_insurance_result()
    root = tmp_path / "pet-insurance"
    shutil.copytree(EXAMPLE_ROOT, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))

    def shard(k: int, version: int) -> Path:
        part = made.model_copy(update={"shard": f"{k}/2", "mutants": made.mutants[k - 1::2]})
        path = tmp_path / f"shard{k}-v{version}" / "audit.json"
        path.parent.mkdir(exist_ok=True)
        if version == 1:
            path.write_text(v1_text(part), encoding="utf-8")
        else:
            save_result(part, path)
        return path

    for versions in ((2, 2), (2, 1)):
        out = tmp_path / f"merged-{versions[0]}{versions[1]}"
        run = cli("merge", shard(1, versions[0]), shard(2, versions[1]), "--out", out, "--allow-stale", "-C", root)
        assert run.code in (0, 1), run.err
        merged = load_result(out / "audit.json")
        assert (merged.shard, merged.complete, merged.schema_version) == (None, True, 2)
        assert sorted(merged.mutants, key=lambda m: m.id) == sorted(made.mutants, key=lambda m: m.id)
        assert json.loads((out / "audit.json").read_text(encoding="utf-8"))["matrix_tests"] == matrix_tests(made)


def test_the_readme_shows_a_damaged_matrix(example, cli, monkeypatch):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    text = pet_insurance_result().dump()
    assert text.count('"tests": "32,31,26"') == 1  # mutants[3]
    (example / ".testplan").mkdir()
    (example / ".testplan" / "audit.json").write_text(text.replace('"tests": "32,31,26"', '"tests": "32,31,42"'), encoding="utf-8")
    monkeypatch.chdir(example)
    run = cli("gate")
    assert run.code == 2 and run.err.startswith(".testplan/audit.json:")
    assert f"$ testplan gate\n{run.err}```" in readme, run.err
