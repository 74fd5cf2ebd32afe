"""Python source parsed into :mod:`ast` trees, one thread at a time.

CPython 3.11 keeps the AST constructor's recursion depth in the interpreter's state, not in the
call: two threads building trees at once (the audit's main thread beside the thread that
generates the mutants) can leave it unbalanced, and ``ast.parse`` then fails with
``SystemError: AST constructor recursion depth mismatch`` (python/cpython gh-106905; seen in CI
on 3.11.7 as an internal error of ``testplan audit``). Every tree testplan builds comes from
:func:`parse`, and code that makes a library build one (coverage.py's parser) holds :data:`LOCK`.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

LOCK = threading.RLock()


def parse(source: str | bytes, **options: Any) -> Any:
    """:func:`ast.parse` (``filename``, ``mode``, ...), under :data:`LOCK`."""
    with LOCK:
        return ast.parse(source, **options)
