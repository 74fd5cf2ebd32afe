"""The report registry and the shared core: format names, output files, spans, plan lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from report_fixtures import EXAMPLE_ROOT, mutant_lines_match_example, pet_insurance_result
from testplan.errors import InputError
from testplan.report import FORMATS, check_formats, reporter_class, write_report, write_reports
from testplan.report.report_core import (
    ReportContext,
    case_line,
    gate_reasons_for,
    mutation_span,
    project_reasons,
    survivors,
)
from testplan.result import AuditResult, GateResult, MutantCounts, MutantResult, load_result


def test_fixture_mutants_sit_on_real_lines_of_the_example() -> None:
    assert mutant_lines_match_example() == []


def test_formats_are_the_documented_six() -> None:
    assert FORMATS == ("md", "junit", "sarif", "stryker", "html", "json", "codequality")
    names = {reporter_class(name).name for name in FORMATS}
    assert names == set(FORMATS)


def test_unknown_format_is_an_input_error_naming_the_choices() -> None:
    with pytest.raises(InputError) as caught:
        write_reports(pet_insurance_result(), ["md", "x"], Path("unused"))
    assert str(caught.value) == "--format: unknown format 'x'; use one of md, junit, sarif, stryker, html, json, codequality"


def test_check_formats_splits_commas_and_drops_duplicates() -> None:
    assert check_formats(["md,junit", "md", " sarif "]) == ["md", "junit", "sarif"]


def test_unknown_format_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_reports(pet_insurance_result(), ["md", "nope"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_write_reports_writes_every_format_under_its_name(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    paths = write_reports(pet_insurance_result(), list(FORMATS), out, EXAMPLE_ROOT)
    assert [p.name for p in paths] == ["testplan.md", "testplan-junit.xml", "testplan.sarif", "mutation.json", "testplan.html", "audit.json", "gl-code-quality-report.json"]
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files left


def test_json_format_is_the_audit_result(tmp_path: Path) -> None:
    result = pet_insurance_result()
    (path,) = write_reports(result, ["json"], tmp_path)
    assert path.read_text(encoding="utf-8") == result.dump()
    assert load_result(path) == result


def test_dash_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert write_report(pet_insurance_result(), "json", "-") is None
    assert json.loads(capsys.readouterr().out)["project"] == "pet-insurance"


def test_a_failing_report_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    (tmp_path / "mutation.json").write_text("old report", encoding="utf-8")
    with pytest.raises(InputError, match="source_root is not set"):
        write_reports(pet_insurance_result(), ["stryker"], tmp_path, None)
    assert [p.name for p in tmp_path.iterdir()] == ["mutation.json"]
    assert (tmp_path / "mutation.json").read_text(encoding="utf-8") == "old report"


def test_a_reporter_crashing_midway_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = reporter_class("md")

    def half(self, outfile):
        outfile.write("# half a report\n")
        raise RuntimeError("boom")

    monkeypatch.setattr(cls, "report", half)
    with pytest.raises(RuntimeError):
        write_report(pet_insurance_result(), "md", tmp_path / "testplan.md")
    assert list(tmp_path.iterdir()) == []


def test_gate_reasons_are_the_ones_the_gate_recorded_for_the_requirement() -> None:
    # a requirement named in another one's title (or in a parametrized nodeid) is not blamed
    mention = "PAY-3 (Refunds never exceed the capture of PAY-1) is WEAK: oracle score 0.2 is below 0.5"
    result = AuditResult(gate=GateResult(passed=False, reasons=["project score 10 is below the minimum 80", mention],
                                         requirements={"PAY-3": [mention]}))
    assert gate_reasons_for(result, "PAY-3") == [mention]
    assert gate_reasons_for(result, "PAY-1") == []
    assert project_reasons(result) == ["project score 10 is below the minimum 80"]


def test_project_reasons_name_no_requirement() -> None:
    assert project_reasons(pet_insurance_result()) == ["project score 72.0 is below min_score 80"]


def test_survivors_riskiest_first() -> None:
    found = survivors(pet_insurance_result())
    assert [(m.requirements[0], m.line) for m in found] == [
        ("PAY-3", 34), ("PAY-3", 45), ("PAY-3", 48), ("POL-1", 27), ("POL-1", 34), ("POL-1", 43),
    ]


def _mutant(line: int, original: str, mutated: str) -> MutantResult:
    return MutantResult(id="m", file="f.py", line=line, operator="op", original=original, mutated=mutated, status="survived")


def test_mutation_span_narrows_to_the_changed_text() -> None:
    source = "def f(a, b):\n    if a > b:\n        return a - b\n"
    span = mutation_span(source, _mutant(3, "return a - b", "return a + b"))
    assert (span.start_line, span.start_column, span.end_line, span.end_column) == (3, 18, 3, 19)
    assert span.replacement == "+" and span.exact
    lines = source.splitlines()
    assert lines[2][span.start_column - 1:span.end_column - 1] == "-"


def test_mutation_span_of_an_insertion_and_a_multiline_original() -> None:
    source = "x = 1\ny = call(\n    a,\n    b)\n"
    span = mutation_span(source, _mutant(2, "call(\n    a,\n    b)", "call(\n    None,\n    b)"))
    assert (span.start_line, span.start_column, span.end_line, span.end_column, span.replacement) == (3, 5, 3, 6, "None")
    span = mutation_span("f(a)\n", _mutant(1, "f(a)", "f(a, b)"))  # a pure insertion: an empty range
    assert (span.start_line, span.start_column, span.end_line, span.end_column, span.replacement) == (1, 4, 1, 4, ", b")


def test_mutation_span_covers_whole_tokens() -> None:
    span = mutation_span("if a > b:\n", _mutant(1, "if a > b:", "if a >= b:"))
    assert (span.start_column, span.end_column, span.replacement) == (6, 7, ">=")
    span = mutation_span("x = 1\n", _mutant(1, "x = 1", "x = 12"))
    assert (span.start_column, span.end_column, span.replacement) == (5, 6, "12")
    span = mutation_span('raise E("no")\n', _mutant(1, 'raise E("no")', 'raise E("XXnoXX")'))
    assert (span.start_column, span.end_column, span.replacement) == (10, 12, "XXnoXX")


def test_mutation_span_falls_back_to_the_line_when_the_source_changed() -> None:
    span = mutation_span("a = 1\n    b = 2\n", _mutant(2, "c = 3", "c = 4"))
    assert (span.start_line, span.start_column, span.end_line, span.end_column, span.exact) == (2, 5, 2, 10, False)


def test_case_line_finds_the_id_in_the_plan_file() -> None:
    context = ReportContext(pet_insurance_result(), EXAMPLE_ROOT)
    line = case_line(context, "PAY-2", "PAY-2.6")
    text = (EXAMPLE_ROOT / "plans" / "PAY-2.yaml").read_text(encoding="utf-8").splitlines()
    assert text[line - 1].strip() == "- id: PAY-2.6"
    assert case_line(context, "PAY-2", "PAY-2.99") == 1
    assert case_line(ReportContext(pet_insurance_result(), None), "PAY-2", "PAY-2.6") == 1


# --- no score: UNJUDGED, incomplete, cases only ---------------------------------------------------

NO_MUTANTS = "no mutant: mutmut finds nothing to mutate in its code"


def _unjudged_pol() -> AuditResult:
    """The example's result with POL-1 as a requirement mutmut yields nothing for (no mutants)."""
    result = pet_insurance_result()
    result.mutants = [m for m in result.mutants if "POL-1" not in m.requirements]
    pol = result.requirement("POL-1")
    pol.state, pol.score, pol.evidence, pol.evidence_reason = "UNJUDGED", None, "no-mutants", NO_MUTANTS
    pol.oracle_score = pol.mutation_score = pol.oracle_gap = None
    pol.mutants = MutantCounts(generated=0)
    own = result.gate.requirements.pop("POL-1")  # its reason was about a score it no longer has
    result.gate.reasons = [r for r in result.gate.reasons if r not in own]
    return result


def _render(result: AuditResult, name: str, tmp_path: Path) -> str:
    path = write_report(result, name, tmp_path / name, EXAMPLE_ROOT)
    return path.read_text()


def test_every_report_shows_an_unjudged_requirement_without_a_score_and_says_why(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    result = _unjudged_pol()
    md = _render(result, "md", tmp_path)
    assert "| medium | 🔍 UNJUDGED | — | 100% | — | — | 100% | — | 0 |" in md
    assert f"- **POL-1** UNJUDGED, no score: {NO_MUTANTS}\n" in md
    html = _render(result, "html", tmp_path)
    assert f'<div class="no-score"><b>No score:</b> {NO_MUTANTS}</div>' in html
    assert '<td class="num"><b>—</b></td>' in html
    junit = ET.fromstring(_render(result, "junit", tmp_path))
    pol = next(c for c in junit.iter("testcase") if c.get("name", "").startswith("POL-1 "))
    assert pol.find("skipped").get("message") == f"UNJUDGED, no score: {NO_MUTANTS}"
    assert {p.get("name"): p.get("value") for p in pol.iter("property")}["score"] == "—"
    assert junit.find("testsuite[@name='testplan.requirements']").get("skipped") == "1"
    sarif = json.loads(_render(result, "sarif", tmp_path))
    assert sarif["runs"][0]["properties"]["requirements"]["POL-1"] == {
        "state": "UNJUDGED", "score": None, "evidence": "no-mutants", "score_basis": "mutants", "note": NO_MUTANTS}
    stryker = json.loads(_render(result, "stryker", tmp_path))
    entry = stryker["config"]["testplan"]["requirements"]["POL-1"]
    assert (entry["score"], entry["evidence"], entry["note"]) == (None, "no-mutants", NO_MUTANTS)


def test_an_incomplete_result_shows_incomplete_never_a_number(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    result = pet_insurance_result()
    result.complete, result.incomplete_reason, result.gate = False, "interrupted", None
    result.withhold_scores()
    assert (result.score, {r.score for r in result.requirements}) == (None, {None})
    md = _render(result, "md", tmp_path)
    assert md.startswith("## testplan: pet-insurance — score incomplete · gate ⚠️ incomplete\n")
    assert md.count("| incomplete |") == 6
    html = _render(result, "html", tmp_path)
    assert '<div class="score" aria-label="project score">incomplete</div>' in html
    assert html.count('<td class="num"><b>incomplete</b></td>') == 6
    junit = ET.fromstring(_render(result, "junit", tmp_path))
    scores = {p.get("value") for p in junit.iter("property") if p.get("name") == "score"}
    assert scores == {"incomplete"}
    assert "project score incomplete; gate incomplete" in _render(result, "junit", tmp_path)
    sarif = json.loads(_render(result, "sarif", tmp_path))
    assert {r["note"] for r in sarif["runs"][0]["properties"]["requirements"].values()} == {"incomplete run: interrupted"}


def test_cases_only_is_labelled_in_every_report(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    reason = "cases only: mutation testing did not run (--no-mutation), S = 100·C"
    result = pet_insurance_result()
    result.mutation, result.mutants = False, []
    for r in result.requirements:
        r.evidence, r.evidence_reason, r.score_basis = "not-run", reason, "cases"
    md = _render(result, "md", tmp_path)
    assert "| 100.0 (cases only) |" in md
    html = _render(result, "html", tmp_path)
    assert f'<div class="no-score"><b>Cases only:</b> {reason}</div>' in html
    junit = ET.fromstring(_render(result, "junit", tmp_path))
    assert {p.get("value") for p in junit.iter("property") if p.get("name") == "score_basis"} == {"cases"}
    assert "score 100.0 (cases only) · C 100%" in _render(result, "junit", tmp_path)
    sarif = json.loads(_render(result, "sarif", tmp_path))
    assert sarif["runs"][0]["properties"]["requirements"]["PAY-1"]["note"] == reason
