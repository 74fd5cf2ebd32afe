"""Faults on the input side (issue 11): bounded YAML, no exit 70 on input or cache, configured
paths confined to the project, text that cannot break a report or the terminal, and the default
gate. Real projects in temp dirs, the real CLI (in-process, or a subprocess under a memory limit).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tp_helpers import EXAMPLE, REPO, replaced, tree_digest
from test_score import approve_plans, copy_fixture
from testplan.config import DEFAULT_FAIL_ON, load_config
from testplan.errors import InputError
from testplan.result import load_result

# nine levels of nine aliases: 560 bytes that expand to 9**9 strings
BOMB = """\
    acceptance: &a9
      - &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
      - &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0]
      - &a2 [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1]
      - &a3 [*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2]
      - &a4 [*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3]
      - &a5 [*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4]
      - &a6 [*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5]
      - &a7 [*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6]
      - &a8 [*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7]
"""
HEAD = "project: bomb\nrequirements:\n  - id: PAY-1\n    title: t\n    statement: s\n"
ALIAS_LINE = "requirements.yaml:6: YAML anchors and aliases ('&a9', '*a9') are not supported; write the value out in full"
MEMORY_LIMIT = 400 * 1024 * 1024  # bytes of address space for a testplan subprocess


def project(tmp_path: Path, requirements: str, pyproject: str = "[tool.testplan]\n") -> Path:
    root = tmp_path / "p"
    (root / "plans").mkdir(parents=True)
    (root / "requirements.yaml").write_text(requirements)
    (root / "pyproject.toml").write_text(pyproject)
    return root


def limited_testplan(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``testplan`` command in a child whose address space is capped: an input that
    makes it grow without bound ends in MemoryError (exit 70), not in a swapping machine."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run([sys.executable, "-m", "testplan", *args], capture_output=True, text=True,
                          preexec_fn=cap, timeout=120, env={**os.environ, "TESTPLAN_DEBUG": ""})


# --- fault 3: bounded inputs ----------------------------------------------------------------------

@pytest.mark.parametrize("command", [["lint"], ["status"], ["enumerate", "--all"]])
def test_an_alias_bomb_is_one_line_at_its_anchor_in_bounded_memory(tmp_path, command):
    root = project(tmp_path, HEAD + BOMB)
    assert len((root / "requirements.yaml").read_bytes()) == 560
    run = limited_testplan(*command, "-C", str(root))
    assert run.returncode == 2, run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert lines[0] == ALIAS_LINE
    assert lines[1:] in ([], ["lint: 1 error, 0 warnings"])
    assert list((root / "plans").iterdir()) == []


@pytest.mark.parametrize(("where", "text", "line"), [
    ("inputs", HEAD + "    inputs:\n      pets: &p {type: int, min: 0}\n      cats: *p\n", 7),
    ("merge key", HEAD + "    inputs:\n      pets: &p {type: int}\n      cats: {<<: *p, min: 0}\n", 7),
])
def test_anchors_anywhere_in_requirements_are_refused(tmp_path, cli, where, text, line):
    run = cli("lint", "-C", project(tmp_path, text))
    assert run.code == 2
    assert run.out == f"requirements.yaml:{line}: YAML anchors and aliases ('&p', '*p') are not supported; write the value out in full\n"


def test_an_alias_in_a_plans_cases_is_refused_at_its_line(tmp_path, cli):
    root = project(tmp_path, HEAD)
    (root / "plans" / "PAY-1.yaml").write_text(
        "requirement: PAY-1\ncases:\n  - &c {id: PAY-1.1, title: a, kind: nominal, status: proposed, origin: human}\n  - *c\n")
    run = cli("lint", "-C", root)
    assert (run.code, run.out) == (2, "plans/PAY-1.yaml:3: YAML anchors and aliases ('&c', '*c') are not supported; write the value out in full\n")
    assert cli("status", "-C", root).err == "plans/PAY-1.yaml:3: YAML anchors and aliases ('&c', '*c') are not supported; write the value out in full\n"


def test_the_readme_shows_the_alias_bomb_as_lint_prints_it(tmp_path, cli):
    readme = (REPO / "README.md").read_text()
    (block,) = [b for b in re.finditer(r"```console\n\$ testplan lint\n(.*?)```", readme, re.S) if "anchors" in b.group(1)]
    run = cli("lint", "-C", project(tmp_path, HEAD + BOMB))
    assert (run.out + run.err).splitlines() == block.group(1).splitlines()


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, cli):
    root = project(tmp_path, HEAD + "    acceptance:\n" + "      - padding\n" * 700_000)
    size = (root / "requirements.yaml").stat().st_size
    assert size > 10 * 1024 * 1024
    message = ("requirements.yaml: larger than the 10485760-byte input limit; split it into smaller files "
               "or raise [tool.testplan] max_input_bytes\n")
    run = cli("lint", "-C", root)
    assert (run.code, run.out) == (2, message)
    assert cli("status", "-C", root).err == message
    # the limit is configurable (a file of exactly the limit loads), and applies to plans too
    (root / "requirements.yaml").write_text(HEAD)
    (root / "pyproject.toml").write_text(f"[tool.testplan]\nmax_input_bytes = {len(HEAD)}\n")
    assert cli("lint", "-C", root).out == "lint: no problems\n"
    (root / "pyproject.toml").write_text("[tool.testplan]\nmax_input_bytes = 100\n")
    (root / "plans" / "PAY-1.yaml").write_text("requirement: PAY-1\ncases: []\n" + "# padding\n" * 20)
    run = cli("lint", "-C", root)
    assert (run.code, run.out) == (2, "plans/PAY-1.yaml: larger than the 100-byte input limit; split it into smaller files "
                                      "or raise [tool.testplan] max_input_bytes\n")
    (root / "pyproject.toml").write_text("[tool.testplan]\nmax_input_bytes = 0\n")
    assert cli("lint", "-C", root).err == ("pyproject.toml:2: [tool.testplan] max_input_bytes: Input should be greater than "
                                           "or equal to 1; fix the value\n")


def test_a_huge_file_fails_fast_in_bounded_memory(tmp_path):
    root = project(tmp_path, "")
    with open(root / "requirements.yaml", "w") as handle:  # 50 MB: 48 s and 969 MB before the limit
        handle.write(HEAD + "    acceptance:\n")
        for _ in range(50):
            handle.write("      - padding padding padding padding padding padding padding padding\n" * 14_000)
    run = limited_testplan("lint", "-C", str(root))
    assert (run.returncode, run.stdout) == (2, "requirements.yaml: larger than the 10485760-byte input limit; split it "
                                               "into smaller files or raise [tool.testplan] max_input_bytes\n")


@pytest.mark.parametrize(("text", "line", "tag"), [
    ("project: x\nrequirements: !foo [1]\n", 2, "!foo"),                      # the fault: was exit 70
    (HEAD.replace("title: t", "title: !!str t"), 4, "!!str"),
    (HEAD + "    risk: !<tag:example.com,2026:risk> high\n", 6, "tag:example.com,2026:risk"),
    (HEAD + "    inputs: ! {pets: {type: int}}\n", 6, "!"),
])
def test_any_tag_on_any_node_is_exit_2_at_its_line(tmp_path, cli, text, line, tag):
    run = cli("lint", "-C", project(tmp_path, text))
    assert (run.code, run.out) == (2, f"requirements.yaml:{line}: YAML tags ('{tag}') are not supported; "
                                      "remove the tag (quote the value if it must stay text)\n")


def test_a_tagged_cases_list_is_exit_2_not_an_internal_error(tmp_path, cli):
    root = project(tmp_path, HEAD)
    (root / "plans" / "PAY-1.yaml").write_text("requirement: PAY-1\ncases: !foo [1]\n")
    expected = "plans/PAY-1.yaml:2: YAML tags ('!foo') are not supported; remove the tag (quote the value if it must stay text)\n"
    assert (cli("lint", "-C", root).out, cli("enumerate", "PAY-1", "-C", root).err) == (expected, expected)
    assert (root / "plans" / "PAY-1.yaml").read_text() == "requirement: PAY-1\ncases: !foo [1]\n"


def test_deep_nesting_is_exit_2_not_a_recursion_error(tmp_path, cli):
    run = cli("lint", "-C", project(tmp_path, "project: x\nrequirements: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert (run.code, run.out) == (2, "requirements.yaml:2: values nested more than 64 levels deep; flatten the structure\n")


# --- fault 5: bad cache shapes --------------------------------------------------------------------

BAD_CACHES = ['{"mutants": null}', '{"version": 1, "tool": "x", "mutants": {"abc": {"verdicts": 3}}}', "[]", "null", '{"trunc']


@pytest.mark.slow
def test_a_cache_of_the_wrong_shape_is_discarded_with_one_warning_and_recomputed(tmp_path, cli):
    root = copy_fixture(tmp_path)
    approve_plans(root)
    first = cli("audit", "-C", root)
    assert first.code == 0, first.err
    expected = load_result(root / ".testplan" / "audit.json")
    cache = root / ".testplan" / "cache" / "mutation.json"
    generated = sorted((root / ".testplan" / "cache" / "generate").iterdir())
    assert generated
    for bad in BAD_CACHES:
        cache.write_text(bad)
        generated[0].write_text(bad)
        run = cli("audit", "-C", root)
        assert run.code == 0, run.err
        warnings = [line for line in run.err.splitlines() if line.startswith("testplan: warning:")]
        assert [re.sub(r"\(.*\)", "(...)", w) for w in warnings] == [
            f"testplan: warning: {generated[0].resolve()}: unusable mutant generation cache (...); discarded, computing it again",
            f"testplan: warning: {cache.resolve()}: unusable mutation cache (...); discarded, computing it again",
        ]
        result = load_result(root / ".testplan" / "audit.json")
        assert {m.id: (m.status, m.verdicts) for m in result.mutants} == {m.id: (m.status, m.verdicts) for m in expected.mutants}
        assert result.score == expected.score and result.mutation_stats["cache_hits"] == 0
        assert json.loads(cache.read_text())["version"] == 2  # rewritten whole
    again = cli("audit", "-C", root)  # and the rewritten cache is used
    assert "warning" not in again.err and load_result(root / ".testplan" / "audit.json").mutation_stats["cache_hits"] > 0


def test_the_first_error_of_a_bad_cache_is_named_in_its_warning(tmp_path, capsys):
    from testplan.mutate.cache import MutationCache

    path = tmp_path / "mutation.json"
    path.write_text('{"mutants": null}')
    assert MutationCache(path, "tool").entries == {}
    assert capsys.readouterr().err == (f"testplan: warning: {path}: unusable mutation cache (version: Field required); "
                                       "discarded, computing it again\n")
    path.write_bytes(b"\xff\xfe")
    assert MutationCache(path, "tool").entries == {}
    assert capsys.readouterr().err == (f"testplan: warning: {path}: unusable mutation cache (not UTF-8 text: invalid start byte); "
                                       "discarded, computing it again\n")
    path.unlink()
    assert MutationCache(path, "tool").entries == {}
    assert capsys.readouterr().err == ""  # no cache yet: nothing to say


def test_an_llm_cache_record_of_the_wrong_shape_is_asked_again(tmp_path, capsys):
    from testplan.enumerate import llm

    root = project(tmp_path, HEAD)
    settings = llm.settings_from(load_config(root), model="m", base_url="http://127.0.0.1:9/v1")
    record = settings.llm_cache_dir / "k.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"format": 1, "prompt_version": "testplan-llm-1", "model_requested": "m", "seed": 7, "model": "m", "response": {"cases": null}}')
    assert llm.read_cache(settings, "k") is None
    assert capsys.readouterr().err == (f"testplan: warning: {record}: unusable LLM answer cache (response.cases: Input should be "
                                       "a valid array); discarded, computing it again\n")


# --- fault 6: confinement -------------------------------------------------------------------------

@pytest.fixture
def confined(tmp_path):
    """The example, next to a directory that must stay empty."""
    root = tmp_path / "pet-insurance"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    outside = tmp_path / "outside"
    outside.mkdir()
    return root, outside


def configure(root: Path, old: str, new: str) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(replaced(pyproject.read_text(), old, new))


@pytest.mark.parametrize(("old", "new", "key", "value", "line"), [
    ('plans = "plans"\n', 'plans = "../outside/plans"\n', "plans", "../outside/plans", 15),
    ('requirements = "requirements.yaml"\n', 'requirements = "../outside/r.yaml"\n', "requirements", "../outside/r.yaml", 14),
    ('min_score = 60\n', 'min_score = 60\nsource = ["src", "/tmp"]\n', "source", "/tmp", 18),
    ('min_score = 60\n', 'min_score = 60\n\n[tool.testplan.mutation]\nalso_copy = ["../../../tmp/x"]\n', "mutation.also_copy", "../../../tmp/x", 20),
])
def test_a_configured_path_outside_the_project_is_exit_2_at_its_line(confined, cli, old, new, key, value, line):
    root, outside = confined
    configure(root, old, new)
    message = f"pyproject.toml:{line}: [tool.testplan] {key}: '{value}' is outside the project root; use a path inside the project\n"
    for command in (["lint"], ["status"], ["enumerate", "--all"], ["audit"]):
        run = cli(*command, "-C", root)
        assert (run.code, run.out + run.err) == (2, message), command
    assert list(outside.iterdir()) == []
    assert not (root / ".testplan").exists()


def test_a_configured_path_through_a_symlink_out_of_the_project_is_refused(confined, cli):
    root, outside = confined
    shutil.rmtree(root / "tests")
    (root / "tests").symlink_to(outside)
    run = cli("audit", "-C", root)
    assert (run.code, run.err) == (2, f"pyproject.toml:16: [tool.testplan] tests: 'tests' is outside the project root "
                                      f"(a symlink to {outside.resolve()}); use a path inside the project\n")
    assert list(outside.iterdir()) == []


def test_paths_inside_the_project_still_load(confined):
    root, _ = confined
    configure(root, 'plans = "plans"\n', 'plans = "./plans/../plans"\n')
    configure(root, 'min_score = 60\n', 'min_score = 60\n\n[tool.testplan.mutation]\nalso_copy = ["src"]\n')
    config = load_config(root)
    assert (config.plans_dir.resolve(), config.mutation.also_copy) == ((root / "plans").resolve(), ["src"])


# --- fault 7: text hygiene ------------------------------------------------------------------------

@pytest.mark.slow
def test_forbidden_and_control_characters_are_shown_escaped_in_every_format(example, cli):
    requirements = example / "requirements.yaml"
    requirements.write_text(replaced(requirements.read_text(), "title: Premium discount for multi-pet households",
                                     'title: "Premium \\uFFFE discount \\e[31mred\\e[0m \\x07"'))
    shown = "Premium \\ufffe discount \\x1b[31mred\\x1b[0m \\x07"
    run = cli("audit", "--no-mutation", "-C", example, "--format", "junit,sarif,stryker,md,html")
    assert run.code == 0, run.err
    assert "\x1b" not in run.out + run.err and "\ufffe" not in run.out
    assert "\\ufffe" in run.out and "\\x1b[31mred\\x1b[0m" in run.out  # in the table (which may wrap the title)
    state = example / ".testplan"
    for name in ("testplan-junit.xml", "testplan.sarif", "mutation.json", "testplan.md", "testplan.html"):
        text = (state / name).read_text(encoding="utf-8")
        assert not re.search("[\x00-\x08\x0b-\x1f\ufffe]", text), name
    junit = ET.parse(state / "testplan-junit.xml").getroot()
    names = [case.get("name") for case in junit.iter("testcase")]
    assert f"PAY-1 {shown}" in names
    stryker = json.loads((state / "mutation.json").read_text())
    assert stryker["config"]["testplan"]["requirements"]["PAY-1"]["title"] == shown
    md_shown = shown.replace("\\", "\\\\")  # Markdown shows a backslash written twice
    assert f"**PAY-1** {md_shown} |" in (state / "testplan.md").read_text()
    assert f'<span class="req-id">PAY-1</span> {shown}</td>' in (state / "testplan.html").read_text()
    assert load_result(state / "audit.json").requirement("PAY-1").title == shown.replace("\\ufffe", "\ufffe").replace("\\x1b", "\x1b").replace("\\x07", "\x07")


def test_esc_in_a_title_is_escaped_by_status_and_lint(tmp_path, cli):
    root = project(tmp_path, HEAD.replace("title: t", 'title: "a\\e]0;pwned\\a b"') + "    risk: extreme\n")
    status = cli("status", "-C", root)
    assert status.err == "requirements.yaml:6: requirements[0].risk: 'extreme' is not allowed; use one of 'low', 'medium', 'high' or 'critical'\n"
    (root / "requirements.yaml").write_text(HEAD.replace("title: t", 'title: "a\\e]0;pwned\\a b"'))
    status = cli("status", "-C", root)
    assert "PAY-1 a\\x1b]0;pwned\\x07 b" in status.out and "\x1b" not in status.out
    (root / "requirements.yaml").write_text(HEAD.replace("id: PAY-1", 'id: "PAY\\e[2J"'))
    lint = cli("lint", "-C", root)
    assert lint.out == "requirements.yaml:3: requirements[0].id: 'PAY\\x1b[2J' is not a valid ID; use the form PAY-1\n"


# --- fault 8: the default gate --------------------------------------------------------------------

def test_the_default_gate_fails_on_dangling_and_failing():
    assert DEFAULT_FAIL_ON == ("dangling", "failing")


def test_init_writes_a_gate_that_also_fails_on_suspect(tmp_path, cli):
    assert cli("init", "-C", tmp_path).code == 0
    assert 'fail_on = ["dangling", "failing", "suspect"]\n' in (tmp_path / "pyproject.toml").read_text()
    assert load_config(tmp_path).fail_on == ["dangling", "failing", "suspect"]
    (tmp_path / "pyproject.toml").write_text("")
    assert load_config(tmp_path).fail_on == ["dangling", "failing"]


@pytest.mark.slow
def test_a_failing_linked_test_fails_the_default_gate_without_mutation(example, cli):
    test_file = example / "tests" / "test_pricing.py"
    test_file.write_text(replaced(test_file.read_text(), 'pytest.param(2, "90.00", id="2-pets"', 'pytest.param(2, "90.01", id="2-pets"'))
    run = cli("audit", "--no-mutation", "-C", example)
    assert run.code == 1
    failing = "tests/test_pricing.py::test_premium_by_household_size[2-pets]"
    assert run.out.splitlines()[-2:] == [
        "gate: FAILED (1 reason)",
        f"  - PAY-1 (Premium discount for multi-pet households) has 1 failing linked test: {failing}",
    ]
    assert cli("gate", "-C", example).code == 1
