"""The parse cache: a YAML input file's parsed content, kept under ``.testplan/cache/parsed/``
by the sha256 of the file's exact bytes, so an unchanged file is not parsed again.

An entry is kept only for bytes that parsed cleanly (no syntax error, alias, tag or deep
nesting: those are refused at their line before anything is cached) and whose values JSON
keeps exactly (string keys; text, whole and finite numbers, booleans, null; a timestamp or a
numeric key makes the file uncacheable, it is then always parsed). It holds the plain values
(what :func:`testplan.store._plain` makes of the round-trip document, the input of every
model's validation) and a *line tree* of the same shape, without the keys: for a mapping or a
list, one element per key or item in order, the 1-based line of that key or item (a scalar) or
``[line, subtree]`` (a mapping or list), so :func:`tree_line` answers what
:func:`testplan.store.line_of` answers on the round-trip document. The line tree is kept as
JSON text inside the entry and decoded only when a line is asked for (a finding): its
thousands of small numbers made reading 2,000 plans' entries 2.5x slower. :func:`testplan.fastyaml.parse`
makes the same pair with libyaml; :func:`line_tree` makes it from a round-trip document.

The size limit and the UTF-8 check run on the bytes read before they are hashed; an entry whose
name, hash or shape does not match is discarded with one warning and the file parsed again.
Beside the entries, :class:`Memo` keeps what commands worked out from a requirement and its plan
(a reviewed plan's fingerprint; that ``enumerate`` would add nothing) by the bytes of the two files.
Who reads and writes the cache, and when (never from a refused command, never into a
``.testplan`` that is missing, a symlink or unwritable), is :class:`testplan.store.ParseCache`:
I/O lives in :mod:`testplan.store`.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict

FORMAT = 3  # bump when the parser's refusals or the entry's shape change: old entries are then never read
CACHE_SUBDIR = Path("cache") / "parsed"


class ParsedEntry(BaseModel):
    """One cache file: ``<sha256>.json``."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[3]
    sha256: str
    data: Any
    lines: str  # the line tree, as JSON text


class Memo(BaseModel):
    """What commands worked out from a requirement and its plan, by the bytes of their two files:
    ``memo.<code>.v<FORMAT>.json`` beside the entries, where ``<code>`` is :func:`memo_code` (a
    change to the code that works them out makes a new memo; the old one is never read). A key
    is :func:`memo_key`, ``<requirement ID>:<sha256 of the bytes of its requirements file>:<sha256
    of the bytes of its plan file>``:

    * ``outlines``: the plan's :class:`testplan.model.PlanOutline`, kept only for a plan file that
      loaded cleanly (valid, its requirement's own, named after it, every case ID its own), so
      ``lint``, ``status`` and ``enumerate`` take an unchanged plan's state, counts and call
      sites from it, and validate the plan only if they read more of it;
    * ``enumerated``: ``"rules"`` for the keys on which the rule-based proposals were all in the
      plan already, so a no-op ``enumerate`` neither proposes nor merges them again."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[3]
    outlines: dict[str, dict[str, Any]]
    enumerated: dict[str, str]


MEMO_KINDS = ("outlines", "enumerated")


def memo_key(requirement_id: str, requirements_sha256: str, plan_sha256: str) -> str:
    return f"{requirement_id}:{requirements_sha256}:{plan_sha256}"


@functools.cache
def memo_code() -> str:
    """The first 16 hex digits of a sha256 over the source of the modules whose code makes what
    the memo keeps: the models a file's bytes are validated into, the plan's state and outline
    (:mod:`testplan.model`), the checks a plan file passes as it loads (:mod:`testplan.store`),
    the rule-based enumerator and the merge."""
    from . import enumerate as enumerate_package, model, store
    from .enumerate import rules

    h = hashlib.sha256()
    for module in (model, store, enumerate_package, rules):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:16]


def memo_name() -> str:
    return f"memo.{memo_code()}.v{FORMAT}.json"


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def entry_name(sha256: str) -> str:
    return f"{sha256}.v{FORMAT}.json"


def jsonable(value: Any) -> bool:
    """Whether JSON gives ``value`` back exactly (same types, same order)."""
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return type(value) is int
    if isinstance(value, float):
        return type(value) is float and math.isfinite(value)
    if isinstance(value, list):
        return type(value) is list and all(jsonable(v) for v in value)
    if isinstance(value, dict):
        return type(value) is dict and all(type(k) is str and jsonable(v) for k, v in value.items())
    return False


def line_tree(node: Any) -> Any:
    """The line tree of a round-trip document (CommentedMap / CommentedSeq), null for a scalar."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        return [_entry(node.lc.key(key)[0] + 1, value) for key, value in node.items()]
    if isinstance(node, CommentedSeq):
        return [_entry(node.lc.item(index)[0] + 1, value) for index, value in enumerate(node)]
    return None


def _entry(line: int, value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return [line, line_tree(value)] if isinstance(value, (CommentedMap, CommentedSeq)) else line


def tree_line(data: Any, tree: Any, loc: Iterable[Any]) -> int:
    """:func:`testplan.store.line_of` on plain values and their line tree: the line of the
    deepest part of ``loc`` found (1 when none is)."""
    line = 1
    for part in loc:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            index = list(data).index(part)
        elif isinstance(data, list) and type(part) is int and 0 <= part < len(data):
            index = part
        else:
            break
        if not isinstance(tree, list) or index >= len(tree):
            break
        entry = tree[index]
        if type(entry) is int:
            return entry  # a scalar: nothing deeper
        if not (isinstance(entry, list) and len(entry) == 2 and type(entry[0]) is int):
            break
        line, tree = entry
        data = data[part]
    return line
