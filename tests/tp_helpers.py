"""Helpers shared by the test modules (imported as ``tp_helpers``; fixture projects have
conftest.py files of their own, so nothing is imported from ``conftest``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pet-insurance"

def replaced(text: str, old: str, new: str) -> str:
    """``text.replace(old, new)`` that fails when ``old`` is not there: an edit that silently
    matches nothing would make the test around it check nothing."""
    assert old in text, f"{old!r} is not in the text"
    return text.replace(old, new)


def read_audit(path: Path) -> dict:
    """A saved ``audit.json`` as plain data in the models' shape (each mutant's ``verdicts`` a
    dict nodeid -> verdict, whatever the file's format version), read as every command reads it."""
    import json

    from testplan.result import load_result

    return json.loads(load_result(path).model_dump_json())


def tree_digest(root: Path, exclude: tuple[str, ...] = (".testplan",)) -> dict[str, str]:
    """sha256 of every file under root (paths relative), skipping the excluded top-level dirs."""
    digest = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in exclude:
            continue
        if path.is_file():
            digest[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


# A small project: one numeric input with bounds, and str/enum/bool inputs.
REQUIREMENTS = """\
project: shop
requirements:
  - id: PAY-1
    title: Multi-pet discount
    statement: 2 or more pets get 10 % off; 5 or more get 15 %.
    acceptance:
      - 1 pet pays the list premium
      - a negative pet count is rejected with ValueError("pet count must be >= 0")
    risk: high
    inputs:
      pets: {type: int, min: 0, max: 50}
  - id: CARD-1
    title: Card holder name
    statement: A card holder name is 2 to 26 characters; the brand is visa or amex.
    inputs:
      holder: {type: str, min_length: 2, max_length: 26}
      brand: {type: enum, values: [visa, amex]}
      save: {type: bool}
"""
