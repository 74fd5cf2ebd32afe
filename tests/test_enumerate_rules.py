"""``testplan enumerate``: the rule-based enumerator and the merge into plan files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testplan.enumerate.rules import names_error, propose
from testplan.model import Requirement
from tp_helpers import REQUIREMENTS, replaced



@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "pyproject.toml").write_text('[tool.testplan]\nrequirements = "requirements.yaml"\n')
    return tmp_path


def pets_requirement() -> Requirement:
    return Requirement(id="PAY-1", title="t", statement="s", inputs={"pets": {"type": "int", "min": 0, "max": 50}})


@pytest.mark.verifies("ENUM-1.1")
def test_integer_boundaries_with_expected_accept_or_reject():
    boundary = [(p.given, p.kind.value, p.expect) for p in propose(pets_requirement()) if p.key.startswith("rules:boundary")]
    decide = "; decide the result and write expect: {returns: VALUE}"
    unnamed = "; no acceptance line names the error: write expect: {raises: ExceptionName}"
    assert boundary == [
        ({"pets": -1}, "error", "rejected: pets = -1 is below the minimum 0" + unnamed),
        ({"pets": 0}, "boundary", "accepted: pets = 0 is within 0..50" + decide),
        ({"pets": 1}, "boundary", "accepted: pets = 1 is within 0..50" + decide),
        ({"pets": 49}, "boundary", "accepted: pets = 49 is within 0..50" + decide),
        ({"pets": 50}, "boundary", "accepted: pets = 50 is within 0..50" + decide),
        ({"pets": 51}, "error", "rejected: pets = 51 is above the maximum 50" + unnamed),
    ]


@pytest.mark.verifies("ENUM-1.1")
def test_a_named_error_becomes_a_structured_expect_and_other_inputs_get_typical_values():
    req = Requirement(id="PAY-1", title="t", statement="s",
                      acceptance=['a negative pet count is rejected with ValueError("pet count must be >= 0")'],
                      inputs={"pets": {"type": "int", "min": 0, "max": 50},
                              "premium": {"type": "decimal", "min": 1, "max": 1000}})
    by_key = {p.key: p for p in propose(req)}
    below = by_key["rules:boundary:pets=-1"]
    assert (below.given, below.expect) == ({"pets": -1, "premium": {"py": "Decimal('500.5')"}}, {"raises": "ValueError"})
    above = by_key["rules:boundary:premium=1000.01"]
    assert (above.given, above.expect) == ({"pets": 25, "premium": {"py": "Decimal('1000.01')"}}, {"raises": "ValueError"})
    wrong_type = by_key["rules:type:pets=None"]
    assert wrong_type.given == {"pets": None, "premium": {"py": "Decimal('500.5')"}}
    assert wrong_type.expect == ("rejected: pets must be of type int, not None; decide which error it raises and "
                                 "write expect: {raises: TypeError} (or the right one)")


def test_equivalence_class_and_invalid_types():
    rest = [(p.key, p.given, p.kind.value) for p in propose(pets_requirement()) if not p.key.startswith("rules:boundary")]
    assert rest == [
        ("rules:class:pets=valid", {"pets": 25}, "nominal"),
        ("rules:type:pets=None", {"pets": None}, "error"),
        ("rules:type:pets='abc'", {"pets": "abc"}, "error"),
    ]


def test_string_lengths_enum_members_and_bools():
    req = Requirement(id="CARD-1", title="t", statement="s", inputs={
        "holder": {"type": "str", "min_length": 2, "max_length": 26},
        "brand": {"type": "enum", "values": ["visa", "amex"]},
        "save": {"type": "bool"},
    })
    got = [(p.key.removeprefix("rules:"), p.kind.value) for p in propose(req)]
    assert got == [
        ("length:holder=0", "error"), ("length:holder=1", "error"), ("length:holder=2", "boundary"),
        ("length:holder=26", "boundary"), ("length:holder=27", "error"),
        ("type:holder=None", "error"), ("type:holder=123", "error"),
        ("member:brand='visa'", "nominal"), ("member:brand='amex'", "nominal"),
        ("member:brand=non-member", "error"), ("type:brand=None", "error"),
        ("class:save=True", "nominal"), ("class:save=False", "nominal"),
        ("type:save=None", "error"), ("type:save='yes'", "error"),
    ]


def test_decimal_steps_are_cents():
    req = Requirement(id="PAY-2", title="t", statement="s", inputs={"amount": {"type": "decimal", "min": 0.5, "max": 100}})
    givens = [p.given for p in propose(req) if p.key.startswith("rules:boundary")]
    assert givens == [{"amount": {"py": f"Decimal('{v}')"}} for v in ("0.49", "0.5", "0.51", "99.99", "100", "100.01")]


@pytest.mark.verifies("ENUM-1.1")
def test_fine_grained_bounds_step_by_their_own_precision():
    req = Requirement(id="PAY-2", title="t", statement="s", inputs={"rate": {"type": "float", "min": 0.001, "max": 0.002}})
    got = [(p.given, p.expect.split(";")[0]) for p in propose(req) if p.key.startswith(("rules:boundary", "rules:class"))]
    assert got == [
        ({"rate": 0.0}, "rejected: rate = 0 is below the minimum 0.001"),
        ({"rate": 0.001}, "accepted: rate = 0.001 is within 0.001..0.002"),
        ({"rate": 0.002}, "accepted: rate = 0.002 is within 0.001..0.002"),
        ({"rate": 0.003}, "rejected: rate = 0.003 is above the maximum 0.002"),
        ({"rate": 0.0015}, "accepted: rate = 0.0015 is within 0.001..0.002"),
    ]


@pytest.mark.parametrize(("spec", "message"), [
    ({"type": "int", "min": 0.5, "max": 2}, "min 0.5 is not a whole number, but the input is an int; use a whole number or type float"),
    ({"type": "float", "min": float("nan")}, "nan is not a finite number; write the real limit, or leave min out"),
    ({"type": "float", "max": float("inf")}, "inf is not a finite number; write the real limit, or leave max out"),
    ({"type": "int", "min": "zero"}, "'zero' is not a number; write a number such as 0 or 9.99"),
    ({"type": "bool", "min_length": 1}, "min_length do not apply to bool inputs; remove it"),
    ({"type": "int", "values": [1, 2]}, "values apply to enum inputs, not int; remove them or use type: enum"),
])
def test_inputs_the_enumerator_cannot_use_are_refused(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Requirement(id="PAY-2", title="t", statement="s", inputs={"rate": spec})


@pytest.mark.parametrize(("line", "is_error"), [
    ("a negative pet count is rejected with ValueError", True),
    ("raises InvalidTransition", True),
    ("an expired card fails", True),
    ("1 pet pays the list premium", False),
    ("2..4 pets pay 90 %", False),
])
def test_acceptance_lines_that_name_an_error_become_error_cases(line, is_error):
    assert names_error(line) is is_error


def test_enumerate_writes_a_proposed_plan(project, cli):
    result = cli("enumerate", "PAY-1", "-C", project)
    assert result.code == 0
    assert result.out == "wrote     plans/PAY-1.yaml: 11 new cases proposed, 11 in plan\n"
    text = (project / "plans" / "PAY-1.yaml").read_text()
    assert text.startswith(
        "requirement: PAY-1\n"
        "cases:\n"
        "  - id: PAY-1.1\n"
        "    title: 1 pet pays the list premium\n"
        "    kind: nominal\n"
        "    given: 'the situation of acceptance criterion 1: write the inputs as given: {parameter: value}'\n"
        "    expect: 1 pet pays the list premium\n"
        "    priority: high\n"
        "    origin: rules\n"
        "    status: proposed\n"
        "    provenance:\n"
        "      key: rules:acceptance:dd03fb7b4a48\n"
    )
    assert text.count("status: proposed") == 11
    assert "status: approved" not in text and "review:" not in text


@pytest.mark.verifies("ENUM-1.2")
def test_rerun_is_byte_identical_and_writes_nothing(project, cli):
    cli("enumerate", "--all", "-C", project)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (project / "plans").iterdir()}
    result = cli("enumerate", "--all", "-C", project)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (project / "plans").iterdir()}
    assert after == before
    assert result.out == (
        "unchanged plans/PAY-1.yaml: 0 new cases proposed, 11 in plan\n"
        "unchanged plans/CARD-1.yaml: 0 new cases proposed, 15 in plan\n"
    )


@pytest.mark.verifies("ENUM-1.3", "STORE-1.2")
def test_hand_edits_and_comments_survive_a_rerun(project, cli):
    cli("enumerate", "PAY-1", "-C", project)
    plan = project / "plans" / "PAY-1.yaml"
    text = plan.read_text()
    text = replaced(text, "requirement: PAY-1\n", "# reviewed in the pricing meeting\nrequirement: PAY-1\n")
    text = replaced(text, "    title: pets = 0 (min)\n", "    title: a household with no pets yet  # clarified\n")
    text = replaced(text, "    expect: 'accepted: pets = 0 is within 0..50; decide the result and write expect: {returns: VALUE}'\n",
                    "    expect: \"premium 0.00 for an empty household\"\n")
    plan.write_text(text)
    result = cli("enumerate", "PAY-1", "-C", project)
    assert result.out == "unchanged plans/PAY-1.yaml: 0 new cases proposed, 11 in plan\n"
    assert plan.read_text() == text


@pytest.mark.verifies("ENUM-1.2")
def test_new_inputs_are_appended_without_renumbering(project, cli):
    cli("enumerate", "PAY-1", "-C", project)
    cli("approve", "PAY-1", "--case", "PAY-1.3", "--by", "Jessie Young", "-C", project)
    before = (project / "plans" / "PAY-1.yaml").read_text()
    reqs = project / "requirements.yaml"
    reqs.write_text(reqs.read_text().replace(
        "      pets: {type: int, min: 0, max: 50}\n",
        "      pets: {type: int, min: 0, max: 50}\n      vip: {type: bool}\n",
    ))
    result = cli("enumerate", "PAY-1", "-C", project)
    after = (project / "plans" / "PAY-1.yaml").read_text()
    assert result.out == "wrote     plans/PAY-1.yaml: 4 new cases proposed, 15 in plan\n"
    review_at = before.index("review:")
    assert after.startswith(before[:review_at])  # every existing case, byte for byte
    assert "  - id: PAY-1.12\n    title: vip = True\n" in after
    assert after.count("status: approved") == 1  # nothing re-approved


@pytest.mark.verifies("ENUM-1.2")
def test_an_inserted_acceptance_line_gets_one_new_case_and_the_others_keep_theirs(project, cli):
    cli("enumerate", "PAY-1", "-C", project)
    before = (project / "plans" / "PAY-1.yaml").read_text()
    reqs = project / "requirements.yaml"
    reqs.write_text(replaced(reqs.read_text(), "      - 1 pet pays the list premium\n",
                             "      - 1 pet pays the list premium\n      - 3 pets pay 90 %\n"))
    result = cli("enumerate", "PAY-1", "-C", project)
    after = (project / "plans" / "PAY-1.yaml").read_text()
    assert result.out == "wrote     plans/PAY-1.yaml: 1 new case proposed, 12 in plan\n"
    assert after.startswith(before)
    assert after[len(before):].startswith("  - id: PAY-1.12\n    title: 3 pets pay 90 %\n    kind: nominal\n")


def test_enumerate_needs_ids_or_all(project, cli):
    result = cli("enumerate", "-C", project)
    assert (result.code, result.err) == (2, "testplan: bad-input: enumerate: name at least one requirement ID, or pass --all\n")
    result = cli("enumerate", "PAY-1", "--all", "-C", project)
    assert (result.code, result.err) == (2, "testplan: bad-input: enumerate: give requirement IDs or --all, not both\n")


def test_enumerate_unknown_requirement(project, cli):
    result = cli("enumerate", "PAY-7", "-C", project)
    assert result.code == 2
    assert result.err == "testplan: bad-input: unknown requirement 'PAY-7' (known: PAY-1, CARD-1); check the ID or add it to the requirements file\n"
    assert not (project / "plans").exists()


@pytest.mark.verifies("STORE-1.2")
def test_a_plan_in_another_indentation_style_keeps_it(project, cli):
    cli("enumerate", "PAY-1", "-C", project)
    plan = project / "plans" / "PAY-1.yaml"
    # the same plan as a person may write it: list items at the key's column
    flush = re.sub(r"(?m)^  (?=[ -])", "", plan.read_text())
    assert flush.startswith("requirement: PAY-1\ncases:\n- id: PAY-1.1\n  title: 1 pet pays the list premium\n")
    plan.write_text(flush)
    stamp = plan.stat().st_mtime_ns
    assert cli("enumerate", "PAY-1", "-C", project).out == "unchanged plans/PAY-1.yaml: 0 new cases proposed, 11 in plan\n"
    assert (plan.read_text(), plan.stat().st_mtime_ns) == (flush, stamp)

    cli("approve", "PAY-1", "--case", "PAY-1.4", "--by", "Jessie Young", "-C", project)
    text = plan.read_text()
    review_at = text.index("review:\n")
    fourth = flush.index("- id: PAY-1.4\n")
    status_at = flush.index("  status: proposed\n", fourth)
    assert text[:review_at] == flush[:status_at] + "  status: approved\n" + flush[status_at + len("  status: proposed\n"):]
    assert re.fullmatch(r"review:\n  by: Jessie Young\n  at: \S+\n  fingerprint: sha256:[0-9a-f]{64}\n"
                        r"  vouched: \|\n    requirement: PAY-1\n(    .*\n)+", text[review_at:])
