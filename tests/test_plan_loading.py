"""Plan loading (issue 15 item 2): requirements and plans read by libyaml when they are plain
YAML (testplan/fastyaml.py), from the project's parse cache when their exact bytes were read
before (``.testplan/cache/parsed/``, testplan/parsecache.py and store.ParseCache), and by ruamel
round-trip otherwise. All three give the same models, lines and findings; an edit is parsed
again with its exact errors and refusals; a bad entry is discarded with one warning; and the
cache is written only by lint, status and enumerate, after they did their work, into a
``.testplan`` that exists and is a real directory: a fresh clone, a refused command, a symlinked
or unusable state directory and an ``audit --out DIR`` get nothing written."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from testplan import fastyaml
from testplan.config import load_config
from testplan.errors import InputError
from testplan.lint import lint
from testplan.model import outline, plan_state
from testplan.parsecache import entry_name, line_tree, memo_name
from testplan.review import load_project, status
from testplan.store import Doc, ParseCache, _plain, parse_yaml

from tp_helpers import EXAMPLE, REPO, replaced, tree_digest

CORPUS = Path(__file__).parent / "lint_corpus"
CORPUS_CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))


def entries(root: Path) -> set[str]:
    """The parse cache's entries (its memo aside)."""
    return {p.name for p in (root / ".testplan" / "cache" / "parsed").glob("*.json") if not p.name.startswith("memo.")}


def entry_of(path: Path) -> str:
    return entry_name(hashlib.sha256(path.read_bytes()).hexdigest())


def every_entry(root: Path) -> set[str]:
    return {entry_of(root / "requirements.yaml")} | {entry_of(p) for p in (root / "plans").glob("*.yaml")}


def snapshot(root: Path, cache: ParseCache | None = None):
    """Everything a command reads from a loaded project, as comparable values."""
    config = load_config(root)
    project = load_project(config, cache=cache)
    requirements = project.requirements
    plans = {rid: pf.plan for rid, pf in project.plans.files.items()}
    states = {r.id: plan_state(r, project.plans.get(r.id)) for r in requirements}
    lines = {rid: [pf.line(["cases", i, key]) for i in range(len(pf.plan.cases)) for key in ("id", "given", "expect")]
             + [pf.line(["review"]), pf.line(["review", "fingerprint"]), pf.line(["nowhere"])]
             for rid, pf in project.plans.files.items()}
    rows = [row.as_dict() for row in status(project)]
    return (requirements.project, requirements.items, requirements.sources, plans, states, lines, rows), project


# --- the same project, however it is read ---------------------------------------------------------

@pytest.mark.verifies("STORE-1")
def test_ruamel_libyaml_and_the_cache_load_the_same_project(example, monkeypatch, capsys):
    monkeypatch.setattr(fastyaml, "AVAILABLE", False)  # as without libyaml: every file parsed round-trip
    round_trip, project = snapshot(example)
    assert all(pf.document.__class__.__name__ == "CommentedMap" for pf in project.plans.files.values())
    round_trip_lint = lint(load_config(example))
    monkeypatch.undo()
    fast, project = snapshot(example)
    assert all(isinstance(pf.document, Doc) and pf.document.rt is None for pf in project.plans.files.values())
    assert fast == round_trip
    assert lint(load_config(example)) == round_trip_lint
    assert not (example / ".testplan").exists()  # no .testplan: lint wrote nothing
    (example / ".testplan").mkdir()
    assert lint(load_config(example)) == round_trip_lint  # fills the cache
    assert entries(example) == every_entry(example)
    cache = ParseCache(example)
    cached, _ = snapshot(example, cache)
    assert cached == round_trip
    assert cache.pending == {}  # every file came from the cache: nothing new to write
    review_line = (example / "plans" / "CARD-2.yaml").read_text().splitlines().index("review:") + 1
    assert [(f.path, f.line, f.message) for f in round_trip_lint] == [(
        "plans/CARD-2.yaml", review_line,
        "plan of CARD-2 is SUSPECT: the requirement or an approved case changed after review; see what changed with "
        "'testplan diff CARD-2', then re-sign with 'testplan approve CARD-2 --by NAME' (it approves no proposed case)")]
    assert {rid: s.value for rid, s in round_trip[4].items() if s.value != "APPROVED"} == {"CARD-2": "SUSPECT"}
    # the entry is what is read: an entry with other (well-formed) values is believed
    entry = example / ".testplan" / "cache" / "parsed" / entry_of(example / "plans" / "CARD-1.yaml")
    record = json.loads(entry.read_text())
    record["data"]["cases"][0]["title"] = "read from the cache"
    entry.write_text(json.dumps(record))
    assert load_project(load_config(example), cache=ParseCache(example)).plans.get("CARD-1").cases[0].title == "read from the cache"
    assert capsys.readouterr().err == ""


@pytest.mark.verifies("STORE-1")
@pytest.mark.parametrize("case", CORPUS_CASES)
def test_every_lint_finding_is_the_same_from_the_cache(case, tmp_path, cli):
    """The lint corpus (tests/test_lint.py): the exact lines, on a first run that fills the
    cache with the files that parsed, and on a second one that reads them from it."""
    project = tmp_path / "p"
    shutil.copytree(CORPUS / "_base", project)
    shutil.copytree(CORPUS / case, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expect"))
    (project / ".testplan").mkdir()
    expected = (CORPUS / case / "expect").read_text().splitlines()
    for _ in range(2):
        run = cli("lint", "-C", project)
        printed = run.out.splitlines() + [line for line in run.err.splitlines() if not line.startswith("lint: ")]
        assert (run.code, printed) == (2, expected)


def test_enumerate_caches_the_plans_it_writes(example, cli):
    run = cli("enumerate", "--all", "-C", example)
    assert run.code == 0 and "wrote" in run.out
    assert entries(example) == every_entry(example)
    assert cli("lint", "-C", example).code == 0  # the memo learns the plans' outlines
    before = tree_digest(example, exclude=())
    for args in (["lint"], ["status", "--json"], ["enumerate", "--all"]):
        assert cli(*args, "-C", example).code == 0
    assert tree_digest(example, exclude=()) == before  # everything was read from the cache and its memo
    # an edit by hand: lint adds the new bytes' entry; enumerate (the writer) drops the old one
    path = example / "plans" / "PAY-1.yaml"
    old = entry_of(path)
    path.write_text(replaced(path.read_text(), "title: exactly 2 pets get 10 % off", "title: two pets, ten percent off"))
    assert cli("lint", "-C", example).code == 0
    assert entries(example) == every_entry(example) | {old}
    assert "unchanged plans/PAY-1.yaml" in cli("enumerate", "--all", "-C", example).out
    assert entries(example) == every_entry(example)


def test_a_cached_plan_is_parsed_round_trip_only_to_be_written(example, cli):
    assert cli("enumerate", "--all", "-C", example).code == 0
    before = {p.name: p.read_bytes() for p in (example / "plans").glob("*.yaml")}
    run = cli("enumerate", "--all", "-C", example)
    assert run.code == 0 and "wrote" not in run.out
    assert {p.name: p.read_bytes() for p in (example / "plans").glob("*.yaml")} == before
    project = load_project(load_config(example), cache=ParseCache(example))
    plan_file = project.plans.files["PAY-1"]
    assert isinstance(plan_file.document, Doc)
    text = plan_file.original
    plan_file.set_case_status("PAY-1.1", "rejected", "covered elsewhere")  # parses the document now
    assert plan_file.plan.case("PAY-1.1").status.value == "rejected"
    assert plan_file.save() is True
    assert "    status: approved\n" in text
    assert (example / "plans" / "PAY-1.yaml").read_text() == text.replace(
        "    status: approved\n", "    status: rejected\n    reason: covered elsewhere\n", 1)


# --- edits, refusals and bad entries --------------------------------------------------------------

def test_an_edited_file_is_parsed_again_with_exact_errors(example, cli):
    (example / ".testplan").mkdir()
    assert cli("lint", "-C", example).code == 0
    path = example / "plans" / "PAY-1.yaml"
    text = path.read_text()
    path.write_text(replaced(text, "title: exactly 2 pets get 10 % off", "title: two pets, ten percent off"))
    assert load_project(load_config(example), cache=ParseCache(example)).plans.get("PAY-1").cases[0].title == "two pets, ten percent off"
    # a broken edit: the same file:line error as without a cache
    path.write_text(replaced(text, "    kind: boundary\n", "    kind: boundry\n"))
    line = text.splitlines().index("    kind: boundary") + 1
    run = cli("lint", "-C", example)
    assert run.code == 2
    assert f"plans/PAY-1.yaml:{line}: cases[0].kind: 'boundry' is not allowed;" in run.out
    assert entry_of(path) in entries(example)  # it is YAML: cached; its plan is checked again on every run
    assert cli("lint", "-C", example) == run
    path.write_text(replaced(text, "  - id: PAY-1.2\n", "  - id: PAY-1.2\n   oops: [\n"))
    first = cli("lint", "-C", example)
    again = cli("lint", "-C", example)
    assert first.code == again.code == 2 and first.out == again.out
    assert entry_of(path) not in entries(example)  # a file that does not parse is not cached
    assert f"plans/PAY-1.yaml:{text.splitlines().index('  - id: PAY-1.2') + 2}: malformed YAML: " in first.out


def test_a_file_whose_values_have_no_utf8_is_not_cached_and_lint_still_reports(example, cli):
    path = example / "plans" / "CARD-1.yaml"
    path.write_text(replaced(path.read_text(), "title: a valid Visa test number is accepted", 'title: "Visa \\ud800"'))
    fresh = cli("lint", "-C", example)  # ruamel reads the escape as a lone surrogate; libyaml refuses it
    assert (fresh.code, fresh.out.splitlines()[0]) == (
        2, "plans/CARD-1.yaml:4: cases[0].title: Input should be a valid string, unable to parse raw data as a unicode string")
    (example / ".testplan").mkdir()
    assert cli("lint", "-C", example) == fresh  # an entry JSON cannot write as UTF-8 is left out, silently
    assert entries(example) == every_entry(example) - {entry_of(path)}
    assert sorted(p.name for p in (example / ".testplan" / "cache" / "parsed").iterdir()) == sorted(
        entries(example) | {memo_name()})


def test_refusals_still_happen_after_the_file_was_cached(example, cli):
    (example / ".testplan").mkdir()
    assert cli("lint", "-C", example).code == 0
    path = example / "plans" / "PAY-1.yaml"
    text = path.read_text()
    line = text.splitlines().index("  - id: PAY-1.2") + 1
    path.write_text(replaced(text, "  - id: PAY-1.2\n", "  - &case id: PAY-1.2\n"))
    assert (f"plans/PAY-1.yaml:{line}: YAML anchors and aliases ('&case', '*case') are not supported; write the value "
            "out in full\n") in cli("lint", "-C", example).out
    path.write_text(replaced(text, "    title: exactly 2 pets get 10 % off", "    title: !!str exactly 2 pets"))
    assert (f"plans/PAY-1.yaml:{line - 7}: YAML tags ('!!str') are not supported; remove the tag (quote the value "
            "if it must stay text)\n") in cli("lint", "-C", example).out
    path.write_text(text)
    assert cli("lint", "-C", example).code == 0
    config_text = (example / "pyproject.toml").read_text()
    (example / "pyproject.toml").write_text(replaced(config_text, "[tool.testplan]\n", f"[tool.testplan]\nmax_input_bytes = {len(text.encode()) - 1}\n"))
    run = cli("lint", "-C", example)
    assert run.code == 2
    assert (f"plans/PAY-1.yaml: larger than the {len(text.encode()) - 1}-byte input limit; "
            "split it into smaller files or raise [tool.testplan] max_input_bytes\n") in run.out


def test_a_corrupted_entry_gives_one_warning_and_the_right_result(example, cli):
    (example / ".testplan").mkdir()
    parsed, _ = snapshot(example)
    assert cli("status", "--json", "-C", example).code == 0
    entry = example / ".testplan" / "cache" / "parsed" / entry_of(example / "plans" / "CARD-1.yaml")
    entry.write_text('{"format": 3, "sha256": "0000", "data": {}, "lines": "[]"}')
    other = example / ".testplan" / "cache" / "parsed" / entry_of(example / "requirements.yaml")
    other.write_text('{"format": 3, "sha2')
    (example / ".testplan" / "cache" / "parsed" / memo_name()).unlink()  # without it, status reads every plan's entry
    run = cli("status", "--json", "-C", example)
    assert run.code == 0
    assert run.err.splitlines() == [
        f"testplan: warning: {other}: unusable parse cache entry (Invalid JSON: Unterminated string starting at: line 1 "
        "column 15 (char 14)); discarded, computing it again",
        f"testplan: warning: {entry}: unusable parse cache entry (sha256: not the file's name); discarded, computing it again",
    ]
    assert snapshot(example, ParseCache(example))[0] == parsed
    assert cli("status", "--json", "-C", example).err == ""  # the entries were written again
    assert entries(example) == every_entry(example)


# --- the memo: what commands worked out from a requirement and its plan, by their bytes -----------

def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_memo(root: Path) -> dict:
    return json.loads((root / ".testplan" / "cache" / "parsed" / memo_name()).read_text())


def write_memo(root: Path, memo: dict) -> None:
    (root / ".testplan" / "cache" / "parsed" / memo_name()).write_text(json.dumps(memo))


@pytest.mark.verifies("STORE-1", "LINT-1")  # LINT-1: the loading (its digests) and the commands' output
def test_the_memo_keeps_each_plans_outline_by_the_bytes_of_its_two_files(example, cli):
    project = load_project(load_config(example))  # no cache: every outline computed
    expected = {r.id: outline(r, project.plans.get(r.id)).model_dump(mode="json") for r in project.requirements
                if r.id in project.plans.files}
    expected_states = {r.id: plan_state(r, project.plans.get(r.id)).value for r in project.requirements}
    assert expected_states["CARD-2"] == "SUSPECT" and expected_states["PAY-1"] == "APPROVED"
    assert all(value["calls"] == [] for value in expected.values())  # no structured case in the example
    (example / ".testplan").mkdir()
    assert cli("lint", "-C", example).code == 0
    req_sha = sha(example / "requirements.yaml")
    outlines = {f"{rid}:{req_sha}:{sha(example / 'plans' / f'{rid}.yaml')}": value for rid, value in expected.items()}
    assert len(outlines) == 6
    assert read_memo(example) == {"format": 3, "outlines": outlines, "enumerated": {}}
    # every file's entry is cached now: a status with no entry to write still keeps what it computed
    (example / ".testplan" / "cache" / "parsed" / memo_name()).unlink()
    assert cli("status", "--json", "-C", example).code == 0
    assert read_memo(example) == {"format": 3, "outlines": outlines, "enumerated": {}}

    def rows() -> dict[str, dict]:
        run = cli("status", "--json", "-C", example)
        assert (run.code, run.err) == (0, "")
        return {row["id"]: row for row in json.loads(run.out)}

    assert {rid: row["plan_state"] for rid, row in rows().items()} == expected_states
    # status takes the outline from the memo for these exact bytes: it neither reads the plan's
    # entry (a broken one gives no warning) nor validates the plan
    entry = example / ".testplan" / "cache" / "parsed" / entry_of(example / "plans" / "PAY-1.yaml")
    entry.write_text("{broken")
    memo = read_memo(example)
    key = next(k for k in outlines if k.startswith("PAY-1:"))
    memo["outlines"][key] = {**outlines[key], "state": "SUSPECT", "cases_by_status": {"approved": 99}, "reviewed_by": "The Memo",
                             "calls": [[0, "PAY-1.1", "petinsure.nowhere:pay", ["amount"]]]}
    write_memo(example, memo)
    assert {k: rows()["PAY-1"][k] for k in ("plan_state", "cases_by_status", "reviewed_by")} == {
        "plan_state": "SUSPECT", "cases_by_status": {"approved": 99}, "reviewed_by": "The Memo"}
    # lint checks the call sites the memo keeps, at the lines of the plan read when a finding needs one
    first_case = (example / "plans" / "PAY-1.yaml").read_text().splitlines().index("  - id: PAY-1.1") + 1
    findings = [(f.path, f.line, f.message.split(";")[0]) for f in lint(load_config(example)) if f.path == "plans/PAY-1.yaml"]
    assert findings[0] == ("plans/PAY-1.yaml", first_case, "PAY-1.1: code ref 'petinsure.nowhere:pay': module 'petinsure.nowhere' not found under src/, ./")
    # an outline not of this code's shape is computed again, and replaced
    memo["outlines"][key] = {"state": "NONSENSE"}
    write_memo(example, memo)
    assert {rid: row["plan_state"] for rid, row in rows().items()} == expected_states
    assert read_memo(example)["outlines"][key] == outlines[key]
    # other bytes of either file are another key: computed again (a comment changes no outline)
    requirements = example / "requirements.yaml"
    requirements.write_text(requirements.read_text() + "# a comment: other bytes, the same outlines\n")
    assert {rid: row["plan_state"] for rid, row in rows().items()} == expected_states
    assert read_memo(example)["outlines"][f"PAY-1:{sha(requirements)}:{key.rsplit(':', 1)[1]}"] == outlines[key]
    # an approved case edited is SUSPECT, with the memo as without it
    plan = example / "plans" / "PAY-2.yaml"
    plan.write_text(replaced(plan.read_text(), "expect: status failed after fail()", "expect: status failed"))
    assert rows()["PAY-2"]["plan_state"] == "SUSPECT"
    assert lint(load_config(example))[-1].message.startswith("plan of PAY-2 is SUSPECT: the requirement or an approved case")


def test_an_outline_counts_the_cases_and_keeps_the_approved_structured_call_sites():
    from testplan.model import Case, Plan, Requirement, Review

    requirement = Requirement(id="PAY-1", title="t", statement="s", code=["shop.pricing:premium_for"])
    cases = [Case(id="PAY-1.1", title="a", kind="nominal", given={"pets": 2, "amount": 10}, expect={"returns": 18}, status="approved"),
             Case(id="PAY-1.2", title="b", kind="boundary", given="prose", expect="prose", status="approved"),
             Case(id="PAY-1.3", title="c", kind="boundary", given={"pets": 0}, expect={"returns": 0}),
             Case(id="PAY-1.4", title="d", kind="error", call="shop.pricing:other", given={}, expect={"raises": "ValueError"},
                  status="approved"),
             Case(id="PAY-1.5", title="e", kind="error", given={"pets": -1}, status="rejected", reason="no")]
    plan = Plan(requirement="PAY-1", cases=cases)
    made = outline(requirement, plan)
    assert made.model_dump(mode="json") == {
        "state": "UNREVIEWED", "cases_by_status": {"approved": 3, "proposed": 1, "rejected": 1},
        "cases_by_kind": {"boundary": 2, "error": 2, "nominal": 1}, "reviewed_by": None,
        "calls": [[0, "PAY-1.1", None, ["pets", "amount"]], [3, "PAY-1.4", "shop.pricing:other", []]]}
    assert made.case_count == 5
    plan.review = Review(by="Ann", at="2026-01-01T00:00:00Z", fingerprint="sha256:" + "0" * 64)
    assert (outline(requirement, plan).state.value, outline(requirement, plan).reviewed_by) == ("SUSPECT", "Ann")


@pytest.mark.verifies("STORE-1", "LINT-1")  # LINT-1: the enumerate command's output (testplan.cli)
def test_a_no_op_enumerate_skips_the_plans_the_memo_says_have_every_rule_proposal(example, cli):
    path = example / "plans" / "PAY-1.yaml"
    original = path.read_bytes()
    assert original == (EXAMPLE / "plans" / "PAY-1.yaml").read_bytes()
    first = cli("enumerate", "--all", "-C", example)
    assert first.code == 0
    assert "wrote     plans/PAY-1.yaml: 23 new cases proposed, 31 in plan" in first.out.splitlines()
    merged = path.read_bytes()
    req_sha = sha(example / "requirements.yaml")
    keys = {f"{p.stem}:{req_sha}:{sha(p)}" for p in (example / "plans").glob("*.yaml")}
    assert len(keys) == 6 and read_memo(example)["enumerated"] == dict.fromkeys(keys, "rules")  # nothing left to add
    # the memo is believed: a key for the bytes before the merge says there is nothing to add to them
    path.write_bytes(original)
    memo = read_memo(example)
    memo["enumerated"][f"PAY-1:{req_sha}:{sha(path)}"] = "rules"
    write_memo(example, memo)
    run = cli("enumerate", "PAY-1", "-C", example)
    assert (run.code, run.out) == (0, "unchanged plans/PAY-1.yaml: 0 new cases proposed, 8 in plan\n")
    assert path.read_bytes() == original
    # without that key the rules propose and the merge adds their cases, as the first run did
    del memo["enumerated"][f"PAY-1:{req_sha}:{sha(path)}"]
    write_memo(example, memo)
    run = cli("enumerate", "PAY-1", "-C", example)
    assert (run.code, run.out) == (0, "wrote     plans/PAY-1.yaml: 23 new cases proposed, 31 in plan\n")
    assert path.read_bytes() == merged
    # enumerate (it reads every file, under the writer's lock) keeps only the keys of bytes that are a file's now
    assert read_memo(example)["enumerated"] == dict.fromkeys(keys, "rules")
    # and, when it read the plans by their outlines only, every entry of theirs
    assert cli("status", "--json", "-C", example).code == 0  # the memo learns the outlines
    assert cli("enumerate", "--all", "-C", example).out.count("0 new cases proposed") == 6
    assert entries(example) == every_entry(example)
    assert read_memo(example)["enumerated"] == dict.fromkeys(keys, "rules")


def test_lint_resolves_a_code_ref_many_requirements_share_once():
    from testplan.model import Requirement
    from testplan.scope import check_refs

    checked: dict = {}
    roots = [REPO]
    first = Requirement(id="A-1", title="a", statement="s", code=["testplan.nowhere:f", "testplan.scope:check_refs"])
    second = Requirement(id="B-1", title="b", statement="s", code=["testplan.nowhere:f"])
    message = "code ref 'testplan.nowhere:f': module 'testplan.nowhere' not found under "
    found = check_refs(first, roots, "r.yaml", [3, 4], None, checked) + check_refs(second, roots, "r.yaml", [9], None, checked)
    assert [(f.line, f.message.startswith(f"{rid}: {message}")) for f, rid in zip(found, ["A-1", "B-1"])] == [(3, True), (9, True)]
    assert list(checked) == ["testplan.nowhere:f", "testplan.scope:check_refs"]
    assert checked["testplan.scope:check_refs"] is None and checked["testplan.nowhere:f"].startswith(message)
    # what is kept is believed: a ref is not resolved again within one lint
    checked["testplan.scope:check_refs"] = "stale"
    assert [f.message for f in check_refs(first, roots, "r.yaml", [3, 4], None, checked)][1] == "A-1: stale"


# --- who writes the cache, and when ---------------------------------------------------------------

@pytest.mark.verifies("STORE-1.4")
def test_a_fresh_clone_gets_nothing_written(example, cli):
    """Without .testplan (a fresh clone, CI) lint and status write nothing at all."""
    before = tree_digest(example, exclude=())
    for args in (["lint"], ["status"], ["status", "--json"], ["lint", "--json"]):
        assert cli(*args, "-C", example).code == 0
    assert tree_digest(example, exclude=()) == before
    assert not (example / ".testplan").exists()


@pytest.mark.verifies("STORE-1.4")
def test_a_refused_or_failed_command_writes_no_entry(example, cli):
    (example / ".testplan").mkdir()
    assert cli("enumerate", "NOPE-1", "-C", example).code == 2  # refused after loading the project
    assert cli("approve", "PAY-1", "--case", "PAY-1.99", "--by", "R", "-C", example).code == 2
    assert cli("diff", "PAY-1", "-C", example).code == 0  # a command that does not keep the cache
    assert sorted(p.name for p in (example / ".testplan").iterdir()) == ["lock"]  # enumerate's lock, no cache
    broken = example / "plans" / "PAY-2.yaml"
    broken.write_text(replaced(broken.read_text(), "status: approved", "status: approvd"))
    assert cli("status", "-C", example).code == 2  # stops at the broken plan: the files read before it are not kept
    assert entries(example) == set()
    assert cli("lint", "-C", example).code == 2  # lint did its work: it keeps every file that parsed
    assert entries(example) == every_entry(example)


@pytest.mark.verifies("STORE-1.4")
def test_an_unusable_state_dir_gets_nothing_written(example, cli, tmp_path):
    normal = {args: cli(*args, "-C", example) for args in (("lint",), ("status", "--json"))}
    state = example / ".testplan"
    state.write_text("not a directory\n")
    for args, run in normal.items():
        assert cli(*args, "-C", example) == run
    assert state.read_text() == "not a directory\n"
    state.unlink()
    target = tmp_path / "elsewhere"
    target.mkdir()
    state.symlink_to(target)  # refused by every writer; lint and status read and write nothing there
    for args, run in normal.items():
        assert cli(*args, "-C", example) == run
    assert list(target.iterdir()) == []
    state.unlink()
    state.mkdir()
    (state / "cache").symlink_to(target)
    for args, run in normal.items():
        assert cli(*args, "-C", example) == run
    assert list(target.iterdir()) == []


# --- libyaml reads what ruamel reads ----------------------------------------------------------

def round_trip(text: str):
    """What ruamel's round-trip parse gives: (plain values, line tree), or the refusal."""
    try:
        document = parse_yaml(text, "f.yaml")
    except InputError as err:
        return err
    return _plain(document), line_tree(document)


def check_same(text: str) -> None:
    fast = fastyaml.parse(text)
    if fast is not None:
        expected = round_trip(text)
        assert not isinstance(expected, InputError), (text, expected)
        # as JSON text: True is not 1, 1.0 is not 1, -0.0 is not 0.0 (== would say they are)
        assert json.dumps(fast) == json.dumps(expected), text
        assert json.loads(json.dumps(fast)) == list(fast)  # a cache entry keeps it exactly


SNIPPETS = {
    # in the subset: read by libyaml, the same values and lines as ruamel
    "a: 1\nb: -2\nc: 0\nd: 1.50\ne: -0.25\nf: true\ng: False\nh: NULL\ni: ~\nj:\nk: ''\n": True,
    "yes: on\nno: off\ny: n\nversion: 3.10\nport: 8080\nflag: TRUE\n": True,
    "requirement: PAY-1\ncases:\n  - id: PAY-1.1\n    given: {pets: 2, premium: {py: \"Decimal('100.00')\"}}\n"
    "    expect: [1, two, {three: 3}]\n\n  -\n    id: PAY-1.2\n  - - nested\n    - [x, y]\n": True,
    "text: |\n  line one\n    indented\n\n  after a blank\nfolded: >-\n  a\n  b\n\n  c\nkeep: |+\n  x\n\n": True,
    "quoted: 'it''s'\ndouble: \"tab\\there \\u00e9 \\\"q\\\"\"\nplain: a # comment\nurl: http://x.org/a:b\n": True,
    "---\nmulti: this plain\n  scalar spans\n  lines\n? explicit\n: key\nnan: -.nan\n...\n": True,  # -.nan: text in 1.2
    "# only a comment\n": True,
    "": True,
    "[1, 2, {a: b}]\n": True,
    "- a\n- b: c\n  d: e\n-   - f\n": True,
    "a: {b: 1, c: [2, 3]}\nd: {}\ne: []\n": True,
    # outside the subset: ruamel reads (or refuses) it
    "a: 0x1F\n": False, "a: 0o17\n": False, "a: 017\n": False, "a: 1_000\n": False, "a: +1\n": False,
    "a: 1e3\n": False, "a: .inf\n": False, "a: .NaN\n": False, "a: 2026-01-01\n": False,
    "a: 2026-01-01T00:00:00Z\n": False, "<<: {a: 1}\n": False, "a: &x 1\nb: *x\n": False,
    "a: !!str 1\n": False, "a: !custom x\n": False, "%YAML 1.1\n---\na: 1\n": False,
    "a: 1\n---\nb: 2\n": False, "a: 1\na: 2\n": False, "1: one\n": False, "true: t\n": False,
    "null: n\n": False, "? [a, b]\n: c\n": False, "a: \x85\n": False, "a: \u2028b\n": False,
    "\ufeffa: 1\n": False, "a:\n\t- b\n": False, "a: [\n": False, "a: '\n": False,
    "a: " + "[" * 70 + "]" * 70 + "\n": False, "a: " + "9" * 400 + ".5\n": False, "a: " + "9" * 5000 + "\n": False,
    "= : x\n": False,
}


@pytest.mark.verifies("STORE-1")
@pytest.mark.parametrize("text", list(SNIPPETS), ids=range(len(SNIPPETS)))
def test_libyaml_reads_the_plain_subset_exactly_and_leaves_the_rest_to_ruamel(text):
    assert (fastyaml.parse(text) is not None) is SNIPPETS[text]
    check_same(text)


def test_libyaml_reads_every_yaml_file_of_this_repository_as_ruamel_does():
    files = [p for p in REPO.glob("**/*.y*ml") if not any(part.startswith(".") for part in p.relative_to(REPO).parts)]
    read = [p for p in files if fastyaml.parse(p.read_text(encoding="utf-8")) is not None]
    for path in files:
        check_same(path.read_text(encoding="utf-8"))
    assert len(files) >= 90 and len(read) >= len(files) - 10  # the plans, requirements and corpus: nearly all plain


SCALARS = st.one_of(
    st.sampled_from(["", "~", "null", "Null", "true", "False", "yes", "no", "on", "0", "-0", "007", "12", "-3", "+4",
                     "1.5", "-0.0", "1.", ".5", "1e3", "0x10", "0o7", "1_0", ".inf", "-.Inf", ".NaN", "2026-01-01",
                     "2026-01-01 10:00:00", "a: b", "a #b", "#", "- x", "[x]", "{x}", "'q'", '"d"', "x\ny", "x\n\ny",
                     " lead", "trail ", "é", "\t", "*a", "&a", "!t", "%", "@", "`", "=", "<<", "?", ":", "-", "PAY-1.2"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
)


def keys():
    return st.one_of(SCALARS, st.sampled_from(["id", "title", "given", "cases"]))


def values(depth: int = 0):
    if depth >= 3:
        return SCALARS
    return st.one_of(SCALARS, st.lists(st.deferred(lambda: values(depth + 1)), max_size=3),
                     st.dictionaries(keys(), st.deferred(lambda: values(depth + 1)), max_size=3))


@settings(max_examples=300, deadline=None)
@given(values(), st.sampled_from([(2, 4, 2), (2, 2, 0), (4, 4, 2)]), st.booleans(), st.sampled_from([None, "'", '"']))
def test_libyaml_and_ruamel_agree_on_generated_documents(data, style, flow, quote):
    """Documents ruamel writes (block or flow, plain or quoted scalars) and the same text with
    every ``": "`` and ``"- "`` kept but its quotes dropped (plain scalars of every kind)."""
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    yaml.default_flow_style = flow
    if quote:
        yaml.default_style = quote
    stream = StringIO()
    try:
        yaml.dump(data, stream)
    except Exception:  # a value ruamel cannot write in this style: nothing to compare
        return
    text = stream.getvalue()
    check_same(text)
    check_same(text.replace("'", "").replace('"', ""))


def test_loading_pauses_the_garbage_collector_and_restores_it(example):
    import gc

    from testplan.store import paused_gc

    assert gc.isenabled()
    with pytest.raises(InputError, match="^unknown requirement 'NOPE-1'"):
        with paused_gc():
            assert not gc.isenabled()
            load_project(load_config(example)).requirements.get("NOPE-1")
    assert gc.isenabled()  # back on, though the block raised
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_the_benchmark_times_the_runs_a_user_sees():
    """bench/plan_loading.py on a small tree: it checks what it times (a fresh clone gets no
    .testplan/, a first run fills one entry per file, status is all APPROVED, enumerate writes
    nothing, no run prints to stderr) and exits non-zero when any of that fails."""
    import re
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "bench" / "plan_loading.py"), "--requirements", "3", "--cases", "15",
                           "--runs", "2"], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"generated 3 requirements x 15 cases in \S+ \(0\.0 MB of YAML, [\d.]+ s\)", lines[0])
    assert [re.sub(r"\d[\d.]*", "N", line).split()[:4] for line in lines[1:]] == [
        ["fresh", "clone", "(no", ".testplan/):"], ["lint", "N", "(N", "N)"], ["status", "--json", "N", "(N"],
        [".testplan/", "present:", "first", "run"], ["lint", "first", "N", "(cpu"], ["status", "--json", "first", "N"],
        ["enumerate", "--all", "(no-op)", "first"]]
    assert not any(Path(p).exists() for p in re.findall(r" in (\S+) \(", lines[0]))  # the tree is removed


# --- the console script: a command's process ends with it ------------------------------------------

CONSOLE = """
import os, sys
hard_exit = os._exit
def said_exit(code):
    os.write(2, b"(exit without teardown)\\n")
    hard_exit(code)
os._exit = said_exit
{prelude}
from testplan.cli import run
sys.argv = ["testplan", *sys.argv[1:]]
run()
"""


def console(*args: object, prelude: str = "") -> subprocess.CompletedProcess:
    """``testplan ARGS`` as the console script runs it (:func:`testplan.cli.run`), in a new
    interpreter whose ``os._exit`` says so on stderr."""
    return subprocess.run([sys.executable, "-c", CONSOLE.format(prelude=prelude), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.verifies("LINT-1")
def test_the_console_script_ends_without_tearing_the_interpreter_down(example, cli):
    expected = cli("status", "--json", "-C", example)
    run = console("status", "--json", "-C", example)
    assert (run.returncode, run.stdout, run.stderr) == (0, expected.out, "(exit without teardown)\n")  # every byte of output
    refused = console("lint", "-C", example / "nowhere")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == cli("lint", "-C", example / "nowhere").err + "(exit without teardown)\n"


@pytest.mark.verifies("LINT-1")
@pytest.mark.parametrize("prelude", [
    "import atexit; atexit.register(lambda: None)",  # coverage.py, logging, multiprocessing register one
    "import threading; threading.Thread(target=threading.Event().wait, daemon=True).start()",
    "sys.setprofile(lambda *args: None)",  # cProfile, a debugger
], ids=["atexit", "thread", "profiler"])
def test_the_console_script_exits_as_usual_when_something_waits_for_the_exit(example, cli, prelude):
    run = console("status", "--json", "-C", example, prelude=prelude)
    assert (run.returncode, run.stdout, run.stderr) == (0, cli("status", "--json", "-C", example).out, "")


@pytest.mark.verifies("STORE-1")
def test_only_the_console_script_freezes_what_a_load_made(example, cli):
    report = "import atexit, gc; atexit.register(lambda: os.write(2, f'frozen {gc.get_freeze_count()}'.encode()))"
    run = console("status", "--json", "-C", example, prelude=report)
    assert run.returncode == 0 and int(re.fullmatch(r"frozen (\d+)", run.stderr).group(1)) > 1000
    before = gc.get_freeze_count()
    assert cli("status", "--json", "-C", example).code == 0
    assert gc.get_freeze_count() == before  # a library call (a test run) leaves the collector as it was
