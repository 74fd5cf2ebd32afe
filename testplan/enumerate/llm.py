"""The LLM enumerator: cases a person would think of from the requirement's meaning.

Any OpenAI-compatible server works (OpenAI, vLLM, llama.cpp's server, Ollama): the request is
``client.chat.completions.parse(response_format=<pydantic model>, temperature=0, seed=...)``,
i.e. structured output with a strict JSON schema. A server that rejects ``json_schema`` gets the
same request again with ``{"type": "json_object"}`` and the schema in the prompt, and the answer
is validated here with pydantic.

What comes back is only a proposal: every case is ``status: proposed`` with ``origin:
llm:<model the server reported>`` (also when the answer had to be unwrapped from a Markdown code
fence) and a provenance record (model reported, prompt version, cache key, the technique the
model says found the case), so a reviewer can tell it apart and approve or reject it. Only the
first :data:`MAX_CASES` cases of an answer are considered, as the prompt asks; the rest are
ignored with a warning. Nothing here reads or writes the plan file; the CLI merges the proposals
(see :func:`testplan.enumerate.merge`) and saves only when every request succeeded.

Answers are cached in ``.testplan/cache/llm/<key>.json``, where the key is the sha256 of (model
requested, messages, response schema, prompt version, seed): changing any of them, ``--seed``
included, asks the server again. The prompt lists the plan's cases except this enumerator's own
still-proposed ones, so re-running with nothing changed hits the cache and makes no request; a reviewer's
verdicts (approved or rejected, with the reason) are part of the prompt, so the model hears
about them on the next run.

Failures are one-line errors: configuration problems (no model, no key, HTTP 400/401/403/404)
are :class:`InputError` (exit 2); provider failures (refusal, invalid JSON or schema violation
after one corrective retry, length cut-off, 429/5xx after the SDK's retries, timeout,
connection refused) are :class:`ProviderError` (exit 4).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import pyast
from ..config import Config, env
from ..errors import InputError, ProviderError
from ..model import (EXCEPTION_PATTERN, PARAM_PATTERN, Case, CaseKind, CaseStatus, InputSpec, Plan, Priority,
                     Requirement, flow)
from . import Proposal
from . import rules

PROMPT_VERSION = "testplan-llm-2"
CACHE_FORMAT = 1
DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_CASES = 15
LOCAL_KEY = "unused"  # local servers ignore the key, but the SDK wants one


# --- the structured output ----------------------------------------------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputValue(_Out):
    """One concrete input of a case: the requirement's input name (or a descriptive one) and its value."""

    name: str
    value: str


class LLMOutcome(_Out):
    """The checkable outcome: what the call returns, or what it raises."""

    kind: Literal["returns", "raises", "unstated"]
    value: str  # returns: the value as a Python expression; else ""
    exception: str  # raises: the exception class name; else ""
    match: str  # raises: a regular expression its message matches; else ""


class LLMCase(_Out):
    title: str
    kind: Literal["nominal", "boundary", "edge", "error", "security"]
    technique: Literal[
        "boundary values", "equivalence classes", "error conditions", "security", "state/ordering", "resource limits"
    ]
    inputs: list[InputValue]
    given: str
    expect: str
    outcome: LLMOutcome
    assumptions: list[str]
    priority: Literal["low", "medium", "high"]


class LLMCases(_Out):
    """What the model must answer: a list of new test cases."""

    cases: list[LLMCase]


R = TypeVar("R", bound=BaseModel)


def response_schema(response: type[BaseModel] = LLMCases) -> dict[str, Any]:
    return response.model_json_schema()


# --- settings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LLMSettings:
    model: str
    base_url: str
    api_key: str | None = field(repr=False)
    timeout: float
    max_retries: int
    seed: int
    use_cache: bool
    offline: bool
    cache_dir: Path

    @property
    def llm_cache_dir(self) -> Path:
        return self.cache_dir / "llm"


def is_local(base_url: str) -> bool:
    """Whether a base URL points at this machine (no API key needed)."""
    host = (urlparse(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _given(value: str | None) -> str | None:
    """Empty strings count as unset, for flags as for environment variables."""
    return value if value else None


def settings_from(config: Config, *, model: str | None = None, base_url: str | None = None,
                  timeout: float | None = None, max_retries: int | None = None, seed: int | None = None,
                  use_cache: bool = True, offline: bool = False) -> LLMSettings:
    """Provider settings, layered: flags > environment > ``[tool.testplan.llm]`` > defaults."""
    chosen_model = _given(model) or env("TESTPLAN_MODEL") or _given(config.llm.model)
    if chosen_model is None:
        raise InputError("--model: no model set; pass --model or set TESTPLAN_MODEL")
    url = (_given(base_url) or env("TESTPLAN_BASE_URL") or env("OPENAI_BASE_URL")
           or _given(config.llm.base_url) or DEFAULT_BASE_URL)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"--base-url: '{url}' is not an http(s) URL; use e.g. http://localhost:11434/v1")
    url = url.rstrip("/")
    chosen_timeout = timeout if timeout is not None else config.llm.timeout
    if not chosen_timeout > 0:
        raise InputError(f"--timeout: {chosen_timeout:g} is not a positive number of seconds; pass e.g. --timeout 60")
    retries = max_retries if max_retries is not None else config.llm.max_retries
    if retries < 0:
        raise InputError(f"--max-retries: {retries} is negative; pass 0 or more")
    if offline and not use_cache:
        raise InputError("--offline uses only cached answers, --no-cache ignores them; drop one of the two")
    key = env("TESTPLAN_API_KEY") or env("OPENAI_API_KEY")
    if key is None and is_local(url):
        key = LOCAL_KEY
    if key is None and not offline:
        raise InputError(f"no API key for {url}; set TESTPLAN_API_KEY (or OPENAI_API_KEY), or point --base-url at a local server")
    return LLMSettings(
        model=chosen_model,
        base_url=url,
        api_key=key,
        timeout=float(chosen_timeout),
        max_retries=int(retries),
        seed=int(seed if seed is not None else config.llm.seed),
        use_cache=use_cache,
        offline=offline,
        cache_dir=config.state_dir / "cache",
    )


# --- the prompt ---------------------------------------------------------------------------------

SYSTEM_PROMPT = """\
You are a senior test designer. You propose test cases for one software requirement, to be \
reviewed by a person before anyone writes a test. Work through these techniques explicitly:
- boundary values: the edges of every range and size, just inside and just outside;
- equivalence classes: one representative of each class of input that should behave alike;
- error conditions: invalid, missing or malformed input, failing dependencies, partial failure;
- security: injection, untrusted input, authorization, leaking secrets or personal data;
- state/ordering: repeated calls, idempotency, order of operations, concurrent use;
- resource limits: very large inputs, many items, slow or exhausted resources.
Also think about what the requirement's meaning implies: unicode text, currency and decimal \
rounding, time zones, empty collections, duplicates.
Rules:
- Add to the plan, never repeat it: do not propose a case that is already planned (same \
situation and outcome, even in other words), and never propose a case a reviewer rejected.
- Every case is concrete: `inputs` lists the exact input values (use the requirement's input \
names where they apply), `given` is the exact situation, `expect` is the exact, checkable \
outcome (a value, an error type and message, or a state). No placeholders.
- Make cases structured where you can: each `inputs` value is a Python literal or expression \
(`2`, `'visa'`, `None`, `Decimal('90.00')`) named after the callable's parameter, and `outcome` \
says what the call returns (`kind: returns`, `value` a Python expression) or raises (`kind: \
raises`, `exception` the class name, `match` a regular expression of its message, or ""); use \
`kind: unstated` with empty strings when the requirement does not decide the outcome.
- When the requirement does not settle something a case depends on, state the assumption in \
`assumptions`; otherwise leave `assumptions` empty.
- `kind` is nominal, boundary, edge, error or security; `technique` names the technique that \
found the case; `priority` is high when a failure would hurt users, money or data.
- Answer with one JSON object that matches the response schema, and nothing else."""


def _spec_text(spec: InputSpec) -> str:
    parts = [f"type {spec.type}"]
    for name in ("min", "max", "min_length", "max_length"):
        value = getattr(spec, name)
        if value is not None:
            parts.append(f"{name.replace('_', ' ')} {value}")
    if spec.values:
        parts.append("one of " + ", ".join(repr(v) for v in spec.values))
    if spec.description:
        parts.append(spec.description)
    return ", ".join(parts)


def as_text(value: Any) -> str:
    """A case's given/expect as one line: prose as written, structured values in YAML flow style."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    return flow(value)


def _case_line(kind: str, given: Any, expect: Any) -> str:
    return f"- [{kind}] given: {_fold(as_text(given)) or '-'} | expect: {_fold(as_text(expect)) or '-'}"


def prompt_cases(requirement: Requirement, plan: Plan) -> tuple[list[str], list[str]]:
    """(planned, rejected) lines for the prompt.

    Planned: the plan's cases (IDs and statuses left out, so review verdicts on them change
    nothing) followed by the rule-based proposals not yet in the plan, so the first run and a
    re-run after the rules were merged ask the same thing. This enumerator's own cases that
    are still ``proposed`` are left out: otherwise every run would change the next prompt.
    Rejected: every rejected case with its reason.
    """
    planned: list[str] = []
    rejected: list[str] = []
    keys = set()
    for case in plan.cases:
        if case.provenance and "key" in case.provenance:
            keys.add(case.provenance["key"])
        if case.status is CaseStatus.rejected:
            line = _case_line(case.kind.value, case.given, case.expect)
            rejected.append(f"{line} | rejected because: {_fold(case.reason or 'no reason given')}")
        elif case.origin.startswith("llm:") and case.status is CaseStatus.proposed:
            continue
        else:
            planned.append(_case_line(case.kind.value, case.given, case.expect))
    for proposal in rules.propose(requirement):
        if proposal.key not in keys:
            planned.append(_case_line(proposal.kind.value, proposal.given, proposal.expect))
    return planned, rejected


def build_messages(requirement: Requirement, plan: Plan) -> list[dict[str, str]]:
    lines = [f"Requirement {requirement.id}: {_fold(requirement.title)}", f"Statement: {_fold(requirement.statement)}"]
    lines.append(f"Risk: {requirement.risk.value}")
    if requirement.acceptance:
        lines.append("Acceptance criteria:")
        lines += [f"- {_fold(a)}" for a in requirement.acceptance]
    else:
        lines.append("Acceptance criteria: none written")
    if requirement.inputs:
        lines.append("Declared inputs:")
        lines += [f"- {name}: {_spec_text(spec)}" for name, spec in requirement.inputs.items()]
    else:
        lines.append("Declared inputs: none declared (name the inputs your cases use)")
    if requirement.code:
        lines.append("Implemented by: " + ", ".join(requirement.code))
    planned, rejected = prompt_cases(requirement, plan)
    lines.append("Cases already planned (do not repeat them):" if planned else "Cases already planned: none")
    lines += planned
    if rejected:
        lines.append("Cases a reviewer rejected (do not propose them or variants of them):")
        lines += rejected
    lines.append(f"Propose at most {MAX_CASES} new test cases, the most valuable first, as a JSON object.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def cache_key(model: str, messages: list[dict[str, str]], *, seed: int, schema: dict[str, Any] | None = None) -> str:
    """sha256 of (model, messages, schema, prompt version, seed): what decides the answer."""
    blob = json.dumps(
        {"model": model, "messages": messages, "schema": schema if schema is not None else response_schema(),
         "prompt_version": PROMPT_VERSION, "seed": seed},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- the cache ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer(Generic[R]):
    """A validated answer: the model the server reported, and the structured output (an
    :class:`LLMCases` for ``enumerate``; other commands ask with their own response model)."""

    model: str  # as reported by the server
    cases: R


class CacheRecord(BaseModel, Generic[R]):
    """One cached answer, ``.testplan/cache/llm/<key>.json`` (as :func:`write_cache` writes it)."""

    model_config = ConfigDict(extra="forbid")

    format: int
    prompt_version: str
    model_requested: str
    seed: int
    model: str
    response: R


def read_cache(settings: LLMSettings, key: str, response: type[BaseModel] = LLMCases) -> Answer | None:
    """The cached answer for ``key``; None when there is none, it is of another format, or it is
    unusable (one warning line): then the server is asked again and the record rewritten."""
    from ..store import read_state

    record = read_state(settings.llm_cache_dir / f"{key}.json", CacheRecord[response], "LLM answer cache")
    if record is None or record.format != CACHE_FORMAT or record.prompt_version != PROMPT_VERSION:
        return None
    return Answer(record.model, record.response)


def write_cache(settings: LLMSettings, key: str, answer: Answer) -> None:
    from ..store import atomic_write

    record = {
        "format": CACHE_FORMAT,
        "prompt_version": PROMPT_VERSION,
        "model_requested": settings.model,
        "seed": settings.seed,
        "model": answer.model,
        "response": answer.cases.model_dump(mode="json"),
    }
    atomic_write(settings.llm_cache_dir / f"{key}.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")


# --- asking -------------------------------------------------------------------------------------

class InvalidAnswer(ProviderError):
    """The model answered with invalid JSON, or JSON not of the schema, twice (exit 4 for
    ``enumerate``; ``propose-tests`` records it as a rejected candidate instead)."""


class _Retryable(Exception):
    """The answer was not valid JSON of the schema: worth one corrective retry."""

    def __init__(self, kind: Literal["json", "schema"], detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


# Servers that rejected json_schema during this process (per base URL and model): go straight
# to json_object for the other requirements of the same run.
_JSON_OBJECT_ONLY: set[tuple[str, str]] = set()


def ask(settings: LLMSettings, messages: list[dict[str, str]], requirement: Requirement,
        response: type[BaseModel] = LLMCases) -> Answer:
    """One structured-output request (plus the corrective retry / json_object fallback), answered
    with ``response`` (a pydantic model; ``LLMCases`` for ``enumerate``)."""
    import openai

    client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or LOCAL_KEY,
                           timeout=settings.timeout, max_retries=settings.max_retries)
    mode: Literal["json_schema", "json_object"] = (
        "json_object" if (settings.base_url, settings.model) in _JSON_OBJECT_ONLY else "json_schema")
    try:
        try:
            return _ask_with_retry(client, settings, messages, requirement, mode, response)
        except openai.BadRequestError as exc:
            if mode == "json_object" or not _rejects_json_schema(exc):
                raise
            _JSON_OBJECT_ONLY.add((settings.base_url, settings.model))
            return _ask_with_retry(client, settings, messages, requirement, "json_object", response)
    except (openai.OpenAIError, json.JSONDecodeError) as exc:
        raise _provider_error(exc, settings, requirement) from None
    finally:
        client.close()


def _ask_with_retry(client: Any, settings: LLMSettings, messages: list[dict[str, str]], requirement: Requirement,
                    mode: Literal["json_schema", "json_object"], response: type[BaseModel] = LLMCases) -> Answer:
    attempt_messages = _with_schema(messages, response) if mode == "json_object" else list(messages)
    try:
        return _attempt(client, settings, attempt_messages, requirement, mode, response)
    except _Retryable as first:
        correction = {
            "role": "user",
            "content": f"Your previous answer was rejected: {first.detail}. Answer again with only one JSON "
                       f"object that matches the response schema exactly.",
        }
        try:
            return _attempt(client, settings, attempt_messages + [correction], requirement, mode, response)
        except _Retryable as second:
            what = "invalid JSON" if second.kind == "json" else (
                "JSON that does not match the case schema" if response is LLMCases else "JSON that does not match the response schema")
            raise InvalidAnswer(
                f"the model {settings.model} answered {requirement.id} with {what} twice ({second.detail}); "
                f"rerun, or use a model or server with structured-output support") from None


def _with_schema(messages: list[dict[str, str]], response: type[BaseModel] = LLMCases) -> list[dict[str, str]]:
    """json_object mode: the server does not see the schema, so the prompt carries it."""
    schema = json.dumps(response_schema(response), separators=(",", ":"))
    system = dict(messages[0])
    system["content"] = f"{system['content']}\nThe response schema (JSON Schema) is:\n{schema}"
    return [system, *messages[1:]]


def _attempt(client: Any, settings: LLMSettings, messages: list[dict[str, str]], requirement: Requirement,
             mode: Literal["json_schema", "json_object"], response: type[BaseModel] = LLMCases) -> Answer:
    import openai

    if mode == "json_schema":
        # the raw response keeps the body when the SDK's own parse fails (a fenced answer), so
        # the model the server reported is still known
        raw = client.chat.completions.with_raw_response.parse(
            model=settings.model, messages=messages, response_format=response,
            temperature=0, seed=settings.seed)
        try:
            completion = raw.parse()
        except ValidationError as exc:
            salvaged = _salvage(exc, response)
            if salvaged is None:
                raise _retryable(exc) from None
            return Answer(_raw_model(raw) or settings.model, salvaged)
        except openai.LengthFinishReasonError:
            raise _cut_off(settings, requirement) from None
        except openai.ContentFilterFinishReasonError:
            raise _filtered(settings, requirement) from None
    else:
        completion = client.chat.completions.create(
            model=settings.model, messages=messages, response_format={"type": "json_object"},
            temperature=0, seed=settings.seed)
    if not completion.choices:
        raise ProviderError(f"the LLM server at {settings.base_url} answered {requirement.id} with no choices; "
                            f"check that --base-url points at an OpenAI-compatible chat API")
    choice = completion.choices[0]
    message = choice.message
    if message.refusal:
        raise ProviderError(f"the model {settings.model} refused to propose cases for {requirement.id}: "
                            f"\"{_one_line(message.refusal, 120)}\"; reword the requirement or use another model")
    if choice.finish_reason == "length":
        raise _cut_off(settings, requirement)
    if choice.finish_reason == "content_filter":
        raise _filtered(settings, requirement)
    reported = _given(completion.model) or settings.model
    parsed = getattr(message, "parsed", None)
    if isinstance(parsed, response):
        return Answer(reported, parsed)
    return Answer(reported, _validate_text(message.content or "", response))


def _raw_model(raw: Any) -> str | None:
    """The ``model`` a raw chat completion reports, or None."""
    try:
        body = raw.http_response.json()
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return _given(model) if isinstance(model, str) else None


_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def _validate_text(content: str, response: type[BaseModel] = LLMCases) -> Any:
    """Validate an answer's text; tolerate a Markdown code fence around the JSON."""
    if not content.strip():
        raise _Retryable("json", "the answer was empty")
    match = _FENCE.match(content)
    text = match.group(1) if match else content
    try:
        return response.model_validate_json(text)
    except ValidationError as exc:
        raise _retryable(exc) from None


def _salvage(exc: ValidationError, response: type[BaseModel] = LLMCases) -> Any:
    """The SDK's parse failed on JSON inside a code fence: unwrap it and validate again."""
    errors = exc.errors()
    if not errors or errors[0]["type"] != "json_invalid" or not isinstance(errors[0].get("input"), str):
        return None
    content = errors[0]["input"]
    match = _FENCE.match(content)
    if not match:
        return None
    try:
        return response.model_validate_json(match.group(1))
    except ValidationError:
        return None


def _retryable(exc: ValidationError) -> _Retryable:
    errors = exc.errors()
    first = errors[0] if errors else {"type": "", "msg": str(exc), "loc": ()}
    if first["type"] == "json_invalid":
        return _Retryable("json", _one_line(f"not valid JSON: {first['msg'].removeprefix('Invalid JSON: ')}", 160))
    where = ".".join(str(p) for p in first.get("loc", ())) or "the answer"
    more = f" and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''}" if len(errors) > 1 else ""
    return _Retryable("schema", _one_line(f"{where}: {first['msg']}{more}", 160))


def _cut_off(settings: LLMSettings, requirement: Requirement) -> ProviderError:
    return ProviderError(f"the model {settings.model}'s answer for {requirement.id} was cut off at its length limit; "
                         f"use a model with a larger output limit, or split the requirement")


def _filtered(settings: LLMSettings, requirement: Requirement) -> ProviderError:
    return ProviderError(f"the LLM server's content filter stopped the answer for {requirement.id}; "
                         f"reword the requirement or use another model")


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("error")
    elif isinstance(body, str) and body.strip():
        message = body
    if not message:
        message = re.sub(r"^Error code: \d+( - )?", "", str(getattr(exc, "message", "") or ""))
    return _one_line(str(message), 160) if message else ""


def _rejects_json_schema(exc: Any) -> bool:
    text = (_server_message(exc) + " " + str(getattr(exc, "param", "") or "")).lower()
    return any(word in text for word in ("response_format", "json_schema", "json schema", "structured output"))


def _retries(n: int) -> str:
    return f" after {n} retr{'y' if n == 1 else 'ies'}" if n else ""


def _provider_error(exc: Exception, settings: LLMSettings, requirement: Requirement) -> Exception:
    """Map an SDK exception to one line: InputError for configuration, ProviderError otherwise."""
    import openai

    url = settings.base_url
    if isinstance(exc, openai.APITimeoutError):
        n = settings.max_retries
        each = f" on each of {n + 1} attempts" if n else ""
        return ProviderError(f"LLM request to {url} timed out after {settings.timeout:g} s{each}; "
                             f"raise --timeout or check the server")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        why = "connection refused" if "refused" in str(cause).lower() else _one_line(str(cause or exc), 100)
        return ProviderError(f"cannot connect to the LLM server at {url} ({why}){_retries(settings.max_retries)}; "
                             f"start the server or fix --base-url")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        said = _server_message(exc)
        detail = f"HTTP {code}: {said}" if said else f"HTTP {code}"
        if code in (401, 403):
            return InputError(f"the LLM server at {url} rejected the API key ({detail}); "
                              f"set TESTPLAN_API_KEY (or OPENAI_API_KEY) to a valid key")
        if code == 404:
            return InputError(f"the LLM server at {url} answered {detail}; check --base-url (it usually ends in /v1) "
                              f"and that the model '{settings.model}' exists there")
        if code == 429:
            return ProviderError(f"the LLM server at {url} is rate-limiting requests ({detail}){_retries(settings.max_retries)}; "
                                 f"wait and rerun, or raise --max-retries")
        if code >= 500:
            return ProviderError(f"the LLM server at {url} failed ({detail}){_retries(settings.max_retries)}; "
                                 f"rerun later or check the server")
        if code in (408, 409):
            return ProviderError(f"the LLM server at {url} did not complete the request ({detail})"
                                 f"{_retries(settings.max_retries)}; rerun later")
        return InputError(f"the LLM server at {url} rejected the request ({detail}); check --model and --base-url")
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError)):
        return ProviderError(f"the LLM server at {url} answered with a body that is not an OpenAI chat completion; "
                             f"check that --base-url points at an OpenAI-compatible API (usually ending in /v1)")
    return ProviderError(f"the LLM request for {requirement.id} failed: {_one_line(f'{type(exc).__name__}: {exc}', 160)}")


# --- proposals ----------------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _one_line(text: str, limit: int) -> str:
    text = _fold(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def norm_text(text: str) -> str:
    return _fold(text).lower().rstrip(".")


def norm_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def norm_value(value: str) -> str:
    """A value as compared for near-duplicates: quotes, case of literals and number format ignored."""
    text = _fold(str(value))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false", "none", "null"):
        return {"null": "none"}.get(lowered, lowered)
    try:
        number = Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text
    if not number.is_finite():
        return lowered
    number = number.normalize()
    return format(number, "f") if number != 0 else "0"


Signature = frozenset[tuple[str, str]]


def signature(inputs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> Signature | None:
    pairs = frozenset((norm_name(n), norm_value(v)) for n, v in inputs if n.strip())
    return pairs or None


_PAIR = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:==|=|:)\s*(.+?)\s*$")


def given_signature(given: str) -> Signature | None:
    """Input values read back from a ``given`` like ``pets = 2, premium = 100.00`` (else None)."""
    parts = [p for p in re.split(r"\s*(?:,|;|\band\b)\s*", given.strip()) if p]
    pairs = []
    for part in parts:
        match = _PAIR.match(part)
        if match is None:
            return None
        pairs.append((match.group(1), match.group(2)))
    return signature(pairs)


def llm_key(kind: CaseKind, given: str, expect: str) -> str:
    blob = json.dumps([kind.value, norm_text(given), norm_text(expect)], ensure_ascii=False)
    return "llm:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _case_signatures(case: Case) -> list[Signature]:
    found = []
    by_given = given_signature(case.given) if isinstance(case.given, str) else signature(
        [(name, as_text(value)) for name, value in case.given.items()])
    if by_given:
        found.append(by_given)
    if case.provenance and "inputs" in case.provenance:
        try:
            pairs = [(str(n), str(v)) for n, v in json.loads(case.provenance["inputs"])]
        except (ValueError, TypeError):
            pairs = []
        by_inputs = signature(pairs)
        if by_inputs:
            found.append(by_inputs)
    return found


def origin_of(model: str) -> str:
    return "llm:" + (re.sub(r"\s+", "-", model.strip()) or "unknown")


def _case_value(expression: str) -> Any:
    """An LLM's value as a case value: a plain literal as itself, anything else as ``{py: ...}``
    (parsed, never evaluated); None when it is not a Python expression."""
    import ast

    try:
        tree = pyast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return None
    try:
        value = ast.literal_eval(tree)
    except ValueError:
        return {"py": expression.strip()}
    if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and value == value
                                                               and value not in (float("inf"), float("-inf"))):
        return {"value": value}  # boxed so that None is told apart from "not an expression"
    return {"py": expression.strip()}


def _structured_given(inputs: tuple[tuple[str, str], ...]) -> dict[str, Any] | None:
    given: dict[str, Any] = {}
    for name, expression in inputs:
        value = _case_value(expression)
        if value is None or not re.match(PARAM_PATTERN, name) or name in given:
            return None
        given[name] = value.get("value") if "value" in value else value
    return given or None


def _structured_expect(outcome: LLMOutcome) -> dict[str, Any] | None:
    if outcome.kind == "returns":
        value = _case_value(outcome.value) if outcome.value.strip() else None
        if value is None:
            return None
        return {"returns": value.get("value") if "value" in value else value}
    if outcome.kind == "raises" and re.match(EXCEPTION_PATTERN, outcome.exception.strip()):
        expect: dict[str, Any] = {"raises": outcome.exception.strip()}
        if outcome.match.strip():
            try:
                re.compile(outcome.match)
            except re.error:
                return expect
            expect["match"] = outcome.match
        return expect
    return None


def to_proposals(answer: Answer, requirement: Requirement, plan: Plan, key: str) -> list[Proposal]:
    """The answer's cases as proposals, minus near-duplicates of what the plan (or the rules) has.

    A near-duplicate has the same kind and the same input values (names and values
    normalized), or the same kind and the same ``given`` text, as an existing case (any status,
    so a rejected case stays rejected) or a rule-based proposal.
    """
    taken: set[tuple[str, Any]] = set()
    for case in plan.cases:
        taken.add((case.kind.value, norm_text(as_text(case.given))))
        for sig in _case_signatures(case):
            taken.add((case.kind.value, sig))
    for proposal in rules.propose(requirement):
        taken.add((proposal.kind.value, norm_text(as_text(proposal.given))))
        sig = signature(proposal.inputs)
        if sig:
            taken.add((proposal.kind.value, sig))
    origin = origin_of(answer.model)
    out: list[Proposal] = []
    # only the first MAX_CASES of the answer: capping the answer (not the new cases) keeps a
    # re-run from adding the ones after the cap once the first ones are in the plan
    for item in answer.cases.cases[:MAX_CASES]:
        kind = CaseKind(item.kind)
        inputs = tuple((_fold(i.name), _fold(i.value)) for i in item.inputs if i.name.strip())
        given = _fold(item.given)
        assumptions = [_fold(a) for a in item.assumptions if a.strip()]
        if assumptions:
            given = f"{given} (assuming: {'; '.join(assumptions)})" if given else f"assuming: {'; '.join(assumptions)}"
        if not given and inputs:
            given = ", ".join(f"{n} = {v}" for n, v in inputs)
        expect = _fold(item.expect)
        if not given or not expect:
            continue  # not a concrete case
        sig = signature(inputs)
        marks = [(kind.value, norm_text(_fold(item.given))), (kind.value, norm_text(given))]
        if sig:
            marks.append((kind.value, sig))
        if any(mark in taken for mark in marks):
            continue
        taken.update(marks)
        provenance = {"model": answer.model, "prompt_version": PROMPT_VERSION, "cache_key": key,
                      "technique": item.technique}
        if inputs:
            provenance["inputs"] = json.dumps([list(p) for p in inputs], ensure_ascii=False)
        structured_given = None if assumptions else _structured_given(inputs)
        structured_expect = _structured_expect(item.outcome)
        out.append(Proposal(
            key=llm_key(kind, given, expect),
            title=_fold(item.title) or f"{kind.value} case: {given}"[:80],
            kind=kind,
            given=structured_given if structured_given is not None else given,
            expect=structured_expect if structured_expect is not None else expect,
            origin=origin,
            priority=Priority(item.priority),
            provenance=provenance,
            inputs=inputs,
        ))
    return out


def propose(requirement: Requirement, plan: Plan, settings: LLMSettings) -> list[Proposal]:
    """Ask the model (or the cache) for new cases for ``requirement``; never touches the plan file."""
    messages = build_messages(requirement, plan)
    key = cache_key(settings.model, messages, seed=settings.seed)
    answer = read_cache(settings, key) if settings.use_cache else None
    if answer is None:
        if settings.offline:
            print(f"testplan: warning: no cached LLM answer for {requirement.id} (model {settings.model}); "
                  f"rules only. Run without --offline to ask the server", file=sys.stderr)
            return []
        answer = ask(settings, messages, requirement)
        write_cache(settings, key, answer)
    if len(answer.cases.cases) > MAX_CASES:
        print(f"testplan: warning: the model {answer.model} proposed {len(answer.cases.cases)} cases for "
              f"{requirement.id}; only the first {MAX_CASES} were considered", file=sys.stderr)
    return to_proposals(answer, requirement, plan, key)
