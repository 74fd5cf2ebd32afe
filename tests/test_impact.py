"""What a ``--diff`` change touches (testplan.report.impact): a real audit of a git clone of the example
whose last commit edits one line of refunds.py, PAY-3's code, and nothing else."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
DRIFT = ("  - ⚠️ **drift**: its code changed, but none of its linked tests and not its plan did: "
         "check the change still does what PAY-3 promises\n")


def _git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def edited(example: Path) -> Path:
    _git(example, "init", "-q")
    _git(example, "add", "-A")
    _git(example, "commit", "-qm", "base")
    source = example / "src/petinsure/refunds.py"
    text = source.read_text(encoding="utf-8")
    line = "    remaining = payment.captured - payment.refunded\n"
    assert text.splitlines(keepends=True)[44] == line  # line 45
    source.write_text(text.replace(line, line.rstrip("\n") + "  # what is left\n"), encoding="utf-8")
    _git(example, "commit", "-qam", "edit one line of refunds.py")
    return example


@pytest.mark.slow
@pytest.mark.verifies("REP-1")
def test_a_change_to_a_requirements_code_alone_is_drift(edited: Path, cli) -> None:
    run = cli("audit", "-C", edited, "--diff", "HEAD~1", "--format", "md,sarif,html")
    assert run.code == 1, run.err
    state = edited / ".testplan"
    result = json.loads((state / "audit.json").read_text(encoding="utf-8"))
    survivors = [m["id"] for m in result["mutants"] if m["status"] == "survived" and m["line"] == 45]
    assert survivors  # the example's tests do not check line 45 (see the example's README)
    md = (state / "testplan.md").read_text(encoding="utf-8")
    section = md.split("### This change touches\n\n")[1].split("**Gate")[0]
    assert section == (
        "Changed since `HEAD~1`.\n\n"
        "- **PAY-3** Full and partial refunds never exceed what was captured · risk high · 🟡 WEAK · "
        f"changed lines `src/petinsure/refunds.py:45` · **{len(survivors)} new survivors** on changed lines: "
        + ", ".join(f"`{i}`" for i in survivors) + "\n" + DRIFT + "\n"
    )
    assert md.index("### This change touches") < md.index("**Gate failed**") < md.index("| Requirement |")

    sarif = json.loads((state / "testplan.sarif").read_text(encoding="utf-8"))
    drift = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "testplan/drift"]
    assert [(r["level"], r["message"]["text"], r["locations"][0]["physicalLocation"]) for r in drift] == [(
        "warning",
        "PAY-3 (high, WEAK): its code changed, but none of its linked tests and not its plan did: "
        "check the change still does what PAY-3 promises",
        {"artifactLocation": {"uri": "src/petinsure/refunds.py", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 45}},
    )]
    html = (state / "testplan.html").read_text(encoding="utf-8")
    impact = html.split('<section id="impact" class="impact">')[1].split("</section>")[0]
    assert '<a href="#req-PAY-3"><b>PAY-3</b></a>' in impact
    assert '<div class="drift">⚠ drift: its code changed, but none of its linked tests and not its plan did' in impact

    # an edit to one of PAY-3's test files (uncommitted edits count) answers the drift; PAY-3 is still touched
    test_file = edited / "tests/test_refunds.py"
    test_file.write_text(test_file.read_text(encoding="utf-8") + "\n# reviewed with the change\n", encoding="utf-8")
    again = cli("report", "-C", edited, "--format", "md", "--out", "-")
    assert again.code == 0
    assert "- **PAY-3** Full and partial refunds" in again.out and "drift" not in again.out

    # no section without a diff base
    plain = cli("audit", "-C", edited, "--no-mutation", "--format", "md")
    assert "This change touches" not in (state / "testplan.md").read_text(encoding="utf-8"), plain.err
