"""The self-contained HTML reviewer report: content, escaping, and a real browser.

The browser test drives Debian's headless Chromium (``apt-get install chromium``) with Playwright
for Python (``pip install playwright``; never ``playwright install``): it opens the report from a
file:// URL and checks that nothing else is requested, no console error is logged, every
requirement row is shown and the state filter hides the others. It leaves a screenshot in its
tmp_path (``report.png``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from report_fixtures import EXAMPLE_ROOT, large_result, pet_insurance_result
from testplan.report import write_report
from testplan.result import AuditResult

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def _html(tmp_path: Path, result: AuditResult | None = None, source_root: Path | None = EXAMPLE_ROOT) -> Path:
    path = write_report(result or pet_insurance_result(), "html", tmp_path / "testplan.html", source_root)
    assert path is not None
    return path


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None:
                self.urls.append(value)


def test_report_is_self_contained(tmp_path: Path) -> None:
    text = _html(tmp_path).read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(text)
    assert [url for url in parser.urls if not url.startswith("#")] == []  # no external script, stylesheet, image or link
    assert "#src:src/petinsure/refunds.py:26:PAY-3" in parser.urls  # links within the page only
    assert "link" not in parser.tags and "img" not in parser.tags and "iframe" not in parser.tags
    assert not re.search(r"https?://", text.split("<style>")[1].split("</style>")[0])  # no @import or url()
    assert not re.search(r"\b(fetch|XMLHttpRequest|import\()", text)


def test_score_gate_matrix_and_survivors(tmp_path: Path) -> None:
    text = _html(tmp_path).read_text(encoding="utf-8")
    assert '72.0<small> / 100</small>' in text
    assert '<span id="gate-verdict" class="badge gate v-failed">gate failed</span>' in text
    for rid, state, risk in [("PAY-1", "OK", "high"), ("CARD-2", "SUSPECT", "medium"), ("PAY-2", "UNCOVERED", "critical"), ("PAY-3", "WEAK", "high")]:
        assert f'id="req-{rid}" data-id="{rid}" data-state="{state}" data-risk="{risk}"' in text
    assert text.count('<tr class="case" data-case=') == 42
    pay3 = text.split('id="req-PAY-3"')[1].split('id="req-POL-1"')[0]
    assert "Undetected mutants (4)" in pay3 and "Detected only by crashes or timeouts (3)" in pay3
    assert ('<a href="#src:src/petinsure/refunds.py:26:PAY-3"><code>src/petinsure/refunds.py:26-28,33-38,41-48</code></a> 16/17'
            in pay3)
    assert "tests/test_payments.py:56" in text and "DANGLING" in text


def _data(text: str) -> dict:
    import json

    return json.loads(text.split('<script type="application/json" id="tp-data">')[1].split("</script>")[0])


def test_embedded_data_holds_mutants_tests_lines_and_sources(tmp_path: Path) -> None:
    result = pet_insurance_result()
    data = _data(_html(tmp_path, result).read_text(encoding="utf-8"))
    assert len(data["mutants"]) == len(result.mutants) and len(data["tests"]) == len(result.tests)
    survivor = next(m for m in data["mutants"] if m[5] == "remaining = payment.captured - payment.refunded")
    assert survivor[:8] == ["petinsure.refunds:refund:45:arithmetic:remaining = payment.captured + payment.r", "src/petinsure/refunds.py", 45,
                            "arithmetic", "survived", "remaining = payment.captured - payment.refunded",
                            "remaining = payment.captured + payment.refunded", ["PAY-3"]]
    full_refund = [t[0] for t in data["tests"]].index("tests/test_refunds.py::test_full_refund")
    assert full_refund in survivor[8]["p"]
    assert data["requirements"]["PAY-3"]["code"] == {"src/petinsure/refunds.py": "26-28,33-38,41-48"}
    assert sorted(data["files"]) == ["src/petinsure/cards.py", "src/petinsure/payments.py", "src/petinsure/policy.py",
                                     "src/petinsure/pricing.py", "src/petinsure/refunds.py"]
    assert data["files"]["src/petinsure/refunds.py"] == (EXAMPLE_ROOT / "src/petinsure/refunds.py").read_text(encoding="utf-8")
    # without the project at hand, the report still renders, without source text
    assert _data(_html(tmp_path, result, None).read_text(encoding="utf-8"))["files"] == {}


def test_legend_is_the_scorers_own_text(tmp_path: Path) -> None:
    from markupsafe import escape

    from testplan.score import METRIC_MEANING, MUTANT_STATUS_MEANING

    text = _html(tmp_path).read_text(encoding="utf-8")
    legend = text.split('<dl class="legend">')[1].split("</dl>")[0]
    for name, meaning in METRIC_MEANING.items():
        shown = str(escape(meaning))
        assert f"<dt>{name}</dt><dd>{shown}</dd>" in legend
    for status, meaning in MUTANT_STATUS_MEANING.items():
        assert f'<dt><span class="chip st-{status}">{status}</span></dt><dd>{meaning}</dd>' in legend
    assert "half" not in legend and "they count for nothing" in legend


def test_everything_is_escaped(tmp_path: Path) -> None:
    result = pet_insurance_result()
    result.requirements[0].title = '<script>alert("x")</script>'
    result.mutants[0].original = "if a < b and '\"' == '<img src=x>':"
    result.gate.reasons.append('<b>bold</b> & "quoted"')  # type: ignore[union-attr]
    text = _html(tmp_path, result).read_text(encoding="utf-8")
    assert '<script>alert("x")</script>' not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert "<img src=x>" not in text and "<b>bold</b>" not in text
    assert text.count("<script>") == 1
    assert "</script><script>alert" not in text


def test_embedded_json_cannot_close_its_script(tmp_path: Path) -> None:
    result = pet_insurance_result()
    result.mutants[0].mutated = "x = '</script><script>alert(1)</script><!--'"
    text = _html(tmp_path, result).read_text(encoding="utf-8")
    assert text.count("</script>") == 2 and "<!--" not in text and "<script>alert" not in text
    assert _data(text)["mutants"][0][6] == "x = '</script><script>alert(1)</script><!--'"


def test_large_project_renders(tmp_path: Path) -> None:
    path = _html(tmp_path, large_result(500, 5000))
    text = path.read_text(encoding="utf-8")
    assert text.count('<tbody class="req') == 500
    assert path.stat().st_size < 4_500_000  # mutant details are rendered on demand from the embedded data
    assert len(_data(text)["mutants"]) == 5000


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
def test_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    result = pet_insurance_result()
    path = _html(tmp_path, result)
    url = path.resolve().as_uri()
    requests: list[str] = []
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}") if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            page.goto(url)
            page.wait_for_load_state("load")

            for r in result.requirements:
                assert page.locator(f"#req-{r.id} tr.row").is_visible(), r.id
            assert page.locator("#gate-verdict").inner_text() == "gate failed"
            assert page.locator("#shown-count").inner_text() == "6 of 6 requirements"
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

            # a state filter hides the others
            page.select_option("#f-state", "WEAK")
            visible = [r.id for r in result.requirements if page.locator(f"#req-{r.id} tr.row").is_visible()]
            assert visible == ["PAY-3", "POL-1"]
            assert page.locator("#shown-count").inner_text() == "2 of 6 requirements"

            # risk and search combine with it
            page.select_option("#f-risk", "high")
            assert [r.id for r in result.requirements if page.locator(f"#req-{r.id} tr.row").is_visible()] == ["PAY-3"]
            page.select_option("#f-state", "")
            page.select_option("#f-risk", "")
            page.fill("#f-search", "luhn")
            assert [r.id for r in result.requirements if page.locator(f"#req-{r.id} tr.row").is_visible()] == ["CARD-1"]
            page.fill("#f-search", "no such thing")
            assert page.locator("#no-match").is_visible()
            page.fill("#f-search", "")

            # rows open and close; bad states start open
            detail = page.locator("#detail-PAY-1")
            assert not detail.is_visible() and page.locator("#detail-PAY-3").is_visible()
            page.click("#req-PAY-1 tr.row")
            assert detail.is_visible()
            assert page.locator("#req-PAY-1 .toggle").get_attribute("aria-expanded") == "true"

            # printed: every requirement expanded, no controls
            page.click("#collapse-all")
            page.emulate_media(media="print")
            assert all(page.locator(f"#detail-{r.id}").is_visible() for r in result.requirements)
            assert not page.locator("#v-req .controls").is_visible()
            page.pdf(path=str(tmp_path / "report.pdf"))
            page.emulate_media(media="screen")

            # a surviving mutant's source line, with its diff, ID and the explain command
            survivor = "petinsure.refunds:refund:45:arithmetic:remaining = payment.captured + payment.r"
            page.click('nav.tabs a[data-view="v-mut"]')
            page.fill("#m-search", "survived")
            hits = page.locator("#m-hits li.m-hit")
            survivors = sorted(m.id for m in result.mutants if m.status == "survived")
            assert hits.count() == len(survivors) == 6
            assert sorted(hits.nth(i).locator("code.mid").text_content() for i in range(hits.count())) == survivors
            assert page.locator("#m-count").inner_text() == f"6 of {len(result.mutants)} mutants"
            page.fill("#m-search", "refunds.py:45 arithmetic")
            assert hits.count() == 1
            hits.locator("a").click()
            expect(page.locator("#v-src")).to_be_visible()  # waits: the view switches on the hashchange event
            assert page.locator("#v-src").is_visible() and not page.locator("#v-req").is_visible()
            line = page.locator("#src-body #L45")
            assert line.is_visible()
            assert line.inner_text().split("\n") == ["45", "PAY-3", "    remaining = payment.captured - payment.refunded"]
            assert "cov" in (line.get_attribute("class") or "")
            mutant = page.locator("#src-body .mutant[data-status=survived]").first
            assert mutant.is_visible()
            assert mutant.locator(".dl.del").inner_text() == "-remaining = payment.captured - payment.refunded"
            assert mutant.locator(".dl.add").inner_text() == "+remaining = payment.captured + payment.refunded"
            assert mutant.locator("code.mid").inner_text() == survivor
            assert mutant.locator("code.cmd").inner_text() == f"testplan explain {survivor}"
            assert "tests/test_refunds.py::test_full_refund pass" in mutant.locator(".ran").last.inner_text()
            assert page.locator("#src-note").inner_text() == "17 run-time lines of requirements' code, 16 covered by their linked tests"
            # a line no linked test runs is marked, and the requirement links back
            assert "unc" in (page.locator("#src-body #L27").get_attribute("class") or "")
            page.locator("#src-body #L45 .rq a").click()
            expect(page.locator("#detail-PAY-3")).to_be_visible()
            assert page.locator("#v-req").is_visible() and page.locator("#detail-PAY-3").is_visible()

            # the per-test view: what test_full_refund kills, by assertion and by crash
            page.goto(url + "#test")
            page.fill("#t-search", "test_full_refund")
            page.locator("#t-body li.t-hit a").click()
            expect(page.locator("#t-title")).to_have_text("tests/test_refunds.py::test_full_refund")
            assert page.locator("#t-title").inner_text() == "tests/test_refunds.py::test_full_refund"
            full = "tests/test_refunds.py::test_full_refund"
            kills = {code: sorted(f"{m.file}:{m.line}" for m in result.mutants if m.verdicts.get(full) == code)
                     for code in ("assert", "crash", "pass")}
            assert kills == {"assert": [], "crash": ["src/petinsure/refunds.py:35", "src/petinsure/refunds.py:37", "src/petinsure/refunds.py:42"],
                             "pass": ["src/petinsure/refunds.py:28", "src/petinsure/refunds.py:33", "src/petinsure/refunds.py:45",
                                      "src/petinsure/refunds.py:46", "src/petinsure/refunds.py:48"]}
            for code, heading in (("assert", "t-assert"), ("crash", "t-crash"), ("pass", "t-pass")):
                items = page.locator(f"#{heading} + ul.hits li a code, #{heading} + div.muted")
                shown = sorted(items.nth(i).inner_text() for i in range(items.count()))
                assert shown == (kills[code] or ["none"]), code
            assert page.locator("#t-body").inner_text().count("PAY-3.1") == 1  # the case it verifies

            # 390 px wide: no page-wide horizontal scroll in any view
            page.set_viewport_size({"width": 390, "height": 844})
            for fragment in ("", "#req-PAY-3", "#src:src/petinsure/refunds.py:45", "#mut", "#test:0"):
                page.goto(url + fragment)
                page.wait_for_load_state("load")
                assert page.evaluate("document.documentElement.scrollWidth") <= 400, fragment
            page.screenshot(path=str(tmp_path / "report-390.png"), full_page=True)

            # dark mode follows prefers-color-scheme
            background = "getComputedStyle(document.body).backgroundColor"
            assert page.evaluate(background) == "rgb(255, 255, 255)"
            page.emulate_media(color_scheme="dark")
            assert page.evaluate(background) == "rgb(13, 17, 23)"
        finally:
            browser.close()
    assert set(requests) == {url}  # the page itself (reloaded), nothing else
    assert console == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_code_and_covered_lines_are_saved_as_ranges_and_may_be_absent_in_older_results(tmp_path: Path) -> None:
    import json

    from testplan.ranges import line_ranges, parse_line_ranges
    from testplan.result import load_result, save_result

    assert line_ranges({48, 26, 27, 28, 33, 35, 34}) == "26-28,33-35,48" and line_ranges(set()) == ""
    assert parse_line_ranges("26-28,33-35,48") == {26, 27, 28, 33, 34, 35, 48}
    result = pet_insurance_result()
    path = tmp_path / "audit.json"
    save_result(result, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    pay3 = next(r for r in data["requirements"] if r["id"] == "PAY-3")
    assert (pay3["code_lines"], pay3["covered_lines"]) == ({"src/petinsure/refunds.py": "26-28,33-38,41-48"},
                                                           {"src/petinsure/refunds.py": "26,28,33-38,41-48"})
    for requirement in data["requirements"]:
        del requirement["code_lines"], requirement["covered_lines"]  # as a testplan from before these fields wrote it
    path.write_text(json.dumps(data), encoding="utf-8")
    older = load_result(path)
    assert older.requirement("PAY-3").code_lines == {} and older.requirement("PAY-3").covered_lines == {}  # type: ignore[union-attr]
    del data["requirements"][0]["cases"]
    path.write_text(json.dumps(data), encoding="utf-8")
    from testplan.errors import InputError

    with pytest.raises(InputError, match=r"field 'requirements\[0\]\.cases' is missing"):
        load_result(path)
