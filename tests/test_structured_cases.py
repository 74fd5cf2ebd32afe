"""Structured cases: ``given`` as parameter -> value, ``expect`` as returns/raises, ``{py: ...}``
values; their JSON Schema, their fingerprint, and lint's static check of the callable."""

from __future__ import annotations

import json

import jsonschema
import pytest

from testplan.model import Case, Plan, Raises, Requirement, Returns, fingerprint, json_schema
from testplan.store import parse_yaml, validate

PLAN = """\
requirement: PAY-1
cases:
  - id: PAY-1.1
    title: exactly 2 pets get 10 % off
    kind: boundary
    call: shop.pricing:premium_for
    given: {list_premium: {py: "Decimal('100.00')"}, pets: 2}
    expect: {returns: {py: "Decimal('90.00')"}}
    status: approved
  - id: PAY-1.2
    title: a negative count is rejected
    kind: error
    given: {list_premium: 1, pets: -1}
    expect: {raises: ValueError, match: "pet count must be >= 0"}
    status: approved
  - id: PAY-1.3
    title: prose stays valid
    kind: nominal
    given: a household with one pet
    expect: the list premium
"""

REQ = Requirement(id="PAY-1", title="t", statement="s", code=["shop.pricing:premium_for"])


def load(text: str = PLAN) -> Plan:
    return validate(Plan, parse_yaml(text, "plan.yaml"), "plan.yaml")


def test_structured_and_prose_cases_load():
    plan = load()
    first, second, third = plan.cases
    assert first.given == {"list_premium": {"py": "Decimal('100.00')"}, "pets": 2}
    assert first.expect == Returns(returns={"py": "Decimal('90.00')"})
    assert first.call == "shop.pricing:premium_for" and first.structured
    assert second.expect == Raises(raises="ValueError", match="pet count must be >= 0")
    assert second.call is None and second.structured
    assert (third.given, third.expect, third.structured) == ("a household with one pet", "the list premium", False)
    assert second.expect_text() == '{raises: "ValueError", match: "pet count must be >= 0"}'


def test_yaml_scalars_become_plain_python_values():
    plan = load(PLAN.replace("pets: 2}", "pets: 2.5}").replace("list_premium: 1,", "list_premium: 0x10,"))
    assert type(plan.cases[0].given["pets"]) is float
    assert type(plan.cases[1].given["list_premium"]) is int and plan.cases[1].given["list_premium"] == 16


@pytest.mark.parametrize("old, new, message", [
    ("expect: {returns: {py: \"Decimal('90.00')\"}}", "expect: {returns: 1, raises: X}",
     "plan.yaml:8: cases[0].expect: expect is text, {returns: VALUE}, or {raises: ExceptionName, match: REGEX}"),
    ('match: "pet count must be >= 0"', 'match: "pet (count"',
     "plan.yaml:14: cases[1].expect.match: 'pet (count' is not a regular expression (missing ), unterminated "
     "subpattern at position 4); escape special characters such as ( with a backslash"),
    ("{py: \"Decimal('100.00')\"}", '{py: "Decimal(", x: 1}',
     "plan.yaml:7: cases[0].given: list_premium: a {py: ...} value has exactly one key, py, whose value is a "
     "Python expression in quotes, e.g. {py: \"Decimal('90.00')\"}"),
    ("call: shop.pricing:premium_for", "call: shop.pricing",
     "plan.yaml:6: cases[0].call: 'shop.pricing' names a module; name the function as module:function"),
    ("given: {list_premium: 1, pets: -1}", "given: [1, -1]",
     "plan.yaml:13: cases[1].given: given is text, or a mapping of parameter: value (e.g. {pets: 2})"),
    ("raises: ValueError,", "raises: ValueError, extra: 1,",
     "plan.yaml:14: unknown key 'extra' (allowed: raises, match); remove or rename it"),
])
def test_malformed_structured_fields_are_one_line_errors(old, new, message):
    from testplan.errors import InputError

    with pytest.raises(InputError) as caught:
        load(PLAN.replace(old, new))
    assert str(caught.value) == message


def test_the_plan_schema_accepts_structured_cases_and_refuses_malformed_ones():
    schema = json_schema("plan")
    document = json.loads(json.dumps(load().model_dump(mode="json", exclude_none=True)))
    jsonschema.validate(document, schema)
    document["cases"][1]["expect"] = {"raises": "ValueError", "bogus": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    document["cases"][1]["expect"] = {"raises": "not a name"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_the_fingerprint_covers_structured_values_and_call():
    plan = load()
    base = fingerprint(REQ, plan)

    def changed(**update) -> str:
        cases = [plan.cases[0].model_copy(update=update), *plan.cases[1:]]
        return fingerprint(REQ, plan.model_copy(update={"cases": cases}))

    assert changed(given={"list_premium": {"py": "Decimal('100.00')"}, "pets": 3}) != base
    assert changed(expect=Returns(returns={"py": "Decimal('90.01')"})) != base
    assert changed(expect=Returns(returns=90)) != changed(expect=Returns(returns=90.0))  # 90 and 90.0 are different oracles
    assert changed(call="shop.pricing:other") != base
    assert changed(title="another title") == base


def test_prose_case_fingerprint_is_unchanged_by_the_new_fields():
    """A plan approved before structured cases existed must not turn SUSPECT on upgrade."""
    import hashlib

    case = Case(id="PAY-1.1", title="t", kind="nominal", given="  two  pets ", expect="90", status="approved")
    plan = Plan(requirement="PAY-1", cases=[case])
    content = {"requirement": {"id": "PAY-1", "statement": "s", "acceptance": [], "code": ["shop.pricing:premium_for"],
                               "inputs": {}},
               "cases": [{"id": "PAY-1.1", "kind": "nominal", "given": "two pets", "expect": "90", "priority": "medium"}]}
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert fingerprint(REQ, plan) == "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def test_the_readme_shows_what_lint_scaffold_and_approve_print():
    from tp_helpers import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    corpus = REPO / "tests" / "lint_corpus" / "40-given-unknown-parameter" / "expect"
    assert f"`{corpus.read_text().splitlines()[1]}`" in readme  # the line lint prints for an unknown parameter
    assert "$ testplan scaffold PAY-1\ncreated tests/test_pay_1_plan.py: 3 case tests, 2 property tests\n" in readme
    assert ("approve all shown with --all-proposed, or reject them") in readme
    assert "created  .gitignore with .testplan/\n" in readme
    example = (REPO / "examples" / "plan-first" / "README.md").read_text(encoding="utf-8")
    assert "C 100 %, O 100 %, score 100" in readme and "C 70 %, O 44 %" in readme
    assert "C 70 % (a skipped test covers no case), O 44 %" in example
