"""Load and save requirements and plans.

YAML is written with ruamel.yaml's round-trip mode, so comments, key order and quoting survive
a load/save; a file is parsed round-trip when it is about to be edited, or when it is outside
the plain subset that :mod:`testplan.fastyaml` reads with libyaml (a file that cannot load is
then reported from ruamel's parse). Files whose exact bytes were read before come from the
project's parse cache (:class:`ParseCache`). Plan files are written atomically (temp file +
rename) and only when their content changed. Every problem is reported as ``path:line: message``.

Input is bounded before it is built: a file over ``[tool.testplan] max_input_bytes`` is refused
unread, and anchors/aliases (``&a`` / ``*a``, the way a 500-byte "billion laughs" file expands
to gigabytes), explicit tags (``!foo``, ``!!str``) and nesting deeper than
:data:`MAX_NESTING` are refused at their line while the YAML is composed, before any value
is constructed.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent, NodeEvent
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarint import ScalarInt
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import Finding, InputError
from .model import Case, Plan, Requirement, RequirementSet, Review, requirement_of
from . import fastyaml
from .statedir import DEFAULT_NAME
from .parsecache import (CACHE_SUBDIR, FORMAT, MEMO_KINDS, Memo, ParsedEntry, digest, entry_name, jsonable, line_tree,
                         memo_key, memo_name, tree_line)

M = TypeVar("M", bound=BaseModel)

CASE_KEY_ORDER = ("id", "title", "kind", "call", "given", "expect", "priority", "origin", "status", "reason", "provenance")


# characters YAML reads as line breaks (or cannot keep in plain style): such strings are written
# double-quoted, where they are escaped, so a save/load round trip gives the same text back
_NEEDS_QUOTES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _scalar(value: Any, flow: bool = False) -> Any:
    """A value as round-trip YAML; ``flow`` writes mappings and lists inline (``{pets: 2}``)."""
    if isinstance(value, str) and _NEEDS_QUOTES.search(value):
        return DoubleQuotedScalarString(value)
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _scalar(item, flow)
        if flow:
            out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_scalar(item, flow) for item in value)
        if flow:
            seq.fa.set_flow_style()
        return seq
    return value


DEFAULT_STYLE = (2, 4, 2)  # (mapping, sequence, offset): "cases:\n  - id: ..."
# block styles a person may have written a plan in; a save keeps the one that reproduces the file
_STYLES = (DEFAULT_STYLE, (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 2, 2))


DEFAULT_MAX_INPUT_BYTES = 10 * 1024 * 1024  # [tool.testplan] max_input_bytes
MAX_NESTING = 64  # mappings/lists inside each other; requirements and plans need 5


class _Refused(Exception):
    """A YAML construct testplan does not read, found while composing (``line`` is 1-based)."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message = message
        self.line = line


class _BoundedComposer(Composer):
    """ruamel's composer, refusing what could make a small file large or surprising: aliases
    and anchors (an alias is expanded by reference and then copied once per use, so nine
    nested aliases are 9**9 values), explicit tags, and deep nesting."""

    _nesting = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            name = event.anchor
            raise _Refused(f"YAML anchors and aliases ('&{name}', '*{name}') are not supported; write the value out in full", line)
        tag = getattr(event, "ctag", None) or getattr(event, "tag", None)
        if tag is not None:
            written = f"{tag.handle or ''}{tag.suffix or ''}" if hasattr(tag, "suffix") else str(tag)
            raise _Refused(f"YAML tags ('{written}') are not supported; remove the tag (quote the value if it must stay text)", line)
        self._nesting += 1
        try:
            if self._nesting > MAX_NESTING:
                raise _Refused(f"values nested more than {MAX_NESTING} levels deep; flatten the structure", line)
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1


def make_yaml(style: tuple[int, int, int] = DEFAULT_STYLE) -> YAML:
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    yaml.preserve_quotes = True
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = 4096  # never re-wrap a user's long lines
    return yaml


def _render(data: Any, style: tuple[int, int, int]) -> str:
    stream = io.StringIO()
    make_yaml(style).dump(data, stream)
    return stream.getvalue()


def display(path: Path, root: Path | None = None) -> str:
    """A path as the user should see it: relative to the project root when inside it."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _shown(path: Path, real: Path, real_root: Path | None) -> str:
    """:func:`display` for a path whose real path and root's real path are known."""
    if real_root is not None:
        try:
            return str(real.relative_to(real_root))
        except ValueError:
            pass
    return str(path)


# --- reading ----------------------------------------------------------------------------------

def read_text(path: Path, shown: str | None = None, max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> str:
    """A user's text file, refused unread past ``max_bytes`` (no more than that is ever read)."""
    shown = shown or str(path)
    return _decode(read_bytes(path, shown, max_bytes), shown)


def read_bytes(path: Path, shown: str, max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> bytes:
    """:func:`read_text`'s bytes, before decoding (refused unread past ``max_bytes``)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError("file not found; create it or point [tool.testplan] at the right path", shown) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", shown) from None
    if len(data) > max_bytes:
        raise InputError(f"larger than the {max_bytes}-byte input limit; split it into smaller files "
                         "or raise [tool.testplan] max_input_bytes", shown)
    return data


def _decode(data: bytes, shown: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason}); save the file as UTF-8", shown, 1) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as open() in text mode reads it


def read_yaml(path: Path, shown: str | None = None, max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> Any:
    """Parse a YAML file in round-trip mode; a syntax error, an alias, a tag or a file over
    ``max_bytes`` becomes an InputError with its line."""
    shown = shown or str(path)
    text = read_text(path, shown, max_bytes)
    return parse_yaml(text, shown)


def parse_yaml(text: str, shown: str) -> Any:
    """:func:`read_yaml` for text already read."""
    try:
        return make_yaml().load(text)
    except _Refused as exc:
        raise InputError(exc.message, shown, exc.line) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "syntax error"
        if "found duplicate key" in str(exc):
            what = "duplicate key " + str(exc).split('found duplicate key', 1)[1].split("\n", 1)[0].strip()
            return_msg = f"malformed YAML: {what}; remove one of them"
        else:
            return_msg = f"malformed YAML: {what}; fix the syntax"
        raise InputError(return_msg, shown, line) from None
    except YAMLError as exc:
        raise InputError(f"malformed YAML: {str(exc).splitlines()[0]}; fix the syntax", shown, 1) from None


class ParseCache:
    """The parse cache of one project: ``.testplan/cache/parsed/`` under its root, whatever
    state directory a run uses (an ``audit --out DIR`` has its own; this cache is the project's).
    See :mod:`testplan.parsecache` for what an entry holds.

    Read only while ``.testplan``, ``.testplan/cache`` and ``.testplan/cache/parsed`` are real
    directories (no symlink; a missing one means an empty cache). What the files parsed now
    would add is kept in memory until :meth:`save`, which a command calls only once it has done
    its work: a refused command, or one that failed, writes nothing. :meth:`save` writes only
    into a ``.testplan`` that exists (it never creates one: a fresh clone stays untouched),
    each entry atomically under its content-addressed name (two processes write the same text,
    so no lock is needed; a command that holds the writer's lock saves under it), and the first
    write that fails (an unwritable directory) ends it silently: a command never fails or warns
    because the cache cannot be written.
    """

    def __init__(self, root: Path):
        self.state_dir = root / DEFAULT_NAME
        self.directory = self.state_dir / CACHE_SUBDIR
        self.pending: dict[str, str] = {}  # entry name -> its JSON text, until save()
        self.used: set[str] = set()  # the entries of the files read (or written) by this command
        self._usable: bool | None = None
        self._memo: dict[str, dict[str, Any]] | None = None  # the memo's kinds, read on first use
        self._memo_used: dict[str, dict[str, Any]] = {kind: {} for kind in MEMO_KINDS}  # looked up or added now
        self._memo_new = False

    def usable(self) -> bool:
        """Whether ``.testplan`` exists and no part of the cache's path is a symlink, something
        other than a directory, or a directory this user cannot read."""
        if self._usable is None:
            parts = (self.state_dir, self.state_dir / "cache", self.directory)
            self._usable = (self.state_dir.is_dir()
                            and not any(p.is_symlink() or (p.exists() and not p.is_dir()) for p in parts)
                            and all(os.access(p, os.R_OK | os.X_OK) for p in parts if p.exists()))
        return self._usable

    def get(self, sha256: str) -> ParsedEntry | None:
        if not self.usable():
            return None
        name = entry_name(sha256)
        path = self.directory / name
        entry = read_state(path, ParsedEntry, "parse cache entry", loads=json.loads)
        if entry is not None and entry.sha256 != sha256:
            import sys

            print(f"testplan: warning: {path}: unusable parse cache entry (sha256: not the file's name); "
                  "discarded, computing it again", file=sys.stderr)
            return None
        if entry is not None:
            self.used.add(name)
        return entry

    def memo(self, kind: str, key: str) -> Any:
        """What the memo keeps of ``kind`` for ``key`` (see :class:`testplan.parsecache.Memo`)."""
        if not self.usable():
            return None
        value = self._read_memo()[kind].get(key)
        if value is not None:
            self._memo_used[kind][key] = value
        return value

    def keep(self, kind: str, key: str, value: Any) -> None:
        """Keep what a command worked out now for :meth:`save`."""
        if self.usable():
            self._memo_used[kind][key] = value
            self._memo_new = True

    def _read_memo(self) -> dict[str, dict[str, Any]]:
        if self._memo is None:
            memo = read_state(self.directory / memo_name(), Memo, "parse cache memo", loads=json.loads)
            self._memo = {kind: getattr(memo, kind) if memo is not None else {} for kind in MEMO_KINDS}
        return self._memo

    def put(self, sha256: str, plain: Any, lines: Any) -> None:
        """Keep a cleanly parsed file's values and line tree for :meth:`save` (nothing when its
        values do not survive JSON)."""
        if self.usable() and jsonable(plain):
            name = entry_name(sha256)
            entry = {"format": FORMAT, "sha256": sha256, "data": plain,
                     "lines": json.dumps(lines, separators=(",", ":"))}
            self.pending[name] = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
            self.used.add(name)

    def written(self, text: str, replacing: str | None = None) -> None:
        """A file this command just wrote: keep the entry of its new ``text`` when
        :func:`testplan.fastyaml.parse` reads it (no round-trip parse just for the cache), and
        forget the entry of the text it ``replacing`` (it is no longer the project's)."""
        if not self.usable():
            return
        if replacing is not None:
            old = entry_name(digest(replacing.encode("utf-8")))
            self.pending.pop(old, None)
            self.used.discard(old)
        parsed = fastyaml.parse(text)
        if parsed is not None:
            self.put(digest(text.encode("utf-8")), *parsed)

    def save(self, prune: bool = False) -> None:
        """Write the kept entries (see the class docstring for when nothing is written). With
        ``prune`` (a command that read every file of the project, holding the writer's lock)
        also delete the entries of bytes that are no longer any file's: an edited file's old
        entries would otherwise stay forever."""
        pending, self.pending = self.pending, {}
        if not self.usable() or not (pending or prune or self._memo_new):
            return
        known = self._read_memo()
        memo = {kind: {**known[kind], **self._memo_used[kind]} for kind in MEMO_KINDS}
        if prune:  # only the keys whose two files' bytes this command read (the others are no file's now)
            memo = {kind: {k: v for k, v in values.items()
                           if all(entry_name(sha) in self.used for sha in k.rsplit(":", 2)[1:])}
                    for kind, values in memo.items()}
        if any(memo.values()):
            self.used.add(memo_name())
            if self._memo_new or any(len(memo[kind]) != len(known[kind]) for kind in MEMO_KINDS):
                pending[memo_name()] = json.dumps({"format": FORMAT, **memo}, separators=(",", ":"))
        self._memo_new = False
        try:
            for directory in (self.state_dir / "cache", self.directory):
                directory.mkdir(exist_ok=True)  # never the state directory itself
            for name, text in pending.items():
                try:
                    atomic_write(self.directory / name, text, durable=False)
                except UnicodeEncodeError:  # a lone surrogate (a "\ud800" escape ruamel reads) has no UTF-8
                    self.used.discard(name)
            if prune:
                for entry in os.scandir(self.directory):
                    if entry.name.endswith(".json") and entry.name not in self.used:
                        os.unlink(entry.path)  # a link itself, never its target
        except OSError:
            return


class Doc:
    """A YAML input file read: its text, its plain values and line tree (from the parse cache
    or :func:`testplan.fastyaml.parse`), or its round-trip document (ruamel parsed it). The
    round-trip document is parsed on first use, only to edit the file. A Doc made by
    :meth:`unread` (bytes the memo knows loaded cleanly) reads its values on first use: from
    the parse cache, else by parsing the text again."""

    def __init__(self, path: Path, shown: str, text: str, plain: Any, lines: Any = None, rt: Any = None,
                 sha256: str | None = None, lines_json: str | None = None):
        self.path = path
        self.shown = shown
        self.text = text
        self._plain = plain
        self.lines = lines
        self.rt = rt
        self.sha256 = sha256  # of the bytes read, when the parse cache needed it
        self.lines_json = lines_json  # the line tree as a cache entry keeps it, decoded on first use
        self._cache: ParseCache | None = None

    @classmethod
    def unread(cls, path: Path, shown: str, text: str, sha256: str, cache: ParseCache) -> Doc:
        doc = cls(path, shown, text, _UNREAD, sha256=sha256)
        doc._cache = cache
        return doc

    @property
    def plain(self) -> Any:
        if self._plain is _UNREAD:
            read = _parsed(self.path, self.shown, self.text, self.sha256, self._cache)
            self._plain, self.lines, self.rt, self.lines_json = read._plain, read.lines, read.rt, read.lines_json
        return self._plain

    @property
    def plain_only(self) -> bool:
        """Whether the file was not parsed round-trip (it parsed cleanly)."""
        return self.rt is None

    def round_trip(self) -> Any:
        if self.rt is None:
            self.rt = parse_yaml(self.text, self.shown)
        return self.rt

    def line(self, loc: Iterable[Any]) -> int:
        plain = self.plain
        if self.rt is not None:
            return line_of(self.rt, loc)
        if self.lines is None and self.lines_json is not None:
            self.lines = json.loads(self.lines_json)
        return tree_line(plain, self.lines, loc)


_UNREAD = object()


def read_doc(path: Path, shown: str, max_bytes: int = DEFAULT_MAX_INPUT_BYTES, cache: ParseCache | None = None) -> Doc:
    """:func:`read_yaml`, served from ``cache`` when these exact bytes parsed cleanly before,
    else read by :func:`testplan.fastyaml.parse`, else parsed round-trip (where every refusal
    and error is raised, with its line). The size limit and the UTF-8 check run first, on the
    bytes read."""
    raw = read_bytes(path, shown, max_bytes)
    text = _decode(raw, shown)
    return _parsed(path, shown, text, digest(raw) if cache is not None and cache.usable() else None, cache)


def _parsed(path: Path, shown: str, text: str, sha256: str | None, cache: ParseCache | None) -> Doc:
    if sha256 is not None and cache is not None:
        entry = cache.get(sha256)
        if entry is not None:
            return Doc(path, shown, text, entry.data, sha256=sha256, lines_json=entry.lines)
    parsed = fastyaml.parse(text)
    if parsed is not None:
        doc = Doc(path, shown, text, *parsed, sha256=sha256)
    else:
        rt = parse_yaml(text, shown)
        doc = Doc(path, shown, text, _plain(rt), rt=rt, sha256=sha256)
    if sha256 is not None and cache is not None:
        cache.put(sha256, doc.plain, doc.lines if doc.rt is None else line_tree(doc.rt))
    return doc


_FREEZE_LOADED = {"on": False}  # set by freeze_loaded(), in a process that ends with its command


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection in the block (a project loading): it builds millions of
    values and models that hold no reference cycles, and the collector's passes over them were
    half the load's time (2,000 plans of 20 cases from the parse cache: 0.95 s of CPU with it,
    0.47 s without). Whatever cycles the block leaves are collected after it, as usual, unless
    :func:`freeze_loaded` was called."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if _FREEZE_LOADED["on"]:
            gc.freeze()
        gc.enable()


def freeze_loaded() -> None:
    """For a process that ends with its command (the console script, :func:`testplan.cli.run`):
    what the outermost :func:`paused_gc` block leaves is frozen (:func:`gc.freeze`) when it
    ends, so the collector never walks it again. Otherwise the first collections after the block
    walk every object it made (2,000 plans of 20 cases: ~0.17 s of ``status --json``). Frozen
    objects are never collected as cyclic garbage, so a long-lived process (a test run, a tool
    calling the library) leaves this off."""
    _FREEZE_LOADED["on"] = True


def line_of(data: Any, loc: Iterable[Any]) -> int:
    """1-based line of the node at ``loc`` (a pydantic error location) in round-trip data.

    Walks as deep as the data allows; an unknown key's line is the line of that key.
    """
    line = 1
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names allowed where an unknown key was found (for the 'how to fix' half of a message)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            # a dict field's value (e.g. inputs.<name>): the value type is the model
            return None
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside list[M], dict[str, M], M | None, or M itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# what a value of the wrong shape should look like, by pydantic error type
_TYPE_HINTS = {
    "list_type": "a list; write one '- item' per line, or [a, b]",
    "dict_type": "a mapping; write 'key: value' lines",
    "model_type": "a mapping; write 'key: value' lines",
    "model_attributes_type": "a mapping; write 'key: value' lines",
    "string_type": "text; put it in quotes",
    "int_type": "a whole number such as 3",
    "int_parsing": "a whole number such as 3",
    "float_type": "a number such as 9.99",
    "float_parsing": "a number such as 9.99",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "datetime_type": "a UTC time such as 2026-11-20T21:00:00Z (approve writes it: 'testplan approve')",
    "datetime_parsing": "a UTC time such as 2026-11-20T21:00:00Z (approve writes it: 'testplan approve')",
    "datetime_from_date_parsing": "a UTC time such as 2026-11-20T21:00:00Z (approve writes it: 'testplan approve')",
    "too_short": "a non-empty value; fill it in",
    "string_too_short": "a non-empty text; fill it in",
}


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None or value == "":
        return "nothing"
    return repr(str(value) if not isinstance(value, (int, float, bool)) else value)


_UNION_TAGS = {"text", "mapping", "returns", "raises"}  # the tags of Case.given / Case.expect


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A location without the union tag pydantic puts after ``given``/``expect``."""
    out: list[Any] = []
    for index, part in enumerate(loc):
        if index > 0 and loc[index - 1] in ("given", "expect") and part in _UNION_TAGS:
            continue
        out.append(part)
    return tuple(out)


def _describe(error: dict[str, Any], model: type[BaseModel], prefix: tuple[Any, ...]) -> str:
    loc = _without_tags(tuple(error["loc"]))
    where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in prefix + loc).replace(".[", "[")
    kind = error["type"]
    if kind == "extra_forbidden":
        tags = tuple(error["loc"])
        shape = next((t for i, t in enumerate(tags) if i and tags[i - 1] == "expect" and t in ("returns", "raises")), None)
        allowed = {"returns": ["returns"], "raises": ["raises", "match"]}[shape] if shape else _allowed_keys(model, loc)
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{loc[-1]}'{hint}; remove or rename it"
    if kind == "missing":
        parent = where.rsplit(".", 1)[0] if "." in where else ""
        return f"{parent + ': ' if parent else ''}missing required key '{loc[-1]}'; add it"
    value = error.get("input")
    if kind == "string_pattern_mismatch":
        field_name = str(loc[-1]) if loc else "value"
        if field_name in ("id", "requirement") or where.endswith("].id"):
            example = "PAY-1.3" if "cases" in where else "PAY-1"
            return f"{where}: '{value}' is not a valid ID; use the form {example}"
        if "code" in where:
            return f"{where}: '{value}' is not a code reference; use 'package.module' or 'package.module:Class.function'"
        if "origin" in where:
            return f"{where}: '{value}' is not an origin; use human, rules or llm:<model>"
        if where.endswith("expect.raises"):
            return f"{where}: '{value}' is not an exception name; write one such as ValueError or mypkg.errors.PriceError"
        if where.endswith("[key]"):
            return f"{where[:-5]}: '{value}' is not a parameter name; use the callable's parameter names"
        if "fingerprint" in where:
            return f"{where}: not a fingerprint; run 'testplan approve' instead of editing it"
    if kind in ("given_shape", "expect_shape"):
        return f"{where}: {error['msg']}"
    if kind in ("enum", "literal_error"):
        expected = error.get("ctx", {}).get("expected", "")
        return f"{where}: '{value}' is not allowed; use one of {expected}"
    if kind == "string_type" and isinstance(value, dict):
        return f"{where}: expected text, got a mapping; put the text in quotes (a ': ' inside it starts a mapping)"
    if kind == "string_type" and isinstance(value, list):
        return f"{where}: expected text, got a list; put the text in quotes (a '[' or '- ' starts a list)"
    if kind in _TYPE_HINTS:
        return f"{where}: got {_shape(value)}, expected {_TYPE_HINTS[kind]}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return f"{where}: {message}"


def validate(model: type[M], data: Any, path: str, *, prefix: tuple[Any, ...] = (), doc: Any = None) -> M:
    """Validate ``data`` as ``model``; the first error becomes an InputError at its line."""
    try:
        return model.model_validate(_plain(data))
    except ValidationError as exc:
        raise _first_error(exc, model, path, prefix, doc if doc is not None else data, data) from None


def validation_findings(model: type[BaseModel], data: Any, path: str, *, prefix: tuple[Any, ...] = (), doc: Any = None) -> tuple[BaseModel | None, list[Finding]]:
    try:
        return model.model_validate(_plain(data)), []
    except ValidationError as exc:
        root = doc if doc is not None else data
        findings = []
        for error in exc.errors():
            loc = prefix + _without_tags(tuple(error["loc"]))
            findings.append(Finding(path, _refine_line(root, loc, error), _describe(error, model, prefix)))
        return None, sorted(set(findings))


def _first_error(exc: ValidationError, model: type[BaseModel], path: str, prefix: tuple[Any, ...], root: Any, data: Any) -> InputError:
    error = exc.errors()[0]
    loc = prefix + _without_tags(tuple(error["loc"]))
    return InputError(_describe(error, model, prefix), path, _refine_line(root, loc, error))


def _refine_line(root: Any, loc: tuple[Any, ...], error: dict[str, Any]) -> int:
    """The line of a problem; for a duplicate case ID, the line of its second use."""
    message = str(error.get("msg", ""))
    found = re.search(r"duplicate case ID (\S+?);", message)
    if found:
        duplicate = found.group(1)
        cases = root.get("cases") if isinstance(root, CommentedMap) else None
        seen = 0
        for index, item in enumerate(cases or []):
            if isinstance(item, CommentedMap) and item.get("id") == duplicate:
                seen += 1
                if seen == 2:
                    return line_of(root, ("cases", index, "id"))
    return line_of(root, loc)


def _plain(data: Any) -> Any:
    """Round-trip containers to plain dicts/lists/strs (pydantic sees ordinary values)."""
    if isinstance(data, dict):
        return {str(k) if not isinstance(k, (int, float, bool)) else k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, str):
        return str(data)
    if isinstance(data, ScalarFloat):
        return float(data)
    if isinstance(data, ScalarInt):
        return int(data)
    return data


# --- requirements -----------------------------------------------------------------------------

@dataclass
class Source:
    path: str
    line: int
    code_lines: list[int] = field(default_factory=list)


@dataclass
class Requirements:
    """All requirements of a project, with where each was defined."""

    project: str | None = None
    items: dict[str, Requirement] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # IDs of requirements that failed validation
    incomplete: bool = False  # a requirements file could not be read at all
    # ID -> the sha256 of the bytes of the file it was loaded from (when the parse cache took it)
    digests: dict[str, str] = field(default_factory=dict)

    def known(self, requirement_id: str) -> bool:
        """Whether a plan for this ID has a requirement (or may have one that failed to load)."""
        broken = {b.upper() for b in self.broken}  # 'pay-1' failed to load: its plan PAY-1 is not news
        return requirement_id in self.items or requirement_id.upper() in broken or self.incomplete

    def __iter__(self):
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)

    def get(self, req_id: str) -> Requirement:
        try:
            return self.items[req_id]
        except KeyError:
            known = ", ".join(self.items) or "none"
            raise InputError(f"unknown requirement '{req_id}' (known: {known}); check the ID or add it to the requirements file") from None


def requirement_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_requirements(path: Path, root: Path | None = None, findings: list[Finding] | None = None,
                      max_bytes: int = DEFAULT_MAX_INPUT_BYTES, cache: ParseCache | None = None) -> Requirements:
    """Load one requirements file or a directory of them.

    With ``findings`` given, every problem is appended there and loading goes on (lint);
    without it, the first problem raises an InputError. A file is read by :func:`read_doc`
    (from ``cache`` when its bytes parsed before); a file with any problem is checked on its
    round-trip document, so every message and line is the same however it was read.
    """
    collect = findings is not None
    found: list[Finding] = findings if findings is not None else []
    result = Requirements()
    if not path.exists():
        err = InputError("requirements file not found; run 'testplan init' or set [tool.testplan] requirements", display(path, root))
        if not collect:
            raise err
        found.append(err.finding)
        result.incomplete = True
        return result
    files = requirement_files(path)
    result.files = files
    for file in files:
        shown = display(file, root)
        try:
            doc = read_doc(file, shown, max_bytes, cache)
        except InputError as err:
            if not collect:
                raise
            found.append(err.finding)
            result.incomplete = True
            continue
        before = set(result.items)
        if not (doc.plain_only and _load_clean_requirement_doc(doc, result)):
            for finding in _load_requirement_doc(doc.round_trip(), shown, result):
                if not collect:
                    raise InputError(finding.message, finding.path, finding.line)
                found.append(finding)
        if doc.sha256 is not None:
            result.digests.update((i, doc.sha256) for i in result.items if i not in before)
    return result


def _load_clean_requirement_doc(doc: Doc, result: Requirements) -> bool:
    """Load a requirements file from its plain values when it has no problem at all
    (what :func:`_load_requirement_doc` would load without a finding); False, with ``result``
    untouched, otherwise."""
    data = doc.plain
    if not isinstance(data, dict) or not set(data) <= set(RequirementSet.model_fields):
        return False
    project = data.get("project")
    items = data.get("requirements")
    if (project is not None and not isinstance(project, str)) or not isinstance(items, list):
        return False
    loaded: list[tuple[int, Requirement]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return False
        try:
            loaded.append((index, Requirement.model_validate(item)))
        except ValidationError:
            return False
    ids = [requirement.id for _, requirement in loaded]
    if len(set(ids)) != len(ids) or any(i in result.items for i in ids):
        return False
    if project is not None and result.project is None:
        result.project = project
    for index, requirement in loaded:
        result.items[requirement.id] = requirement
        code_lines = [doc.line(["requirements", index, "code", i]) for i in range(len(requirement.code))]
        result.sources[requirement.id] = Source(doc.shown, doc.line(["requirements", index, "id"]), code_lines)
    return True


def _load_requirement_doc(data: Any, shown: str, result: Requirements) -> list[Finding]:
    if data is None or not isinstance(data, CommentedMap):
        result.incomplete = True
        if data is None:
            return [Finding(shown, 1, "empty file; add 'requirements:' with a list of requirements")]
        return [Finding(shown, 1, "expected a mapping with 'project' and 'requirements' keys")]
    problems: list[Finding] = []
    for key in data:
        if key not in RequirementSet.model_fields:
            problems.append(Finding(shown, line_of(data, [key]), f"unknown key '{key}' (allowed: project, requirements); remove or rename it"))
    if "project" in data and data["project"] is not None:
        if not isinstance(data["project"], str):
            problems.append(Finding(shown, line_of(data, ["project"]), "project: must be a string"))
        elif result.project is None:
            result.project = str(data["project"])
    items = data.get("requirements")
    if items is None:
        result.incomplete = True
        problems.append(Finding(shown, 1, "missing required key 'requirements'; add a list of requirements"))
        return problems
    if not isinstance(items, CommentedSeq):
        result.incomplete = True
        problems.append(Finding(shown, line_of(data, ["requirements"]), "requirements: must be a list of requirements"))
        return problems
    for index, item in enumerate(items):
        line = items.lc.item(index)[0] + 1
        if not isinstance(item, CommentedMap):
            problems.append(Finding(shown, line, f"requirements[{index}]: must be a mapping with id, title, statement, ..."))
            continue
        requirement, errors = validation_findings(Requirement, item, shown, prefix=("requirements", index), doc=data)
        problems.extend(errors)
        if requirement is None:
            if isinstance(item.get("id"), str):
                result.broken.add(str(item["id"]))
            else:
                result.incomplete = True
            continue
        assert isinstance(requirement, Requirement)
        if requirement.id in result.items:
            first = result.sources[requirement.id]
            problems.append(Finding(shown, line_of(data, ["requirements", index, "id"]), f"duplicate requirement ID {requirement.id} (first defined at {first.path}:{first.line}); IDs are unique and never reused"))
            continue
        result.items[requirement.id] = requirement
        code_lines = [line_of(data, ["requirements", index, "code", i]) for i in range(len(requirement.code))]
        result.sources[requirement.id] = Source(shown, line_of(data, ["requirements", index, "id"]), code_lines)
    return problems


# --- plans ------------------------------------------------------------------------------------

@dataclass
class PlanFile:
    """One ``plans/<REQ>.yaml``: the validated Plan plus the round-trip document it came from.

    Edits go through the methods below, which change the round-trip document in place, so a
    save keeps every comment, key order and quoting the user wrote, and the file's indentation
    style. A plan nothing was changed in is never written.
    """

    path: Path
    shown: str
    document: CommentedMap | Doc  # a Doc not parsed round-trip is parsed into its CommentedMap on first use
    original: str | None  # the file's text as read (None: new file)
    changed: bool = False  # an edit method ran since the last save
    style: tuple[int, int, int] | None = None  # indentation, found before the first edit
    _plan: Plan | None = field(default=None, repr=False, compare=False)  # validated, while unedited
    sha256: str | None = None  # of the bytes read, while unedited (when the parse cache took it)

    @property
    def data(self) -> CommentedMap:
        """The round-trip document (parsed now if the file was read without it)."""
        if isinstance(self.document, Doc):
            self.document = self.document.round_trip()
        return self.document

    @property
    def plan(self) -> Plan:
        if self._plan is not None and not self.changed:
            return self._plan
        source = self.document.plain if isinstance(self.document, Doc) else self.data
        plan = validate(Plan, source, self.shown) if not isinstance(self.document, Doc) else Plan.model_validate(source)
        if not self.changed:
            self._plan = plan
        return plan

    def line(self, loc: Iterable[Any]) -> int:
        """:func:`line_of` in this plan's document (from its line tree when it was not parsed round-trip)."""
        if isinstance(self.document, Doc):
            return self.document.line(loc)
        return line_of(self.document, loc)

    @classmethod
    def new(cls, path: Path, requirement_id: str, root: Path | None = None) -> PlanFile:
        data = CommentedMap()
        data["requirement"] = requirement_id
        data["cases"] = CommentedSeq()
        return cls(path, display(path, root), data, None)

    def case_line(self, case_id: str) -> int:
        for index, item in enumerate(self.data.get("cases") or []):
            if isinstance(item, dict) and item.get("id") == case_id:
                return self.data["cases"].lc.item(index)[0] + 1
        return 1

    def _case_map(self, case_id: str) -> CommentedMap:
        for item in self.data.get("cases") or []:
            if isinstance(item, CommentedMap) and item.get("id") == case_id:
                return item
        raise InputError(f"no case {case_id} in this plan; check the ID with 'testplan status'", self.shown)

    def _style(self) -> tuple[int, int, int]:
        """The indentation the file was written in: the first known style that renders the
        untouched document back to the file's exact text (found before the first edit)."""
        if self.style is None:
            self.style = DEFAULT_STYLE
            if self.original is not None:
                self.style = next((s for s in _STYLES if _render(self.data, s) == self.original), DEFAULT_STYLE)
        return self.style

    def _edit(self) -> None:
        """Called before every change."""
        self._style()
        self.changed = True
        self._plan = None
        self.sha256 = None

    def add_case(self, case: Case) -> None:
        self._edit()
        if "cases" not in self.data or self.data["cases"] is None:
            self.data["cases"] = CommentedSeq()
        item = CommentedMap()
        dumped = case.model_dump(mode="json", exclude_none=True)
        for key in CASE_KEY_ORDER:
            if key in dumped:
                item[key] = _scalar(dumped[key], flow=key in ("given", "expect"))
        self.data["cases"].append(item)

    def set_case_status(self, case_id: str, status: str, reason: str | None = None) -> None:
        item = self._case_map(case_id)
        self._edit()
        item["status"] = status
        if reason is not None:
            _set_after(item, "reason", _scalar(reason), "status")
        elif "reason" in item and status != "rejected":
            del item["reason"]

    def set_review(self, review: Review) -> None:
        self._edit()
        record = CommentedMap()
        record["by"] = _scalar(review.by)
        record["at"] = review.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        record["fingerprint"] = review.fingerprint
        if review.vouched is not None:
            record["vouched"] = LiteralScalarString(review.vouched)
        self.data["review"] = record

    def render(self) -> str:
        return _render(self.data, self._style())

    def save(self) -> bool:
        """Write the plan if an edit changed its text; returns whether the file was written."""
        if not self.changed and self.original is not None:
            return False
        text = self.render()
        self.changed = False
        if text == self.original:
            return False
        self.plan  # never write a plan that would not load again
        atomic_write(self.path, text)
        self.original = text
        return True


def _set_after(item: CommentedMap, key: str, value: Any, after: str) -> None:
    if key in item:
        item[key] = value
        return
    keys = list(item.keys())
    position = keys.index(after) + 1 if after in keys else len(keys)
    item.insert(position, key, value)


def plan_path(plans_dir: Path, requirement_id: str) -> Path:
    return plans_dir / f"{requirement_id}.yaml"


def load_plan_file(path: Path, root: Path | None = None, max_bytes: int = DEFAULT_MAX_INPUT_BYTES) -> PlanFile:
    shown = display(path, root)
    text = read_text(path, shown, max_bytes)
    data = parse_yaml(text, shown)
    if not isinstance(data, CommentedMap):
        raise InputError("expected a mapping with 'requirement' and 'cases' keys", shown, 1)
    plan_file = PlanFile(path, shown, data, text)
    plan_file.plan  # validate now, so errors carry the file's name
    return plan_file


@dataclass
class Plans:
    files: dict[str, PlanFile] = field(default_factory=dict)

    def get(self, requirement_id: str) -> Plan | None:
        plan_file = self.files.get(requirement_id)
        return plan_file.plan if plan_file else None


def load_plans(plans_dir: Path, requirements: Requirements, root: Path | None = None, findings: list[Finding] | None = None,
               max_bytes: int = DEFAULT_MAX_INPUT_BYTES, cache: ParseCache | None = None) -> Plans:
    """Load every ``*.yaml`` under the plans directory (the requirements file itself excluded)
    and check each against the requirements: unknown requirement, wrong file name, case IDs
    of another requirement."""
    collect = findings is not None
    found: list[Finding] = findings if findings is not None else []
    plans = Plans()

    def report(finding: Finding) -> None:
        if not collect:
            raise InputError(finding.message, finding.path, finding.line)
        found.append(finding)

    if not plans_dir.is_dir():
        return plans
    excluded = {p.resolve() for p in requirements.files}
    real_dir = plans_dir.resolve()
    real_root = root.resolve() if root is not None else None
    for path in sorted(plans_dir.glob("*.y*ml")):
        # path.resolve() per file is slow (a syscall per component); only a link needs it
        real = path.resolve() if path.is_symlink() else real_dir / path.name
        if real in excluded or path.suffix not in (".yaml", ".yml"):
            continue
        shown = _shown(path, real, real_root)
        try:
            raw = read_bytes(path, shown, max_bytes)
            text = _decode(raw, shown)
            sha256 = digest(raw) if cache is not None and cache.usable() else None
            req_sha = requirements.digests.get(path.stem)
            if (sha256 is not None and cache is not None and req_sha is not None and path.stem not in plans.files
                    and cache.memo("outlines", memo_key(path.stem, req_sha, sha256)) is not None):
                # these bytes loaded cleanly as the plan of this requirement: read them when asked
                plans.files[path.stem] = PlanFile(path, shown, Doc.unread(path, shown, text, sha256, cache), text, sha256=sha256)
                cache.used.add(entry_name(sha256))  # the project's bytes: their entry stays
                continue
            doc = _parsed(path, shown, text, sha256, cache)
        except InputError as err:
            report(err.finding)
            continue
        if not isinstance(doc.plain, dict):
            report(Finding(shown, 1, "expected a mapping with 'requirement' and 'cases' keys"))
            continue
        try:
            plan = Plan.model_validate(doc.plain)
        except ValidationError:
            # the messages and lines of the errors come from the round-trip document
            _, errors = validation_findings(Plan, doc.round_trip(), shown)
            for error in errors:
                report(error)
            continue
        if plan.requirement not in requirements.items:
            if requirements.known(plan.requirement):
                continue  # its requirement failed to load; that error is reported already
            report(Finding(shown, doc.line(["requirement"]), f"plan for unknown requirement {plan.requirement}; add it to the requirements or delete this plan"))
            continue
        if path.stem != plan.requirement:
            report(Finding(shown, doc.line(["requirement"]), f"plan for {plan.requirement} is in {path.name}; rename the file to {plan.requirement}.yaml"))
            continue
        if plan.requirement in plans.files:
            first = plans.files[plan.requirement].shown
            report(Finding(shown, doc.line(["requirement"]), f"a second plan for {plan.requirement} (the first is {first}); merge them into {plan.requirement}.yaml and delete this file"))
            continue
        bad_case = False
        for index, case in enumerate(plan.cases):
            if requirement_of(case.id) != plan.requirement:
                bad_case = True
                report(Finding(shown, doc.line(["cases", index, "id"]), f"case {case.id} does not belong to requirement {plan.requirement}; number it {plan.requirement}.<n>"))
        if bad_case:
            continue
        plan_file = PlanFile(path, shown, doc.rt if doc.rt is not None else doc, doc.text, sha256=doc.sha256)
        plan_file._plan = plan
        plans.files[plan.requirement] = plan_file
    return plans


# --- testplan's own state -------------------------------------------------------------------

def read_state(path: Path, model: type[M], what: str, loads: Any = None) -> M | None:
    """A cache or state file testplan wrote (under ``.testplan/``), validated by ``model``.

    None when the file does not exist; also None, after one warning line on stderr, when it is
    not UTF-8 JSON of the model's shape (truncated, edited by hand, written by another version):
    the caller computes it again and overwrites it, so a bad file never outlives one run.
    ``loads`` (e.g. ``json.loads``) parses the text before the model validates the values: much
    faster than pydantic's JSON parser for a model with large ``Any`` fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text: {exc.reason}"
    except OSError as exc:
        reason = f"cannot read: {exc.strerror}"
    else:
        try:
            if loads is not None:
                try:
                    return model.model_validate(loads(text))
                except ValueError as exc:
                    if isinstance(exc, ValidationError):
                        raise
                    raise _NotJson(f"Invalid JSON: {exc}") from None
            return model.model_validate_json(text)
        except _NotJson as exc:
            reason = str(exc)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            reason = f"{where + ': ' if where else ''}{error['msg']}"
    import sys

    print(f"testplan: warning: {path}: unusable {what} ({_one_line(reason)}); discarded, computing it again", file=sys.stderr)
    return None


class _NotJson(Exception):
    pass


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- writing ----------------------------------------------------------------------------------

def atomic_write(path: Path, text: str, durable: bool = True) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half.

    ``durable`` syncs the text to disk before the rename; a cache entry (checked when read, and
    computed again when bad) is written without it: a sync per entry made a cold run of 2,000
    plans seconds slower."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
