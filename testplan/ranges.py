"""Numbers as compact ranges ("3-5,9"): line numbers in audit.json, test indexes in the kill
matrix and in the mutation job. Nothing but the standard library (no pydantic, no testplan module):
the mutation worker reads the job with these before pytest starts, and every fork of it copies
what it imported."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def line_ranges(lines: Iterable[int]) -> str:
    """Line numbers as compact ranges, sorted, each once: {9, 3, 4, 5} -> ``"3-5,9"``."""
    out: list[str] = []
    ordered = sorted(set(lines))
    start = prev = None
    for n in ordered + [None]:  # type: ignore[list-item]
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ",".join(out)


def parse_line_ranges(text: str) -> set[int]:
    """The inverse of :func:`line_ranges`."""
    lines: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        lines.update(range(int(first), int(last or first) + 1))
    return lines


def index_ranges(indexes: Sequence[int]) -> str:
    """Indexes in their order, each run of consecutive ascending ones as a range:
    [0, 1, 2, 7, 3] -> ``"0-2,7,3"`` (:func:`line_ranges` sorts; this keeps the order)."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


def parse_index_ranges(text: str) -> list[int]:
    """The inverse of :func:`index_ranges`: ``"0-2,7,3"`` -> [0, 1, 2, 7, 3], in the text's order.
    For trusted text (testplan's own job file); :func:`testplan.result.decode_verdicts` checks a
    file's ranges and says what is wrong with them."""
    out: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        out.extend(range(int(first), int(last or first) + 1))
    return out
