"""Reading requirements and plans at C speed: libyaml's parser (PyYAML's ``CSafeLoader``) for
the plain YAML that testplan writes and people usually write, ruamel.yaml for everything else.

:func:`parse` returns a file's plain values (what :func:`testplan.store._plain` makes of ruamel's
round-trip document) and its *line tree* (see :mod:`testplan.parsecache`), or None when the text
is outside the subset read here; the caller then parses it round-trip, so every refusal, error
message and line comes from ruamel exactly as before. Outside the subset: a parse error, an
anchor, alias or tag, a ``%YAML``/``%TAG`` directive, more than one document, nesting deeper
than :data:`testplan.store.MAX_NESTING`, a key that is not text or appears twice, the characters
YAML 1.1 and 1.2 read differently (NEL, LS, PS, a byte-order mark), and a plain scalar that
YAML 1.2 resolves to anything but text, true/false, null, a decimal integer (a minus allowed,
no plus, no leading zero) or a decimal fraction such as ``-9.99`` (so ``0x1F``, ``1_000``,
``+1``, ``.inf``, ``1e3`` and timestamps go to ruamel). Plain scalars are resolved with ruamel's
own YAML 1.2 table, so ``yes``/``on`` stay text as they do there. Measured on the 2,000 plans of
20 cases of ``bench/plan_loading.py`` (20 MB): 0.85 s of CPU for every file, against about 42 s
for the round-trip parse.

Without libyaml (a PyYAML built without it) :data:`AVAILABLE` is False and every file is parsed
round-trip.
"""

from __future__ import annotations

import math
import re
from typing import Any

try:
    from yaml import CSafeLoader as _Loader
    from yaml import YAMLError as _YAMLError
    from yaml.events import (AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
                             SequenceStartEvent, StreamEndEvent)
except ImportError:  # PyYAML without its libyaml binding
    AVAILABLE = False
else:
    AVAILABLE = True

MAX_NESTING = 64  # testplan.store.MAX_NESTING (not imported: store imports this module)

_DIFFERENT_IN_1_1 = re.compile("[\x85\u2028\u2029\ufeff]")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+\Z")


def _resolvers() -> dict[str, list[tuple[str, Any]]]:
    """ruamel's YAML 1.2 implicit resolvers by first character (``""`` for the empty scalar)."""
    from ruamel.yaml.resolver import VersionedResolver

    return {first: [(tag.rsplit(":", 1)[-1], regexp) for tag, regexp in rules]
            for first, rules in VersionedResolver().versioned_resolver.items() if first is not None}


_RESOLVERS: dict[str, list[tuple[str, Any]]] | None = None


class _Outside(Exception):
    """The text is outside the subset: ruamel parses it."""


def parse(text: str) -> tuple[Any, Any] | None:
    """``(plain values, line tree)`` of one YAML document, or None when ruamel must parse it."""
    global _RESOLVERS
    if not AVAILABLE or _DIFFERENT_IN_1_1.search(text):
        return None
    if _RESOLVERS is None:
        _RESOLVERS = _resolvers()
    loader = _Loader(text)
    try:
        get = loader.get_event
        get()  # StreamStartEvent
        start = get()
        if type(start) is StreamEndEvent:
            return None, None  # no document: what ruamel's load gives
        if start.version is not None or start.tags:
            return None
        value, lines = _node(get, get(), 0)
        get()  # DocumentEndEvent
        if type(get()) is not StreamEndEvent:
            return None  # a second document
        return value, lines
    except (_Outside, _YAMLError, ValueError):
        return None
    finally:
        loader.dispose()


def _scalar(event: Any) -> Any:
    if event.anchor is not None or event.tag is not None:
        raise _Outside
    return _resolve(event.value) if event.implicit[0] else event.value


def _resolve(value: str) -> Any:
    """A plain scalar's value, as ruamel's round-trip load (then ``_plain``) gives it."""
    rules = _RESOLVERS.get(value[:1]) if _RESOLVERS is not None else None
    if not rules:
        return value
    for tag, regexp in rules:
        if regexp.match(value):
            if tag == "null":
                return None
            if tag == "bool":
                return value in ("true", "True", "TRUE")
            if tag == "int" and _INT.match(value):
                return int(value)
            if tag == "float" and _FLOAT.match(value):
                number = float(value)
                if math.isfinite(number):
                    return number
            raise _Outside
    return value


def _node(get: Any, event: Any, depth: int) -> tuple[Any, Any]:
    kind = type(event)
    if kind is ScalarEvent:
        return _scalar(event), None
    if kind is AliasEvent or event.anchor is not None or event.tag is not None:
        raise _Outside
    depth += 1
    if depth > MAX_NESTING:
        raise _Outside
    lines: list[Any] = []
    if kind is MappingStartEvent:
        mapping: dict[str, Any] = {}
        while True:
            key = get()
            if type(key) is MappingEndEvent:
                return mapping, lines
            if type(key) is not ScalarEvent:
                raise _Outside  # a complex key
            name = _scalar(key)
            if type(name) is not str or name in mapping:
                raise _Outside  # a number, bool or null key; a duplicate key
            line = key.start_mark.line + 1
            item = get()
            if type(item) is ScalarEvent:
                mapping[name] = _scalar(item)
                lines.append(line)
            else:
                mapping[name], sub = _node(get, item, depth)
                lines.append([line, sub])
    if kind is SequenceStartEvent:
        sequence: list[Any] = []
        while True:
            item = get()
            if type(item) is SequenceEndEvent:
                return sequence, lines
            line = item.start_mark.line + 1
            if type(item) is ScalarEvent:
                sequence.append(_scalar(item))
                lines.append(line)
            else:
                value, sub = _node(get, item, depth)
                sequence.append(value)
                lines.append([line, sub])
    raise _Outside
