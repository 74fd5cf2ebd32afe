"""``[tool.testplan]`` in pyproject.toml, layered in one function: defaults -> file -> env -> flags."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from .errors import InputError
from .store import DEFAULT_MAX_INPUT_BYTES

GateState = Literal["suspect", "unreviewed", "uncovered", "failing", "weak", "unjudged", "dangling", "orphan"]
GATE_STATES: tuple[str, ...] = GateState.__args__  # type: ignore[attr-defined]
DEFAULT_FAIL_ON: tuple[str, ...] = ("dangling", "failing")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMConfig(_Strict):
    model: str | None = None
    base_url: str | None = None
    timeout: float = 60.0
    max_retries: int = 2
    seed: int = 7


class MutationConfig(_Strict):
    timeout_multiplier: float = Field(default=5.0, gt=0)
    timeout_min_seconds: float = Field(default=2.0, gt=0)
    jobs: int | None = Field(default=None, ge=1)
    also_copy: list[str] = Field(default_factory=list)
    # per mutant run (RLIMIT_DATA of each forked child); None: max(2048, 4 x the baseline's peak RSS)
    memory_limit_mb: int | None = Field(default=None, ge=1)


class Config(_Strict):
    """The project's testplan settings. Paths are relative to the project root."""

    requirements: str = "requirements.yaml"
    plans: str = "plans"
    tests: list[str] = Field(default_factory=lambda: ["tests"])
    source: list[str] = Field(default_factory=lambda: ["src", "."])
    pytest_args: list[str] = Field(default_factory=list)
    min_score: float = Field(default=0.0, ge=0, le=100)
    min_requirement_score: float = Field(default=0.0, ge=0, le=100)
    # DANGLING is an error (a link names nothing) and a FAILING linked test means the requirement
    # is NOK: the gate fails on both unless the project says otherwise; a configured list, []
    # included, replaces this default.
    fail_on: list[GateState] = Field(default_factory=lambda: list(DEFAULT_FAIL_ON))
    # requirements and plan files larger than this are refused unread
    max_input_bytes: int = Field(default=DEFAULT_MAX_INPUT_BYTES, ge=1)
    links: dict[str, list[str]] = Field(default_factory=dict)
    # the traced test run is stopped after this long (exit 4, naming the test that was running)
    trace_timeout_seconds: float = Field(default=3600.0, gt=0)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    mutation: MutationConfig = Field(default_factory=MutationConfig)

    # set by load_config, not by the file
    root: Path = Field(default=Path("."), exclude=True)
    _link_lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _state_dir: Path | None = PrivateAttr(default=None)

    def with_state_dir(self, directory: Path) -> Config:
        """A copy whose state (trace, scratch copy, caches) lives in ``directory`` (``audit
        --out DIR``: each out directory is a separate writer, so shards run side by side)."""
        copy = self.model_copy()
        copy._state_dir = directory
        return copy

    def link_line(self, pattern: str) -> int:
        """The pyproject.toml line of a ``[tool.testplan.links]`` pattern (0 when unknown: the
        table did not come from the file)."""
        return self._link_lines.get(pattern, 0)

    @property
    def requirements_path(self) -> Path:
        return self.root / self.requirements

    @property
    def plans_dir(self) -> Path:
        return self.root / self.plans

    @property
    def source_roots(self) -> list[Path]:
        return [self.root / s for s in self.source]

    @property
    def state_dir(self) -> Path:
        """``.testplan/`` under the root, unless :meth:`with_state_dir` moved it."""
        return self._state_dir if self._state_dir is not None else self.root / ".testplan"


def _line_of_key(text: str, key: str) -> int:
    """Best-effort line of ``key = ...`` inside [tool.testplan...] (tomllib keeps no positions)."""
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.startswith("[tool.testplan")
            if in_table and stripped.strip("[]").split(".")[-1] == key:
                return number
            continue
        if in_table and re.match(rf"^[\"']?{re.escape(key)}[\"']?\s*=", stripped):
            return number
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("[tool.testplan"):
            return number
    return 1


_TOML_KEY = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*""")


def _toml_keys(text: str) -> list[str] | None:
    """The dotted key at the start of a ``key = value`` line (``a."b c".d`` -> [a, b c, d]), or None."""
    keys: list[str] = []
    position = 0
    while True:
        match = _TOML_KEY.match(text, position)
        if not match:
            return None
        raw = match.group(1)
        if raw.startswith('"'):
            try:
                raw = tomllib.loads(f"k = {raw}")["k"]
            except tomllib.TOMLDecodeError:
                return None
        elif raw.startswith("'"):
            raw = raw[1:-1]
        keys.append(raw)
        position = match.end()
        if text.startswith(".", position):
            position += 1
            continue
        return keys if text.startswith("=", position) else None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Every key under ``[tool.testplan...]`` -> its line, as a path below tool.testplan
    (``("links", "tests/x.py")``, ``("mutation", "jobs")``); tables map to their header line.
    Best effort: tomllib keeps no positions, and inline tables are not looked into."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            header = stripped.lstrip("[").split("]", 1)[0]
            keys = _toml_keys(header + " =")
            table = tuple(keys[2:]) if keys and keys[:2] == ["tool", "testplan"] else None
            if table:
                lines.setdefault(table, number)
            continue
        if table is None or not stripped or stripped.startswith("#"):
            continue
        keys = _toml_keys(stripped)
        if keys:
            for depth in range(1, len(keys) + 1):
                lines.setdefault((*table, *keys[:depth]), number)
    return lines


def _line_of_loc(text: str, loc: list[str]) -> int:
    """The line of the deepest part of ``loc`` (a pydantic error location) that the file shows."""
    lines = _key_lines(text)
    for depth in range(len(loc), 0, -1):
        if tuple(loc[:depth]) in lines:
            return lines[tuple(loc[:depth])]
    return _line_of_key(text, loc[0] if loc else "")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _how_to_fix(error: dict[str, Any], loc: list[str]) -> str:
    """The 'how to fix' part of a validation error, from its type and the value given."""
    kind = error["type"]
    key = _toml_key(loc[-1]) if loc else "key"
    if kind == "list_type":
        return f"write a list: {key} = [{_toml_value(error.get('input'))}]"
    if kind == "dict_type":
        return f"write a table: [tool.testplan.{'.'.join(loc)}]"
    if kind == "literal_error":
        return "use one of the values listed"
    return "fix the value"


def env(name: str) -> str | None:
    """An environment variable; empty strings count as unset."""
    value = os.environ.get(name)
    return value if value else None


def _configured_paths(config: Config) -> list[tuple[list[str], str]]:
    """Every path the configuration names, with its key (as a pydantic location)."""
    paths: list[tuple[list[str], str]] = [(["requirements"], config.requirements), (["plans"], config.plans)]
    paths += [(["tests", str(i)], p) for i, p in enumerate(config.tests)]
    paths += [(["source", str(i)], p) for i, p in enumerate(config.source)]
    paths += [(["mutation", "also_copy", str(i)], p) for i, p in enumerate(config.mutation.also_copy)]
    return paths


def _confine(config: Config, text: str) -> None:
    """Every configured path must stay inside the project root once symlinks are resolved:
    testplan reads, copies and writes under those paths, and never outside the project."""
    root = config.root.resolve()
    for loc, value in _configured_paths(config):
        target = (root / value).resolve()
        if target == root or root in target.parents:
            continue
        key = loc[:-1] if loc[-1].isdigit() else loc
        via = "" if Path(os.path.normpath(root / value)) == target else f" (a symlink to {target})"
        raise InputError(f"[tool.testplan] {'.'.join(key)}: '{value}' is outside the project root{via}; "
                         "use a path inside the project", "pyproject.toml", _line_of_loc(text, key))


def load_config(root: Path, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then ``[tool.testplan]`` of ``root/pyproject.toml``, then ``overrides`` (flags)."""
    if not root.is_dir():
        raise InputError(f"--root: '{root}' is not a directory; pass the project's directory with -C")
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    text = ""
    if pyproject.is_file():
        if pyproject.stat().st_size > DEFAULT_MAX_INPUT_BYTES:
            raise InputError(f"larger than {DEFAULT_MAX_INPUT_BYTES} bytes, too large to be a project's configuration; "
                             "move the data out of it", "pyproject.toml")
        try:
            text = pyproject.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason}); save the file as UTF-8", "pyproject.toml", 1) from None
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", "pyproject.toml") from None
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line_match = re.search(r"line (\d+)", str(exc))
            raise InputError(f"malformed TOML: {exc}; fix the syntax", "pyproject.toml", int(line_match.group(1)) if line_match else 1) from None
        table = dict(document.get("tool", {}).get("testplan", {}))
    for key, value in (overrides or {}).items():
        if value is not None:
            table[key] = value
    try:
        config = Config.model_validate(table)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        if error["type"] == "extra_forbidden":
            model: type[BaseModel] = Config
            for part in loc[:-1]:
                annotation = model.model_fields[part].annotation if part in model.model_fields else None
                if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                    break
                model = annotation
            allowed = ", ".join(k for k in model.model_fields if k != "root")
            message = f"[tool.testplan] unknown key '{'.'.join(loc)}' (allowed: {allowed}); remove or rename it"
        else:
            message = f"[tool.testplan] {'.'.join(loc)}: {error['msg']}; {_how_to_fix(error, loc)}"
        raise InputError(message, "pyproject.toml", _line_of_loc(text, loc)) from None
    config.root = root
    _confine(config, text)
    if "links" in table and "links" not in (overrides or {}):
        lines = _key_lines(text)
        config._link_lines = {pattern: lines.get(("links", pattern), lines.get(("links",), 0)) for pattern in config.links}
    return config
