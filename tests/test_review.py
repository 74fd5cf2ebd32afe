"""Approval, rejection and SUSPECT detection: ``approve``, ``reject``, ``review``, ``status``."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from tp_helpers import REQUIREMENTS, replaced


@pytest.fixture
def project(tmp_path: Path, cli) -> Path:
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "pyproject.toml").write_text('[tool.testplan]\nrequirements = "requirements.yaml"\n')
    assert cli("enumerate", "PAY-1", "-C", tmp_path).code == 0
    return tmp_path


def states(cli, project: Path) -> dict[str, str]:
    result = cli("status", "--json", "-C", project)
    assert result.code == 0
    return {row["id"]: row["plan_state"] for row in json.loads(result.out)}


def lint_lines(cli, project: Path) -> list[str]:
    return cli("lint", "-C", project).out.splitlines()


SUSPECT_WARNING = re.compile(r"^plans/PAY-1\.yaml:\d+: warning: plan of PAY-1 is SUSPECT: ")


def test_unapproved_plan_is_unreviewed_and_missing_plan_is_no_plan(project, cli):
    assert states(cli, project) == {"PAY-1": "UNREVIEWED", "CARD-1": "NO PLAN"}


@pytest.mark.verifies("REV-1.1")
def test_approve_records_who_when_and_fingerprint(project, cli):
    result = cli("approve", "PAY-1", "--all-proposed", "--by", "Jessie Young", "-C", project)
    assert result.code == 0
    assert result.out.startswith("approved 11 cases of PAY-1 (11 approved in plan); review recorded by Jessie Young: sha256:")
    text = (project / "plans" / "PAY-1.yaml").read_text()
    assert text.count("status: approved") == 11
    assert re.search(r"\nreview:\n  by: Jessie Young\n  at: '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'\n  fingerprint: sha256:[0-9a-f]{64}\n"
                     r"  vouched: \|\n    requirement: PAY-1\n    statement: 2 or more pets get 10 % off; 5 or more get 15 %.\n", text)
    assert states(cli, project)["PAY-1"] == "APPROVED"


@pytest.mark.verifies("REV-1.2")
def test_editing_the_statement_makes_the_plan_suspect_until_approved_again(project, cli):
    cli("approve", "PAY-1", "--all-proposed", "--by", "Jessie Young", "-C", project)
    reqs = project / "requirements.yaml"
    reqs.write_text(reqs.read_text().replace("5 or more get 15 %.", "5 or more get 20 %."))
    assert states(cli, project)["PAY-1"] == "SUSPECT"
    lines = lint_lines(cli, project)
    assert len(lines) == 1 and SUSPECT_WARNING.match(lines[0])
    cli("approve", "PAY-1", "--by", "Jessie Young", "-C", project)
    assert states(cli, project)["PAY-1"] == "APPROVED"
    assert lint_lines(cli, project) == ["lint: no problems"]


@pytest.mark.verifies("REV-1.3")
@pytest.mark.parametrize("edit", [
    ("statement: 2 or more pets get 10 % off; 5 or more get 15 %.", "statement: >\n      2 or more pets get 10 %\n      off; 5 or more get 15 %."),
    ("title: Multi-pet discount\n", "title: Multi-pet household discount  # renamed\n"),
    ("project: shop\n", "# pricing requirements\nproject: shop\n"),
    ("      pets: {type: int, min: 0, max: 50}\n", "      pets:\n        type: int\n        min: 0\n        max: 50\n"),
    ("    risk: high\n", "    risk: critical\n"),
], ids=["folded-statement", "title", "comment", "block-mapping", "risk"])
def test_formatting_comments_titles_and_risk_do_not_make_it_suspect(project, cli, edit):
    cli("approve", "PAY-1", "--all-proposed", "--by", "Jessie Young", "-C", project)
    reqs = project / "requirements.yaml"
    old, new = edit
    assert old in reqs.read_text()
    reqs.write_text(reqs.read_text().replace(old, new))
    assert states(cli, project)["PAY-1"] == "APPROVED"


@pytest.mark.verifies("REV-1.3")
def test_rewrapping_an_input_description_does_not_make_it_suspect(project, cli):
    reqs = project / "requirements.yaml"
    reqs.write_text(replaced(reqs.read_text(), "      pets: {type: int, min: 0, max: 50}\n",
                             "      pets: {type: int, min: 0, max: 50, description: pets in the household}\n"))
    cli("approve", "PAY-1", "--all-proposed", "--by", "Jessie Young", "-C", project)
    reqs.write_text(replaced(reqs.read_text(), "      pets: {type: int, min: 0, max: 50, description: pets in the household}\n",
                             "      pets:\n        type: int\n        min: 0\n        max: 50.0\n        description: >\n          pets in\n          the   household\n"))
    assert states(cli, project)["PAY-1"] == "APPROVED"
    reqs.write_text(replaced(reqs.read_text(), "the   household", "the insured household"))
    assert states(cli, project)["PAY-1"] == "SUSPECT"  # the words are content


@pytest.mark.verifies("REV-1.2")
@pytest.mark.parametrize("edit", [
    ("      - 1 pet pays the list premium\n", "      - 1 pet pays 95 % of the list premium\n"),
    ("    risk: high\n", "    risk: high\n    code: [shop.pricing:premium_for]\n"),
    ("      pets: {type: int, min: 0, max: 50}\n", "      pets: {type: int, min: 0, max: 20}\n"),
])
def test_content_edits_make_it_suspect(project, cli, edit):
    cli("approve", "PAY-1", "--all-proposed", "--by", "Jessie Young", "-C", project)
    reqs = project / "requirements.yaml"
    reqs.write_text(reqs.read_text().replace(*edit))
    assert states(cli, project)["PAY-1"] == "SUSPECT"


@pytest.mark.verifies("REV-1.2")
def test_editing_an_approved_case_makes_it_suspect_but_a_proposed_one_does_not(project, cli):
    cli("approve", "PAY-1", "--case", "PAY-1.1", "--by", "Jessie Young", "-C", project)
    plan = project / "plans" / "PAY-1.yaml"
    plan.write_text(replaced(plan.read_text(), "expect: 'accepted: pets = 0 is within 0..50; decide the result and write expect: {returns: VALUE}'", "expect: premium 0.00"))
    assert states(cli, project)["PAY-1"] == "APPROVED"  # PAY-1.4 is still proposed
    plan.write_text(replaced(plan.read_text(), "expect: 1 pet pays the list premium", "expect: 1 pet pays 90 %"))
    assert states(cli, project)["PAY-1"] == "SUSPECT"  # PAY-1.1 is approved


def test_hand_setting_status_approved_is_not_an_approval(project, cli):
    cli("approve", "PAY-1", "--case", "PAY-1.1", "--by", "Jessie Young", "-C", project)
    plan = project / "plans" / "PAY-1.yaml"
    text = plan.read_text()
    first_proposed = text.index("status: proposed")
    plan.write_text(text[:first_proposed] + "status: approved" + text[first_proposed + len("status: proposed"):])
    assert states(cli, project)["PAY-1"] == "SUSPECT"


def test_approve_only_named_cases(project, cli):
    result = cli("approve", "PAY-1", "--case", "PAY-1.3", "--case", "PAY-1.8", "--by", "R", "-C", project)
    assert result.out.startswith("approved 2 cases of PAY-1 (2 approved in plan)")
    status = json.loads(cli("status", "--json", "-C", project).out)[0]
    assert status["cases_by_status"] == {"approved": 2, "proposed": 9}


def test_approve_unknown_case(project, cli):
    result = cli("approve", "PAY-1", "--case", "PAY-1.99", "--by", "R", "-C", project)
    assert result.code == 2
    assert result.err.startswith("testplan: bad-input: --case: PAY-1.99 is not a case of PAY-1 (cases: PAY-1.1, PAY-1.2, ")


@pytest.mark.verifies("REV-1.4")
def test_approve_without_by_off_a_terminal_refuses_and_writes_nothing(project, cli):
    before = (project / "plans" / "PAY-1.yaml").read_bytes()
    result = cli("approve", "PAY-1", "-C", project)
    assert result.code == 2
    assert result.err == "testplan: bad-input: approve: --by NAME is required when not on a terminal (the review records who approved)\n"
    assert (project / "plans" / "PAY-1.yaml").read_bytes() == before


def test_approve_requirement_without_plan(project, cli):
    result = cli("approve", "CARD-1", "--by", "R", "-C", project)
    assert result.code == 2
    assert result.err == "testplan: bad-input: CARD-1 has no plan yet; run 'testplan enumerate CARD-1' first\n"


@pytest.mark.verifies("ENUM-1.4")
def test_reject_keeps_the_case_with_its_reason(project, cli):
    result = cli("reject", "PAY-1", "--case", "PAY-1.11", "--reason", "strings never reach this API", "-C", project)
    assert (result.code, result.out) == (0, "rejected PAY-1.11 of PAY-1\n")
    text = (project / "plans" / "PAY-1.yaml").read_text()
    assert "    status: rejected\n    reason: strings never reach this API\n    provenance:\n      key: rules:type:pets='abc'\n" in text
    # a rejected rules case is never proposed again
    assert cli("enumerate", "PAY-1", "-C", project).out == "unchanged plans/PAY-1.yaml: 0 new cases proposed, 11 in plan\n"


def test_reject_needs_a_reason(project, cli):
    result = cli("reject", "PAY-1", "--case", "PAY-1.2", "--reason", " ", "-C", project)
    assert (result.code, result.err) == (2, "testplan: bad-input: --reason: a rejection needs a reason; pass --reason 'why this case is wrong'\n")


def test_review_off_a_terminal_points_to_the_scriptable_commands(project, cli):
    result = cli("review", "PAY-1", "-C", project)
    assert result.code == 2
    assert result.err == ("testplan: bad-input: review: needs a terminal; in scripts use 'testplan approve PAY-1 --case ID --by NAME' "
                          "and 'testplan reject PAY-1 --case ID --reason TEXT'\n")


def test_status_table(project, cli):
    cli("approve", "PAY-1", "--all-proposed", "--by", "Jessie Young", "-C", project)
    out = cli("status", "-C", project).out
    assert "PAY-1 Multi-pet discount" in out
    assert "APPROVED" in out and "NO PLAN" in out
    assert "11 approved" in out and "Jessie Young" in out


pexpect = pytest.importorskip("pexpect")
PLAIN_TERMINAL = {**os.environ, "TERM": "dumb"}  # a terminal without styles: match the words


def test_interactive_review_on_a_terminal(project):
    """A real pseudo-terminal: approve one case, reject one with a reason, skip, quit, sign."""
    child = pexpect.spawn(sys.executable, ["-m", "testplan", "review", "PAY-1", "-C", str(project)],
                          encoding="utf-8", timeout=10, dimensions=(50, 200), env=PLAIN_TERMINAL)
    child.expect(r"PAY-1 Multi-pet discount  \(risk high, plan UNREVIEWED\)")
    child.expect(r"11 proposed cases to review \(0 approved, 0 rejected already\)")
    child.expect(r"\[1/11\] PAY-1\.1  nominal  priority high  origin rules")
    child.expect_exact("(a)pprove, (r)eject, (s)kip, (q)uit [s]: ")
    child.sendline("a")
    child.expect(r"\[2/11\] PAY-1\.2  error")
    child.expect_exact("[s]: ")
    child.sendline("r")
    child.expect_exact("reason for rejecting: ")
    child.sendline("duplicate of PAY-1.1")
    child.expect(r"\[3/11\]")
    child.expect_exact("[s]: ")
    child.sendline("s")
    child.expect(r"\[4/11\]")
    child.expect_exact("[s]: ")
    child.sendline("q")
    child.expect_exact("decisions: 1 approve, 1 reject, 9 left proposed")
    child.expect_exact("reviewer name")
    child.sendline("Jessie Young")
    child.expect_exact("save these decisions and sign the review of PAY-1 as Jessie Young? [y/N]: ")
    child.sendline("y")
    child.expect_exact("saved plans/PAY-1.yaml: review signed by Jessie Young")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    text = (project / "plans" / "PAY-1.yaml").read_text()
    assert text.count("status: approved") == 1
    assert "    status: rejected\n    reason: duplicate of PAY-1.1\n" in text
    assert "review:\n  by: Jessie Young\n" in text


def test_interactive_review_declined_writes_nothing(project):
    before = (project / "plans" / "PAY-1.yaml").read_bytes()
    child = pexpect.spawn(sys.executable, ["-m", "testplan", "review", "PAY-1", "--by", "R", "-C", str(project)],
                          encoding="utf-8", timeout=10, dimensions=(50, 200), env=PLAIN_TERMINAL)
    child.expect_exact("[s]: ")
    child.sendline("a")
    child.expect_exact("[s]: ")
    child.sendline("q")
    child.expect_exact("as R? [y/N]: ")
    child.sendline("n")
    child.expect_exact("not saved")
    child.expect(pexpect.EOF)
    assert (project / "plans" / "PAY-1.yaml").read_bytes() == before


def _review(project, *args):
    return pexpect.spawn(sys.executable, ["-m", "testplan", "review", "PAY-1", *args, "-C", str(project)],
                         encoding="utf-8", timeout=10, dimensions=(50, 200), env=PLAIN_TERMINAL)


@pytest.mark.verifies("REV-1.1")
def test_interactive_review_without_a_decision_signs_nothing(project):
    plan = project / "plans" / "PAY-1.yaml"
    before = plan.read_bytes()
    child = _review(project, "--by", "Zed")
    child.expect_exact("[s]: ")
    child.sendline("q")
    child.expect_exact("decisions: 0 approve, 0 reject, 11 left proposed")
    child.expect_exact("nothing to save: no case is approved, so there is no review to sign")
    child.expect(pexpect.EOF)
    child.close()
    assert (child.exitstatus, plan.read_bytes()) == (0, before)


@pytest.mark.verifies("REV-1.1")
def test_interactive_review_with_only_rejections_saves_them_unsigned(project, cli):
    child = _review(project, "--by", "Zed")
    child.expect_exact("[s]: ")
    child.sendline("r")
    child.expect_exact("reason for rejecting: ")
    child.sendline("not what the pricing team meant")
    child.expect_exact("[s]: ")
    child.sendline("q")
    child.expect_exact("as Zed? [y/N]: ")
    child.sendline("y")
    child.expect_exact("saved plans/PAY-1.yaml: rejections only; nothing approved, no review signed")
    child.expect(pexpect.EOF)
    text = (project / "plans" / "PAY-1.yaml").read_text()
    assert "    status: rejected\n    reason: not what the pricing team meant\n" in text
    assert "review:" not in text
    assert states(cli, project)["PAY-1"] == "UNREVIEWED"


@pytest.mark.verifies("ENUM-2")
def test_interactive_review_shows_where_a_case_came_from(project):
    plan = project / "plans" / "PAY-1.yaml"
    plan.write_text(plan.read_text() + (
        "  - id: PAY-1.12\n    title: 2 pets insured at the same instant by two clerks\n    kind: edge\n"
        "    given: two concurrent requests for the same household\n    expect: one discount, not two\n"
        "    origin: llm:qwen2.5-7b-instruct\n    status: proposed\n"))
    child = _review(project, "--by", "Zed")
    for _ in range(11):
        child.expect_exact("[s]: ")
        child.sendline("s")
    child.expect(r"\[12/12\] PAY-1\.12  edge  priority medium  origin llm:qwen2\.5-7b-instruct")
    child.expect_exact("2 pets insured at the same instant by two clerks")
    child.expect_exact("[s]: ")
    child.sendline("q")
    child.expect(pexpect.EOF)


@pytest.mark.verifies("REV-1.1")
def test_approve_needs_a_case_to_vouch_for(tmp_path, cli):
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "CARD-1.yaml").write_text("requirement: CARD-1\ncases: []\n")
    result = cli("approve", "CARD-1", "--by", "Zed", "-C", tmp_path)
    assert (result.code, result.err) == (2, "testplan: bad-input: approve: CARD-1 has no proposed or approved case, and a "
                                            "review must vouch for at least one; run 'testplan enumerate CARD-1' or add a case to its plan\n")
    assert (tmp_path / "plans" / "CARD-1.yaml").read_text() == "requirement: CARD-1\ncases: []\n"


# --- approval means someone looked (issue 12) ---------------------------------------------------

@pytest.mark.verifies("REV-1.1")
def test_approve_without_case_with_proposed_cases_present_refuses_and_changes_nothing(project, cli):
    from tp_helpers import tree_digest

    before = tree_digest(project)
    result = cli("approve", "PAY-1", "--by", "X", "-C", project)
    assert result.code == 2
    assert result.err == ("testplan: bad-input: approve: PAY-1 has 11 proposed cases (PAY-1.1, PAY-1.2, PAY-1.3, PAY-1.4, "
                          "PAY-1.5, PAY-1.6, PAY-1.7, PAY-1.8, PAY-1.9, PAY-1.10, PAY-1.11); name them with --case, approve "
                          "all shown with --all-proposed, or reject them (nothing was changed)\n")
    assert tree_digest(project) == before
    assert cli("approve", "PAY-1", "--case", "PAY-1.1", "--all-proposed", "--by", "X", "-C", project).err == (
        "testplan: bad-input: approve: give --case IDs or --all-proposed, not both\n")
    assert tree_digest(project) == before


@pytest.mark.verifies("REV-1.2")
def test_re_signing_a_suspect_plan_approves_nothing_new(project, cli):
    assert cli("approve", "PAY-1", "--case", "PAY-1.1", "--by", "Jessie Young", "-C", project).code == 0
    reqs = project / "requirements.yaml"
    reqs.write_text(replaced(reqs.read_text(), "5 or more get 15 %.", "5 or more get 20 %."))
    lines = lint_lines(cli, project)
    assert lines[0].endswith("plan of PAY-1 is SUSPECT: the requirement or an approved case changed after review; see what "
                             "changed with 'testplan diff PAY-1', then re-sign with 'testplan approve PAY-1 --case PAY-1.1 "
                             "--by NAME' (it approves no proposed case)")
    refused = cli("approve", "PAY-1", "--by", "Jessie Young", "-C", project)
    assert refused.code == 2 and "; to re-sign without approving them, name an approved case (--case PAY-1.1) (nothing was changed)" in refused.err
    result = cli("approve", "PAY-1", "--case", "PAY-1.1", "--by", "Jessie Young", "-C", project)
    assert result.out.startswith("approved 0 cases of PAY-1 (1 approved in plan); review recorded by Jessie Young")
    assert states(cli, project)["PAY-1"] == "APPROVED"
    assert (project / "plans" / "PAY-1.yaml").read_text().count("status: approved") == 1


@pytest.mark.verifies("REV-1.2")
def test_diff_shows_what_changed_since_the_review(project, cli):
    assert cli("approve", "PAY-1", "--case", "PAY-1.1", "--case", "PAY-1.3", "--by", "Jessie Young", "-C", project).code == 0
    assert cli("diff", "PAY-1", "-C", project).out == "PAY-1: no change since the review by Jessie Young\n"
    reqs = project / "requirements.yaml"
    reqs.write_text(replaced(reqs.read_text(), "5 or more get 15 %.", "5 or more get 20 %."))
    plan = project / "plans" / "PAY-1.yaml"
    text = plan.read_text()
    assert text.index("  - id: PAY-1.3\n") < text.index("    given: {pets: -1}\n") < text.index("review:")
    plan.write_text(text.replace("    given: {pets: -1}\n", "    given: {pets: -2}\n", 1))  # the case, not the snapshot
    result = cli("diff", "PAY-1", "-C", project)
    assert result.code == 0
    out = result.out.splitlines()
    assert out[0].startswith("--- reviewed by Jessie Young at ") and out[1] == "+++ now"
    assert "-statement: 2 or more pets get 10 % off; 5 or more get 15 %." in out
    assert "+statement: 2 or more pets get 10 % off; 5 or more get 20 %." in out
    assert "-    given: {pets: -1}" in out and "+    given: {pets: -2}" in out
    assert "   - PAY-1.3 [error, high] pets = -1 (min - 1)" in out  # context line


def test_diff_of_a_plan_never_reviewed(project, cli):
    result = cli("diff", "PAY-1", "-C", project)
    assert (result.code, result.err) == (2, "testplan: bad-input: diff: PAY-1 has never been reviewed, so there is nothing "
                                            "to compare; review it with 'testplan review PAY-1'\n")


@pytest.mark.verifies("REV-1.2")
def test_interactive_review_of_a_suspect_plan_shows_what_changed_first(project, cli):
    assert cli("approve", "PAY-1", "--case", "PAY-1.1", "--by", "Jessie Young", "-C", project).code == 0
    reqs = project / "requirements.yaml"
    reqs.write_text(replaced(reqs.read_text(), "5 or more get 15 %.", "5 or more get 20 %."))
    child = pexpect.spawn(sys.executable, ["-m", "testplan", "review", "PAY-1", "--by", "R", "-C", str(project)],
                          encoding="utf-8", timeout=10, dimensions=(50, 200), env=PLAIN_TERMINAL)
    child.expect_exact("this plan is SUSPECT")
    child.expect_exact("what changed since the last review:")
    child.expect_exact("-statement: 2 or more pets get 10 % off; 5 or more get 15 %.")
    child.expect_exact("+statement: 2 or more pets get 10 % off; 5 or more get 20 %.")
    child.expect(r"\[1/10\] PAY-1\.2")
    child.sendline("q")
    child.expect_exact("decisions: 0 approve, 0 reject, 10 left proposed")
    child.expect_exact("[y/N]: ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_diff_of_a_review_from_before_snapshots_says_so(cli):
    from tp_helpers import EXAMPLE

    result = cli("diff", "CARD-2", "-C", EXAMPLE)
    assert (result.code, result.out) == (0, "CARD-2: the review by Jessie Young kept no snapshot (it predates them), so "
                                            "there is nothing to compare; 'testplan status' says whether the plan is SUSPECT\n")
