"""testplan critique: does each linked test check its case's expected outcome? (issue 13, item 4)

Real copies of the example, real traces (``audit --no-mutation``), the real CLI; the prose
cases' labels come from the loopback OpenAI-compatible server (tests/openai_server.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).parent))

from openai_server import FakeOpenAI, Reply, completion  # noqa: E402

from testplan.enumerate import llm  # noqa: E402
from testplan.result import load_result  # noqa: E402

D = lambda text: {"py": f"Decimal('{text}')"}  # noqa: E731

# structured versions of the example's PAY-1 and PAY-3 outcomes (the example's cases are prose)
STRUCTURED = {
    "PAY-1": {"PAY-1.1": {"returns": D("90.00")}, "PAY-1.2": {"returns": D("100.00")},
              "PAY-1.3": {"returns": D("90.00")}, "PAY-1.4": {"returns": D("85.00")},
              "PAY-1.5": {"returns": D("100.00")},
              "PAY-1.6": {"raises": "ValueError", "match": "pet count must be >= 0"},
              "PAY-1.7": {"returns": D("9.05")}},
    "PAY-3": {"PAY-3.1": {"returns": {"py": "Refund('P-1001', Decimal('120.00'), Decimal('0.00'))"}},
              "PAY-3.2": {"returns": {"py": "Refund('P-1001', Decimal('20.00'), Decimal('100.00'))"}},
              "PAY-3.3": {"returns": {"py": "Refund('P-1001', Decimal('60.00'), Decimal('0.00'))"}},
              "PAY-3.4": {"raises": "RefundError", "match": "refund of 20.01 exceeds the refundable 20.00"},
              "PAY-3.5": {"raises": "RefundError", "match": "refund amount must be positive"},
              "PAY-3.6": {"raises": "RefundError", "match": "only captured payments can be refunded"},
              "PAY-3.7": {"raises": "RefundError", "match": "refund amount must be in whole cents"}},
}


def structure(root: Path, cli) -> None:
    yaml = YAML()
    for rid, cases in STRUCTURED.items():
        path = root / "plans" / f"{rid}.yaml"
        doc = yaml.load(path)
        for case in doc["cases"]:
            if case["id"] in cases:
                case["expect"] = cases[case["id"]]
        yaml.dump(doc, path)
        assert cli("approve", rid, "--by", "Jessie Young", "-C", root).code == 0  # re-sign the edited plan


def labels(findings) -> dict[tuple[str, str], str]:
    return {(f.case, f.test.split("::")[1]): f.label for f in findings}


@pytest.mark.verifies("CRIT-1.1")
def test_structured_cases_pay3_ai_tests_do_not_check_the_outcome_pay1_reviewed_ones_do(example, cli):
    structure(example, cli)
    assert cli("audit", "--no-mutation", "-C", example, "-q").code == 0
    before = load_result(example / ".testplan" / "audit.json")
    run = cli("critique", "PAY-1", "PAY-3", "-C", example)
    assert run.code == 0
    assert run.out.splitlines()[-1] == "9 checks-expected, 10 checks-other, 1 checks-nothing"
    after = load_result(example / ".testplan" / "audit.json")
    got = labels(after.critique)
    assert {k: v for k, v in got.items() if k[0].startswith("PAY-3")} == {
        ("PAY-3.1", "test_full_refund"): "checks-other",
        ("PAY-3.2", "test_partial_refund"): "checks-other",
        ("PAY-3.3", "test_refunds_add_up"): "checks-nothing",
        ("PAY-3.4", "test_refund_too_much"): "checks-other",
        ("PAY-3.5", "test_bad_amounts[amount0]"): "checks-other",
        ("PAY-3.5", "test_bad_amounts[amount1]"): "checks-other",
        ("PAY-3.6", "test_refund_uncaptured"): "checks-other",
        ("PAY-3.7", "test_fraction_of_cent"): "checks-other",
    }
    pay1 = {k: v for k, v in got.items() if k[0].startswith("PAY-1")}
    # the reviewed exact-value and exact-message tests check the outcome; the discount-rate test
    # checks the rate (0.90), not the premium the structured case expects
    assert {k for k, v in pay1.items() if v != "checks-expected"} == {
        ("PAY-1.1", "test_discount_rate_steps_exactly_at_2_and_5"),
        ("PAY-1.3", "test_discount_rate_steps_exactly_at_2_and_5"),
        ("PAY-1.4", "test_discount_rate_steps_exactly_at_2_and_5"),
    }
    assert pay1[("PAY-1.1", "test_premium_by_household_size[2-pets]")] == "checks-expected"
    assert pay1[("PAY-1.6", "test_negative_pet_count_is_rejected[-1]")] == "checks-expected"
    assert pay1[("PAY-1.7", "test_half_cent_rounds_up")] == "checks-expected"
    reasons = {(f.case, f.test.split("::")[1]): f.reason for f in after.critique}
    assert reasons[("PAY-3.6", "test_refund_uncaptured")] == "the case expects RefundError; the test has pytest.raises(Exception)"
    assert reasons[("PAY-3.1", "test_full_refund")] == (
        "no assert compares with the expected Refund('P-1001', Decimal('120.00'), Decimal('0.00'))")
    assert {f.by for f in after.critique} == {"static"}
    # advisory: no score, state or gate changes
    assert [(r.id, r.score, r.state) for r in after.requirements] == [(r.id, r.score, r.state) for r in before.requirements]
    assert after.gate == before.gate
    # beside the case in the md and html reports
    assert cli("report", "--format", "md,html", "-C", example, "-q").code == 0
    md = (example / ".testplan" / "testplan.md").read_text(encoding="utf-8")
    assert "9 of 20 linked tests check their case's expected outcome." in md
    assert ("- **PAY-3.3** partial refunds may add up to exactly the captured amount · "
            "`tests/test_refunds.py::test_refunds_add_up`: checks-nothing, the test has no assertion (static)") in md
    html = (example / ".testplan" / "testplan.html").read_text(encoding="utf-8")
    assert ('<li class="critique checks-other" title="advisory: testplan critique, static">'
            '<code>tests/test_refunds.py::test_refund_uncaptured</code> checks-other: the case expects RefundError; '
            'the test has pytest.raises(Exception)</li>') in html


@pytest.mark.verifies("CRIT-1.2")
def test_prose_cases_without_llm_get_only_the_certain_finding(example, cli):
    assert cli("audit", "--no-mutation", "-C", example, "-q").code == 0
    run = cli("critique", "PAY-3", "--json", "-C", example)
    assert run.code == 0
    assert json.loads(run.out) == [{"requirement": "PAY-3", "case": "PAY-3.3",
                                    "test": "tests/test_refunds.py::test_refunds_add_up", "label": "checks-nothing",
                                    "reason": "the test has no assertion", "by": "static"}]


@pytest.mark.verifies("CRIT-1")
def test_critique_needs_an_audit(example, cli):
    run = cli("critique", "-C", example)
    assert run.code == 2
    assert "no audit result here; run 'testplan audit' first" in run.err


@pytest.fixture
def server(monkeypatch):
    for name in ("TESTPLAN_MODEL", "TESTPLAN_BASE_URL", "OPENAI_BASE_URL", "TESTPLAN_API_KEY", "OPENAI_API_KEY",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    llm._JSON_OBJECT_ONLY.clear()
    with FakeOpenAI() as fake:
        yield fake


def label_reply(label: str, reason: str) -> Reply:
    return Reply(200, completion(json.dumps({"label": label, "reason": reason}), model="judge-1"))


@pytest.mark.verifies("CRIT-1.3")
def test_prose_cases_with_llm_are_labelled_by_the_model_cached_and_offline(example, cli, server):
    """Prose PAY-3: the model labels each (case, test) pair; the certain no-assertion finding is
    not asked; a second run is answered from the cache; --offline reads only the cache."""
    assert cli("audit", "--no-mutation", "-C", example, "-q").code == 0

    def answer(request) -> Reply:
        prompt = request.prompt
        if "def test_full_refund" in prompt:
            return label_reply("checks-other", "asserts only that a result exists, not amount 120.00 and remaining 0.00")
        return label_reply("checks-other", "asserts the error type, not the message")

    server.default = answer
    args = ["critique", "PAY-3", "--llm", "--model", "judge", "--base-url", server.base_url, "--max-retries", "0",
            "-C", example]
    assert cli(*args).code == 0
    asked = len(server.requests)
    # 8 (case, test) pairs minus PAY-3.3's (no assertion: not asked) minus one of PAY-3.5's two
    # parametrized nodes (the same case and function: the same prompt, answered from the cache)
    assert asked == 6
    assert "Expect: refund 120.00 returns amount 120.00, remaining 0.00; payment status refunded" in server.requests[0].prompt
    findings = load_result(example / ".testplan" / "audit.json").critique
    assert labels(findings)[("PAY-3.1", "test_full_refund")] == "checks-other"
    assert labels(findings)[("PAY-3.3", "test_refunds_add_up")] == "checks-nothing"
    by = {f.test.split("::")[1]: (f.by, f.reason) for f in findings}
    assert by["test_full_refund"] == ("llm:judge-1", "asserts only that a result exists, not amount 120.00 and remaining 0.00")
    assert by["test_refunds_add_up"] == ("static", "the test has no assertion")
    assert cli(*args).code == 0
    assert len(server.requests) == asked  # every answer from the cache
    assert cli(*args, "--offline").code == 0
    assert len(server.requests) == asked
    assert len(load_result(example / ".testplan" / "audit.json").critique) == 8


@pytest.mark.verifies("CRIT-1.3")
def test_llm_answer_that_is_not_json_twice_is_a_provider_error(example, cli, server):
    assert cli("audit", "--no-mutation", "-C", example, "-q").code == 0
    server.default = Reply(200, completion("checks-other, I think"))
    run = cli("critique", "PAY-3", "--llm", "--model", "judge", "--base-url", server.base_url, "--max-retries", "0",
              "-C", example)
    assert run.code == 4
    assert run.err.startswith("testplan: provider: the model judge answered PAY-3 with invalid JSON twice "
                              "(not valid JSON: expected value at line 1 column 1); rerun")
    assert load_result(example / ".testplan" / "audit.json").critique == []  # nothing written


@pytest.mark.verifies("CRIT-1.4")
def test_a_result_written_before_critique_loads(example_audit, tmp_path):
    root, _ = example_audit
    data = json.loads((root / ".testplan" / "audit.json").read_text(encoding="utf-8"))
    data.pop("critique", None)
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_result(path).critique == []


@pytest.mark.verifies("CRIT-1")
def test_the_readme_shows_the_example_figures():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Critique: does each test check its case?", 1)[1].split("\n## ", 1)[0]
    assert "$ testplan critique PAY-1 PAY-3\n...\n9 checks-expected, 10 checks-other, 1 checks-nothing\n" in section
