"""The callable a structured case calls, and its parameters, found statically.

A structured case (``given: {pets: 2}``) calls its ``call:`` (``module:function``), else its
requirement's single ``module:function`` code ref. The parameters are read from the source
with ``ast`` (nothing is imported), so ``lint`` can report a ``given`` key the callable does not
take at its line, before any test is written.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from .errors import Finding, InputError
from .model import Case, Requirement
from .scope import _find_qualname, parse_module, resolve


@dataclass(frozen=True)
class Signature:
    """The parameters of a function (or of a class's ``__init__``, without ``self``)."""

    ref: str
    params: tuple[str, ...]  # in order; positional-only ones included
    required: tuple[str, ...]  # without a default
    var_keyword: bool  # takes **kwargs: any name is accepted
    positional_only: tuple[str, ...] = ()

    def unknown(self, names: list[str]) -> list[str]:
        if self.var_keyword:
            return []
        return [n for n in names if n not in self.params or n in self.positional_only]

    def missing(self, names: list[str]) -> list[str]:
        return [n for n in self.required if n not in names and n not in self.positional_only]


def case_callable(requirement: Requirement, case: Case | CallSite) -> str | None:
    """``module:function`` the case calls: its ``call``, else the requirement's single
    ``module:function`` code ref; None when neither says."""
    if case.call is not None:
        return case.call
    functions = [ref for ref in requirement.code if ":" in ref]
    return functions[0] if len(functions) == 1 else None


def no_callable_message(requirement: Requirement, case: Case | CallSite) -> str:
    functions = [ref for ref in requirement.code if ":" in ref]
    why = (f"{requirement.id} has {len(functions)} module:function code refs" if functions
           else f"{requirement.id} has no module:function code ref")
    return (f"{case.id}: a structured case needs a callable and {why}; add 'call: module:function' to the case"
            + ("" if functions else f" or a code ref such as 'mypkg.mod:func' to {requirement.id}"))


def _arguments(args: ast.arguments, skip_first: bool) -> Signature:
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    posonly = [a.arg for a in args.posonlyargs]
    defaults = len(args.defaults)
    required = positional[: len(positional) - defaults] if defaults else list(positional)
    if skip_first and positional:
        first = positional[0]
        positional = positional[1:]
        required = [r for r in required if r != first]
        posonly = [p for p in posonly if p != first]
    kwonly = [a.arg for a in args.kwonlyargs]
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    return Signature("", tuple(positional + kwonly), tuple(required), args.kwarg is not None, tuple(posonly))


def signature(ref: str, source_roots: list[Path], root: Path | None = None) -> Signature:
    """The parameters of ``module:function`` (or ``module:Class``: its ``__init__``); InputError
    when the ref does not resolve or names something that is not called."""
    span = resolve(ref, source_roots, root)
    qualname = ref.partition(":")[2]
    node = _find_qualname(parse_module(span.file), qualname)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        found = _arguments(node.args, skip_first=False)
    elif isinstance(node, ast.ClassDef):
        init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        if init is None:  # inherited or dataclass-made: the parameters are not in this class's source
            found = Signature("", (), (), True)
        else:
            found = _arguments(init.args, skip_first=True)
    else:
        raise InputError(f"code ref '{ref}' is not a function or class, so a case cannot call it; name a function")
    return Signature(ref, found.params, found.required, found.var_keyword, found.positional_only)


class CallSite(NamedTuple):
    """A case with a structured ``given``, as :func:`check_case_calls` reads it: its index in
    the plan, ID, ``call`` and the parameter names it gives (a :class:`testplan.model.PlanOutline`
    keeps these for the approved cases)."""

    index: int
    id: str
    call: str | None
    names: list[str]


def check_case_calls(requirement: Requirement, sites: Iterable[CallSite], line_of: Callable[[list[Any]], int],
                     source_roots: list[Path], path: str, root: Path | None = None,
                     known: dict[str, Signature | InputError] | None = None) -> list[Finding]:
    """Errors for the structured ``given`` of each call site: no callable, a callable that does
    not resolve, a key the callable does not take (at that key's line), a required parameter
    left out.

    ``line_of`` gives the line of a location in the plan (``["cases", index, "given", key]``):
    asked only for a finding. ``known`` keeps each ref's signature (or error) between calls, for
    one pass over a project (lint)."""
    known = {} if known is None else known
    findings: list[Finding] = []
    for case in sites:
        index = case.index
        case_loc = ["cases", index, "id"]
        ref = case_callable(requirement, case)
        if ref is None:
            if requirement.code:  # no code refs yet: nothing to check, and scaffold says what to add
                findings.append(Finding(path, line_of(case_loc), no_callable_message(requirement, case), "warning"))
            continue
        if ref not in known:
            try:
                known[ref] = signature(ref, source_roots, root)
            except InputError as err:
                known[ref] = err
        sig = known[ref]
        if isinstance(sig, InputError):
            findings.append(Finding(path, line_of(case_loc), f"{case.id}: {sig.message}"))
            continue
        names = case.names
        shown = ", ".join(sig.params) or "none"
        for name in sig.unknown(names):
            findings.append(Finding(path, line_of(["cases", index, "given", name]),
                                    f"{case.id}: '{name}' is not a parameter of {ref} (parameters: {shown}); "
                                    "fix the name in given"))
        missing = sig.missing(names)
        if missing:
            findings.append(Finding(path, line_of(case_loc), f"{case.id}: given leaves out {', '.join(missing)}, which {ref} "
                                    "requires; add them to given"))
    return findings
