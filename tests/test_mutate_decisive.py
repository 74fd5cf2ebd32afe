"""The decisive run (the default) against the full kill matrix, on a real project: real mutmut
mutants, a real trace, the real worker.

The project is built so that a decisive run has something to skip and something to complete:
PRICE-1's first two tests kill every mutant they can before PRICE-1.3's test runs, so only the
case completion lets PRICE-1.3 see a kill; SPIN-1 has an infinite-loop mutant (a timeout paid
once) and a second test that runs only after the first one has already killed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import InputError
from testplan.mutate import run_mutation
from testplan.review import load_project, record_review
from testplan.score import build_result
from testplan.trace import run_trace

AT = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
B = "tests/test_b_again.py::"

FILES = {
    "pyproject.toml": '[project]\nname = "tally"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\npythonpath = ["src"]\n'
                      'testpaths = ["tests"]\n\n[tool.testplan]\nsource = ["src"]\n\n[tool.testplan.mutation]\n'
                      'timeout_min_seconds = 1.0\ntimeout_multiplier = 5.0\n',
    "src/tally/__init__.py": (
        "def price(net, qty):\n"
        "    if qty > 2:\n"
        "        return net * qty - 10\n"
        "    return net * qty\n"
        "\n\n"
        "def spin(n):\n"
        "    steps = 0\n"
        "    while n > 0:\n"
        "        n -= 1\n"
        "        steps += 1\n"
        "    return steps\n"
    ),
    "requirements.yaml": (
        "requirements:\n"
        "  - id: PRICE-1\n    title: Price\n    statement: net times quantity, 10 off from 3 items.\n    code: [tally:price]\n"
        "  - id: SPIN-1\n    title: Spin\n    statement: spin(n) counts n steps.\n    code: [tally:spin]\n"
    ),
    "plans/PRICE-1.yaml": (
        "requirement: PRICE-1\ncases:\n"
        "  - id: PRICE-1.1\n    title: a small order\n    kind: nominal\n    origin: human\n    status: approved\n"
        "  - id: PRICE-1.2\n    title: a large order\n    kind: boundary\n    origin: human\n    status: approved\n"
        "  - id: PRICE-1.3\n    title: another large order\n    kind: boundary\n    origin: human\n    status: approved\n"
    ),
    "plans/SPIN-1.yaml": (
        "requirement: SPIN-1\ncases:\n"
        "  - id: SPIN-1.1\n    title: three steps\n    kind: nominal\n    origin: human\n    status: approved\n"
        "  - id: SPIN-1.2\n    title: no step\n    kind: edge\n    origin: human\n    status: approved\n"
    ),
    "tests/test_a_price.py": (
        "import pytest\n\nfrom tally import price\n\n\n"
        '@pytest.mark.verifies("PRICE-1.1")\ndef test_small():\n    assert price(2, 1) == 2\n\n\n'
        '@pytest.mark.verifies("PRICE-1.2")\ndef test_large():\n    assert price(50, 3) == 140\n'
    ),
    "tests/test_b_again.py": (
        "import pytest\n\nfrom tally import price\n\n\n"
        '@pytest.mark.verifies("PRICE-1.3")\ndef test_large_again():\n    assert price(60, 4) == 230\n'
    ),
    "tests/test_spin.py": (
        "import pytest\n\nfrom tally import spin\n\n\n"
        '@pytest.mark.verifies("SPIN-1.1")\ndef test_three():\n    assert spin(3) == 3\n\n\n'
        '@pytest.mark.verifies("SPIN-1.1")\ndef test_two():\n    assert spin(2) == 2\n\n\n'
        '@pytest.mark.verifies("SPIN-1.2")\ndef test_zero():\n    assert spin(0) == 0\n'
    ),
}

# (line, mutated) -> (status, {test: verdict}) of the full kill matrix (a requirement's tests after
# its timeout excepted)
FULL = {
    (2, "if qty >= 2:"): ("survived", {"test_small": "pass", "test_large": "pass", "test_large_again": "pass"}),
    (2, "if qty > 3:"): ("killed", {"test_small": "pass", "test_large": "assert", "test_large_again": "pass"}),
    (3, "return net * qty - 11"): ("killed", {"test_large": "assert", "test_large_again": "assert"}),
    (3, "return net * qty + 10"): ("killed", {"test_large": "assert", "test_large_again": "assert"}),
    (3, "return net / qty - 10"): ("killed", {"test_large": "assert", "test_large_again": "assert"}),
    (4, "return net / qty"): ("survived", {"test_small": "pass"}),
    (8, "steps = 1"): ("killed", {"test_three": "assert", "test_two": "assert", "test_zero": "assert"}),
    (8, "steps = None"): ("killed", {"test_three": "crash", "test_two": "crash", "test_zero": "assert"}),
    (9, "while n > 1:"): ("killed", {"test_three": "assert", "test_two": "assert", "test_zero": "pass"}),
    (9, "while n >= 0:"): ("killed", {"test_three": "assert", "test_two": "assert", "test_zero": "assert"}),
    (10, "n += 1"): ("timeout", {"test_three": "timeout"}),  # test_two, also SPIN-1's, is not run: the hang is paid once
    (10, "n = 1"): ("timeout", {"test_three": "timeout"}),
    (10, "n -= 2"): ("killed", {"test_three": "assert", "test_two": "assert"}),
    (11, "steps -= 1"): ("killed", {"test_three": "assert", "test_two": "assert"}),
    (11, "steps += 2"): ("killed", {"test_three": "assert", "test_two": "assert"}),
    (11, "steps = 1"): ("killed", {"test_three": "assert", "test_two": "assert"}),
}
# what a decisive run runs: each mutant's tests up to the first assert/timeout (crash does not
# settle: `steps = None` runs on), the timeout paid once, plus the case completion's two runs
# of test_large_again (marked *)
DECISIVE = {
    (2, "if qty >= 2:"): {"test_small": "pass", "test_large": "pass", "test_large_again": "pass"},
    (2, "if qty > 3:"): {"test_small": "pass", "test_large": "assert", "test_large_again": "pass"},  # *
    (3, "return net * qty - 11"): {"test_large": "assert", "test_large_again": "assert"},  # *
    (3, "return net * qty + 10"): {"test_large": "assert"},
    (3, "return net / qty - 10"): {"test_large": "assert"},
    (4, "return net / qty"): {"test_small": "pass"},
    (8, "steps = 1"): {"test_three": "assert"},
    (8, "steps = None"): {"test_three": "crash", "test_two": "crash", "test_zero": "assert"},
    (9, "while n > 1:"): {"test_three": "assert"},
    (9, "while n >= 0:"): {"test_three": "assert"},
    (10, "n += 1"): {"test_three": "timeout"},
    (10, "n = 1"): {"test_three": "timeout"},
    (10, "n -= 2"): {"test_three": "assert"},
    (11, "steps -= 1"): {"test_three": "assert"},
    (11, "steps += 2"): {"test_three": "assert"},
    (11, "steps = 1"): {"test_three": "assert"},
}


def table(run) -> dict:
    return {(m.line, m.mutated.strip()): (m.status, {k.split("::")[1]: v for k, v in m.verdicts.items()})
            for m in run.mutants}


def make_project(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    config = load_config(root)
    project = load_project(config)
    for requirement in project.requirements:
        plan_file = project.plan_file(requirement.id)
        record_review(plan_file, requirement, "Tess Reviewer", AT)
        plan_file.save()
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    config = load_config(make_project(tmp_path_factory.mktemp("decisive") / "tally"))
    project = load_project(config)
    trace = run_trace(config)
    out = {}
    for name, options in {"full": {"matrix": "full"}, "decisive": {}, "fast": {"fast": True}}.items():
        run = run_mutation(config, project, trace, jobs=1, use_cache=False, **options)
        out[name] = (run, build_result(project, trace, run.mutants, run.unmutated))
    out["trace"] = trace
    return out


def requirement_view(result) -> dict:
    return {r.id: (r.state, r.score, r.oracle_score, r.mutation_score, r.case_coverage, r.mutants,
                   {c.id: c.state for c in r.cases}) for r in result.requirements}


def test_the_full_matrix_runs_every_selected_test_on_every_mutant_but_pays_a_hang_once(runs):
    run, _ = runs["full"]
    assert run.stats["matrix"] == "full" and run.complete
    assert table(run) == FULL
    assert run.stats["cells"] == 35 and "case_completion" not in run.stats


@pytest.mark.verifies("MUT-1.7")
def test_a_decisive_run_gives_the_full_matrix_statuses_scores_and_case_states(runs):
    (full, full_result), (decisive, decisive_result) = runs["full"], runs["decisive"]
    assert decisive.stats["matrix"] == "decisive"
    assert {m.id: m.status for m in decisive.mutants} == {m.id: m.status for m in full.mutants}
    assert requirement_view(decisive_result) == requirement_view(full_result)
    assert decisive_result.score == full_result.score
    assert {c.id: c.state for r in full_result.requirements for c in r.cases} == {
        "PRICE-1.1": "WEAK", "PRICE-1.2": "VERIFIED", "PRICE-1.3": "VERIFIED",
        "SPIN-1.1": "VERIFIED", "SPIN-1.2": "VERIFIED"}
    # fewer runs: every verdict a decisive run has is the full matrix's for that (mutant, test)
    full_verdicts = {m.id: m.verdicts for m in full.mutants}
    for mutant in decisive.mutants:
        assert mutant.verdicts.items() <= full_verdicts[mutant.id].items()
    assert decisive.stats["cells"] < full.stats["cells"]


def test_a_decisive_run_stops_each_mutant_where_its_status_is_settled(runs):
    decisive, _ = runs["decisive"]
    assert table(decisive) == {key: (FULL[key][0], verdicts) for key, verdicts in DECISIVE.items()}
    assert decisive.stats["cells"] == 23


@pytest.mark.verifies("MUT-1.7")
def test_the_case_completion_is_what_keeps_the_cases_of_a_cut_off_test_verified(runs):
    (decisive, decisive_result), (fast, fast_result) = runs["decisive"], runs["fast"]
    # PRICE-1.3's only test runs after two tests that kill every mutant they can: the main pass
    # never reaches it on a killable mutant; the completion runs it until its first kill
    assert decisive.stats["case_completion"] == {"mutants": 2, "test_runs": 2}
    completed = {(m.line, m.mutated.strip()): decisive.stats["completed_cells"][m.id]
                 for m in decisive.mutants if m.id in decisive.stats["completed_cells"]}
    assert completed == {(2, "if qty > 3:"): [B + "test_large_again"], (3, "return net * qty - 11"): [B + "test_large_again"]}
    # --fast stops at any first kill and has no completion: `steps = None` crashes test_three
    # first, so it is killed-by-crash (left out of O) though test_zero would assert, and test_zero,
    # the only test of SPIN-1.2, never runs; PRICE-1.3 is WEAK
    full_status = {m.id: m.status for m in runs["full"][0].mutants}
    changed = {(m.line, m.mutated.strip()): (full_status[m.id], m.status) for m in fast.mutants if m.status != full_status[m.id]}
    assert changed == {(8, "steps = None"): ("killed", "killed-by-crash")}
    assert {c.id: c.state for r in fast_result.requirements for c in r.cases if c.state != "VERIFIED"} == {
        "PRICE-1.1": "WEAK", "PRICE-1.3": "WEAK", "SPIN-1.2": "WEAK"}
    assert {c.id: c.state for r in decisive_result.requirements for c in r.cases if c.state != "VERIFIED"} == {
        "PRICE-1.1": "WEAK"}
    assert {r.id: (r.mutants.killed, r.mutants.killed_by_crash, r.oracle_score) for r in decisive_result.requirements} == {
        "PRICE-1": (4, 0, 0.6667), "SPIN-1": (8, 0, 1.0)}
    assert {r.id: (r.mutants.killed, r.mutants.killed_by_crash, r.oracle_score) for r in fast_result.requirements} == {
        "PRICE-1": (4, 0, 0.6667), "SPIN-1": (7, 1, 1.0)}


def test_the_cost_estimate_is_an_upper_bound_for_a_decisive_run_and_exact_arithmetic_for_the_full_matrix(runs):
    assert runs["full"][0].stats["estimate"]["upper_bound"] is False
    assert runs["decisive"][0].stats["estimate"]["upper_bound"] is True
    # both count every selected test of every mutant; the full matrix ran 2 fewer: test_two after
    # the timeouts of `n += 1` and `n = 1`
    assert runs["decisive"][0].stats["estimate"]["test_runs"] == runs["full"][0].stats["estimate"]["test_runs"] == 37
    assert runs["full"][0].stats["cells"] == 35


def test_matrix_modes_are_checked_before_anything_runs(runs, tmp_path):
    config = load_config(tmp_path)
    with pytest.raises(InputError, match=r"^--matrix complete: not a matrix mode; use one of decisive, full$"):
        run_mutation(config, None, runs["trace"], matrix="complete")
    with pytest.raises(InputError, match=r"^--fast and --matrix full contradict each other"):
        run_mutation(config, None, runs["trace"], matrix="full", fast=True)


def test_the_cache_serves_a_decisive_run_from_a_full_one_never_the_other_way(runs, tmp_path):
    config = load_config(make_project(tmp_path / "tally"))
    project = load_project(config)
    trace = run_trace(config)
    first = run_mutation(config, project, trace, jobs=2)
    assert (first.stats["executed"], first.stats["cache_hits"]) == (16, 0)
    full = run_mutation(config, project, trace, jobs=2, matrix="full")  # a decisive entry lacks cells
    assert (full.stats["executed"], full.stats["cache_hits"]) == (16, 0)
    assert table(full) == FULL
    again = run_mutation(config, project, trace, jobs=2)  # a full entry serves a decisive run
    assert (again.stats["executed"], again.stats["cache_hits"]) == (0, 16)
    assert {m.id: m.status for m in again.mutants} == {m.id: m.status for m in first.mutants}


@pytest.mark.parametrize("verdicts, groups, expected", [
    ({"a": "timeout", "b": "assert"}, None, "timeout"),  # the first settling verdict decides
    ({"a": "assert", "b": "timeout"}, None, "killed"),
    ({"a": "crash", "b": "timeout", "c": "assert"}, None, "timeout"),  # a crash settles nothing
    ({"a": "crash", "b": "assert"}, None, "killed"),
    ({"a": "crash", "b": "pass"}, None, "killed-by-crash"),
    ({"a": "pass"}, None, "survived"),
    ({"x": "assert"}, None, "no-coverage"),  # not a judge
    # per requirement: R1's tests [a, b] time out first, R2's [c] assert: killed for R2, so killed
    ({"a": "timeout", "b": "assert", "c": "assert"}, [["a", "b"], ["c"]], "killed"),
    ({"a": "timeout", "b": "assert", "c": "crash"}, [["a", "b"], ["c"]], "timeout"),
])
def test_a_requirements_first_assert_or_timeout_in_suite_order_settles_the_status(verdicts, groups, expected):
    from testplan.mutate.outcome import status

    assert status(verdicts, ["a", "b", "c"], groups) == expected


WALK = {
    "pyproject.toml": FILES["pyproject.toml"],
    "src/tally/__init__.py": (
        "def walk(start, goal):\n"
        "    steps = 0\n"
        "    while start != goal:\n"
        "        start += 1\n"
        "        steps += 1\n"
        "    return steps\n"
    ),
    "requirements.yaml": ("requirements:\n  - id: WALK-1\n    title: Walk\n    statement: walk counts the steps to the goal.\n"
                          "    code: [tally:walk]\n"),
    "plans/WALK-1.yaml": ("requirement: WALK-1\ncases:\n"
                          "  - id: WALK-1.1\n    title: odd\n    kind: nominal\n    origin: human\n    status: approved\n"),
    # `start += 2` never reaches an odd goal (test_odd times out) and reaches 4 in 2 steps (test_even asserts)
    "tests/test_walk.py": ("import pytest\n\nfrom tally import walk\n\n\n"
                           '@pytest.mark.verifies("WALK-1.1")\ndef test_odd():\n    assert walk(0, 3) == 3\n\n\n'
                           '@pytest.mark.verifies("WALK-1.1")\ndef test_even():\n    assert walk(0, 4) == 4\n'),
}


@pytest.mark.verifies("MUT-1.7")
def test_a_timeout_before_an_assert_is_a_timeout_and_is_paid_once_in_the_full_matrix_as_in_a_decisive_run(tmp_path):
    root = tmp_path / "walk"
    for rel, text in WALK.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    config = load_config(root)
    project = load_project(config)
    trace = run_trace(config)
    full = run_mutation(config, project, trace, jobs=2, use_cache=False, matrix="full")
    decisive = run_mutation(config, project, trace, jobs=2, use_cache=False)
    key = (4, "start += 2")
    # test_even would assert, but after test_odd's timeout WALK-1's status is settled: neither
    # mode runs it (the hang is paid once)
    assert table(full)[key] == table(decisive)[key] == ("timeout", {"test_odd": "timeout"})
    assert {m.id: m.status for m in decisive.mutants} == {m.id: m.status for m in full.mutants}
    assert Counter(m.status for m in full.mutants)["timeout"] == 3  # start += 2, start -= 1, start = 1
    full_result, decisive_result = (build_result(project, trace, r.mutants, r.unmutated) for r in (full, decisive))
    assert requirement_view(decisive_result) == requirement_view(full_result)
