"""The LLM enumerator, end to end: the real CLI, the real ``openai`` SDK, a real loopback server.

No network and no mocks of the client: :mod:`openai_server` is an HTTP server on 127.0.0.1
that speaks ``/v1/chat/completions`` and records every request body.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from openai_server import FakeOpenAI, Reply, completion, error, refused_port  # noqa: E402

from testplan.cli import main  # noqa: E402
from testplan.config import load_config  # noqa: E402
from testplan.enumerate import llm  # noqa: E402
from testplan.errors import InputError  # noqa: E402
from testplan.model import PlanState, plan_state  # noqa: E402
from testplan.review import load_project  # noqa: E402

REPORTED_MODEL = "fake-model-2026"

REQUIREMENTS = """\
project: pet-insurance
requirements:
  - id: PAY-1
    title: Premium discount for multi-pet households
    statement: >
      A household insuring 2 or more pets gets 10 % off each premium; 5 or more pets get 15 %.
    acceptance:
      - 1 pet pays the list premium
      - a negative pet count is rejected with ValueError("pet count must be >= 0")
    risk: high
    inputs:
      pets: {type: int, min: 0, max: 50}
  - id: PAY-2
    title: Premiums are rounded to cents
    statement: Every premium is rounded half-up to whole cents.
    acceptance:
      - 10.005 becomes 10.01
"""

PYPROJECT = """\
[tool.testplan]
requirements = "requirements.yaml"
plans = "plans"
"""


def case(title: str, kind: str = "edge", inputs: dict[str, str] | None = None, given: str = "", expect: str = "",
         technique: str = "equivalence classes", assumptions: list[str] | None = None, priority: str = "medium",
         outcome: dict | None = None) -> dict:
    return {
        "title": title,
        "kind": kind,
        "technique": technique,
        "inputs": [{"name": n, "value": v} for n, v in (inputs or {}).items()],
        "given": given or title,
        "expect": expect or f"the outcome of {title}",
        "outcome": outcome or {"kind": "unstated", "value": "", "exception": "", "match": ""},
        "assumptions": assumptions or [],
        "priority": priority,
    }


UNICODE = case("owner name in Unicode", "edge", {"pets": "2", "owner": "Zoë Ødegård"},
               "a household of 2 pets whose owner is named Zoë Ødegård, list premium 100.00",
               "each premium is 90.00 and the name is stored unchanged", assumptions=["the list premium is 100.00"])
CONCURRENT = case("two pets added at once", "edge", {"pets": "4", "added_concurrently": "2"},
                  "a household with 3 pets adds 2 pets in two concurrent requests",
                  "the household ends with 5 pets and every premium is 85.00", technique="state/ordering",
                  priority="high")
ROUNDING = case("discount rounds to cents", "boundary", {"pets": "2", "list_premium": "10.05"},
                "2 pets with list premium 10.05", "each premium is 9.05 (9.045 rounded half-up)",
                technique="boundary values", priority="high")
INJECTION = case("pet name with SQL", "security", {"pet_name": "'; DROP TABLE pets;--"},
                 "a pet named '; DROP TABLE pets;--", "the name is stored literally; no SQL runs",
                 technique="security")
ANSWER = {"cases": [UNICODE, CONCURRENT, ROUNDING, INJECTION]}


def ok(payload: dict | str = ANSWER, model: str = REPORTED_MODEL) -> Reply:
    return Reply(200, completion(payload if isinstance(payload, str) else json.dumps(payload), model=model))


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TESTPLAN_MODEL", "TESTPLAN_BASE_URL", "OPENAI_BASE_URL", "TESTPLAN_API_KEY", "OPENAI_API_KEY",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    llm._JSON_OBJECT_ONLY.clear()


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        fake.default = ok()
        yield fake


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS, encoding="utf-8")
    return tmp_path


def plan_file(project: Path, req: str = "PAY-1") -> Path:
    return project / "plans" / f"{req}.yaml"


def enumerate_llm(project: Path, server_url: str, *extra: str, req: str = "PAY-1", timeout: str = "0.5",
                  retries: str = "0", model: str | None = "gpt-test") -> int:
    argv = ["enumerate", req, "--llm", "--base-url", server_url, "--timeout", timeout, "--max-retries", retries,
            "-C", str(project), *extra]
    if model is not None:
        argv += ["--model", model]
    return main(argv)


def load(project: Path, req: str = "PAY-1"):
    proj = load_project(load_config(project))
    return proj.requirements.get(req), proj.plans.files[req].plan


def llm_cases(plan):
    return [c for c in plan.cases if c.origin.startswith("llm:")]


# --- the request ------------------------------------------------------------------------------------

@pytest.mark.verifies("ENUM-2.1")
def test_request_body_is_structured_output_with_the_requirement(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url, "--seed", "42") == 0
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    body = request.body
    assert body["model"] == "gpt-test"
    assert body["temperature"] == 0
    assert body["seed"] == 42
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["cases"]
    item = schema["$defs"]["LLMCase"]
    assert set(item["required"]) == {"title", "kind", "technique", "inputs", "given", "expect", "outcome", "assumptions", "priority"}
    assert item["additionalProperties"] is False
    prompt = request.prompt
    assert "A household insuring 2 or more pets gets 10 % off each premium; 5 or more pets get 15 %." in prompt
    assert "- 1 pet pays the list premium" in prompt
    assert "- pets: type int, min 0, max 50" in prompt
    for technique in ("boundary values", "equivalence classes", "error conditions", "security", "state/ordering",
                      "resource limits"):
        assert technique in prompt
    assert "assumption" in prompt
    # the rule-based cases are listed, so the model adds rather than repeats
    assert '- [error] given: {pets: -1} | expect: {raises: "ValueError"}' in prompt
    assert request.headers["authorization"] == "Bearer unused"  # a loopback server needs no key


def test_cases_are_proposed_with_origin_and_provenance(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url) == 0
    requirement, plan = load(project)
    cases = llm_cases(plan)
    assert [c.title for c in cases] == [UNICODE["title"], CONCURRENT["title"], ROUNDING["title"], INJECTION["title"]]
    for c in cases:
        assert c.status.value == "proposed"
        assert c.origin == f"llm:{REPORTED_MODEL}"  # the model the server reported, not the one asked for
        assert set(c.provenance) == {"key", "model", "prompt_version", "cache_key", "technique", "inputs"}
        assert c.provenance["model"] == REPORTED_MODEL
        assert c.provenance["prompt_version"] == llm.PROMPT_VERSION
        assert re.fullmatch(r"llm:[0-9a-f]{16}", c.provenance["key"])
        assert (project / ".testplan" / "cache" / "llm" / f"{c.provenance['cache_key']}.json").is_file()
    # the technique the model named for each case is kept for the reviewer
    assert [c.provenance["technique"] for c in cases] == [
        "equivalence classes", "state/ordering", "boundary values", "security"]
    unicode_case = cases[0]
    assert unicode_case.given.endswith("(assuming: the list premium is 100.00)")
    assert unicode_case.kind.value == "edge"
    assert cases[1].priority.value == "high"
    assert cases[3].kind.value == "security"
    assert plan_state(requirement, plan) is PlanState.UNREVIEWED  # nothing was approved


# --- cache ------------------------------------------------------------------------------------------

@pytest.mark.verifies("ENUM-2.2")
def test_second_identical_run_makes_no_request_and_leaves_the_plan_byte_identical(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url) == 0
    first = plan_file(project).read_bytes()
    assert len(server.requests) == 1
    assert enumerate_llm(project, server.base_url) == 0
    assert len(server.requests) == 1
    assert plan_file(project).read_bytes() == first


def test_cache_is_keyed_by_model(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url) == 0
    assert enumerate_llm(project, server.base_url, model="other-model") == 0
    assert len(server.requests) == 2
    assert server.requests[1].body["model"] == "other-model"


def test_cache_is_keyed_by_seed(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url, "--seed", "7") == 0
    assert enumerate_llm(project, server.base_url, "--seed", "8") == 0
    assert [r.body["seed"] for r in server.requests] == [7, 8]  # another seed is another answer
    plan = plan_file(project).read_bytes()
    assert enumerate_llm(project, server.base_url, "--seed", "8") == 0
    assert enumerate_llm(project, server.base_url, "--seed", "7") == 0
    assert len(server.requests) == 2  # both answers are cached
    assert plan_file(project).read_bytes() == plan
    records = [json.loads(f.read_text(encoding="utf-8"))
               for f in sorted((project / ".testplan" / "cache" / "llm").iterdir())]
    assert sorted(r["seed"] for r in records) == [7, 8]


def test_cache_key_is_a_sha256_over_model_messages_schema_version_and_seed() -> None:
    messages = [{"role": "user", "content": "PAY-1"}]
    key = llm.cache_key("m", messages, seed=7)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert llm.cache_key("m", messages, seed=7) == key
    others = {
        llm.cache_key("m", messages, seed=8),
        llm.cache_key("n", messages, seed=7),
        llm.cache_key("m", [{"role": "user", "content": "PAY-2"}], seed=7),
        llm.cache_key("m", messages, seed=7, schema={"type": "object"}),
    }
    assert len(others) == 4 and key not in others


def test_no_cache_asks_again_and_adds_nothing_twice(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url) == 0
    first = plan_file(project).read_bytes()
    assert enumerate_llm(project, server.base_url, "--no-cache") == 0
    assert len(server.requests) == 2
    assert plan_file(project).read_bytes() == first


def test_offline_uses_only_the_cache(project: Path, server: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    dead = f"http://127.0.0.1:{refused_port()}/v1"
    # nothing cached yet: rules only, a warning, no request
    assert enumerate_llm(project, dead, "--offline") == 0
    assert "no cached LLM answer for PAY-1 (model gpt-test); rules only" in capsys.readouterr().err
    _, plan = load(project)
    assert llm_cases(plan) == [] and plan.cases
    plan_file(project).unlink()
    # cache filled by an online run, then an offline run against a dead server gives the same plan
    assert enumerate_llm(project, server.base_url) == 0
    online = plan_file(project).read_bytes()
    plan_file(project).unlink()
    assert enumerate_llm(project, dead, "--offline") == 0
    assert plan_file(project).read_bytes() == online
    assert len(server.requests) == 1


def test_offline_needs_no_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(project)
    settings = llm.settings_from(config, model="gpt-4o-mini", offline=True)
    assert settings.api_key is None and settings.base_url == llm.DEFAULT_BASE_URL
    with pytest.raises(InputError, match=r"^--offline uses only cached answers, --no-cache ignores them; drop one of the two$"):
        llm.settings_from(config, model="m", offline=True, use_cache=False)


def test_cache_is_written_atomically_as_json(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url) == 0
    files = list((project / ".testplan" / "cache" / "llm").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"  # no temp files left behind
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert record["model"] == REPORTED_MODEL and record["model_requested"] == "gpt-test"
    assert record["prompt_version"] == llm.PROMPT_VERSION
    assert [c["title"] for c in record["response"]["cases"]] == [c["title"] for c in ANSWER["cases"]]


# --- merge ------------------------------------------------------------------------------------------

EXISTING_PLAN = """\
requirement: PAY-1
cases:
  # written by a person; must survive untouched
  - id: PAY-1.7
    title: five pets
    kind: boundary
    given: pets = 5
    expect: each premium is 85 % of the list premium
    origin: human
    status: approved
"""


def test_near_duplicates_are_dropped_and_existing_cases_kept(project: Path, server: FakeOpenAI) -> None:
    (project / "plans").mkdir()
    plan_file(project).write_text(EXISTING_PLAN, encoding="utf-8")
    server.default = ok({"cases": [
        case("five pets again", "boundary", {"pets": "5.0"}, "a household of five pets", "85 %"),  # = PAY-1.7
        case("minus one", "error", {"pets": "-1"}, "negative count", "ValueError"),  # = a rules case
        case("None", "error", {"pets": "null"}, "no count", "TypeError"),  # = a rules case
        case("five pets as error", "error", {"pets": "5"}, "pets 5", "raises"),  # other kind: kept
        UNICODE,
        UNICODE,  # the model repeating itself
    ]})
    assert enumerate_llm(project, server.base_url) == 0
    text = plan_file(project).read_text(encoding="utf-8")
    assert text.startswith(EXISTING_PLAN)  # not changed, renumbered, dropped or reformatted
    _, plan = load(project)
    assert [c.title for c in llm_cases(plan)] == ["five pets as error", UNICODE["title"]]
    assert plan.case("PAY-1.7").status.value == "approved"
    assert min(int(c.id.rsplit(".", 1)[1]) for c in plan.cases if c.origin != "human") == 8


def test_at_most_max_cases_of_one_answer_are_considered(project: Path, server: FakeOpenAI,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert llm.MAX_CASES == 15
    rule_duplicate = case("minus one", "error", {"pets": "-1"}, "negative count", "ValueError")
    many = [case(f"owner {n}", "edge", {"owner": f"Owner {n}"}) for n in range(1, 17)]
    server.default = ok({"cases": [rule_duplicate, *many]})  # 17 cases
    assert enumerate_llm(project, server.base_url) == 0
    warning = ("testplan: warning: the model fake-model-2026 proposed 17 cases for PAY-1; "
               "only the first 15 were considered")
    assert _stderr_line(capsys) == warning
    _, plan = load(project)
    # the first 15 of the answer, minus the duplicate of a rule-based case: owners 1 to 14
    assert [c.title for c in llm_cases(plan)] == [f"owner {n}" for n in range(1, 15)]
    first = plan_file(project).read_bytes()
    # the cap is on the answer, not on the new cases: a re-run does not add owners 15 and 16
    assert enumerate_llm(project, server.base_url) == 0
    assert _stderr_line(capsys) == warning
    assert len(server.requests) == 1
    assert plan_file(project).read_bytes() == first


def test_exactly_max_cases_is_no_warning(project: Path, server: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    server.default = ok({"cases": [case(f"owner {n}", "edge", {"owner": f"Owner {n}"}) for n in range(1, 16)]})
    assert enumerate_llm(project, server.base_url) == 0
    assert capsys.readouterr().err == ""
    _, plan = load(project)
    assert len(llm_cases(plan)) == 15


def test_proposal_keys_are_stable_and_normalized() -> None:
    from testplan.model import CaseKind

    a = llm.llm_key(CaseKind.edge, "A  household\nof 2 pets", "Premium 90.00.")
    b = llm.llm_key(CaseKind.edge, "a household of 2 pets", "premium 90.00")
    assert a == b and re.fullmatch(r"llm:[0-9a-f]{16}", a)
    assert llm.llm_key(CaseKind.error, "a household of 2 pets", "premium 90.00") != a
    # the key is written into plans (a rejected case is known by it): pinned, non-ASCII text included
    assert llm.llm_key(CaseKind.edge, "name = 'Zoë Ørsted'", "accepted as written: Zoë Ørsted") == "llm:b66efc4117bca72a"
    assert llm.norm_value("'abc'") == llm.norm_value("abc")
    assert llm.norm_value("100.00") == llm.norm_value("100") == "100"
    assert llm.norm_value("True") == "true" and llm.norm_value("null") == "none"
    assert llm.given_signature("pets = 2, premium = 100.00") == llm.signature([("pets", "2"), ("premium", "100")])
    assert llm.given_signature("a household with 2 pets") is None


# --- review -----------------------------------------------------------------------------------------

def test_reviewer_approves_and_rejects_llm_cases_and_rejected_ones_stay_rejected(project: Path, server: FakeOpenAI) -> None:
    assert enumerate_llm(project, server.base_url) == 0
    requirement, plan = load(project)
    ids = {c.title: c.id for c in llm_cases(plan)}
    unicode_id, concurrent_id, rounding_id, injection_id = (ids[c["title"]] for c in ANSWER["cases"])
    assert main(["approve", "PAY-1", "--case", unicode_id, "--case", rounding_id, "--by", "Jessie Young", "-C", str(project)]) == 0
    assert main(["reject", "PAY-1", "--case", concurrent_id, "--reason", "pets are added one at a time by design",
                 "-C", str(project)]) == 0
    assert main(["reject", "PAY-1", "--case", injection_id, "--reason", "names never reach SQL", "-C", str(project)]) == 0
    requirement, plan = load(project)
    assert plan_state(requirement, plan) is PlanState.APPROVED
    # the fingerprint covers the approved LLM cases: editing one makes the plan SUSPECT
    text = plan_file(project).read_text(encoding="utf-8")
    edited = text.replace(ROUNDING["expect"], "each premium is 9.04")
    assert edited != text
    plan_file(project).write_text(edited, encoding="utf-8")
    requirement, plan = load(project)
    assert plan_state(requirement, plan) is PlanState.SUSPECT
    plan_file(project).write_text(text, encoding="utf-8")

    # a later run: the verdicts are in the prompt, so the model is asked again ...
    reworded = case("concurrent additions", "edge", {"pets": "4", "added_concurrently": "2"},
                    "two requests add pets at the same moment", "5 pets in the end")
    server.default = ok({"cases": [CONCURRENT, INJECTION, reworded, UNICODE]})
    assert enumerate_llm(project, server.base_url) == 0
    assert len(server.requests) == 2
    prompt = server.requests[1].prompt
    assert "Cases a reviewer rejected (do not propose them or variants of them):" in prompt
    assert "rejected because: pets are added one at a time by design" in prompt
    assert "rejected because: names never reach SQL" in prompt
    assert f"given: {UNICODE['given']} (assuming: the list premium is 100.00)" in prompt.split("Cases a reviewer rejected")[0]
    # ... and nothing is resurrected: not the same cases, not a rewording with the same inputs
    after = plan_file(project).read_text(encoding="utf-8")
    assert after == text
    requirement, plan = load(project)
    assert plan.case(concurrent_id).status.value == "rejected"
    assert plan.case(injection_id).status.value == "rejected"
    assert plan_state(requirement, plan) is PlanState.APPROVED


# --- failures ---------------------------------------------------------------------------------------

def _stderr_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture
def planned(project: Path, server: FakeOpenAI) -> bytes:
    """A project whose PAY-1 plan already exists (rules only); failures must leave it byte-identical."""
    assert main(["enumerate", "PAY-1", "-C", str(project)]) == 0
    return plan_file(project).read_bytes()


FAILURES = {
    "refusal": (
        [Reply(200, completion(None, refusal="I can't help with insurance pricing."))], 1, 4,
        "testplan: provider: the model gpt-test refused to propose cases for PAY-1: \"I can't help with insurance "
        "pricing.\"; reword the requirement or use another model"),
    "invalid-json": (
        [ok('{"cases": [{"title": "x"'), ok("sure! here are cases")], 2, 4,
        "testplan: provider: the model gpt-test answered PAY-1 with invalid JSON twice (not valid JSON: expected "
        "value at line 1 column 1); rerun, or use a model or server with structured-output support"),
    "schema-violation": (
        [ok({"cases": [{**UNICODE, "kind": "cosmic"}]}), ok({"cases": [{"title": "only a title"}]})], 2, 4,
        "testplan: provider: the model gpt-test answered PAY-1 with JSON that does not match the case schema twice "
        "(cases.0.kind: Field required and 7 more errors); rerun, or use a model or server with structured-output support"),
    "length": (
        [Reply(200, completion('{"cases": [', finish_reason="length"))], 1, 4,
        "testplan: provider: the model gpt-test's answer for PAY-1 was cut off at its length limit; use a model with "
        "a larger output limit, or split the requirement"),
    "401": (
        [error(401, "Incorrect API key provided: sk-bad.", code="invalid_api_key")], 1, 2,
        "testplan: bad-input: the LLM server at {url} rejected the API key (HTTP 401: Incorrect API key provided: "
        "sk-bad.); set TESTPLAN_API_KEY (or OPENAI_API_KEY) to a valid key"),
    "400": (
        [error(400, "model 'gpt-test' does not support temperature 0")], 1, 2,
        "testplan: bad-input: the LLM server at {url} rejected the request (HTTP 400: model 'gpt-test' does not "
        "support temperature 0); check --model and --base-url"),
    "404": (
        [error(404, "model 'gpt-test' not found", type_="not_found_error")], 1, 2,
        "testplan: bad-input: the LLM server at {url} answered HTTP 404: model 'gpt-test' not found; check "
        "--base-url (it usually ends in /v1) and that the model 'gpt-test' exists there"),
    "429": (
        [error(429, "Rate limit reached", type_="rate_limit", headers={"retry-after-ms": "5"})] * 2, 2, 4,
        "testplan: provider: the LLM server at {url} is rate-limiting requests (HTTP 429: Rate limit reached) after "
        "1 retry; wait and rerun, or raise --max-retries"),
    "500": (
        [error(500, "The server had an error", type_="server_error", headers={"retry-after-ms": "5"})] * 2, 2, 4,
        "testplan: provider: the LLM server at {url} failed (HTTP 500: The server had an error) after 1 retry; "
        "rerun later or check the server"),
    "502-html": (
        [Reply(502, "<html>Bad Gateway</html>", {"retry-after-ms": "5"})] * 2, 2, 4,
        "testplan: provider: the LLM server at {url} failed (HTTP 502: <html>Bad Gateway</html>) after 1 retry; "
        "rerun later or check the server"),
    "not-json": (
        [Reply(200, "<html>welcome to nginx</html>")], 1, 4,
        "testplan: provider: the LLM server at {url} answered with a body that is not an OpenAI chat completion; "
        "check that --base-url points at an OpenAI-compatible API (usually ending in /v1)"),
    "timeout": (
        [Reply(200, completion(json.dumps(ANSWER)), delay=5)], 1, 4,
        "testplan: provider: LLM request to {url} timed out after 0.3 s; raise --timeout or check the server"),
}


@pytest.mark.verifies("ENUM-2.3")
@pytest.mark.parametrize("name", list(FAILURES))
def test_failure_is_one_line_with_exit_code_and_the_plan_untouched(
        name: str, project: Path, server: FakeOpenAI, planned: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    replies, requests, code, message = FAILURES[name]
    server.reply(*replies)
    retries = "1" if name in ("429", "500", "502-html") else "0"
    timeout = "0.3" if name == "timeout" else "2"
    capsys.readouterr()
    assert enumerate_llm(project, server.base_url, timeout=timeout, retries=retries) == code
    assert _stderr_line(capsys) == message.format(url=server.base_url)
    assert len(server.requests) == requests
    assert plan_file(project).read_bytes() == planned
    assert not (project / ".testplan" / "cache" / "llm").exists()  # a failure caches nothing


def test_failure_before_any_plan_exists_creates_no_plan(project: Path, server: FakeOpenAI) -> None:
    server.reply(error(500, "boom"))
    assert enumerate_llm(project, server.base_url) == 4
    assert not plan_file(project).exists()


@pytest.mark.verifies("ENUM-2.3")
def test_connection_refused(project: Path, planned: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{refused_port()}/v1"
    capsys.readouterr()
    assert enumerate_llm(project, url) == 4
    assert _stderr_line(capsys) == (f"testplan: provider: cannot connect to the LLM server at {url} (connection refused); "
                                    f"start the server or fix --base-url")
    assert plan_file(project).read_bytes() == planned


@pytest.mark.verifies("ENUM-2.3")
def test_schema_violation_is_retried_once_with_the_error_in_the_prompt(project: Path, server: FakeOpenAI) -> None:
    server.reply(ok({"cases": [{**UNICODE, "kind": "cosmic"}]}))
    assert enumerate_llm(project, server.base_url) == 0
    assert len(server.requests) == 2
    retry = server.requests[1].body["messages"]
    assert retry[:2] == server.requests[0].body["messages"]
    assert retry[2]["role"] == "user"
    assert retry[2]["content"].startswith("Your previous answer was rejected: cases.0.kind: Input should be 'nominal', "
                                          "'boundary', 'edge', 'error' or 'security'.")
    _, plan = load(project)
    assert len(llm_cases(plan)) == 4
    # the cache is keyed by the first request, so a re-run is a hit
    assert enumerate_llm(project, server.base_url) == 0
    assert len(server.requests) == 2


def test_429_honours_retry_after_then_succeeds(project: Path, server: FakeOpenAI) -> None:
    server.reply(error(429, "Rate limit reached", type_="rate_limit", headers={"retry-after": "0"}))
    assert enumerate_llm(project, server.base_url, retries="1") == 0
    assert len(server.requests) == 2
    _, plan = load(project)
    assert len(llm_cases(plan)) == 4


def test_server_without_json_schema_falls_back_to_json_object(project: Path, server: FakeOpenAI) -> None:
    server.reply(error(400, "response_format type 'json_schema' is not supported", param="response_format"),
                 ok("```json\n" + json.dumps(ANSWER) + "\n```"))
    assert main(["enumerate", "PAY-1", "PAY-2", "--llm", "--model", "llama3.1:8b", "--base-url", server.base_url,
                 "--timeout", "2", "--max-retries", "0", "-C", str(project)]) == 0
    bodies = [r.body for r in server.requests]
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema", "json_object", "json_object"]
    fallback = bodies[1]
    assert fallback["temperature"] == 0 and fallback["seed"] == 7
    assert '"LLMCase"' in fallback["messages"][0]["content"]  # the schema travels in the prompt
    _, plan = load(project)
    assert len(llm_cases(plan)) == 4


def test_fenced_answer_to_json_schema_keeps_the_model_the_server_reported(project: Path, server: FakeOpenAI) -> None:
    """The SDK's parse fails on a fenced answer; the unwrapped cases still name the served model."""
    server.reply(ok("```json\n" + json.dumps(ANSWER) + "\n```", model="served-model-b"))
    assert enumerate_llm(project, server.base_url) == 0
    assert len(server.requests) == 1  # unwrapped, not retried
    body = server.requests[0].body
    assert body["model"] == "gpt-test" and body["response_format"]["type"] == "json_schema"
    _, plan = load(project)
    cases = llm_cases(plan)
    assert [c.title for c in cases] == [c["title"] for c in ANSWER["cases"]]
    assert {c.origin for c in cases} == {"llm:served-model-b"}
    assert {c.provenance["model"] for c in cases} == {"served-model-b"}
    (record_file,) = (project / ".testplan" / "cache" / "llm").iterdir()
    record = json.loads(record_file.read_text(encoding="utf-8"))
    assert (record["model"], record["model_requested"]) == ("served-model-b", "gpt-test")


def test_all_requests_must_succeed_before_any_plan_is_written(project: Path, server: FakeOpenAI) -> None:
    """With several requirements, a failure on the last must leave every plan untouched."""
    server.reply(ok(), error(500, "boom"))
    assert main(["enumerate", "PAY-1", "PAY-2", "--llm", "--model", "m", "--base-url", server.base_url,
                 "--timeout", "2", "--max-retries", "0", "-C", str(project)]) == 4
    assert not plan_file(project).exists()
    assert not plan_file(project, "PAY-2").exists()


# --- settings ---------------------------------------------------------------------------------------

def test_missing_model_is_a_one_line_usage_error(project: Path, server: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    assert enumerate_llm(project, server.base_url, model=None) == 2
    assert _stderr_line(capsys) == "testplan: bad-input: --model: no model set; pass --model or set TESTPLAN_MODEL"
    assert server.requests == []


def test_missing_key_for_a_remote_url_is_a_one_line_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enumerate", "PAY-1", "--llm", "--model", "gpt-4o-mini", "-C", str(project)]) == 2
    assert _stderr_line(capsys) == ("testplan: bad-input: no API key for https://api.openai.com/v1; set TESTPLAN_API_KEY "
                                    "(or OPENAI_API_KEY), or point --base-url at a local server")
    assert not plan_file(project).exists()


def test_environment_layering(project: Path, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTPLAN_MODEL", "env-model")
    monkeypatch.setenv("TESTPLAN_BASE_URL", "")  # empty counts as unset ...
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)  # ... so this one is used
    monkeypatch.setenv("TESTPLAN_API_KEY", "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert main(["enumerate", "PAY-1", "--llm", "--timeout", "2", "-C", str(project)]) == 0
    assert server.requests[-1].body["model"] == "env-model"
    assert server.requests[-1].headers["authorization"] == "Bearer sk-openai"
    monkeypatch.setenv("TESTPLAN_API_KEY", "sk-testplan")  # beats OPENAI_API_KEY
    assert main(["enumerate", "PAY-1", "--llm", "--model", "flag-model", "--no-cache", "--timeout", "2", "-C", str(project)]) == 0
    assert server.requests[-1].body["model"] == "flag-model"  # the flag beats TESTPLAN_MODEL
    assert server.requests[-1].headers["authorization"] == "Bearer sk-testplan"


def test_pyproject_llm_table_is_the_last_layer(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + """
[tool.testplan.llm]
model = "qwen2.5:7b"
base_url = "http://localhost:11434/v1"
timeout = 12.5
max_retries = 5
seed = 3
""", encoding="utf-8")
    config = load_config(project)
    settings = llm.settings_from(config)
    assert (settings.model, settings.base_url, settings.timeout, settings.max_retries, settings.seed) == (
        "qwen2.5:7b", "http://localhost:11434/v1", 12.5, 5, 3)
    assert settings.api_key == "unused" and settings.use_cache and not settings.offline
    assert settings.cache_dir == project / ".testplan" / "cache"
    monkeypatch.setenv("TESTPLAN_MODEL", "llama3.1")
    monkeypatch.setenv("TESTPLAN_BASE_URL", "http://127.0.0.1:8080/v1/")
    settings = llm.settings_from(config, timeout=1, max_retries=0, seed=9)
    assert (settings.model, settings.base_url, settings.timeout, settings.max_retries, settings.seed) == (
        "llama3.1", "http://127.0.0.1:8080/v1", 1.0, 0, 9)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    assert "sk-secret" not in repr(llm.settings_from(config))  # the key never shows in a repr or traceback


@pytest.mark.parametrize("url,local", [
    ("http://localhost:11434/v1", True), ("http://127.0.0.1:8000/v1", True), ("http://127.5.6.7/v1", True),
    ("http://[::1]:8080/v1", True), ("https://api.openai.com/v1", False), ("http://gpu-box:8000/v1", False),
])
def test_which_urls_need_no_key(url: str, local: bool) -> None:
    assert llm.is_local(url) is local


@pytest.mark.parametrize("flags,message", [
    ({"base_url": "localhost:11434"}, "--base-url: 'localhost:11434' is not an http(s) URL; use e.g. http://localhost:11434/v1"),
    ({"timeout": 0}, "--timeout: 0 is not a positive number of seconds; pass e.g. --timeout 60"),
    ({"max_retries": -1}, "--max-retries: -1 is negative; pass 0 or more"),
])
def test_bad_flag_values(project: Path, flags: dict, message: str) -> None:
    with pytest.raises(InputError, match="^" + re.escape(message) + "$"):
        llm.settings_from(load_config(project), model="m", **{"base_url": "http://localhost:1/v1", **flags})


def test_timeout_with_retries_says_how_often_it_tried(project: Path, server: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    server.default = Reply(200, completion(json.dumps(ANSWER)), delay=5)
    assert enumerate_llm(project, server.base_url, timeout="0.2", retries="1") == 4
    assert _stderr_line(capsys) == (f"testplan: provider: LLM request to {server.base_url} timed out after 0.2 s on each "
                                    f"of 2 attempts; raise --timeout or check the server")
    assert len(server.requests) == 2


# --- structured cases (issue 12) ------------------------------------------------------------------

@pytest.mark.verifies("ENUM-2")
def test_structured_outcomes_become_structured_cases(project: Path, server: FakeOpenAI) -> None:
    returns = case("two pets, list premium 100", "boundary", {"pets": "2", "list_premium": "Decimal('100.00')"},
                   "2 pets, list premium 100.00", "each premium is 90.00",
                   outcome={"kind": "returns", "value": "Decimal('90.00')", "exception": "", "match": ""})
    raises = case("a negative count", "error", {"pets": "-3", "list_premium": "10"}, "pets = -3",
                  "ValueError('pet count must be >= 0')",
                  outcome={"kind": "raises", "value": "", "exception": "ValueError", "match": "pet count"})
    not_code = case("a household of cats", "edge", {"household": "three cats"}, "a household of three cats",
                    "the discount applies", outcome={"kind": "returns", "value": "the discounted price", "exception": "", "match": ""})
    server.reply(ok({"cases": [returns, raises, not_code]}))
    assert enumerate_llm(project, server.base_url) == 0
    _, plan = load(project)
    first, second, third = llm_cases(plan)
    assert (first.given, first.expect.returns) == ({"pets": 2, "list_premium": {"py": "Decimal('100.00')"}},
                                                   {"py": "Decimal('90.00')"})
    assert (second.given, second.expect.raises, second.expect.match) == ({"pets": -3, "list_premium": 10}, "ValueError", "pet count")
    # 'three cats' and 'the discounted price' are not Python expressions: the case stays prose
    assert (third.given, third.expect) == ("a household of three cats", "the discount applies")
    assert all(c.status.value == "proposed" for c in (first, second, third))
    text = plan_file(project).read_text()
    assert "    given: {pets: 2, list_premium: {py: Decimal('100.00')}}\n    expect: {returns: {py: Decimal('90.00')}}\n" in text
    assert "outcome" in llm.SYSTEM_PROMPT and "kind: unstated" in llm.SYSTEM_PROMPT
