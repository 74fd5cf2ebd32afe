"""Mutation testing scoped by requirement: mutants from mutmut, our own fork-per-mutant executor.

Library API::

    run = run_mutation(config, project, trace, jobs=None, fast=False, all_tests=False,
                       diff_base=None, shard=None, progress=None)   # -> MutationRun
    merged = merge_shards([Path("shard1/audit.json"), ...])         # -> result.AuditResult
    info = explain(config, project.requirements, "f566bd")          # -> dict with the diff

Modules, one domain noun each: ``generate`` (mutmut -> mutants in a scratch copy, stable IDs,
scope, unmutated code), ``worker`` (the warm pytest process that forks one child per mutant),
``executor`` (starts and stops the worker), ``outcome`` (verdicts -> status), ``cache``
(incremental re-runs), ``diff`` (``--diff BASE``), ``shard`` (``--shard k/n`` and merge),
``lab`` (the main loop).

The names are imported lazily: the worker process (``python -m testplan.mutate.worker``)
imports this package too and should not pay for the library's imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["MutationIncomplete", "MutationRun", "audit_hook", "explain", "merge_shards", "parse_shard", "run_mutation",
           "start_generation"]

_WHERE = {"MutationIncomplete": "lab", "MutationRun": "lab", "audit_hook": "lab", "run_mutation": "lab",
          "start_generation": "lab", "merge_shards": "shard", "parse_shard": "shard", "explain": "generate"}

if TYPE_CHECKING:
    from .lab import MutationIncomplete, MutationRun, audit_hook, run_mutation, start_generation
    from .generate import explain
    from .shard import merge_shards, parse_shard


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
