"""The gate: thresholds, fail_on states, flag overrides, and exit codes 0 / 1 / 4."""

from __future__ import annotations

import re

import pytest

from test_score import PAYMENTS, POLICY, copy_fixture, approve_plans, load, worked_mutants, worked_trace
from testplan.config import load_config
from testplan.errors import ExitCode, InputError
from testplan.gate import apply_gate, exit_code, parse_fail_on
from testplan.inputs import read_inputs
from testplan.result import AuditResult, load_result, save_result
from testplan.score import build_result


@pytest.fixture
def shop(tmp_path):
    root = copy_fixture(tmp_path)
    approve_plans(root)
    return root


def audited(root, *, mutation=True, complete=True, **trace_kwargs) -> AuditResult:
    result = build_result(load(root), worked_trace(root, **trace_kwargs), worked_mutants() if mutation else None)
    result.complete = complete
    return result


def gated(result: AuditResult, root, **flags) -> AuditResult:
    result.gate = apply_gate(result, load_config(root), **flags)
    return result


@pytest.mark.verifies("GATE-1.1")
def test_default_gate_passes_with_exit_0(shop):
    result = gated(audited(shop), shop)
    assert (result.gate.passed, result.gate.reasons, exit_code(result)) == (True, [], ExitCode.OK)
    assert (result.gate.min_score, result.gate.min_requirement_score, result.gate.fail_on) == (0.0, 0.0, ["dangling", "failing"])


@pytest.mark.verifies("GATE-1.1")
def test_project_score_below_minimum_fails_with_exit_1(shop):
    result = gated(audited(shop), shop, min_score=70)
    assert result.gate.reasons == ["project score 68.21 is below the minimum 70"]
    assert exit_code(result) == ExitCode.GATE_FAILED
    assert gated(audited(shop), shop, min_score=68.21).gate.passed is True


def test_min_score_from_config_and_flag_override(shop):
    pyproject = shop / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'min_score = 90\nmin_requirement_score = 50\nfail_on = ["uncovered"]\n')
    result = gated(audited(shop), shop)
    assert result.gate.reasons == [
        "project score 68.21 is below the minimum 90",
        "PAY-1 (Only authorized payments are captured) is UNCOVERED: no passing or running test for PAY-1.4",
        "POL-1 (Policies for pets up to 20 years) scores 25, below the per-requirement minimum 50 [WEAK]",
    ]
    overridden = gated(audited(shop), shop, min_score=60, min_requirement_score=0, fail_on="none")
    assert (overridden.gate.passed, overridden.gate.fail_on, overridden.gate.min_score) == (True, [], 60.0)


@pytest.mark.verifies("GATE-1.2")
def test_incomplete_result_never_passes_and_exits_4(shop):
    result = audited(shop, complete=False)
    result.incomplete_reason = "interrupted"
    gated(result, shop)
    assert result.gate.passed is False
    assert result.gate.reasons == ["the audit is incomplete: interrupted; an incomplete audit never passes"]
    assert exit_code(result) == ExitCode.INCOMPLETE
    result.gate.passed = True  # even a tampered verdict does not make an incomplete result pass
    assert exit_code(result) == ExitCode.INCOMPLETE


def test_a_result_without_gate_verdict_has_not_passed(shop):
    assert exit_code(audited(shop)) == ExitCode.GATE_FAILED


@pytest.mark.verifies("GATE-1.3")
def test_every_fail_on_state(tmp_path):
    root = copy_fixture(tmp_path, "audit_links")
    approve_plans(root, "PRICE-1", "PAY-1")  # POL-1 stays unreviewed
    requirements = root / "requirements.yaml"
    trace_outcomes = {f"{PAYMENTS}::test_unauthorized": "failed"}
    result = build_result(load(root), worked_trace(root, outcomes=trace_outcomes), worked_mutants())
    result.complete = True
    everything = "suspect,unreviewed,uncovered,failing,weak,dangling,orphan"
    gate = apply_gate(result, load_config(root), fail_on=everything)
    assert gate.reasons == [
        "PAY-1 (Only authorized payments are captured) has 1 failing linked test: tests/check_payments.py::test_unauthorized",
        # NOK is the roll-up state, yet the uncovered case still fails an 'uncovered' gate
        "PAY-1 (Only authorized payments are captured) is UNCOVERED: no passing or running test for PAY-1.4",
        "POL-1 (Policies for pets up to 20 years) has an unreviewed plan; run 'testplan approve POL-1 --by NAME'",
    ]
    # each requirement's own reasons are recorded as data, for the per-requirement reports
    assert gate.requirements == {"PAY-1": gate.reasons[:2], "POL-1": gate.reasons[2:]}
    assert exit_code(result.model_copy(update={"gate": gate})) == ExitCode.GATE_FAILED

    approve_plans(root, "POL-1")
    requirements.write_text(requirements.read_text().replace("10 % off,", "10 % off each premium,"))
    result = build_result(load(root), worked_trace(root), worked_mutants())
    result.complete = True
    assert [r.state for r in result.requirements] == ["SUSPECT", "UNCOVERED", "WEAK"]
    assert apply_gate(result, load_config(root), fail_on="suspect,weak").reasons == [
        "PRICE-1 (Multi-pet discount) is SUSPECT: changed after review; approve it again",
        "POL-1 (Policies for pets up to 20 years) is WEAK: the tests of POL-1.2 kill no mutant of its code",
    ]


@pytest.mark.verifies("GATE-1.3")
def test_dangling_and_orphan_tests_fail_when_asked(tmp_path):
    from testplan.trace import TestRecord

    root = copy_fixture(tmp_path)
    approve_plans(root)
    trace = worked_trace(root)
    trace.tests += [TestRecord("tests/check_x.py::test_orphan", "tests/check_x.py", 3),
                    TestRecord("tests/check_x.py::test_dangling", "tests/check_x.py", 7, links=["PRICE-1.2", "PRICE-1.9"])]
    result = build_result(load(root), trace)
    result.complete = True
    config = load_config(root)
    assert apply_gate(result, config, fail_on="none").passed is True
    assert apply_gate(result, config).reasons == [  # a dangling link is an error: the default gate fails on it
        "tests/check_x.py::test_dangling (tests/check_x.py:7) links an unknown ID: PRICE-1.9",
    ]
    gate = apply_gate(result, config, fail_on=["dangling", "orphan"])
    assert gate.reasons == [
        "tests/check_x.py::test_orphan (tests/check_x.py:3) is ORPHAN: it links no requirement or case",
        "tests/check_x.py::test_dangling (tests/check_x.py:7) links an unknown ID: PRICE-1.9",
    ]
    assert gate.requirements == {}  # about tests, not about one requirement


def test_weak_by_low_oracle_score(shop):
    result = audited(shop)
    result.requirements[2].cases[1].state = "VERIFIED"  # only the O_R < 0.5 rule is left
    assert apply_gate(result, load_config(shop), fail_on="weak").reasons == [
        "POL-1 (Policies for pets up to 20 years) is WEAK: oracle score 0.25 is below 0.5",
    ]


def test_requirement_minimum_names_each_requirement(shop):
    result = audited(shop, mutation=False)
    assert apply_gate(result, load_config(shop), min_requirement_score=80).reasons == [
        "PAY-1 (Only authorized payments are captured) scores 75, below the per-requirement minimum 80 [UNCOVERED]",
    ]


@pytest.mark.parametrize(("given", "parsed"), [
    (None, None), ("", []), ("none", []), ("dangling", ["dangling"]), ("Weak, orphan", ["weak", "orphan"]),
    (["suspect", "weak,suspect"], ["suspect", "weak"]), ("weak,none,orphan", ["orphan"]),
])
def test_parse_fail_on(given, parsed):
    assert parse_fail_on(given) == parsed


def test_unknown_fail_on_state_is_bad_input(shop):
    with pytest.raises(InputError) as caught:
        apply_gate(audited(shop), load_config(shop), fail_on="weak,flaky")
    assert str(caught.value) == "--fail-on: unknown state 'flaky'; use a comma-separated list of suspect, unreviewed, uncovered, failing, weak, unjudged, dangling, orphan, or none"
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_out_of_range_min_score_is_bad_input(shop):
    with pytest.raises(InputError, match=r"^--min-score: 101 is out of range; use a number from 0 to 100$"):
        apply_gate(audited(shop), load_config(shop), min_score=101)


def test_gate_command_reapplies_the_gate_to_a_saved_result(shop, cli):
    result = gated(audited(shop), shop)
    result.inputs = read_inputs(load_config(shop))  # as 'testplan audit' records them
    save_result(result, shop / ".testplan" / "audit.json")
    assert cli("gate", "-C", shop).code == 0
    failed = cli("gate", "-C", shop, "--min-score", "70", "--fail-on", "uncovered")
    assert failed.code == 1
    assert failed.out == ("gate: FAILED (2 reasons)\n"
                          "  - project score 68.21 is below the minimum 70\n"
                          "  - PAY-1 (Only authorized payments are captured) is UNCOVERED: no passing or running test for PAY-1.4\n")
    elsewhere = shop / "saved.json"
    result.complete, result.incomplete_reason = False, "shard 2/3 missing"
    save_result(result, elsewhere)
    incomplete = cli("gate", elsewhere, "-C", shop)
    assert incomplete.code == 4
    assert incomplete.out.splitlines()[0] == "gate: INCOMPLETE — shard 2/3 missing"
    # a score in an incomplete file (an older testplan, or hand-written) is not read as a verdict
    assert load_result(elsewhere).score is None
    assert [r.score for r in load_result(elsewhere).requirements] == [None, None, None]


def unjudged_pol(shop) -> AuditResult:
    """POL-1 with no mutant in scope (no-mutants): UNJUDGED, no score."""
    result = build_result(load(shop), worked_trace(shop), [m for m in worked_mutants() if m.requirements != ["POL-1"]])
    result.complete = True
    return result


def test_fail_on_unjudged_names_the_requirement_and_why(shop):
    result = unjudged_pol(shop)
    assert gated(result, shop).gate.passed is True  # not in fail_on: UNJUDGED is shown, not gated
    gate = apply_gate(result, load_config(shop), fail_on="unjudged")
    assert gate.reasons == ["POL-1 (Policies for pets up to 20 years) is UNJUDGED: no mutant: mutmut finds nothing to mutate in its code"]
    assert gate.requirements == {"POL-1": gate.reasons}


def test_min_requirement_score_checks_only_requirements_with_a_score(shop):
    result = unjudged_pol(shop)
    # PAY-1 (75) fails the minimum; POL-1 has no score: it neither passes nor fails it (fail_on unjudged does)
    assert apply_gate(result, load_config(shop), min_requirement_score=80).reasons == [
        "PAY-1 (Only authorized payments are captured) scores 75, below the per-requirement minimum 80 [UNCOVERED]",
    ]
    assert apply_gate(result, load_config(shop), min_requirement_score=80, fail_on="unjudged").requirements["POL-1"] == [
        "POL-1 (Policies for pets up to 20 years) is UNJUDGED: no mutant: mutmut finds nothing to mutate in its code"]


@pytest.mark.parametrize("min_score", [0, 50])
def test_a_project_with_no_judged_requirement_fails_whatever_the_minimum(shop, min_score):
    result = build_result(load(shop), worked_trace(shop), [])
    result.complete = True
    assert result.score is None
    gated(result, shop, min_score=min_score)
    assert result.gate.reasons == [
        "no requirement has a score: the audit judged nothing (every requirement is UNJUDGED); "
        "see why in the table and make its code mutable, or run without --diff/--max-mutants"]
    assert exit_code(result) == ExitCode.GATE_FAILED


def test_gate_command_without_a_result_is_bad_input(tmp_path, cli):
    run = cli("gate", "-C", tmp_path)
    assert run.code == 2
    assert run.err == f"{tmp_path}/.testplan/audit.json: no audit result here; run 'testplan audit' first or pass the path of an audit.json\n"


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.mkdir(), "a directory, not an audit result; pass the audit.json inside it"),
    (lambda p: p.write_bytes(b'{"schema_version": 1, "project": "caf\xe9"}'),
     "not an audit result (not UTF-8 text); pass the audit.json that 'testplan audit' wrote"),
])
def test_gate_command_on_something_that_is_not_a_result_is_bad_input(tmp_path, cli, make, message):
    target = tmp_path / "saved.json"
    make(target)
    run = cli("gate", str(target), "-C", tmp_path)
    assert (run.code, run.err) == (2, f"{target}: {message}\n")


def test_gate_command_rejects_a_bad_fail_on(shop, cli):
    save_result(gated(audited(shop), shop), shop / ".testplan" / "audit.json")
    run = cli("gate", "-C", shop, "--fail-on", "sometimes")
    assert (run.code, run.err) == (2, "testplan: bad-input: --fail-on: unknown state 'sometimes'; use a comma-separated list of suspect, unreviewed, uncovered, failing, weak, unjudged, dangling, orphan, or none\n")


@pytest.mark.verifies("GATE-1.4", "GATE-1.5", "GATE-1.8", "GATE-1.9")
@pytest.mark.parametrize(("min_score", "outcome"), [
    (-0.01, "--min-score: -0.01 is out of range; use a number from 0 to 100"),
    (0, ExitCode.OK),
    (100, ExitCode.GATE_FAILED),
    (100.01, "--min-score: 100.01 is out of range; use a number from 0 to 100"),
])
def test_min_score_boundaries(shop, min_score, outcome):
    if isinstance(outcome, str):
        with pytest.raises(InputError, match=f"^{re.escape(outcome)}$"):
            apply_gate(audited(shop), load_config(shop), min_score=min_score)
    else:
        assert exit_code(gated(audited(shop), shop, min_score=min_score)) == outcome
