"""The Markdown summary: a gold file for the example, and the 64 KiB limit on a big project.

Regenerate the gold file after an intended change with:
    TESTPLAN_REGOLD=1 .venv/bin/python -m pytest tests/test_report_md.py
and review the diff of tests/gold/report.md like any other change.
"""

from __future__ import annotations

import os
from pathlib import Path

from report_fixtures import large_result, pet_insurance_result
from testplan.report import write_report
from testplan.report.md import MAX_BYTES, render_markdown

GOLD = Path(__file__).parent / "gold" / "report.md"


def test_markdown_matches_the_gold_file(tmp_path: Path) -> None:
    path = write_report(pet_insurance_result(), "md", tmp_path / "testplan.md")
    assert path is not None
    text = path.read_text(encoding="utf-8")
    if os.environ.get("TESTPLAN_REGOLD"):
        GOLD.parent.mkdir(exist_ok=True)
        GOLD.write_text(text, encoding="utf-8")
    assert text == GOLD.read_text(encoding="utf-8")


def test_markdown_headline_table_and_survivors() -> None:
    text = render_markdown(pet_insurance_result())
    assert text.startswith("## testplan: pet-insurance — score 72.0 · gate ❌ failed\n")
    assert "| **PAY-3** Full and partial refunds never exceed what was captured | high | **🟡 WEAK** | 45.0 | 100% | 45% | 60% | 94% | +49% | 3 |" in text
    assert "- **PAY-3** `src/petinsure/refunds.py:45` (arithmetic): 4 linked tests ran it, none failed" in text
    assert "  - remaining = payment.captured - payment.refunded\n  + remaining = payment.captured + payment.refunded\n" in text


def test_large_project_stays_under_64_kib_with_a_note() -> None:
    result = large_result(500, 5000)
    text = render_markdown(result)
    assert len(text.encode("utf-8")) <= MAX_BYTES
    assert "more requirements not shown: this summary is kept under 64 KiB" in text
    assert "### Surviving mutants (" in text and "of highest risk are shown" in text
    assert text.count("```diff") == 10
    shown = [line for line in text.splitlines() if line.startswith("| **REQ-")]
    # the rows kept are those needing attention first: the gate's failures before the rest
    assert shown
    kept = {line.split("**")[1] for line in shown}
    failing = {r.id for r in result.requirements if any(reason.startswith(r.id + " ") for reason in result.gate.reasons)}
    assert kept <= failing or failing <= kept


def test_small_limit_keeps_headline_and_gate() -> None:
    text = render_markdown(pet_insurance_result(), max_bytes=2500)
    assert len(text.encode("utf-8")) <= 2500
    assert "**Gate failed**" in text and "not shown" in text


def test_titles_cannot_break_the_table() -> None:
    result = pet_insurance_result()
    result.requirements[0].title = "pipes | and <b>tags</b>\nnewline"
    result.incomplete_reason = "interrupted"
    result.complete = False
    text = render_markdown(result)
    assert "| **PAY-1** pipes \\| and &lt;b>tags&lt;/b> newline |" in text
    assert "gate ⚠️ incomplete" in text and "> **Incomplete run**: interrupted." in text
