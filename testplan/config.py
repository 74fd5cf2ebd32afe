"""``[tool.testplan]`` in pyproject.toml, layered in one function: defaults -> file -> env -> flags."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError

GateState = Literal["suspect", "unreviewed", "uncovered", "failing", "weak", "dangling", "orphan"]
GATE_STATES: tuple[str, ...] = GateState.__args__  # type: ignore[attr-defined]


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


class Config(_Strict):
    """The project's testplan settings. Paths are relative to the project root."""

    requirements: str = "requirements.yaml"
    plans: str = "plans"
    tests: list[str] = Field(default_factory=lambda: ["tests"])
    source: list[str] = Field(default_factory=lambda: ["src", "."])
    pytest_args: list[str] = Field(default_factory=list)
    min_score: float = Field(default=0.0, ge=0, le=100)
    min_requirement_score: float = Field(default=0.0, ge=0, le=100)
    # DANGLING is an error (a link names nothing): the gate fails on it unless the project says
    # otherwise; a configured list, [] included, replaces this default.
    fail_on: list[GateState] = Field(default_factory=lambda: ["dangling"])
    links: dict[str, list[str]] = Field(default_factory=dict)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    mutation: MutationConfig = Field(default_factory=MutationConfig)

    # set by load_config, not by the file
    root: Path = Field(default=Path("."), exclude=True)

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
        return self.root / ".testplan"


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


def env(name: str) -> str | None:
    """An environment variable; empty strings count as unset."""
    value = os.environ.get(name)
    return value if value else None


def load_config(root: Path, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then ``[tool.testplan]`` of ``root/pyproject.toml``, then ``overrides`` (flags)."""
    if not root.is_dir():
        raise InputError(f"--root: '{root}' is not a directory; pass the project's directory with -C")
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    text = ""
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
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
        key = loc[0] if loc else ""
        if error["type"] == "extra_forbidden":
            message = f"[tool.testplan] unknown key '{'.'.join(loc)}' (allowed: {', '.join(k for k in Config.model_fields if k != 'root')}); remove or rename it"
        else:
            message = f"[tool.testplan] {'.'.join(loc)}: {error['msg']}"
        raise InputError(message, "pyproject.toml", _line_of_key(text, loc[-1] if error["type"] == "extra_forbidden" and loc else key)) from None
    config.root = root
    return config
