"""States and scores on real projects (YAML in tmp_path) and real TraceData / MutantResult objects.

The worked example (tests/fixtures/audit_worked, also in the README's "Scores" section):

| req     | risk (w)     | approved cases | covered | mutants in scope                                    | C    | O    | M    | L    | S    |
|---------|--------------|----------------|---------|-----------------------------------------------------|------|------|------|------|------|
| PRICE-1 | high (3)     | 4              | 4       | 10: 6 assert, 1 timeout, 2 crash only, 1 survived    | 1    | 6/7  | 0.9  | 1    | 85.71|
| PAY-1   | critical (5) | 4              | 3       | 4: all assert                                       | 0.75 | 1    | 1    | 1    | 75   |
| POL-1   | medium (2)   | 2              | 2       | 4: 1 assert, 2 survived, 1 no-coverage              | 1    | 0.25 | 0.25 | 0.75 | 25   |

O leaves out mutants detected only by crashes or timeouts: PRICE-1's O = 6 / (10 - 2 - 1) = 6/7.
project = (3·600/7 + 5·75 + 2·25) / (3 + 5 + 2) = 682.14 / 10 = 68.21; without mutation (S = 100·C,
the "cases" basis): (3·100 + 5·75 + 2·100) / 10 = 87.5.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.result import MutantCounts, MutantResult
from testplan.review import Project, load_project, record_review
from testplan.score import build_result, line_coverage, oracle_credit
from testplan.scope import resolve
from testplan.trace import TestRecord, TraceData

FIXTURES = Path(__file__).parent / "fixtures"
AT = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
PRICING = "tests/check_pricing.py"
PAYMENTS = "tests/check_payments.py"
POLICY = "tests/check_policy.py"


def copy_fixture(tmp_path: Path, *overlays: str) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "audit_worked", root)
    for overlay in overlays:
        shutil.copytree(FIXTURES / overlay, root, dirs_exist_ok=True)
    return root


def approve_plans(root: Path, *ids: str) -> None:
    """Record a review of each plan (all of them when no ID is given), as 'testplan approve' does."""
    project = load(root)
    for requirement in project.requirements:
        if not ids or requirement.id in ids:
            plan_file = project.plan_file(requirement.id)
            record_review(plan_file, requirement, "Tess Reviewer", AT)
            plan_file.save()


def load(root: Path) -> Project:
    return load_project(load_config(root))


def src(root: Path, module: str) -> str:
    return str((root / "src" / "shop" / f"{module}.py").resolve())


def worked_trace(root: Path, outcomes: dict[str, str] | None = None, links: dict[str, list[str]] | None = None) -> TraceData:
    pricing, payments, policy = src(root, "pricing"), src(root, "payments"), src(root, "policy")
    rows = [
        (f"{PRICING}::test_one_pet", ["PRICE-1.1"], {pricing: {4, 6, 8, 10}}),  # line 4 (def) runs at import: ignored
        (f"{PRICING}::test_two_pets", ["PRICE-1.2"], {pricing: {6, 8, 10}}),
        (f"{PRICING}::test_five_pets", ["PRICE-1.3"], {pricing: {6, 8, 9}}),
        (f"{PRICING}::test_negative", ["PRICE-1.4"], {pricing: {6, 7}}),
        (f"{PAYMENTS}::test_capture", ["PAY-1.1"], {payments: {5, 7}}),
        (f"{PAYMENTS}::test_capture_returns_amount", ["PAY-1.2"], {payments: {5, 7}}),
        (f"{PAYMENTS}::test_unauthorized", ["PAY-1.3"], {payments: {5, 6}}),
        (f"{POLICY}::test_issue", ["POL-1.1"], {policy: {5, 6, 8, 9}}),
        (f"{POLICY}::test_issue_strips", ["POL-1.2"], {policy: {5, 6, 9}}),  # 9 continues the statement of line 8
    ]
    trace = TraceData(root=root, complete=True)
    for line, (nodeid, ids, executed) in enumerate(rows, start=1):
        trace.tests.append(TestRecord(nodeid=nodeid, file=nodeid.split("::")[0], line=line,
                                      links=(links or {}).get(nodeid, ids), outcome=(outcomes or {}).get(nodeid, "passed")))
        trace.lines[nodeid] = executed
    return trace


def mutant(mid: str, file: str, line: int, req: str, status: str, verdicts: dict[str, str]) -> MutantResult:
    return MutantResult(id=mid, file=file, line=line, operator="number", original="a", mutated="b",
                        requirements=[req], status=status, verdicts=verdicts)  # type: ignore[arg-type]


def worked_mutants() -> list[MutantResult]:
    p = "src/shop/pricing.py"
    one, two, five, neg = (f"{PRICING}::test_{n}" for n in ("one_pet", "two_pets", "five_pets", "negative"))
    passing = {one: "pass", two: "pass", five: "pass", neg: "pass"}
    cap, amount, unauth = (f"{PAYMENTS}::test_{n}" for n in ("capture", "capture_returns_amount", "unauthorized"))
    issue, strips = f"{POLICY}::test_issue", f"{POLICY}::test_issue_strips"
    return [
        mutant("m1", p, 10, "PRICE-1", "killed", {**passing, one: "assert"}),
        mutant("m2", p, 10, "PRICE-1", "killed", {**passing, two: "assert"}),
        mutant("m3", p, 8, "PRICE-1", "killed", {**passing, five: "assert"}),
        mutant("m4", p, 6, "PRICE-1", "killed", {**passing, neg: "assert"}),
        mutant("m5", p, 10, "PRICE-1", "killed", {**passing, two: "assert", one: "crash"}),
        mutant("m6", p, 10, "PRICE-1", "killed", {**passing, two: "assert"}),
        mutant("m7", p, 9, "PRICE-1", "timeout", {**passing, five: "timeout"}),
        mutant("m8", p, 7, "PRICE-1", "killed-by-crash", {**passing, neg: "crash"}),
        mutant("m9", p, 7, "PRICE-1", "killed-by-crash", {**passing, neg: "crash"}),
        mutant("m10", p, 8, "PRICE-1", "survived", passing),
        mutant("p1", "src/shop/payments.py", 5, "PAY-1", "killed", {cap: "assert", amount: "pass", unauth: "pass"}),
        mutant("p2", "src/shop/payments.py", 7, "PAY-1", "killed", {cap: "pass", amount: "assert", unauth: "pass"}),
        mutant("p3", "src/shop/payments.py", 6, "PAY-1", "killed", {cap: "pass", amount: "pass", unauth: "assert"}),
        mutant("p4", "src/shop/payments.py", 5, "PAY-1", "killed", {cap: "assert", amount: "assert", unauth: "assert"}),
        mutant("q1", "src/shop/policy.py", 9, "POL-1", "killed", {issue: "assert", strips: "pass"}),
        mutant("q2", "src/shop/policy.py", 5, "POL-1", "survived", {issue: "pass", strips: "pass"}),
        mutant("q3", "src/shop/policy.py", 6, "POL-1", "survived", {issue: "pass", strips: "pass"}),
        mutant("q4", "src/shop/policy.py", 7, "POL-1", "no-coverage", {}),
    ]


def summary(result, req_id: str) -> tuple:
    r = result.requirement(req_id)
    return (r.state, r.plan_state, r.case_coverage, r.line_coverage, r.oracle_score, r.mutation_score, r.oracle_gap, r.score)


def case_states(result, req_id: str) -> dict[str, str]:
    return {c.id: c.state for c in result.requirement(req_id).cases}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = copy_fixture(tmp_path)
    approve_plans(root)
    return root


# --- the worked example -------------------------------------------------------------------------

def test_worked_example_with_mutation(shop):
    result = build_result(load(shop), worked_trace(shop), worked_mutants())
    assert result.mutation is True
    assert summary(result, "PRICE-1") == ("OK", "APPROVED", 1.0, 1.0, 0.8571, 0.9, 0.1429, 85.71)  # O = 6 / (10 - 2 - 1)
    assert summary(result, "PAY-1") == ("UNCOVERED", "APPROVED", 0.75, 1.0, 1.0, 1.0, 0.0, 75.0)
    assert summary(result, "POL-1") == ("WEAK", "APPROVED", 1.0, 0.75, 0.25, 0.25, 0.5, 25.0)
    assert result.score == 68.21  # (3 * 600/7 + 5 * 75 + 2 * 25) / 10 = 68.214...
    assert [(r.evidence, r.evidence_reason, r.score_basis) for r in result.requirements] == [("mutants", None, "mutants")] * 3
    assert case_states(result, "PRICE-1") == {f"PRICE-1.{n}": "VERIFIED" for n in range(1, 5)}
    assert case_states(result, "PAY-1") == {"PAY-1.1": "VERIFIED", "PAY-1.2": "VERIFIED", "PAY-1.3": "VERIFIED", "PAY-1.4": "UNCOVERED"}
    assert case_states(result, "POL-1") == {"POL-1.1": "VERIFIED", "POL-1.2": "WEAK"}
    assert result.requirement("PRICE-1").mutants == MutantCounts(total=10, killed=6, killed_by_crash=2, timeout=1, survived=1, no_coverage=0, generated=10)
    assert result.requirement("POL-1").mutants == MutantCounts(total=4, killed=1, survived=2, no_coverage=1, generated=4)
    assert result.requirement("PAY-1").tests == [f"{PAYMENTS}::test_capture", f"{PAYMENTS}::test_capture_returns_amount", f"{PAYMENTS}::test_unauthorized"]
    assert [m.id for m in result.mutants] == [m.id for m in worked_mutants()]
    assert result.problems == []
    assert {t.state for t in result.tests} == {"LINKED"}


def test_worked_example_without_mutation(shop):
    result = build_result(load(shop), worked_trace(shop))
    assert result.mutation is False
    assert summary(result, "PRICE-1") == ("OK", "APPROVED", 1.0, 1.0, None, None, None, 100.0)
    assert summary(result, "PAY-1") == ("UNCOVERED", "APPROVED", 0.75, 1.0, None, None, None, 75.0)
    assert summary(result, "POL-1") == ("OK", "APPROVED", 1.0, 0.75, None, None, None, 100.0)
    assert result.score == 87.5
    assert result.requirement("POL-1").mutants is None
    reason = "cases only: mutation testing did not run (--no-mutation), S = 100·C"
    assert [(r.evidence, r.evidence_reason, r.score_basis) for r in result.requirements] == [("not-run", reason, "cases")] * 3


def test_result_round_trips_through_json(shop):
    from testplan.result import parse_result

    result = build_result(load(shop), worked_trace(shop), worked_mutants())
    result.complete = True  # as the audit marks it at the end (an incomplete one is read back without scores)
    assert parse_result(result.dump()) == result


# --- oracle credit and line coverage --------------------------------------------------------------

def test_oracle_credit_uses_only_the_given_tests():
    m = mutant("x", "f.py", 1, "R-1", "killed", {"a": "assert", "b": "crash", "c": "pass"})
    assert oracle_credit(m, ["a", "b"]) == 1
    assert oracle_credit(m, ["b", "c"]) is None  # crash-only: left out of O_R
    assert oracle_credit(m, ["c"]) == 0
    assert oracle_credit(m, []) == 0
    hang = mutant("t", "f.py", 1, "R-1", "killed", {"c": "timeout", "d": "crash", "e": "assert", "f": "pass"})
    assert oracle_credit(hang, ["c"]) is None  # a timeout is not an oracle: left out of O_R
    assert oracle_credit(hang, ["c", "d", "f"]) is None
    # suite order: c times out before e asserts, so R's status is timeout (the timeout settles it)
    assert oracle_credit(hang, ["c", "e"]) is None
    assert oracle_credit(hang, ["d", "e", "f"]) == 1  # an assertion before any timeout kills it


@pytest.mark.parametrize(("status", "credit"), [("killed", 1), ("timeout", None), ("killed-by-crash", None), ("survived", 0), ("no-coverage", 0)])
def test_a_mutant_without_verdicts_is_credited_from_its_status(status, credit):
    assert oracle_credit(mutant("x", "f.py", 1, "R-1", status, {}), ["anything"]) == credit


def test_line_coverage_counts_runtime_statements_and_folds_multiline_statements(shop):
    span = resolve("shop.policy:issue", [shop / "src"])
    trace = TraceData(root=shop, lines={"t": {src(shop, "policy"): {4, 5, 9}}, "u": {src(shop, "policy"): {6}}})
    # run-time statements of issue(): 5, 6, 7, 8 (the def line 4 runs at import; 9-10 belong to line 8)
    assert line_coverage([span], trace, ["t"]) == (Fraction(2, 4), 2, 4)
    assert line_coverage([span], trace, ["t", "u"]) == (Fraction(3, 4), 3, 4)
    assert line_coverage([span], trace, []) == (Fraction(0), 0, 4)


def test_line_coverage_of_a_module_counts_every_function_body_once(shop):
    module = resolve("shop.pricing", [shop / "src"])
    function = resolve("shop.pricing:discount", [shop / "src"])
    trace = TraceData(root=shop, lines={"t": {src(shop, "pricing"): {6, 7}}})
    assert line_coverage([module, function], trace, ["t"]) == (Fraction(2, 5), 2, 5)


def test_code_without_runtime_lines_has_no_line_coverage(tmp_path):
    (tmp_path / "consts.py").write_text('"""Constants."""\nRATE = 10\n')
    span = resolve("consts", [tmp_path])
    assert line_coverage([span], TraceData(root=tmp_path), ["t"]) == (None, 0, 0)


# --- links ---------------------------------------------------------------------------------------

def test_a_requirement_link_counts_for_lines_and_mutants_but_covers_no_case(shop):
    links = {f"{POLICY}::test_issue": ["POL-1"], f"{POLICY}::test_issue_strips": ["POL-1"]}
    mutants = [mutant("q1", "src/shop/policy.py", 9, "POL-1", "killed", {f"{POLICY}::test_issue": "assert"})]
    result = build_result(load(shop), worked_trace(shop, links=links), mutants)
    assert summary(result, "POL-1") == ("UNCOVERED", "APPROVED", 0.0, 0.75, 1.0, 1.0, -0.25, 0.0)
    assert case_states(result, "POL-1") == {"POL-1.1": "UNCOVERED", "POL-1.2": "UNCOVERED"}
    assert result.requirement("POL-1").tests == [f"{POLICY}::test_issue", f"{POLICY}::test_issue_strips"]


def test_orphan_dangling_and_rejected_links(tmp_path):
    root = copy_fixture(tmp_path, "audit_links")
    approve_plans(root)
    trace = worked_trace(root)
    extra = [("test_orphan", []), ("test_unknown_case", ["PRICE-1.9"]), ("test_unknown_requirement", ["NOPE-1", "PRICE-1.2"]),
             ("test_malformed_id", ["price-1"]), ("test_rejected_case", ["POL-1.3"])]
    for line, (name, ids) in enumerate(extra, start=20):
        trace.tests.append(TestRecord(nodeid=f"tests/check_links.py::{name}", file="tests/check_links.py", line=line, links=ids))
    result = build_result(load(root), trace)
    states = {t.nodeid.split("::")[1]: t.state for t in result.tests if t.file == "tests/check_links.py"}
    assert states == {"test_orphan": "ORPHAN", "test_unknown_case": "DANGLING", "test_unknown_requirement": "DANGLING",
                      "test_malformed_id": "DANGLING", "test_rejected_case": "REJECTED-LINK"}
    assert [(p.path, p.line, p.severity, p.message) for p in result.problems] == [
        ("tests/check_links.py", 21, "error", "tests/check_links.py::test_unknown_case: links unknown case PRICE-1.9 (cases of PRICE-1: PRICE-1.1, PRICE-1.2, PRICE-1.3, PRICE-1.4); fix the ID in @pytest.mark.verifies"),
        ("tests/check_links.py", 22, "error", "tests/check_links.py::test_unknown_requirement: links unknown requirement NOPE-1 (known: PRICE-1, PAY-1, POL-1); fix the ID in @pytest.mark.verifies"),
        ("tests/check_links.py", 23, "error", "tests/check_links.py::test_malformed_id: 'price-1' is not a requirement ID (PAY-1) or case ID (PAY-1.3); fix the ID in @pytest.mark.verifies"),
        ("tests/check_links.py", 24, "warning", "tests/check_links.py::test_rejected_case: links POL-1.3, a rejected case; remove the link or re-approve the case"),
    ]
    # the valid link of a DANGLING test still counts; links to rejected cases count for nothing
    assert result.requirement("PRICE-1").cases[1].tests == [f"{PRICING}::test_two_pets", "tests/check_links.py::test_unknown_requirement"]
    assert "tests/check_links.py::test_rejected_case" not in result.requirement("POL-1").tests
    assert case_states(result, "POL-1") == {"POL-1.1": "VERIFIED", "POL-1.2": "VERIFIED", "POL-1.3": "REJECTED"}
    assert summary(result, "POL-1")[0] == "OK"


def test_a_bad_id_from_the_links_table_is_reported_at_its_pattern_once(tmp_path):
    root = copy_fixture(tmp_path)
    approve_plans(root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.testplan.links]\n"tests/check_pricing.py::*" = ["PRICE-7"]\n')
    line = len(pyproject.read_text().splitlines())
    project = load(root)
    trace = worked_trace(root)
    for test in trace.tests:
        if test.nodeid.startswith(PRICING):
            test.marker_links = list(test.links)
            test.links = [*test.links, "PRICE-7"]
    # a test read back from audit.json has no marker links: a table ID counts as the table's only
    trace.tests[0].marker_links = None
    result = build_result(project, trace)
    assert [(p.path, p.line, p.severity, p.message) for p in result.problems] == [
        ("pyproject.toml", line, "error", "links pattern 'tests/check_pricing.py::*' (4 tests): links unknown requirement PRICE-7 "
                                          "(known: PRICE-1, PAY-1, POL-1); fix the ID in [tool.testplan.links]")]
    assert [t.state for t in result.tests if t.file == PRICING] == ["DANGLING"] * 4
    # the same ID in a marker is the marker's problem too, at the test's definition
    trace.tests[1].marker_links.append("PRICE-7")
    assert [(p.path, p.line) for p in build_result(project, trace).problems] == [(PRICING, 2), ("pyproject.toml", line)]


def test_a_case_link_to_a_requirement_without_plan_dangles(shop):
    (shop / "plans" / "POL-1.yaml").unlink()
    result = build_result(load(shop), worked_trace(shop))
    assert result.tests[-1].state == "DANGLING"
    assert result.problems[0].message.startswith(f"{POLICY}::test_issue: links POL-1.1, but POL-1 has no plan; run 'testplan enumerate POL-1'")
    assert summary(result, "POL-1") == ("UNREVIEWED", "NO PLAN", None, 0.0, None, None, None, 0.0)


# --- case and requirement states -------------------------------------------------------------------

def test_a_failing_linked_test_makes_the_case_failing_and_the_requirement_nok(shop):
    trace = worked_trace(shop, outcomes={f"{PRICING}::test_five_pets": "failed"})
    result = build_result(load(shop), trace, worked_mutants())
    assert case_states(result, "PRICE-1")["PRICE-1.3"] == "FAILING"
    assert summary(result, "PRICE-1") == ("NOK", "APPROVED", 0.75, 1.0, 0.8571, 0.9, 0.1429, 64.29)  # 100 * 0.75 * 6/7 = 64.2857


def test_an_error_counts_as_failing_and_nok_hides_uncovered(shop):
    trace = worked_trace(shop, outcomes={f"{PAYMENTS}::test_unauthorized": "error"})
    result = build_result(load(shop), trace)
    assert case_states(result, "PAY-1") == {"PAY-1.1": "VERIFIED", "PAY-1.2": "VERIFIED", "PAY-1.3": "FAILING", "PAY-1.4": "UNCOVERED"}
    assert summary(result, "PAY-1")[:3] == ("NOK", "APPROVED", 0.5)


def test_skipped_tests_leave_the_case_skipped_and_the_requirement_uncovered(shop):
    trace = worked_trace(shop, outcomes={f"{POLICY}::test_issue": "skipped", f"{POLICY}::test_issue_strips": "xfailed"})
    result = build_result(load(shop), trace)
    assert case_states(result, "POL-1") == {"POL-1.1": "SKIPPED", "POL-1.2": "SKIPPED"}
    assert summary(result, "POL-1")[:3] == ("UNCOVERED", "APPROVED", 0.0)


def test_one_passing_test_is_enough_unless_another_fails(shop):
    links = {f"{PRICING}::test_two_pets": ["PRICE-1.1", "PRICE-1.2"]}
    trace = worked_trace(shop, outcomes={f"{PRICING}::test_one_pet": "skipped", f"{PRICING}::test_two_pets": "xpassed"}, links=links)
    result = build_result(load(shop), trace)
    assert case_states(result, "PRICE-1")["PRICE-1.1"] == "VERIFIED"
    assert summary(result, "PRICE-1")[0] == "OK"


def test_suspect_plan_scores_zero(shop):
    requirements = shop / "requirements.yaml"
    requirements.write_text(requirements.read_text().replace("a negative count is rejected.", "a negative count is rejected; 50 is the maximum."))
    result = build_result(load(shop), worked_trace(shop), worked_mutants())
    assert summary(result, "PRICE-1") == ("SUSPECT", "SUSPECT", 1.0, 1.0, 0.8571, 0.9, 0.1429, 0.0)
    assert result.score == 42.5  # (3*0 + 5*75 + 2*25) / 10


def test_unreviewed_plan_scores_zero_and_proposed_cases_are_unreviewed(tmp_path):
    root = copy_fixture(tmp_path)
    approve_plans(root, "PRICE-1", "PAY-1")
    plan = root / "plans" / "PAY-1.yaml"
    plan.write_text(plan.read_text().replace("review:", "  - {id: PAY-1.5, title: negative amounts, kind: error, status: proposed}\nreview:"))
    result = build_result(load(root), worked_trace(root))
    assert summary(result, "POL-1") == ("UNREVIEWED", "UNREVIEWED", 1.0, 0.75, None, None, None, 0.0)
    # a proposed case is not vouched for: the plan stays APPROVED, the case UNREVIEWED, C ignores it
    assert case_states(result, "PAY-1")["PAY-1.5"] == "UNREVIEWED"
    assert summary(result, "PAY-1")[:3] == ("UNCOVERED", "APPROVED", 0.75)
    assert result.score == 67.5  # (3*100 + 5*75 + 2*0) / 10


def test_with_mutation_a_scope_without_mutants_is_unjudged_and_left_out_of_the_mean(shop):
    mutants = [m for m in worked_mutants() if m.requirements != ["POL-1"]]
    result = build_result(load(shop), worked_trace(shop), mutants)
    assert summary(result, "POL-1") == ("UNJUDGED", "APPROVED", 1.0, 0.75, None, None, None, None)
    pol = result.requirement("POL-1")
    assert (pol.evidence, pol.evidence_reason, pol.score_basis) == (
        "no-mutants", "no mutant: mutmut finds nothing to mutate in its code", "mutants")
    assert pol.mutants == MutantCounts(generated=0)
    assert case_states(result, "POL-1") == {"POL-1.1": "VERIFIED", "POL-1.2": "VERIFIED"}
    assert result.score == 79.02  # (3 * 600/7 + 5 * 75) / (3 + 5) = 632.14 / 8: POL-1 is not averaged in


def test_a_requirement_whose_mutants_were_all_left_out_of_the_selection_is_not_run(shop):
    mutants = [m for m in worked_mutants() if m.requirements != ["POL-1"]]
    result = build_result(load(shop), worked_trace(shop), mutants, generated={"PRICE-1": 10, "PAY-1": 4, "POL-1": 4})
    pol = result.requirement("POL-1")
    assert (pol.state, pol.score, pol.evidence, pol.evidence_reason, pol.mutants.generated) == (
        "UNJUDGED", None, "not-run",
        "not judged in this run: none of its 4 mutants is in this run's selection (--diff, --shard or --max-mutants)", 4)
    # under --diff, a requirement whose files were not mutated has no count: not run either
    unknown = build_result(load(shop), worked_trace(shop), mutants, generated={"PRICE-1": 10, "PAY-1": 4}).requirement("POL-1")
    assert (unknown.state, unknown.evidence, unknown.evidence_reason, unknown.mutants.generated) == (
        "UNJUDGED", "not-run", "not judged in this run: its code is not in this run's selection (--diff)", None)


def test_crash_and_timeout_only_mutants_give_no_evidence(shop):
    issue, strips = f"{POLICY}::test_issue", f"{POLICY}::test_issue_strips"
    mutants = [
        mutant("q1", "src/shop/policy.py", 9, "POL-1", "killed-by-crash", {issue: "crash", strips: "pass"}),
        mutant("q2", "src/shop/policy.py", 5, "POL-1", "timeout", {issue: "timeout", strips: "crash"}),
    ]
    result = build_result(load(shop), worked_trace(shop), mutants)
    pol = result.requirement("POL-1")
    assert summary(result, "POL-1") == ("UNJUDGED", "APPROVED", 1.0, 0.75, None, 1.0, None, None)
    assert (pol.evidence, pol.evidence_reason) == (
        "crash-only", "no oracle evidence: all 2 of its mutants are detected only by crashes or timeouts")
    single = build_result(load(shop), worked_trace(shop), mutants[:1]).requirement("POL-1")
    assert single.evidence_reason == "no oracle evidence: its only mutant is detected only by crashes or timeouts"


def test_no_requirement_judged_means_no_project_score(shop):
    result = build_result(load(shop), worked_trace(shop), [])
    assert [(r.state, r.score, r.evidence) for r in result.requirements] == [
        ("UNJUDGED", None, "no-mutants"), ("UNCOVERED", None, "no-mutants"), ("UNJUDGED", None, "no-mutants")]
    assert result.score is None


def test_suspect_and_unreviewed_without_evidence_score_zero_and_stay_in_the_mean(tmp_path):
    root = copy_fixture(tmp_path)
    approve_plans(root, "PRICE-1", "PAY-1")
    requirements = root / "requirements.yaml"
    requirements.write_text(requirements.read_text().replace("a negative count is rejected.", "a negative count is rejected; 50 is the maximum."))
    result = build_result(load(root), worked_trace(root), [m for m in worked_mutants() if m.requirements == ["PAY-1"]])
    assert [(r.id, r.state, r.evidence, r.score) for r in result.requirements] == [
        ("PRICE-1", "SUSPECT", "no-mutants", 0.0), ("PAY-1", "UNCOVERED", "mutants", 75.0), ("POL-1", "UNREVIEWED", "no-mutants", 0.0)]
    assert result.score == 37.5  # (3*0 + 5*75 + 2*0) / 10: fail closed


def test_oracle_score_below_half_is_weak_even_when_every_case_kills(shop):
    issue, strips = f"{POLICY}::test_issue", f"{POLICY}::test_issue_strips"
    mutants = [
        mutant("q1", "src/shop/policy.py", 9, "POL-1", "killed-by-crash", {issue: "crash", strips: "pass"}),
        mutant("q2", "src/shop/policy.py", 5, "POL-1", "killed-by-crash", {issue: "pass", strips: "crash"}),
        mutant("q3", "src/shop/policy.py", 6, "POL-1", "survived", {issue: "pass", strips: "pass"}),
    ]
    result = build_result(load(shop), worked_trace(shop), mutants)
    assert case_states(result, "POL-1") == {"POL-1.1": "VERIFIED", "POL-1.2": "VERIFIED"}
    # q1, q2 are killed by crashes only and left out: O = 0 / 1 < 1/2; M = 2/3 (Stryker counts
    # crash kills as detected)
    assert summary(result, "POL-1") == ("WEAK", "APPROVED", 1.0, 0.75, 0.0, 0.6667, 0.75, 0.0)


def test_a_mutant_killed_by_another_requirements_test_counts_for_nothing(shop):
    mutants = [mutant("q1", "src/shop/policy.py", 9, "POL-1", "killed", {f"{PRICING}::test_one_pet": "assert"})]
    result = build_result(load(shop), worked_trace(shop), mutants)
    # neither O_R nor M_R: no test linked to POL-1 ran it, so for POL-1 it is not covered
    assert summary(result, "POL-1") == ("WEAK", "APPROVED", 1.0, 0.75, 0.0, 0.0, 0.75, 0.0)
    assert result.requirement("POL-1").mutants.model_dump() == {
        "total": 1, "killed": 0, "killed_by_crash": 0, "timeout": 0, "survived": 0, "no_coverage": 1, "generated": 1}


def test_a_mutant_in_two_requirements_code_has_each_ones_status(shop):
    # PRICE-1's test kills it, POL-1's passes: killed for PRICE-1, survived for POL-1
    both = mutant("q2", "src/shop/policy.py", 9, "POL-1", "killed",
                  {f"{PRICING}::test_one_pet": "assert", f"{POLICY}::test_issue": "pass"})
    both.requirements = ["PRICE-1", "POL-1"]
    result = build_result(load(shop), worked_trace(shop), [both])
    counts = {r.id: r.mutants.model_dump() for r in result.requirements if r.id in ("PRICE-1", "POL-1")}
    assert counts == {
        "PRICE-1": {"total": 1, "killed": 1, "killed_by_crash": 0, "timeout": 0, "survived": 0, "no_coverage": 0, "generated": 1},
        "POL-1": {"total": 1, "killed": 0, "killed_by_crash": 0, "timeout": 0, "survived": 1, "no_coverage": 0, "generated": 1},
    }
    assert (result.requirement("PRICE-1").mutation_score, result.requirement("POL-1").mutation_score) == (1.0, 0.0)


def test_a_plan_approving_no_case_is_uncovered(shop):
    plan = shop / "plans" / "POL-1.yaml"
    plan.write_text("requirement: POL-1\ncases: []\n")
    approve_plans(shop, "POL-1")
    result = build_result(load(shop), worked_trace(shop))
    assert summary(result, "POL-1") == ("UNCOVERED", "APPROVED", None, 0.0, None, None, None, 0.0)
    assert [t.state for t in result.tests][-2:] == ["DANGLING", "DANGLING"]


def test_a_code_ref_that_no_longer_resolves_is_a_problem(shop):
    (shop / "src" / "shop" / "policy.py").write_text('"""Policies."""\n')
    result = build_result(load(shop), worked_trace(shop))
    assert [(p.path, p.line, p.severity, p.message) for p in result.problems] == [
        ("requirements.yaml", 18, "error", "POL-1: code ref 'shop.policy:issue': 'issue' is not defined in shop.policy; fix the name (module:Class.function)"),
    ]
    assert summary(result, "POL-1") == ("OK", "APPROVED", 1.0, None, None, None, None, 100.0)


def test_no_requirements_means_no_project_score(tmp_path):
    (tmp_path / "requirements.yaml").write_text("requirements: []\n")
    result = build_result(load(tmp_path), TraceData(root=tmp_path, tests=[TestRecord("t.py::t", "t.py", 1)]))
    assert (result.score, result.requirements, [t.state for t in result.tests]) == (None, [], ["ORPHAN"])


# --- evidence on real audits (tests/fixtures/audit_evidence: one requirement per kind) ------------

EVIDENCE = FIXTURES / "audit_evidence"
NO_CODE = "no code to judge: its code has no run-time line (no function body)"
NO_MUTANTS = "no mutant: mutmut finds nothing to mutate in its code"
CRASH_ONLY = "no oracle evidence: all 2 of its mutants are detected only by crashes or timeouts"


@pytest.fixture
def evidence_project(tmp_path) -> Path:
    root = tmp_path / "ev"
    shutil.copytree(EVIDENCE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    approve_plans(root)
    return root


def evidence_rows(root: Path) -> list[tuple]:
    import json

    audit = json.loads((root / ".testplan" / "audit.json").read_text())
    return [(r["id"], r["state"], r["evidence"], r["evidence_reason"], r["score"], r["score_basis"],
             r["mutants"]["generated"] if r["mutants"] else None) for r in audit["requirements"]], audit


def test_each_kind_of_evidence_on_a_real_audit(evidence_project, cli):
    run = cli("audit", "-C", evidence_project, "--fail-on", "unjudged")
    assert run.code == 1, run.err
    rows, audit = evidence_rows(evidence_project)
    assert rows == [
        ("NET-1", "OK", "mutants", None, 100.0, "mutants", 2),
        ("STAT-1", "UNJUDGED", "crash-only", CRASH_ONLY, None, "mutants", 2),  # a KeyError is all that notices
        ("CONST-1", "UNJUDGED", "no-code", NO_CODE, None, "mutants", 0),  # constants only
        ("ERR-1", "UNJUDGED", "no-mutants", NO_MUTANTS, None, "mutants", 0),  # an exceptions module
    ]
    assert audit["score"] == 100.0  # NET-1 alone: the three without evidence are not averaged in (they scored 100 before)
    assert audit["gate"]["reasons"] == [
        f"STAT-1 (Status word) is UNJUDGED: {CRASH_ONLY}",
        f"CONST-1 (Limit) is UNJUDGED: {NO_CODE}",
        f"ERR-1 (Declined payments) is UNJUDGED: {NO_MUTANTS}",
    ]
    lines = run.out.splitlines()
    assert [line for line in lines if "UNJUDGED, no score" in line] == [
        f"STAT-1: UNJUDGED, no score: {CRASH_ONLY}", f"CONST-1: UNJUDGED, no score: {NO_CODE}",
        f"ERR-1: UNJUDGED, no score: {NO_MUTANTS}"]
    assert [line.split("│")[-2].strip() for line in lines if line.startswith("│ ")] == ["100.0", "-", "-", "-"]
    assert "project score 100.0" in lines
    # explain names the requirement's missing evidence next to one of its mutants
    mutant_id = next(m["id"] for m in audit["mutants"] if m["requirements"] == ["STAT-1"])
    explained = cli("explain", mutant_id, "-C", evidence_project)
    assert explained.code == 0, explained.err
    assert f"  UNJUDGED, no score: {CRASH_ONLY}" in explained.out.splitlines()
    assert explained.out.splitlines()[-1] == ("why: the mutated code raised and the tests crashed; no assertion noticed "
                                              "a wrong answer (left out of the oracle score)")


def test_a_diff_that_selects_none_of_a_requirements_mutants_leaves_it_unjudged(evidence_project, cli):
    from test_mutate_engine import _git

    (evidence_project / ".gitignore").write_text(".testplan/\n")
    _git(evidence_project, "init", "-q")
    _git(evidence_project, "add", ".")
    _git(evidence_project, "commit", "-q", "-m", "base")
    core = evidence_project / "src" / "ev" / "core.py"
    core.write_text(core.read_text().replace("    return price - 1\n", "    return price - 1  # changed\n"))
    run = cli("audit", "-C", evidence_project, "--diff", "HEAD")
    assert run.code == 0, run.err
    rows, audit = evidence_rows(evidence_project)
    assert rows == [
        ("NET-1", "OK", "mutants", None, 100.0, "mutants", 2),
        ("STAT-1", "UNJUDGED", "not-run", "not judged in this run: none of its 2 mutants is in this run's selection "
                                          "(--diff, --shard or --max-mutants)", None, "mutants", 2),
        ("CONST-1", "UNJUDGED", "no-code", NO_CODE, None, "mutants", None),
        # errors.py did not change: --diff never mutated it, so its count is not known
        ("ERR-1", "UNJUDGED", "not-run", "not judged in this run: its code is not in this run's selection (--diff)",
         None, "mutants", None),
    ]
    assert [m["requirements"] for m in audit["mutants"]] == [["NET-1"], ["NET-1"]]
    assert "note: --diff HEAD: O and M count only the mutants this run judged; a requirement with none of them is UNJUDGED (no score)" in run.out


def test_no_mutation_scores_on_cases_only(evidence_project, cli):
    run = cli("audit", "-C", evidence_project, "--no-mutation")
    assert run.code == 0, run.err
    rows, audit = evidence_rows(evidence_project)
    reason = "cases only: mutation testing did not run (--no-mutation), S = 100·C"
    assert rows == [(rid, "OK", "not-run", reason, 100.0, "cases", None) for rid in ("NET-1", "STAT-1", "CONST-1", "ERR-1")]
    assert audit["score"] == 100.0
    lines = run.out.splitlines()
    assert "score (cases only)" in lines[2]
    assert lines[-2] == "project score 100.0 (cases only: no mutation, O not measured, S = 100·C)"
