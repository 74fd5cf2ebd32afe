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

from report_fixtures import large_result, pet_insurance_result
from testplan.report import write_report
from testplan.result import AuditResult

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def _html(tmp_path: Path, result: AuditResult | None = None) -> Path:
    path = write_report(result or pet_insurance_result(), "html", tmp_path / "testplan.html")
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
    assert parser.urls == []  # no external script, stylesheet, image or link
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
    assert "Undetected mutants (4)" in pay3 and "Killed only by crashes (3)" in pay3
    assert '<span class="dl del"><span class="sign">-</span>remaining = payment.captured - payment.refunded</span>' in pay3
    assert '<span class="dl add"><span class="sign">+</span>remaining = payment.captured + payment.refunded</span>' in pay3
    assert "<code>tests/test_refunds.py::test_full_refund</code> <span class=\"v-pass\">pass</span>" in pay3
    assert "tests/test_payments.py:56" in text and "DANGLING" in text


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


def test_large_project_renders(tmp_path: Path) -> None:
    path = _html(tmp_path, large_result(500, 5000))
    text = path.read_text(encoding="utf-8")
    assert text.count('<tbody class="req') == 500
    assert path.stat().st_size < 30_000_000


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
def test_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

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
            assert not page.locator(".controls").is_visible()
            page.pdf(path=str(tmp_path / "report.pdf"))
        finally:
            browser.close()
    assert requests == [url]
    assert console == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
