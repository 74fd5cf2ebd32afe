"""Hypothesis strategies from a requirement's declared inputs (public API).

    from testplan import strategies

    @given(pets=strategies.valid("PAY-1", "pets"))
    def test_valid_counts_are_accepted(pets): ...

:func:`valid` draws values inside an input's declared domain (type, ``min``/``max``,
``min_length``/``max_length``, enum ``values``); :func:`invalid` draws values of the same type
outside it (below ``min`` or above ``max``, too short or too long, not a member). Wrong types
are not drawn: what a wrong type raises is a separate decision (see the enumerator's type cases).

The requirements are read from the project whose ``pyproject.toml`` is found from the current
directory upwards (or from ``root``), as ``testplan`` reads them; nothing else is imported.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

from .enumerate.rules import step_of
from .errors import InputError
from .model import InputSpec

__all__ = ["valid", "invalid", "valid_for", "invalid_for", "input_spec"]


def _project_root(start: Path) -> Path:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "[tool.testplan" in candidate.read_text(encoding="utf-8"):
            return directory
    raise InputError(f"strategies: no pyproject.toml with [tool.testplan] in {start} or above; pass root=PROJECT_DIR")


@lru_cache(maxsize=16)
def _inputs(root: Path) -> dict[str, dict[str, InputSpec]]:
    from .config import load_config
    from .store import load_requirements

    config = load_config(root)
    requirements = load_requirements(config.requirements_path, config.root, max_bytes=config.max_input_bytes)
    return {r.id: dict(r.inputs) for r in requirements}


def input_spec(requirement: str, name: str, root: Path | str | None = None) -> InputSpec:
    """The declared input ``name`` of ``requirement``; InputError when there is none."""
    project = _project_root(Path(root).resolve() if root is not None else Path.cwd().resolve())
    inputs = _inputs(project)
    if requirement not in inputs:
        raise InputError(f"strategies: unknown requirement '{requirement}' (known: {', '.join(inputs) or 'none'})")
    if name not in inputs[requirement]:
        declared = ", ".join(inputs[requirement]) or "none"
        raise InputError(f"strategies: {requirement} declares no input '{name}' (inputs: {declared}); "
                         "declare it under inputs: in the requirements")
    return inputs[requirement][name]


def valid(requirement: str, name: str, root: Path | str | None = None) -> st.SearchStrategy:
    """Values inside the declared domain of ``requirement``'s input ``name``."""
    return valid_for(input_spec(requirement, name, root))


def invalid(requirement: str, name: str, root: Path | str | None = None) -> st.SearchStrategy:
    """Values of the input's type outside its declared domain."""
    return invalid_for(input_spec(requirement, name, root), f"{requirement} input '{name}'")


def _decimal(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _places(spec: InputSpec) -> int:
    exponent = step_of(spec).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def valid_for(spec: InputSpec) -> st.SearchStrategy:
    if spec.type == "int":
        return st.integers(min_value=None if spec.min is None else int(spec.min),
                           max_value=None if spec.max is None else int(spec.max))
    if spec.type == "float":
        return st.floats(min_value=spec.min, max_value=spec.max, allow_nan=False, allow_infinity=False)
    if spec.type == "decimal":
        return st.decimals(min_value=_decimal(spec.min), max_value=_decimal(spec.max), places=_places(spec),
                           allow_nan=False, allow_infinity=False)
    if spec.type == "str":
        return st.text(min_size=spec.min_length or 0, max_size=spec.max_length)
    if spec.type == "bool":
        return st.booleans()
    return st.sampled_from(list(spec.values or []))


def invalid_for(spec: InputSpec, what: str = "the input") -> st.SearchStrategy:
    options: list[st.SearchStrategy] = []
    if spec.type == "int":
        if spec.min is not None:
            options.append(st.integers(max_value=int(spec.min) - 1))
        if spec.max is not None:
            options.append(st.integers(min_value=int(spec.max) + 1))
    elif spec.type == "float":
        if spec.min is not None:
            options.append(st.floats(max_value=spec.min, exclude_max=True, allow_nan=False, allow_infinity=False))
        if spec.max is not None:
            options.append(st.floats(min_value=spec.max, exclude_min=True, allow_nan=False, allow_infinity=False))
    elif spec.type == "decimal":
        step, places = step_of(spec), _places(spec)
        if spec.min is not None:
            options.append(st.decimals(max_value=Decimal(str(spec.min)) - step, places=places,
                                       allow_nan=False, allow_infinity=False))
        if spec.max is not None:
            options.append(st.decimals(min_value=Decimal(str(spec.max)) + step, places=places,
                                       allow_nan=False, allow_infinity=False))
    elif spec.type == "str":
        if spec.min_length:
            options.append(st.text(max_size=spec.min_length - 1))
        if spec.max_length is not None:
            options.append(st.text(min_size=spec.max_length + 1, max_size=spec.max_length + 32))
    elif spec.type == "enum":
        members = list(spec.values or [])
        options.append(st.text().filter(lambda v: v not in members))
    if not options:
        raise InputError(f"strategies: {what} ({spec.type}{', no bounds' if spec.type != 'bool' else ''}) has no "
                         "invalid values of its type; declare min/max (or lengths) to have some")
    return st.one_of(*options)
