"""The bundled example, audited for real: every score and state against a table computed by hand.

examples/pet-insurance has strong reviewed tests (PAY-1, CARD-1), an approved case with no test
(PAY-2.6), a requirement edited after approval (CARD-2), and AI-style tests that run the code and
check little (PAY-3 refunds, POL-1 policies).
"""

from __future__ import annotations

import json

import pytest

# mutants of each requirement by what killed them, from the example's audit:
# (killed by an assertion, killed only by crashes, timed out, survived, no coverage)
MUTANTS = {
    "PAY-1": (11, 8, 0, 0, 0),
    "CARD-1": (49, 21, 0, 0, 0),
    "CARD-2": (22, 8, 0, 0, 0),
    "PAY-2": (7, 5, 0, 0, 0),
    "PAY-3": (5, 10, 0, 15, 2),
    "POL-1": (5, 22, 0, 12, 4),
}
# O_R = assertion kills / (mutants - those detected only by crashes or timeouts);
# S_R = 100 * C_R * O_R (0 when SUSPECT); every requirement has evidence (mutants)
EXPECTED = {  # id: (state, risk weight, C_R, O_R, S_R)
    "PAY-1": ("OK", 3, 1.0, 1.0, 100.0),  # 11 / 11
    "CARD-1": ("OK", 5, 1.0, 1.0, 100.0),  # 49 / 49
    "CARD-2": ("SUSPECT", 2, 1.0, 1.0, 0.0),  # statement edited after review
    "PAY-2": ("UNCOVERED", 5, 0.8333, 1.0, 83.33),  # 5 of 6 approved cases tested
    "PAY-3": ("WEAK", 3, 1.0, 0.2273, 22.73),  # 5 / (5 + 15 + 2)
    "POL-1": ("WEAK", 2, 1.0, 0.2381, 23.81),  # 5 / (5 + 12 + 4)
}
# (3*100 + 5*100 + 2*0 + 5*83.333 + 3*22.727 + 2*23.810) / (3+5+2+5+3+2) = 1332.47 / 20
PROJECT_SCORE = 66.62


def test_mutants_per_requirement_by_what_killed_them(example_audit):
    _, result = example_audit
    for requirement in result.requirements:
        counts = requirement.mutants
        assert (counts.killed, counts.killed_by_crash, counts.timeout, counts.survived, counts.no_coverage) == MUTANTS[requirement.id], requirement.id
        assert (requirement.evidence, requirement.score_basis, counts.generated) == ("mutants", "mutants", counts.total)


def test_scores_and_states_match_the_hand_computed_table(example_audit):
    _, result = example_audit
    got = {r.id: (r.state, r.case_coverage, r.oracle_score, r.score) for r in result.requirements}
    assert got == {rid: (state, c, o, s) for rid, (state, _, c, o, s) in EXPECTED.items()}
    weights = {"low": 1, "medium": 2, "high": 3, "critical": 5}
    assert {r.id: weights[r.risk] for r in result.requirements} == {rid: e[1] for rid, e in EXPECTED.items()}
    assert result.score == PROJECT_SCORE


def test_reviewed_tests_score_high_and_ai_style_tests_low(example_audit):
    _, result = example_audit
    by_id = {r.id: r for r in result.requirements}
    assert by_id["PAY-1"].score >= 90 and by_id["CARD-1"].score >= 90
    assert by_id["PAY-1"].oracle_score >= 0.9 and by_id["CARD-1"].oracle_score >= 0.9
    assert by_id["PAY-3"].score <= 40 and by_id["POL-1"].score <= 40
    # the oracle gap: their tests run most of the code but check little of it
    assert by_id["PAY-3"].line_coverage == 0.9412 and by_id["PAY-3"].oracle_gap == 0.7139


def test_survivors_are_listed_and_crash_only_kills_are_marked(example_audit):
    _, result = example_audit
    survivors = [m for m in result.mutants if m.status == "survived"]
    assert {r for m in survivors for r in m.requirements} == {"PAY-3", "POL-1"}
    refund = next(m for m in survivors if m.mutated.strip() == "if amount <= 1:")
    assert (refund.file, refund.line, refund.original.strip()) == ("src/petinsure/refunds.py", 33, "if amount <= 0:")
    assert set(refund.verdicts.values()) == {"pass"}
    crash = [m for m in result.mutants if m.status == "killed-by-crash"]
    assert len(crash) == sum(c for _, c, _, _, _ in MUTANTS.values())
    assert all(set(m.verdicts.values()) <= {"crash", "pass"} and "crash" in m.verdicts.values() for m in crash)


def test_gate_on_the_example(example_audit, cli, tmp_path):
    root, result = example_audit
    path = root / ".testplan" / "audit.json"
    assert cli("gate", path, "-C", root, "--fail-on", "none", "--min-score", "67").code == 1
    assert cli("gate", path, "-C", root, "--fail-on", "none", "--min-score", "66").code == 0
    assert cli("gate", path, "-C", root).code == 0  # the example's own gate: min_score 60
    incomplete = json.loads(path.read_text())
    incomplete["complete"] = False
    incomplete["incomplete_reason"] = "interrupted"
    (tmp_path / "audit.json").write_text(json.dumps(incomplete))
    result = cli("gate", tmp_path / "audit.json", "-C", root, "--fail-on", "none")
    assert result.code == 4
    assert result.out.startswith("gate: INCOMPLETE — interrupted\n")


@pytest.mark.slow
def test_sigkill_during_mutation_leaves_no_score_anywhere(example, tmp_path, cli):
    """A CI runner that dies (SIGKILL, OOM) mid-mutation leaves the record as last written:
    ``complete: false`` and no number a reader could take for a verdict."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = example / ".testplan" / "audit.json"
    proc = subprocess.Popen([sys.executable, "-m", "testplan", "audit", "--jobs", "1", "-C", str(example)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    record: dict = {}
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):  # not written yet (the writes are atomic: never half a file)
                record = {}
            if record.get("incomplete_reason") == "mutation testing is running":
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the audit finished before it could be killed mid-mutation"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    audit = json.loads(path.read_text())
    assert (audit["complete"], audit["incomplete_reason"], audit["score"]) == (False, "mutation testing is running", None)
    assert [(r["id"], r["score"]) for r in audit["requirements"]] == [
        (rid, None) for rid in ("PAY-1", "CARD-1", "CARD-2", "PAY-2", "PAY-3", "POL-1")]
    assert {(r["evidence"], r["evidence_reason"]) for r in audit["requirements"]} == {("not-run", "mutation testing has not finished")}
    assert len(audit["tests"]) > 0  # the trace's evidence is kept
    gate = cli("gate", path, "-C", example, "--fail-on", "none")
    assert (gate.code, gate.out) == (4, "gate: INCOMPLETE — mutation testing is running\ngate: FAILED (1 reason)\n"
                                        "  - the audit is incomplete: mutation testing is running; an incomplete audit never passes\n")
    report = cli("report", "--format", "md", "--from", path, "--out", "-", "-C", example)
    assert report.out.startswith("## testplan: pet-insurance — score incomplete · gate ⚠️ incomplete\n")
    assert "| incomplete |" in report.out


@pytest.mark.verifies("MUT-1.7")
def test_the_default_decisive_audit_equals_the_full_matrix_on_the_example(example_audit, tmp_path):
    from testplan.cli import main
    from testplan.result import load_result

    root, decisive = example_audit
    assert main(["audit", "-C", str(root), "--matrix", "full", "--out", str(tmp_path / "full")]) == 0
    full = load_result(tmp_path / "full" / "audit.json")
    assert (decisive.mutation_options["matrix"], full.mutation_options["matrix"]) == ("decisive", "full")
    assert {m.id: m.status for m in decisive.mutants} == {m.id: m.status for m in full.mutants}
    view = lambda result: [(r.id, r.state, r.score, r.oracle_score, r.mutation_score, r.case_coverage,  # noqa: E731
                            [(c.id, c.state) for c in r.cases]) for r in result.requirements]
    assert view(decisive) == view(full) and decisive.score == full.score == 66.62
    cells = lambda result: sum(len(m.verdicts) for m in result.mutants)  # noqa: E731
    assert (cells(decisive), cells(full)) == (1026, 1600)
