"""``--shard k/n`` and ``testplan merge``: the CI matrix as the distributed engine.

Shard k of n takes the mutants whose position in the sorted list of mutant IDs is k-1 modulo n:
deterministic, independent of machine and job count, and disjoint. Each shard writes an ordinary
``audit.json`` with ``shard: "k/n"``; :func:`merge_shards` combines them into the result the
unsharded run would have produced. A missing, duplicated or incomplete shard makes the merged
result ``complete: false``; shards that audited different inputs (``inputs`` digests) are not
merged at all.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..errors import InputError
from ..result import AuditResult, MutantResult, load_result


def parse_shard(text: str | tuple[int, int]) -> tuple[int, int]:
    if isinstance(text, tuple):
        k, n = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match:
            raise InputError(f"--shard {text}: expected k/n, e.g. 1/4")
        k, n = int(match.group(1)), int(match.group(2))
    if n < 1 or not 1 <= k <= n:
        raise InputError(f"--shard {k}/{n}: k must be between 1 and n (n >= 1), e.g. 1/4")
    return k, n


def in_shard(ids: list[str], shard: tuple[int, int]) -> set[str]:
    k, n = shard
    return {mutant_id for index, mutant_id in enumerate(sorted(set(ids))) if index % n == k - 1}


def mutant_order(mutant: MutantResult) -> tuple:
    return (mutant.file, mutant.line, mutant.id)


_SUMMED = ("executed", "cache_hits", "cache_misses", "not_run", "baseline_tests", "forced_fail.failed", "forced_fail.of")


def _merged_stats(results: list[AuditResult], mutants: list[MutantResult]) -> dict[str, float] | None:
    """The figures of the whole run: work done summed over the shards, times of the slowest
    shard (they run side by side), counts recomputed from the merged mutants."""
    shards = [r.mutation_stats for r in results if r.mutation_stats]
    if not shards:
        return None
    merged: dict[str, float] = {}
    for stats in shards:
        for key, value in stats.items():
            if key in _SUMMED:
                merged[key] = merged.get(key, 0) + value
            elif key.startswith("seconds."):
                merged[key] = max(merged.get(key, 0), value)
            else:
                merged.setdefault(key, value)
    for key in [k for k in merged if k.startswith(("statuses.", "per_requirement."))]:
        del merged[key]  # one shard's counts; the merged mutants' are below (per requirement: in requirements[])
    merged["mutants"] = len(mutants)
    merged["cells"] = sum(len(m.verdicts) for m in mutants)
    for status, count in sorted(Counter(m.status for m in mutants).items()):
        merged[f"statuses.{status}"] = count
    merged["shards"] = len(results)
    return merged


def merge_shards(paths: list[Path]) -> AuditResult:
    """Combine the ``audit.json`` of every shard of one run.

    The mutants are the union (in the unsharded order); tests, requirements and problems come
    from the first shard (they are the same in each: every shard traces the whole suite).
    Requirement scores are *not* recomputed here: rescore the merged mutants with
    ``testplan.score`` (``testplan merge`` does). Raises InputError when the files are not
    shards of one n-way run.
    """
    if not paths:
        raise InputError("merge: no audit.json given; pass the audit.json of every shard")
    results = [(path, load_result(path)) for path in paths]
    seen: dict[int, Path] = {}
    total = None
    problems = []
    for path, result in results:
        if not result.shard:
            raise InputError("merge: not a shard result (no 'shard' field); run 'testplan audit --shard k/n'", str(path), 1)
        k, n = parse_shard(result.shard)
        if total is not None and n != total:
            raise InputError(f"merge: shard {k}/{n} is from a {n}-way split, the others from a {total}-way one", str(path), 1)
        total = n
        if k in seen:
            raise InputError(f"merge: shard {k}/{n} given twice (also {seen[k]})", str(path), 1)
        seen[k] = path
        if not result.complete:
            problems.append(f"shard {k}/{n} is incomplete ({result.incomplete_reason or 'no reason recorded'})")
    assert total is not None
    digests = {r.inputs.digest if r.inputs else None for _, r in results}
    if len(digests) > 1:  # each shard traced its own checkout: they must have audited the same files
        first_path, first = results[0]
        path, other = next((p, r) for p, r in results if (r.inputs and r.inputs.digest) != (first.inputs and first.inputs.digest))
        raise InputError(f"merge: shard {other.shard} audited other inputs than shard {first.shard} ({first_path}); "
                         "were they run on the same commit? Run every shard on one commit", str(path), 1)
    missing = [k for k in range(1, total + 1) if k not in seen]
    problems[:0] = [f"shard {k}/{total} missing" for k in missing]
    mutants: dict[str, MutantResult] = {}
    for path, result in results:
        for mutant in result.mutants:
            if mutant.id in mutants and mutants[mutant.id] != mutant:
                raise InputError(f"merge: mutant {mutant.id} differs between shards; were they run on the same commit?", str(path), 1)
            mutants[mutant.id] = mutant
    first = min(results, key=lambda r: parse_shard(r[1].shard or "1/1"))[1]
    merged = first.model_copy(deep=True)
    merged.shard = None
    merged.mutants = sorted(mutants.values(), key=mutant_order)
    merged.mutation_stats = _merged_stats([r for _, r in results], merged.mutants)
    if merged.mutation_options:
        merged.mutation_options = {**merged.mutation_options, "shard": None, "shards": total}
    merged.complete = not problems
    merged.incomplete_reason = "; ".join(problems) or None
    merged.started_at = min((r.started_at for _, r in results if r.started_at), default=None)
    merged.finished_at = max((r.finished_at for _, r in results if r.finished_at), default=None)
    if problems:
        merged.gate = None
    return merged
