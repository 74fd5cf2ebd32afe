"""The parse cache (testplan/parsecache.py, store.read_doc): a file whose exact bytes parsed
before is loaded from ``.testplan/cache/parsed/`` with the same models, lines and findings as
a round-trip parse; an edit is parsed again with its exact errors and refusals; a bad entry is
discarded with one warning."""

from __future__ import annotations

import hashlib
from pathlib import Path

from testplan.config import load_config
from testplan.lint import lint
from testplan.model import plan_state
from testplan.parsecache import entry_name
from testplan.review import load_project, status
from testplan.store import Doc, load_plans, load_requirements

from tp_helpers import replaced


def entries(root: Path) -> set[str]:
    return {p.name for p in (root / ".testplan" / "cache" / "parsed").glob("*.json")}


def entry_of(path: Path) -> str:
    return entry_name(hashlib.sha256(path.read_bytes()).hexdigest())


def snapshot(root: Path):
    """Everything a command reads from a loaded project, as comparable values."""
    config = load_config(root)
    project = load_project(config)
    requirements = project.requirements
    plans = {rid: pf.plan for rid, pf in project.plans.files.items()}
    states = {r.id: plan_state(r, project.plans.get(r.id)) for r in requirements}
    case_lines = {rid: [pf.line(["cases", i, "id"]) for i in range(len(pf.plan.cases))] + [pf.line(["review"])]
                  for rid, pf in project.plans.files.items()}
    rows = [row.as_dict() for row in status(project)]
    return (requirements.project, requirements.items, requirements.sources, plans, states, case_lines, rows,
            lint(config)), project


def test_the_cache_loads_what_the_round_trip_parse_loads(example, capsys):
    plan_files = sorted((example / "plans").glob("*.yaml"))
    assert entries(example) == set()
    parsed, first = snapshot(example)  # parses every file with ruamel and writes their entries
    assert entries(example) == {entry_of(example / "requirements.yaml")} | {entry_of(p) for p in plan_files}
    assert not any(isinstance(pf.document, Doc) for pf in first.plans.files.values())
    cached, second = snapshot(example)
    assert all(isinstance(pf.document, Doc) and pf.document.rt is None for pf in second.plans.files.values())
    assert cached == parsed
    # and both are what loading without any cache gives
    config = load_config(example)
    requirements = load_requirements(config.requirements_path, example)
    plans = load_plans(config.plans_dir, requirements, example)
    assert (requirements.items, requirements.sources) == (parsed[1], parsed[2])
    assert {rid: pf.plan for rid, pf in plans.files.items()} == parsed[3]
    assert {rid: state.value for rid, state in parsed[4].items() if state.value != "APPROVED"} == {"CARD-2": "SUSPECT"}
    assert capsys.readouterr().err == ""


def test_a_cached_plan_is_parsed_round_trip_only_to_be_written(example, cli):
    assert cli("enumerate", "--all", "-C", example).code == 0
    before = {p.name: p.read_bytes() for p in (example / "plans").glob("*.yaml")}
    run = cli("enumerate", "--all", "-C", example)
    assert run.code == 0 and "wrote" not in run.out
    assert {p.name: p.read_bytes() for p in (example / "plans").glob("*.yaml")} == before
    project = load_project(load_config(example))
    plan_file = project.plans.files["PAY-1"]
    assert isinstance(plan_file.document, Doc)
    text = plan_file.original
    plan_file.set_case_status("PAY-1.1", "rejected", "covered elsewhere")  # parses the document now
    assert plan_file.plan.case("PAY-1.1").status.value == "rejected"
    assert plan_file.save() is True
    assert "    status: approved\n" in text
    assert (example / "plans" / "PAY-1.yaml").read_text() == text.replace(
        "    status: approved\n", "    status: rejected\n    reason: covered elsewhere\n", 1)


def test_an_edited_file_is_parsed_again_with_exact_errors(example, cli):
    snapshot(example)
    path = example / "plans" / "PAY-1.yaml"
    text = path.read_text()
    path.write_text(replaced(text, "title: exactly 2 pets get 10 % off", "title: two pets, ten percent off"))
    project = load_project(load_config(example))
    assert project.plans.get("PAY-1").cases[0].title == "two pets, ten percent off"
    assert not isinstance(project.plans.files["PAY-1"].document, Doc)  # new bytes: parsed, not served
    # a broken edit: the same file:line error as without a cache
    path.write_text(replaced(text, "    kind: boundary\n", "    kind: boundry\n", ))
    line = text.splitlines().index("    kind: boundary") + 1
    run = cli("lint", "-C", example)
    assert run.code == 2
    assert f"plans/PAY-1.yaml:{line}: cases[0].kind: 'boundry' is not allowed;" in run.out
    path.write_text(replaced(text, "  - id: PAY-1.2\n", "  - id: PAY-1.2\n   oops: [\n"))
    first = cli("lint", "-C", example)
    again = cli("lint", "-C", example)
    assert first.code == again.code == 2 and first.out == again.out
    assert "plans/PAY-1.yaml:" in first.out and "malformed YAML" in first.out


def test_a_corrupted_entry_gives_one_warning_and_the_right_result(example, cli):
    parsed, _ = snapshot(example)
    entry = example / ".testplan" / "cache" / "parsed" / entry_of(example / "plans" / "CARD-1.yaml")
    entry.write_text('{"format": 2, "sha256": "0000", "data": {}, "lines": {}}')
    other = example / ".testplan" / "cache" / "parsed" / entry_of(example / "requirements.yaml")
    other.write_text('{"format": 2, "sha2')
    run = cli("status", "--json", "-C", example)
    assert run.code == 0
    assert run.err.splitlines() == [
        f"testplan: warning: {other}: unusable parse cache entry (Invalid JSON: Unterminated string starting at: line 1 column 15 (char 14)); "
        "discarded, computing it again",
        f"testplan: warning: {entry}: unusable parse cache entry (sha256: not the file's name); discarded, computing it again",
    ]
    again, _ = snapshot(example)
    assert again == parsed
    assert cli("status", "--json", "-C", example).err == ""  # the entries were written again


def test_refusals_still_happen_after_the_file_was_cached(example, cli):
    snapshot(example)
    path = example / "plans" / "PAY-1.yaml"
    text = path.read_text()
    line = text.splitlines().index("  - id: PAY-1.2") + 1
    path.write_text(replaced(text, "  - id: PAY-1.2\n", "  - &case id: PAY-1.2\n"))
    assert (f"plans/PAY-1.yaml:{line}: YAML anchors and aliases ('&case', '*case') are not supported; write the value out in full\n") in cli("lint", "-C", example).out
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


def test_an_unwritable_state_dir_only_means_no_cache(example, cli):
    (example / ".testplan").write_text("not a directory\n")
    first = cli("lint", "-C", example)
    status_json = cli("status", "--json", "-C", example)
    assert (first.code, status_json.code, status_json.err) == (0, 0, "")
    assert (example / ".testplan").read_text() == "not a directory\n"
    (example / ".testplan").unlink()
    normal = cli("lint", "-C", example)
    assert (first.code, first.out, first.err) == (normal.code, normal.out, normal.err)
    assert cli("status", "--json", "-C", example).out == status_json.out
    assert entries(example)
