"""testplan propose-tests: candidates from a scripted model, kept only when they prove themselves
(issue 13). Real copies of the example, real audits (trace + mutation), real pytest runs of the
candidates; the model is the loopback OpenAI-compatible server (tests/openai_server.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from openai_server import FakeOpenAI, Reply, completion  # noqa: E402
from propose_answers import CRASH_ONLY, FAILS_ON_ORIGINAL, FLAKY, GOOD, NO_MARKER, answer, good_test  # noqa: E402
from tp_helpers import tree_digest  # noqa: E402

from testplan.enumerate import llm  # noqa: E402
from testplan.result import load_result  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def server(monkeypatch):
    for name in ("TESTPLAN_MODEL", "TESTPLAN_BASE_URL", "OPENAI_BASE_URL", "TESTPLAN_API_KEY", "OPENAI_API_KEY",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    llm._JSON_OBJECT_ONLY.clear()
    with FakeOpenAI() as fake:
        yield fake


def said(text: str) -> Reply:
    return Reply(200, completion(text, model="coder-1"))


def propose(cli, root: Path, server: FakeOpenAI, *extra: str):
    return cli("propose-tests", "PAY-3", "--model", "m", "--base-url", server.base_url, "--max-retries", "0",
               "-C", root, *extra)


def audited(cli, root: Path) -> float:
    assert cli("audit", "-C", root, "-q").code in (0, 1)
    return load_result(root / ".testplan" / "audit.json").requirement("PAY-3").oracle_score


def table_row(out: str) -> list[str]:
    """The figures of the final table's one row."""
    row = [line for line in out.splitlines() if line.startswith("│") and line.split("│")[1].strip().isdigit()][0]
    return [cell.strip() for cell in row.strip("│").split("│")]


def candidates(root: Path) -> list[dict]:
    return json.loads((root / ".testplan" / "proposals" / "proposals.json").read_text(encoding="utf-8"))["candidates"]


@pytest.mark.verifies("PROP-1.1")
def test_good_answers_for_pay3_are_accepted_and_raise_its_oracle_score_once_copied_in(example, cli, server):
    assert audited(cli, example) == 0.2273
    tests_before = tree_digest(example / "tests")
    server.default = lambda request: said(good_test(request.prompt))
    run = propose(cli, example, server, "--max", "15")
    assert run.code == 0, run.err
    # 15 survivors, one request each; the line-34/36/45 mutants get the same test: duplicates (d)
    assert table_row(run.out) == ["15", "15", "15", "15", "15", "7", "15", "PAY-3 0.23 →"]
    assert run.out.splitlines()[-1] == ("survivors targeted 15 · candidates 15 · (a) 15 · (b) 15 · (c) 15 · (d) 7 · "
                                        "mutants killed 15 · O PAY-3 0.23 → 0.92")
    assert len(server.requests) == 15
    assert tree_digest(example / "tests") == tests_before  # nothing under tests/ changes
    proposal = example / ".testplan" / "proposals" / "PAY-3" / "test_pay_3_proposed.py"
    text = proposal.read_text(encoding="utf-8")
    assert text.count("# proposed by testplan propose-tests: model coder-1; verifies PAY-3.") == 7
    assert "# kills mutants 2f0dc8dc9108, 578e7ae999a0, a7fa6ffe5c7d\n" in text
    assert ("# filters passed: (a) shape, (b) passes 3 times on the original, (c) assert-kills its target, "
            "(d) not a duplicate\n") in text
    rejected = [(c["mutant"], c["failed"], c["filters"]["d"]) for c in candidates(example) if not c["accepted"]]
    assert rejected == [(m, "d", "a duplicate of an accepted candidate (the same test, names aside)")
                        for m in ["578e7ae999a0", "a7fa6ffe5c7d", "bc330dcb1a7a", "be9678d0d3fd", "a79218579fa4",
                                  "a1d0f81c1a50", "17013a447ebc", "cd7052fe38ee"]]
    # the proposals, copied into the suite, raise PAY-3's O in the next audit
    shutil.copy(proposal, example / "tests" / proposal.name)
    assert audited(cli, example) == 0.92  # the O the table predicted


@pytest.mark.verifies("PROP-1.2")
def test_nonsense_answers_accept_nothing_and_every_candidate_says_why(example, cli, server):
    audited(cli, example)
    server.default = said("lorem ipsum dolor sit amet")
    run = propose(cli, example, server, "--max", "3")
    assert run.code == 0, run.err
    assert table_row(run.out)[:7] == ["3", "3", "0", "0", "0", "0", "0"]
    assert len(server.requests) == 6  # each answer once more after the correction
    prompt = server.requests[0].prompt  # what the model is told about the first survivor
    assert "Requirement PAY-3: Full and partial refunds never exceed what was captured" in prompt
    assert ("- PAY-3.1: a full refund closes the payment | given: a captured payment of 120.00 | expect: refund 120.00 "
            "returns amount 120.00, remaining 0.00; payment status refunded") in prompt
    assert "The function (src/petinsure/refunds.py, refund):\ndef refund(payment: Payment, amount: Decimal) -> Refund:" in prompt
    assert "The surviving mutant ae44e462b0b6 (" in prompt and "\n- if amount <= 0:\n+ if amount <= 1:\n" in prompt
    assert "from petinsure.refunds import Refund, refund, refundable" in prompt
    assert '@pytest.mark.verifies("PAY-3.1")\ndef test_full_refund(captured_payment: Payment) -> None:' in prompt
    assert "Fixtures of the project's conftest.py: payment, captured_payment" in prompt
    found = candidates(example)
    assert [(c["failed"], c["accepted"]) for c in found] == [("a", False)] * 3
    assert found[0]["filters"]["a"] == ("the model m answered PAY-3 with invalid JSON twice (not valid JSON: expected "
                                        "value at line 1 column 1); rerun, or use a model or server with "
                                        "structured-output support")
    assert not (example / ".testplan" / "proposals" / "PAY-3").exists()
    # an answer that is not JSON of the schema is not cached: offline, there is nothing to use
    offline = propose(cli, example, server, "--max", "3", "--offline")
    assert offline.code == 0
    assert len(server.requests) == 6
    assert offline.err.count("testplan: warning: no cached LLM answer for mutant ") == 3
    assert table_row(offline.out)[:2] == ["3", "0"]


@pytest.mark.verifies("PROP-1.3")
def test_each_kind_of_bad_answer_lands_in_its_filter(example, cli, server):
    """Targets in order (grouped by function, by line): ae44 (line 33), 2f0d, 578e, a7fa (34),
    372e, bc33, be96 (36)."""
    audited(cli, example)
    server.script = [
        said(answer(CRASH_ONLY)),         # ae44: the mutant raises RefundError: a crash, not an assert
        said(answer(GOOD[34])),           # 2f0d: kills it with an assert
        said(answer(GOOD[34])),           # 578e: the same test again
        said(answer(FAILS_ON_ORIGINAL)),  # a7fa
        said(answer(FLAKY)),              # 372e
        said(answer(NO_MARKER)),          # bc33
        said('{"code": "def test_x(): assert 1", "case": '),  # be96: cut-off JSON, then again
        said('{"code": "def test_x(): assert 1", "case": '),
    ]
    tests_before = tree_digest(example / "tests")
    run = propose(cli, example, server, "--max", "7", "--into", "tests")
    assert run.code == 0, run.err
    assert table_row(run.out)[:7] == ["7", "7", "5", "3", "2", "1", "3"]
    got = {c["mutant"]: (c["failed"], c["filters"].get(c["failed"])) for c in candidates(example) if c["failed"]}
    assert got == {
        "ae44e462b0b6": ("c", "fails on its target mutant only by a crash (an exception other than AssertionError), "
                              "not an assert"),
        "578e7ae999a0": ("d", "a duplicate of an accepted candidate (the same test, names aside)"),
        "a7fa6ffe5c7d": ("b", got["a7fa6ffe5c7d"][1]),
        "372e014e9ff6": ("b", got["372e014e9ff6"][1]),
        "bc330dcb1a7a": ("a", "has no @pytest.mark.verifies marker"),
        "be9678d0d3fd": ("a", got["be9678d0d3fd"][1]),
    }
    assert got["a7fa6ffe5c7d"][1].startswith("did not pass on run 1 of 3 on the original code (1 failed")
    assert got["372e014e9ff6"][1].startswith("did not pass on run 2 of 3 on the original code (1 failed")
    assert got["be9678d0d3fd"][1].startswith("the model m answered PAY-3 with invalid JSON twice (not valid JSON: EOF")
    # --into: the accepted test as a new file of the suite, nothing else changed there
    after = tree_digest(example / "tests")
    assert set(after) - set(tests_before) == {"test_pay_3_proposed.py"}
    assert {k: v for k, v in after.items() if k in tests_before} == tests_before
    written = (example / "tests" / "test_pay_3_proposed.py").read_text(encoding="utf-8")
    assert written.count("def test_") == 1 and "def test_zero_refund_message(" in written
    # new files only
    again = propose(cli, example, server, "--max", "1", "--into", "tests")
    assert again.code == 2
    assert again.err.strip() == (f"testplan: bad-input: {example / 'tests' / 'test_pay_3_proposed.py'} exists; --into "
                                 "writes new files only: move it away or choose another DIR")


@pytest.mark.verifies("PROP-1")
def test_needs_an_audit_with_mutants(example, cli, server):
    assert cli("audit", "--no-mutation", "-C", example, "-q").code == 0
    run = propose(cli, example, server)
    assert run.code == 2
    assert run.err.strip() == "testplan: bad-input: the audit result has no mutants; run 'testplan audit' with mutation first"
    assert server.requests == []


@pytest.mark.verifies("PROP-1")
def test_the_readme_shows_the_example_figures():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Proposing tests for surviving mutants", 1)[1].split("\n## ", 1)[0]
    assert ("survivors targeted 15 · candidates 15 · (a) 15 · (b) 15 · (c) 15 · (d) 7 · mutants killed 15 · "
            "O PAY-3 0.23 → 0.92") in section
    assert "gives PAY-3 O = 0.92" in section
