"""Reports from audit.json, checked on a real audit of the bundled example: Markdown (gold file
and size limit), JUnit XML, SARIF 2.1.0 and the Stryker report against their official JSON
schemas (from npm), and the HTML reviewer report in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from report_fixtures import large_result, npm_file, pet_insurance_result
from testplan.report import write_report, write_reports
from testplan.result import load_result
from tp_helpers import EXAMPLE, tree_digest

GOLD = Path(__file__).parent / "gold"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def audited(example_audit, tmp_path_factory):
    """Every report of the shared real audit of the example."""
    root, result = example_audit
    out = tmp_path_factory.mktemp("reports")
    write_reports(result, ["md", "junit", "sarif", "stryker", "html", "json"], out, root)
    return root, result, out


def npm_schema(tmp_path_factory, package: str, member: str) -> dict:
    """A JSON schema shipped in an npm package (fetched once by report_fixtures.npm_file)."""
    return json.loads(npm_file(package, member, tmp_path_factory.getbasetemp() / "npm").read_text())


# --- md ------------------------------------------------------------------------------------------

@pytest.mark.verifies("REP-1")
def test_markdown_matches_the_gold_file(tmp_path):
    """Regenerate with TESTPLAN_REGOLD=1 after an intended change, and review the diff."""
    path = write_report(pet_insurance_result(), "md", tmp_path / "testplan.md")
    gold = GOLD / "report.md"
    if os.environ.get("TESTPLAN_REGOLD"):
        gold.parent.mkdir(exist_ok=True)
        shutil.copy(path, gold)
    assert path.read_text() == gold.read_text()


def test_markdown_of_a_large_project_stays_under_64_kib(tmp_path):
    text = write_report(large_result(500, 5000), "md", tmp_path / "big.md").read_text()
    assert len(text.encode()) < 64 * 1024
    assert "more requirements not shown: this summary is kept under 64 KiB." in text


def test_markdown_of_the_example(audited):
    _, result, out = audited
    text = (out / "testplan.md").read_text()
    assert text.startswith(f"## testplan: pet-insurance — score {result.score:.1f} · gate ❌ failed\n")
    survivors = sum(1 for m in result.mutants if m.status == "survived")
    uncovered = sum(1 for m in result.mutants if m.status == "no-coverage")
    assert (survivors, uncovered) == (27, 6)
    assert (f"6 requirements: ✅ OK 2 · 🟠 SUSPECT 1 · ⭕ UNCOVERED 1 · 🟡 WEAK 2. 72 tests, {len(result.mutants)} mutants, "
            f"27 survived, 6 on lines no linked test runs.") in text
    assert "| **PAY-3** Full and partial refunds never exceed what was captured | high | **🟡 WEAK** |" in text


# --- junit ---------------------------------------------------------------------------------------

@pytest.mark.verifies("REP-1.1")
def test_junit_has_one_testcase_per_requirement_failing_with_the_gate_reason(audited):
    _, result, out = audited
    tree = ET.parse(out / "testplan-junit.xml")
    suite = tree.getroot().find("testsuite[@name='testplan.requirements']")
    cases = suite.findall("testcase")
    assert [c.get("name").split(" ")[0] for c in cases] == [r.id for r in result.requirements]
    failed = {c.get("name").split(" ")[0]: c.find("failure").get("message") for c in cases if c.find("failure") is not None}
    assert set(failed) == {"CARD-2", "PAY-3", "POL-1"}
    assert failed["CARD-2"] == "CARD-2 (Card brand is detected from the number prefix) is SUSPECT: changed after review; approve it again"
    assert (suite.get("tests"), suite.get("failures")) == ("6", "3")


# --- sarif ---------------------------------------------------------------------------------------

@pytest.mark.network
@pytest.mark.verifies("REP-1.2")
def test_sarif_validates_against_the_official_schema_and_places_every_survivor(audited, tmp_path_factory):
    import jsonschema

    root, result, out = audited
    sarif = json.loads((out / "testplan.sarif").read_text())
    schema = npm_schema(tmp_path_factory, "@microsoft/jest-sarif@1.0.0-beta.0", "lib/schemas/sarif-2.1.0-rtm.5.json")
    jsonschema.Draft7Validator(schema).validate(sarif)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "testplan"
    survivors = {(m.file, m.line) for m in result.mutants if m.status == "survived"}
    placed = [r for r in run["results"] if r["ruleId"] == "testplan/surviving-mutant"]
    assert len(placed) == sum(1 for m in result.mutants if m.status == "survived")
    for item in placed:
        location = item["locations"][0]["physicalLocation"]
        assert (location["artifactLocation"]["uri"], location["region"]["startLine"]) in survivors
    not_covered = [r for r in run["results"] if r["ruleId"] == "testplan/uncovered-mutant"]
    assert not_covered  # the example's audit has no-coverage mutants (6 today)
    assert sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
                  for r in not_covered) == sorted((m.file, m.line) for m in result.mutants if m.status == "no-coverage")
    uncovered = [r for r in run["results"] if "PAY-2.6" in r["message"]["text"] and r["ruleId"] != "testplan/surviving-mutant"]
    assert len(uncovered) == 1
    where = uncovered[0]["locations"][0]["physicalLocation"]
    plan_lines = (root / "plans" / "PAY-2.yaml").read_text().splitlines()
    assert where["artifactLocation"]["uri"] == "plans/PAY-2.yaml"
    assert plan_lines[where["region"]["startLine"] - 1] == "  - id: PAY-2.6"


# --- stryker -------------------------------------------------------------------------------------

@pytest.mark.network
def test_stryker_report_validates_against_mutation_testing_report_schema(audited, tmp_path_factory):
    import jsonschema

    _, result, out = audited
    report = json.loads((out / "mutation.json").read_text())
    schema = npm_schema(tmp_path_factory, "mutation-testing-report-schema@3.8.4", "dist/src/mutation-testing-report-schema.json")
    jsonschema.validators.validator_for(schema)(schema).validate(report)
    assert report["schemaVersion"] == "2"
    mutants = [m for f in report["files"].values() for m in f["mutants"]]
    assert len(mutants) == len(result.mutants)
    statuses = {m["status"] for m in mutants}
    assert statuses <= {"Killed", "Survived", "NoCoverage", "Timeout"}
    survived = sum(1 for m in mutants if m["status"] == "Survived")
    assert survived == sum(1 for m in result.mutants if m.status == "survived")


# --- html ----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.verifies("REP-1.3")
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it: apt-get install chromium)")
def test_html_report_in_headless_chromium(audited, tmp_path):
    from playwright.sync_api import sync_playwright

    _, result, out = audited
    url = (out / "testplan.html").resolve().as_uri()
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        rows = page.locator("tbody.req")
        assert rows.count() == len(result.requirements)
        assert [rows.nth(i).get_attribute("data-id") for i in range(rows.count())] == [r.id for r in result.requirements]
        assert all(rows.nth(i).is_visible() for i in range(rows.count()))
        page.select_option("#f-state", "WEAK")
        visible = [rows.nth(i).get_attribute("data-id") for i in range(rows.count()) if rows.nth(i).is_visible()]
        assert visible == ["PAY-3", "POL-1"]
        assert page.locator("#shown-count").inner_text() == "2 of 6 requirements"
        page.select_option("#f-state", "")
        page.fill("#f-search", "POL-1.4")
        visible = [rows.nth(i).get_attribute("data-id") for i in range(rows.count()) if rows.nth(i).is_visible()]
        assert visible == ["POL-1"]
        page.fill("#f-search", "")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert requests == [url]  # the file itself, nothing from the network
    assert (tmp_path / "report.png").stat().st_size > 10_000


# --- the CLI -------------------------------------------------------------------------------------

def test_report_command_writes_the_formats_asked_for(audited, tmp_path, cli):
    root, _, _ = audited
    result = cli("report", "--format", "md,junit", "-C", root, "--out", tmp_path)
    assert result.code == 0
    assert result.err.splitlines() == [f"wrote {tmp_path / 'testplan.md'}", f"wrote {tmp_path / 'testplan-junit.xml'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["testplan-junit.xml", "testplan.md"]


def test_report_to_stdout(audited, cli):
    root, _, _ = audited
    result = cli("report", "--format", "junit", "--out", "-", "-C", root)
    assert result.code == 0
    assert ET.fromstring(result.out).tag == "testsuites"


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "pdf"], "testplan: bad-input: --format: unknown format 'pdf'; use one of md, junit, sarif, stryker, html, json, codequality\n"),
    ([], "testplan: bad-input: report: --format is required; use one or more of md, junit, sarif, stryker, html, json, codequality\n"),
    (["--format", "md,html", "--out", "-"], "testplan: bad-input: --out -: stdout takes exactly one format; pass a directory for several\n"),
])
def test_report_usage_errors(audited, cli, args, message):
    root, _, _ = audited
    result = cli("report", *args, "-C", root)
    assert (result.code, result.err) == (2, message)


def test_report_without_an_audit(tmp_path, cli):
    result = cli("report", "--format", "md", "-C", tmp_path)
    assert result.code == 2
    assert result.err == f"{tmp_path / '.testplan' / 'audit.json'}: no audit result here; run 'testplan audit' first or pass the path of an audit.json\n"


def test_audit_format_flag_writes_reports_beside_audit_json(tmp_path, cli):
    root = tmp_path / "pet-insurance"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__"))
    result = cli("audit", "--no-mutation", "--format", "junit", "--out", tmp_path / "out", "-C", root)
    assert result.code == 0
    # the out directory is that run's state directory too (its lock, its trace)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["audit.json", "lock", "testplan-junit.xml", "trace"]


def test_audit_rejects_an_unknown_format_before_anything_runs(example, tmp_path, cli):
    """The format is checked before the tests run: a typo costs nothing, not an hour of mutants."""
    before = tree_digest(example, exclude=())
    result = cli("audit", "--format", "md,pdf", "--out", tmp_path / "out", "-C", example)
    assert (result.code, result.out) == (2, "")
    assert result.err == "testplan: bad-input: --format: unknown format 'pdf'; use one of md, junit, sarif, stryker, html, json, codequality\n"
    assert not (tmp_path / "out").exists()  # no audit.json, no report
    assert not (example / ".testplan").exists()  # no trace, no mutation cache
    assert tree_digest(example, exclude=()) == before  # no test ran: not even a __pycache__ appeared
