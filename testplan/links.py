"""The ``[tool.testplan.links]`` table: nodeid globs -> requirement/case IDs.

For tests that cannot carry a marker (generated tests, a vendored suite, a file nobody wants
to touch)::

    [tool.testplan.links]
    "tests/test_version.py::test_parse*" = ["SEMVER-1"]
    "tests/test_compare.py" = ["SEMVER-2.1"]

A pattern links a test when it

- equals the nodeid, or the nodeid without its parameter suffix (``test_x`` links every
  ``test_x[...]``);
- is a file or directory path without ``::`` and the test is inside it;
- matches the nodeid (or the nodeid without its parameter suffix) as an ``fnmatch`` glob
  (case-sensitive; ``*`` also matches ``/`` and ``::``).

Nodeids are pytest's, relative to the project root. Links from markers come first, then
the table's in the table's order; duplicates are dropped. IDs are not validated here: an ID
that names nothing is reported by the scorer as DANGLING.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase


def _base(nodeid: str) -> str:
    """The nodeid without a trailing ``[param-id]``."""
    if nodeid.endswith("]") and "[" in nodeid:
        return nodeid[: nodeid.index("[")]
    return nodeid


def matches(pattern: str, nodeid: str) -> bool:
    """Whether a links-table pattern applies to a nodeid."""
    pattern = pattern.strip()
    if not pattern:
        return False
    base = _base(nodeid)
    if pattern in (nodeid, base):
        return True
    if "::" not in pattern:
        prefix = pattern.rstrip("/")
        path = nodeid.split("::", 1)[0]
        if path == prefix or path.startswith(prefix + "/"):
            return True
    return fnmatchcase(nodeid, pattern) or fnmatchcase(base, pattern)


def dedupe(ids: Iterable[str]) -> list[str]:
    """IDs in first-seen order, each once."""
    seen: dict[str, None] = {}
    for link in ids:
        seen.setdefault(link, None)
    return list(seen)


def table_links(nodeid: str, table: Mapping[str, Sequence[str]]) -> list[str]:
    """The IDs the links table gives a nodeid, in table order, deduplicated."""
    return dedupe(link for pattern, ids in table.items() if matches(pattern, nodeid) for link in ids)


def combine(marker_links: Iterable[str], nodeid: str, table: Mapping[str, Sequence[str]]) -> list[str]:
    """A test's links: its markers' IDs first, then the table's; each ID once."""
    return dedupe([*marker_links, *table_links(nodeid, table)])
