"""``testplan audit`` end to end: real pytest runs under the real tracer, on copies of real projects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tp_helpers import tree_digest
from test_score import FIXTURES, PAYMENTS, PRICING, approve_plans, copy_fixture, worked_mutants
from testplan.audit import MutationRun, run_audit
from testplan.cli import main
from testplan.config import load_config
from testplan.errors import IncompleteError
from testplan.result import AuditResult, load_result, parse_result

pytestmark = pytest.mark.slow


def states(result: AuditResult) -> dict[str, str]:
    return {r.id: r.state for r in result.requirements}


def saved(root) -> AuditResult:
    return load_result(root / ".testplan" / "audit.json")


def test_audit_of_the_example(example, cli):
    before = tree_digest(example)
    run = cli("audit", "--no-mutation", "-C", example)
    assert run.code == 0, run.err
    result = saved(example)
    assert result.complete is True and result.incomplete_reason is None and result.mutation is False
    assert states(result) == {"PAY-1": "OK", "CARD-1": "OK", "CARD-2": "SUSPECT", "PAY-2": "UNCOVERED", "PAY-3": "OK", "POL-1": "OK"}
    # (3·100 + 5·100 + 2·0 + 5·83.33 + 3·100 + 2·100) / 20
    assert result.score == 85.83
    assert result.requirement("PAY-2").case_coverage == 0.8333
    assert [c.id for c in result.requirement("PAY-2").cases if c.state == "UNCOVERED"] == ["PAY-2.6"]
    assert result.requirement("POL-1").cases[-1].state == "REJECTED"
    assert {t.state for t in result.tests} == {"LINKED"} and len(result.tests) == 72
    assert (result.gate.passed, result.gate.min_score) == (True, 60.0)
    assert run.out.splitlines()[-2:] == ["project score 85.8 (cases only: no mutation, O not measured, S = 100·C)",
                                         "gate: passed (min score 60, fail on dangling, failing)"]
    assert tree_digest(example) == before  # the user's tree is byte-identical
    assert cli("gate", "-C", example).code == 0


def test_failing_test_makes_the_requirement_nok(example, cli):
    test_file = example / "tests" / "test_pricing.py"
    text = test_file.read_text()
    assert 'pytest.param(2, "90.00", id="2-pets"' in text
    test_file.write_text(text.replace('pytest.param(2, "90.00", id="2-pets"', 'pytest.param(2, "90.01", id="2-pets"'))
    run = cli("audit", "--no-mutation", "-C", example, "--fail-on", "failing")
    assert run.code == 1
    result = saved(example)
    failing = "tests/test_pricing.py::test_premium_by_household_size[2-pets]"
    assert [t.nodeid for t in result.tests if t.outcome == "failed"] == [failing]
    assert states(result)["PAY-1"] == "NOK"
    assert {c.id: c.state for c in result.requirement("PAY-1").cases}["PAY-1.1"] == "FAILING"
    assert (result.requirement("PAY-1").case_coverage, result.requirement("PAY-1").score) == (0.875, 87.5)
    assert result.score == 83.96  # (3·87.5 + 5·100 + 2·0 + 5·83.33 + 3·100 + 2·100) / 20
    assert result.gate.reasons == [f"PAY-1 (Premium discount for multi-pet households) has 1 failing linked test: {failing}"]
    assert cli("gate", "-C", example, "--fail-on", "failing").code == 1  # the same verdict from the saved result
    assert cli("gate", "-C", example).code == 1  # the default fail_on has failing
    assert cli("gate", "-C", example, "--fail-on", "none").code == 0  # the scores alone: 83.96 >= 60


def test_approve_then_edit_makes_suspect(example, cli):
    assert main(["approve", "CARD-2", "--by", "T", "-C", str(example)]) == 0
    requirements = example / "requirements.yaml"
    text = requirements.read_text()
    requirements.write_text(text.replace("Premiums are rounded half-up to whole cents.", "Premiums are rounded half-even to whole cents."))
    run = cli("audit", "--no-mutation", "-C", example, "--fail-on", "suspect")
    assert run.code == 1
    result = saved(example)
    assert (states(result)["CARD-2"], states(result)["PAY-1"]) == ("OK", "SUSPECT")
    assert result.requirement("PAY-1").score == 0.0
    assert result.gate.reasons == ["PAY-1 (Premium discount for multi-pet households) is SUSPECT: changed after review; approve it again"]


def test_orphan_and_dangling_tests(tmp_path, cli):
    root = copy_fixture(tmp_path, "audit_links")
    approve_plans(root)
    run = cli("audit", "--no-mutation", "-C", root, "--fail-on", "dangling,orphan")
    assert run.code == 1
    result = saved(root)
    tests = {t.nodeid: t.state for t in result.tests if t.file == "tests/check_links.py"}
    assert tests == {
        "tests/check_links.py::test_orphan": "ORPHAN",
        "tests/check_links.py::test_unknown_case": "DANGLING",
        "tests/check_links.py::test_unknown_requirement": "DANGLING",
        "tests/check_links.py::test_malformed_id": "DANGLING",
        "tests/check_links.py::test_rejected_case": "REJECTED-LINK",
    }
    assert result.gate.reasons == [
        "tests/check_links.py::test_orphan (tests/check_links.py:6) is ORPHAN: it links no requirement or case",
        "tests/check_links.py::test_unknown_case (tests/check_links.py:11) links an unknown ID: PRICE-1.9",
        "tests/check_links.py::test_unknown_requirement (tests/check_links.py:16) links an unknown ID: NOPE-1",
        "tests/check_links.py::test_malformed_id (tests/check_links.py:21) links an unknown ID: price-1",
    ]
    assert [(p.line, p.severity) for p in result.problems] == [(11, "error"), (16, "error"), (21, "error"), (26, "warning")]
    assert run.err.splitlines()[0] == "tests/check_links.py:11: tests/check_links.py::test_unknown_case: links unknown case PRICE-1.9 (cases of PRICE-1: PRICE-1.1, PRICE-1.2, PRICE-1.3, PRICE-1.4); fix the ID in @pytest.mark.verifies"
    assert states(result) == {"PRICE-1": "OK", "PAY-1": "UNCOVERED", "POL-1": "OK"}
    assert cli("gate", "-C", root, "--fail-on", "dangling,orphan").code == 1


@pytest.mark.verifies("TRACE-1", "GATE-1")
def test_linked_only_traces_the_tests_with_a_verifies_marker_and_the_gate_refuses_to_judge_orphans(tmp_path, cli):
    root = copy_fixture(tmp_path, "audit_links")
    approve_plans(root)
    assert cli("audit", "--no-mutation", "-C", root, "--fail-on", "dangling").code == 1
    everything = saved(root)
    run = cli("audit", "--no-mutation", "-C", root, "--linked-only", "--jobs", "2", "--fail-on", "dangling,orphan")
    assert run.code == 1
    result = saved(root)
    # the same tests, outcomes and states but the one without a marker, which did not run
    assert [(t.nodeid, t.outcome, t.state) for t in result.tests] == [
        (t.nodeid, t.outcome, t.state) for t in everything.tests if t.nodeid != "tests/check_links.py::test_orphan"]
    assert [t.state for t in everything.tests].count("ORPHAN") == 1
    assert (result.linked_only, everything.linked_only, states(result)) == (True, False, states(everything))
    assert result.gate.reasons == [
        "tests/check_links.py::test_unknown_case (tests/check_links.py:11) links an unknown ID: PRICE-1.9",
        "tests/check_links.py::test_unknown_requirement (tests/check_links.py:16) links an unknown ID: NOPE-1",
        "tests/check_links.py::test_malformed_id (tests/check_links.py:21) links an unknown ID: price-1",
        "fail on orphan cannot be checked: the audit traced only the linked tests (--linked-only), so no unlinked test "
        "ran; audit without --linked-only, or drop orphan from fail_on",
    ]
    assert (f"note: --linked-only: only the {len(result.tests)} tests that link a requirement or case ran; unlinked tests were "
            "not traced (none is ORPHAN)") in run.out
    gate = cli("gate", "-C", root, "--fail-on", "orphan")  # the saved result says how it was traced
    assert gate.code == 1 and "fail on orphan cannot be checked" in gate.out
    both = cli("audit", "-C", root, "--linked-only", "--all-tests")
    assert (both.code, both.err) == (2, "testplan: bad-input: --linked-only and --all-tests: --all-tests runs unlinked tests on the "
                                        "mutants, and --linked-only does not trace them; drop one\n")


@pytest.mark.verifies("TRACE-1")
def test_linked_only_on_a_suite_without_a_linked_test_is_a_baseline_error_saying_so(tmp_path, cli):
    from test_faults_process import make_project

    root = make_project(tmp_path / "proj", "from tiny import halve_count\n\n\ndef test_plain():\n    assert halve_count(8) == 3\n")
    run = cli("audit", "--no-mutation", "-C", root, "--linked-only")
    assert (run.code, run.err) == (3, "testplan: baseline-failing: no test in tests links a requirement or case, and "
                                      "--linked-only runs only those (pytest exit code 5); link tests with "
                                      "@pytest.mark.verifies or [tool.testplan.links], or audit without --linked-only\n")
    assert cli("audit", "--no-mutation", "-C", root).code == 0  # the plain test runs without the flag
    with open(root / "pyproject.toml", "a", encoding="utf-8") as handle:  # a links-table entry links it too
        handle.write('\n[tool.testplan.links]\n"tests/test_tiny.py::test_plain" = ["TINY-1"]\n')
    run = cli("audit", "--no-mutation", "-C", root, "--linked-only")
    assert (run.code, [(t.nodeid, t.links, t.state) for t in saved(root).tests]) == (
        0, [("tests/test_tiny.py::test_plain", ["TINY-1"], "LINKED")]), run.err


def test_run_audit_gives_its_env_to_the_traced_tests(tmp_path):
    from test_faults_process import make_project

    root = make_project(tmp_path / "proj", "import os\nfrom tiny import halve_count\n\n\ndef test_env():\n"
                                           "    assert halve_count(8) == 3\n    assert os.environ.get('TP_AUDIT_ENV') == 'on'\n")
    result = run_audit(load_config(root), env={"TP_AUDIT_ENV": "on"})
    assert [(t.nodeid, t.outcome) for t in result.tests] == [("tests/test_tiny.py::test_env", "passed")]
    result = run_audit(load_config(root))
    assert [(t.nodeid, t.outcome, t.failure_class) for t in result.tests] == [("tests/test_tiny.py::test_env", "failed", "assert")]


def test_worked_example_end_to_end_with_a_mutation_hook(tmp_path):
    root = copy_fixture(tmp_path)
    approve_plans(root)
    seen = {}

    def mutate(config, project, trace):
        seen["tests"] = [t.nodeid for t in trace.tests]
        return MutationRun(worked_mutants(), {"POL-1": ["shop.policy:helper (decorated)"]})

    result = run_audit(load_config(root), mutate=mutate, min_score=60)
    assert seen["tests"][:2] == [f"{PAYMENTS}::test_capture", f"{PAYMENTS}::test_capture_returns_amount"]
    assert (result.complete, result.mutation, result.score) == (True, True, 68.21)
    assert states(result) == {"PRICE-1": "OK", "PAY-1": "UNCOVERED", "POL-1": "WEAK"}
    # line coverage from the real trace equals the hand-written trace of the worked example
    assert [(r.line_coverage, r.oracle_score, r.oracle_gap, r.score) for r in result.requirements] == [
        (1.0, 0.8571, 0.1429, 85.71), (1.0, 1.0, 0.0, 75.0), (0.75, 0.25, 0.5, 25.0)]
    assert result.requirement("POL-1").unmutated == ["shop.policy:helper (decorated)"]
    assert result.gate.passed is True
    assert saved(root) == result


def test_worked_example_without_mutation(tmp_path, cli):
    root = copy_fixture(tmp_path)
    approve_plans(root)
    run = cli("audit", "--no-mutation", "-C", root, "--json", "--min-score", "90")
    assert run.code == 1
    result = parse_result(run.out)
    assert result == saved(root)
    assert (result.score, result.gate.reasons) == (87.5, ["project score 87.5 is below the minimum 90"])


def test_out_dir(tmp_path, cli):
    root = copy_fixture(tmp_path)
    out = tmp_path / "reports"
    assert cli("audit", "--no-mutation", "-C", root, "--out", out).code == 0
    assert load_result(out / "audit.json").complete is True
    assert not (root / ".testplan" / "audit.json").exists()
    assert states(load_result(out / "audit.json")) == {"PRICE-1": "UNREVIEWED", "PAY-1": "UNREVIEWED", "POL-1": "UNREVIEWED"}


def test_interrupt_leaves_an_incomplete_result(tmp_path, cli):
    root = copy_fixture(tmp_path)
    approve_plans(root)

    def mutate(config, project, trace):
        assert saved(root).complete is False  # the scored result is on disk before mutation starts
        assert saved(root).incomplete_reason == "mutation testing is running"
        assert states(saved(root)) == {"PRICE-1": "OK", "PAY-1": "UNCOVERED", "POL-1": "OK"}
        raise KeyboardInterrupt

    with pytest.raises(IncompleteError, match=r"^interrupted; .*audit\.json records an incomplete audit$"):
        run_audit(load_config(root), mutate=mutate)
    result = saved(root)
    assert (result.complete, result.incomplete_reason, result.gate) == (False, "interrupted", None)
    assert len(result.tests) == 9  # the evidence gathered so far is kept
    gate = cli("gate", "-C", root)
    assert (gate.code, gate.out.splitlines()[0]) == (4, "gate: INCOMPLETE — interrupted")


def test_sigterm_during_the_test_run_is_an_interruption(tmp_path):
    """A cancelled CI job sends SIGTERM: exit 4, an incomplete record, and the traced pytest killed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = copy_fixture(tmp_path)
    started = tmp_path / "pytest-started"
    (root / "tests" / "check_slow.py").write_text(
        "import os, pathlib, time\n\n\ndef test_slow():\n"
        f"    pathlib.Path({str(started)!r}).write_text(str(os.getpid()))\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-m", "testplan", "audit", "--no-mutation", "-C", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pytest_pid = int(started.read_text())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (4, f"testplan: incomplete: interrupted; {root / '.testplan' / 'audit.json'} records an incomplete audit\n")
    result = saved(root)
    assert (result.complete, result.incomplete_reason) == (False, "interrupted")
    status = Path(f"/proc/{pytest_pid}/status")
    for _ in range(50):  # the test run went with it (gone, or a zombie nobody reaped yet)
        if not status.exists() or "\nState:\tZ" in status.read_text():
            break
        time.sleep(0.1)
    assert not status.exists() or "\nState:\tZ" in status.read_text(), status.read_text()


def test_bad_input_replaces_a_stale_result(tmp_path, cli):
    root = copy_fixture(tmp_path)
    assert cli("audit", "--no-mutation", "-C", root).code == 0
    (root / "requirements.yaml").write_text("requirements:\n  - id: bad id\n")
    run = cli("audit", "--no-mutation", "-C", root)
    assert run.code == 2
    assert run.err == "requirements.yaml:2: requirements[0].id: 'bad id' is not a valid ID; use the form PAY-1\n"
    result = saved(root)
    assert (result.complete, result.incomplete_reason) == (False, "bad-input: requirements.yaml:2: requirements[0].id: 'bad id' is not a valid ID; use the form PAY-1")
    assert cli("gate", "-C", root).code == 4


def test_broken_suite_exits_3(tmp_path, cli):
    root = copy_fixture(tmp_path)
    (root / "tests" / "check_broken.py").write_text("def test_x(:\n")
    run = cli("audit", "--no-mutation", "-C", root)
    assert run.code == 3
    assert run.err.startswith("testplan: baseline-failing: tests could not be collected: tests/check_broken.py")
    assert saved(root).complete is False


def test_audit_with_the_real_mutation_engine(tmp_path, cli):
    root = copy_fixture(tmp_path)
    approve_plans(root)
    before = tree_digest(root)
    run = cli("audit", "-C", root)
    assert run.code == 0, run.err
    result = saved(root)
    assert (result.complete, result.mutation) == (True, True)
    assert states(result) == {"PRICE-1": "OK", "PAY-1": "UNCOVERED", "POL-1": "WEAK"}
    for req in result.requirements:
        scope = [m for m in result.mutants if req.id in m.requirements]
        assert req.mutants.total == len(scope) > 0
        assert req.score == round(100 * req.case_coverage * req.oracle_score, 2)
    assert tree_digest(root) == before


def test_bad_flag_fails_before_running(tmp_path, cli):
    root = copy_fixture(tmp_path)
    run = cli("audit", "--no-mutation", "-C", root, "--fail-on", "flaky")
    assert run.code == 2
    assert not (root / ".testplan" / "trace").exists()
    assert json.loads((root / ".testplan" / "audit.json").read_text())["complete"] is False


def test_pricing_nodeids_are_relative_to_the_project(tmp_path):
    root = copy_fixture(tmp_path)
    result = run_audit(load_config(root))
    assert [t.nodeid for t in result.tests if t.file == PRICING] == [
        f"{PRICING}::test_one_pet", f"{PRICING}::test_two_pets", f"{PRICING}::test_five_pets", f"{PRICING}::test_negative"]


def test_a_syntax_error_in_a_conftest_exits_3_naming_the_conftest_line(tmp_path, cli):
    root = copy_fixture(tmp_path)
    (root / "tests" / "conftest.py").write_text("import pytest\n\n\ndef helper(:\n    pass\n")
    run = cli("audit", "--no-mutation", "-C", root)
    assert (run.code, run.err) == (3, "testplan: baseline-failing: tests could not be collected: tests/conftest.py:4: SyntaxError: invalid syntax; fix the conftest\n")
    assert saved(root).incomplete_reason == "baseline-failing: tests could not be collected: tests/conftest.py:4: SyntaxError: invalid syntax; fix the conftest"


def test_the_default_gate_fails_on_dangling_links(tmp_path, cli):
    """DANGLING is an error (DESIGN.md section 3): with no fail_on configured, the gate fails on it."""
    root = copy_fixture(tmp_path, "audit_links")
    approve_plans(root)
    run = cli("audit", "--no-mutation", "-C", root)
    assert run.code == 1
    result = saved(root)
    assert result.gate.fail_on == ["dangling", "failing"]
    assert result.gate.reasons == [
        "tests/check_links.py::test_unknown_case (tests/check_links.py:11) links an unknown ID: PRICE-1.9",
        "tests/check_links.py::test_unknown_requirement (tests/check_links.py:16) links an unknown ID: NOPE-1",
        "tests/check_links.py::test_malformed_id (tests/check_links.py:21) links an unknown ID: price-1",
    ]
    # a configured list replaces the default, the empty one too
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "fail_on = []\n")
    run = cli("audit", "--no-mutation", "-C", root)
    assert run.code == 0
    assert saved(root).gate.fail_on == []
    assert run.out.splitlines()[-1] == "gate: passed (min score 0, fail on nothing)"


LINKS_TABLE = """
[tool.testplan.links]
"tests/check_pricing.py::test_one_pet" = ["PRICE-1"]
"tests/check_payments.py::test_capture*" = ["PAY-9", "PAY-1"]
"tests/test_gone.py::*" = ["POL-1"]
"tests/check_links.py::test_unknown_case" = ["PRICE-1.9", "POL-1.3"]
"""


def test_links_table_problems_point_at_pyproject_toml(tmp_path, cli):
    root = copy_fixture(tmp_path, "audit_links")
    approve_plans(root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + LINKS_TABLE)
    first = len(pyproject.read_text().splitlines()) - 3  # the line of "tests/check_pricing.py::test_one_pet"
    assert pyproject.read_text().splitlines()[first - 1] == '"tests/check_pricing.py::test_one_pet" = ["PRICE-1"]'
    run = cli("audit", "--no-mutation", "-C", root)
    assert run.code == 1
    result = saved(root)
    assert [(p.path, p.line, p.severity, p.message) for p in result.problems] == [
        # a marker's bad ID stays at the test's definition
        ("tests/check_links.py", 11, "error", "tests/check_links.py::test_unknown_case: links unknown case PRICE-1.9 (cases of PRICE-1: PRICE-1.1, PRICE-1.2, PRICE-1.3, PRICE-1.4); fix the ID in @pytest.mark.verifies"),
        ("tests/check_links.py", 16, "error", "tests/check_links.py::test_unknown_requirement: links unknown requirement NOPE-1 (known: PRICE-1, PAY-1, POL-1); fix the ID in @pytest.mark.verifies"),
        ("tests/check_links.py", 21, "error", "tests/check_links.py::test_malformed_id: 'price-1' is not a requirement ID (PAY-1) or case ID (PAY-1.3); fix the ID in @pytest.mark.verifies"),
        ("tests/check_links.py", 26, "warning", "tests/check_links.py::test_rejected_case: links POL-1.3, a rejected case; remove the link or re-approve the case"),
        # the table's, once per pattern and ID, at the pattern's line
        ("pyproject.toml", first + 1, "error", "links pattern 'tests/check_payments.py::test_capture*' (2 tests): links unknown requirement PAY-9 (known: PRICE-1, PAY-1, POL-1); fix the ID in [tool.testplan.links]"),
        ("pyproject.toml", first + 2, "warning", "links pattern 'tests/test_gone.py::*' matches no test; fix or remove it"),
        ("pyproject.toml", first + 3, "error", "links pattern 'tests/check_links.py::test_unknown_case' (1 test): links unknown case PRICE-1.9 (cases of PRICE-1: PRICE-1.1, PRICE-1.2, PRICE-1.3, PRICE-1.4); fix the ID in [tool.testplan.links]"),
        ("pyproject.toml", first + 3, "warning", "links pattern 'tests/check_links.py::test_unknown_case' (1 test): links POL-1.3, a rejected case; remove the ID from [tool.testplan.links] or re-approve the case"),
    ]
    assert run.err.splitlines()[4:6] == [
        f"pyproject.toml:{first + 1}: links pattern 'tests/check_payments.py::test_capture*' (2 tests): links unknown requirement PAY-9 (known: PRICE-1, PAY-1, POL-1); fix the ID in [tool.testplan.links]",
        f"pyproject.toml:{first + 2}: warning: links pattern 'tests/test_gone.py::*' matches no test; fix or remove it",
    ]
    states_of = {t.nodeid: t.state for t in result.tests}
    assert [states_of[f"tests/check_payments.py::{n}"] for n in ("test_capture", "test_capture_returns_amount", "test_unauthorized")] == [
        "DANGLING", "DANGLING", "LINKED"]
    assert next(t.links for t in result.tests if t.nodeid == "tests/check_payments.py::test_capture") == ["PAY-1.1", "PAY-9", "PAY-1"]


def test_a_config_type_error_points_at_the_key_and_says_how_to_fix_it(tmp_path, cli):
    root = copy_fixture(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.testplan.links]\n"tests/check_policy.py" = "POL-1"\n')
    line = len(pyproject.read_text().splitlines())
    run = cli("audit", "--no-mutation", "-C", root)
    assert (run.code, run.err) == (2, f'pyproject.toml:{line}: [tool.testplan] links.tests/check_policy.py: Input should be a valid list; '
                                      f'write a list: "tests/check_policy.py" = ["POL-1"]\n')


def test_line_coverage_credits_only_the_tests_that_ran_the_code(tmp_path, cli):
    """Issue 3, acceptance 3: DBL-1 and DEC-1 both name calc.ops:f; only DBL-1's test runs f."""
    root = tmp_path / "per-test"
    shutil.copytree(FIXTURES / "audit_per_test_lines", root)
    run = cli("audit", "--no-mutation", "-C", root)
    assert run.code == 0, run.err
    result = saved(root)
    assert {t.nodeid: (t.links, t.outcome, t.state) for t in result.tests} == {
        "tests/check_ops.py::test_f": (["DBL-1"], "passed", "LINKED"),
        "tests/check_ops.py::test_g": (["DEC-1"], "passed", "LINKED"),
    }
    assert {r.id: (r.state, r.code, r.tests, r.line_coverage) for r in result.requirements} == {
        "DBL-1": ("UNREVIEWED", ["calc.ops:f"], ["tests/check_ops.py::test_f"], 1.0),
        "DEC-1": ("UNREVIEWED", ["calc.ops:f"], ["tests/check_ops.py::test_g"], 0.0),
    }


@pytest.mark.verifies("SCORE-1")
def test_the_table_names_three_unmutated_functions_and_counts_the_rest(capsys):
    from testplan.cli_audit import print_result
    from testplan.result import RequirementResult

    unmutated = [f"shop.core:f{i} (decorated)" for i in range(1, 6)] + ["shop.core (module-level code)"]
    requirement = RequirementResult(id="PAY-1", title="t", risk="high", state="OK", plan_state="APPROVED",
                                    unmutated=unmutated, score=100.0)
    print_result(AuditResult(project="p", complete=True, mutation=True, score=100.0, requirements=[requirement]))
    lines = [line for line in capsys.readouterr().out.splitlines() if "not mutated" in line]
    # import-time code is never named; of the 5 functions, 3 are and the other 2 are counted
    assert lines == ["PAY-1: not mutated: shop.core:f1 (decorated), shop.core:f2 (decorated), shop.core:f3 (decorated) "
                     "and 2 more (audit.json: unmutated)"]
