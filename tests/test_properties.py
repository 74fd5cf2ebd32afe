"""Properties that must hold for any input (hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testplan.enumerate import merge
from testplan.enumerate.rules import propose
from testplan.model import Case, Plan, Requirement, fingerprint
from testplan.store import PlanFile, load_plan_file, load_requirements

# printable text without YAML-significant edge whitespace; words joined by single spaces
words = st.lists(st.text(alphabet=st.characters(whitelist_categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=8),
                 min_size=1, max_size=12)
sentences = words.map(" ".join)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def render_requirement(statement: list[str], acceptance: list[str], style: int, width: int) -> str:
    """The same requirement in different YAML formatting: quoting, folding, comments, flow/block."""
    text = " ".join(statement)
    lines = ["# requirements", "project: p", "requirements:", "  - id: REQ-1", "    title: t"]
    if style == 0:
        lines.append(f"    statement: {_yaml_quote(text)}")
    else:  # folded block, re-wrapped at an arbitrary width
        lines.append("    statement: >")
        current: list[str] = []
        for word in statement:
            if current and len(" ".join(current + [word])) > width:
                lines.append("      " + " ".join(current))
                current = []
            current.append(word)
        lines.append("      " + " ".join(current))
    if style == 2:
        lines.append("    acceptance: [" + ", ".join(_yaml_quote(a) for a in acceptance) + "]  # flow style")
    else:
        lines.append("    acceptance:")
        lines += [f"      - {_yaml_quote(a)}" + ("   # note" if i % 2 else "") for i, a in enumerate(acceptance)]
    return "\n".join(lines) + "\n"


def load_one(text: str) -> Requirement:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requirements.yaml"
        path.write_text(text, encoding="utf-8")
        return next(iter(load_requirements(path)))


@FAST
@given(statement=words, acceptance=st.lists(sentences, min_size=1, max_size=4),
       style_a=st.integers(0, 2), style_b=st.integers(0, 2), width_a=st.integers(5, 60), width_b=st.integers(5, 60))
@pytest.mark.verifies("REV-1.3")
def test_fingerprint_ignores_formatting_and_comments(statement, acceptance, style_a, style_b, width_a, width_b):
    plan = Plan(requirement="REQ-1", cases=[Case(id="REQ-1.1", title="c", kind="nominal", status="approved")])
    a = load_one(render_requirement(statement, acceptance, style_a, width_a))
    b = load_one(render_requirement(statement, acceptance, style_b, width_b))
    assert fingerprint(a, plan) == fingerprint(b, plan)


@pytest.mark.verifies("REV-1.2")
@FAST
@given(statement=words, acceptance=st.lists(sentences, min_size=1, max_size=4), extra=sentences)
def test_fingerprint_changes_with_content(statement, acceptance, extra):
    plan = Plan(requirement="REQ-1")
    base = load_one(render_requirement(statement, acceptance, 0, 40))
    more_statement = load_one(render_requirement(statement + [extra], acceptance, 0, 40))
    more_acceptance = load_one(render_requirement(statement, acceptance + [extra], 0, 40))
    assert fingerprint(base, plan) != fingerprint(more_statement, plan)
    assert fingerprint(base, plan) != fingerprint(more_acceptance, plan)


case_strategy = st.builds(
    dict,
    title=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
    kind=st.sampled_from(["nominal", "boundary", "edge", "error", "security"]),
    given=st.text(max_size=60),
    expect=st.text(max_size=60),
    priority=st.sampled_from(["low", "medium", "high"]),
    status=st.sampled_from(["proposed", "approved"]),
)


@pytest.mark.verifies("STORE-1.1")
@FAST
@given(cases=st.lists(case_strategy, max_size=6))
def test_plan_save_load_round_trip(cases):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "REQ-1.yaml"
        plan_file = PlanFile.new(path, "REQ-1")
        models = [Case(id=f"REQ-1.{n}", **fields) for n, fields in enumerate(cases, start=1)]
        for case in models:
            plan_file.add_case(case)
        plan_file.save()
        loaded = load_plan_file(path)
        assert loaded.plan == Plan(requirement="REQ-1", cases=models)
        assert loaded.render() == path.read_text(encoding="utf-8")  # load -> save is the identity
        assert loaded.save() is False


input_spec = st.one_of(
    st.integers(-100, 100).flatmap(lambda lo: st.integers(lo, lo + 200).map(lambda hi: {"type": "int", "min": lo, "max": hi})),
    st.integers(0, 30).flatmap(lambda lo: st.integers(lo, lo + 30).map(lambda hi: {"type": "str", "min_length": lo, "max_length": hi})),
    st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True).map(lambda v: {"type": "enum", "values": v}),
    st.just({"type": "bool"}),
    st.integers(0, 1000).map(lambda lo: {"type": "decimal", "min": lo / 100}),
)


@FAST
@given(inputs=st.dictionaries(st.sampled_from(["pets", "name", "kind", "amount", "flag"]), input_spec, max_size=3),
       acceptance=st.lists(sentences, max_size=3))
@pytest.mark.verifies("ENUM-1.2")
def test_enumerate_is_idempotent_and_never_drops_cases(inputs, acceptance):
    requirement = Requirement(id="REQ-1", title="t", statement="s", acceptance=acceptance, inputs=inputs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "REQ-1.yaml"
        plan_file = PlanFile.new(path, "REQ-1")
        first = merge(plan_file, propose(requirement))
        plan_file.save()
        text = path.read_text(encoding="utf-8")
        again = load_plan_file(path)
        assert merge(again, propose(requirement)) == []
        assert again.save() is False
        assert path.read_text(encoding="utf-8") == text
        assert [c.id for c in again.plan.cases] == [f"REQ-1.{n}" for n in range(1, len(first) + 1)]
        assert len({c.provenance["key"] for c in again.plan.cases}) == len(first)
