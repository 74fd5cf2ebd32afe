"""The main loop: generate -> select tests -> cache -> baseline -> run -> classify.

See :func:`run_mutation`. The state directory (``.testplan/``, or the audit's ``--out DIR``)
holds, as the run goes: ``mutants/`` (the scratch copy with mutmut's trampolines: the tests run
there, never in the user's tree), ``mutate-job.json`` (what the worker was asked to run),
``mutate.log`` (the worker's pytest output, and a line for each test that hit the memory limit)
and ``cache/mutation.json`` (verdicts for the next run). A run whose scratch copy was replaced
meanwhile is incomplete and caches nothing.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..errors import BaselineError, IncompleteError, InputError, SigtermAsInterrupt
from ..review import counted_requirement
from ..statedir import DEFAULT_NAME
from ..ranges import index_ranges
from ..result import MutantResult
from ..trace import TraceData
from . import outcome
from .cache import CACHE_FILE, MutationCache, hash_tests, pytest_config, tool_key
from .diff import changed_lines, touches
from .executor import WorkerError, run_worker
from .generate import SCRATCH_DIR, Generation, Mutant, generate, make_scratch, mutmut_version, scope_files, scratch_intact
from .shard import in_shard, parse_shard

NOT_RUNNABLE = ("skipped", "xfailed")  # outcomes of tests that never ran their body
FAILING = ("failed", "error")


@dataclass
class MutationRun:
    mutants: list[MutantResult]
    unmutated: dict[str, list[str]]  # requirement ID -> ["module:qualname (decorated)", "module (module-level code)", ...]
    complete: bool
    incomplete_reason: str | None
    stats: dict = field(default_factory=dict)


class MutationIncomplete(IncompleteError):
    """Raised by :func:`audit_hook` for a partial run; ``.run`` is the partial MutationRun to save."""

    def __init__(self, message: str, run: MutationRun):
        super().__init__(message)
        self.run = run


@dataclass
class _Plan:
    mutant: Mutant
    tests: list[str]  # selected, suite order
    judges: list[str]  # the selected tests whose verdicts decide the status
    groups: list[list[str]] = field(default_factory=list)  # per requirement of the mutant: its tests linked to it


def _coverage_by_file(trace: TraceData) -> dict[str, dict[str, set[int]]]:
    """nodeid -> {file relative to the trace root: executed lines} (the trace ran in the user's tree)."""
    root = Path(trace.root).resolve()
    out: dict[str, dict[str, set[int]]] = {}
    for nodeid, files in trace.lines.items():
        for path, lines in files.items():
            try:
                rel = Path(path).resolve().relative_to(root).as_posix()
            except ValueError:
                continue
            out.setdefault(nodeid, {})[rel] = set(lines)
    return out


def _select(mutants: list[Mutant], trace: TraceData, all_tests: bool, counted: dict[str, set[str]]) -> list[_Plan]:
    """``counted``: nodeid -> the requirements its links count for (no rejected or unknown IDs)."""
    coverage = _coverage_by_file(trace)
    runnable = [t for t in trace.tests if t.outcome not in NOT_RUNNABLE]
    plans = []
    for mutant in mutants:
        wanted = set(mutant.requirements)
        tests, judges = [], []
        for test in runnable:
            if not mutant.covered_by(coverage.get(test.nodeid, {}).get(mutant.file, set())):
                continue
            linked = bool(counted.get(test.nodeid, set()) & wanted)
            if linked or all_tests:
                tests.append(test.nodeid)
            if linked or (all_tests and not wanted):
                judges.append(test.nodeid)
        groups = [[t for t in tests if r in counted.get(t, set())] for r in mutant.requirements] if wanted else [judges]
        plans.append(_Plan(mutant, tests, judges, groups))
    return plans


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def check_options(shard: str | tuple[int, int] | None, max_mutants: int | None, min_mutants: int | None = None,
                  diff_base: str | None = None) -> tuple[int, int] | None:
    """Validate the scope options before anything runs; returns the parsed shard."""
    shard_kn = parse_shard(shard) if shard else None
    if max_mutants is not None and max_mutants < 1:
        raise InputError(f"--max-mutants {max_mutants}: must be at least 1")
    if max_mutants is not None and shard_kn:
        raise InputError("--max-mutants and --shard do not combine (merged shards must equal one unsharded run); drop one")
    if min_mutants is not None:
        if min_mutants < 1:
            raise InputError(f"--min-mutants {min_mutants}: must be at least 1")
        if not diff_base:
            raise InputError("--min-mutants tops up a --diff selection (without --diff every mutant runs); "
                             "add --diff BASE or drop --min-mutants")
        if shard_kn:
            raise InputError("--min-mutants and --shard do not combine (merged shards must equal one unsharded run); drop one")
        if max_mutants is not None and min_mutants > max_mutants:
            raise InputError(f"--min-mutants {min_mutants} is above --max-mutants {max_mutants}; "
                             "make --min-mutants at most --max-mutants")
    return shard_kn


def _top_up(diff_ids: set[str], runnable: list[str], min_mutants: int) -> set[str]:
    """``--diff`` selected ``diff_ids`` (with tests or not); when they are fewer than ``min_mutants``,
    add the lowest IDs (hashes: a deterministic, unbiased sample) of the other ``runnable`` ones."""
    missing = min_mutants - len(diff_ids)
    if missing <= 0:
        return set(diff_ids)
    rest = sorted(set(runnable) - diff_ids)
    return set(diff_ids) | set(rest[:missing])


def stratum(mutant: Mutant, covered: bool) -> str:
    """The sampling stratum of a mutant: its requirements (``+``-joined; ``-`` for none, under
    ``--all-tests``) and whether some selected test covers it (``covered``/``uncovered``)."""
    return f"{'+'.join(sorted(mutant.requirements)) or '-'}/{'covered' if covered else 'uncovered'}"


def stratified_sample(strata: dict[str, list[str]], n: int) -> tuple[set[str], dict[str, dict[str, int]]]:
    """Exactly ``n`` of the IDs in ``strata`` (all of them if fewer), allocated to each stratum in
    proportion to its size: each gets ``floor(n * size / total)``, and the IDs left over go one each
    to the strata with the largest remainders (ties: the stratum name); within a stratum the lowest
    IDs (mutant IDs are hashes: an unbiased order). Returns the IDs and {stratum: {ran, of}}."""
    total = sum(len(ids) for ids in strata.values())
    if total <= n:
        return {i for ids in strata.values() for i in ids}, {k: {"ran": len(v), "of": len(v)} for k, v in sorted(strata.items())}
    quota = {k: n * len(v) // total for k, v in strata.items()}
    left = n - sum(quota.values())
    for k in sorted(strata, key=lambda k: (-(n * len(strata[k]) % total), k))[:left]:
        quota[k] += 1
    chosen = {i for k, ids in strata.items() for i in sorted(ids)[:quota[k]]}
    return chosen, {k: {"ran": quota[k], "of": len(v)} for k, v in sorted(strata.items())}


def run_mutation(config, project, trace: TraceData, *, jobs: int | None = None, fast: bool = False,
                 matrix: str = "decisive", all_tests: bool = False, diff_base: str | None = None,
                 shard: str | tuple[int, int] | None = None, max_mutants: int | None = None,
                 min_mutants: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 on_estimate: Callable[[dict], None] | None = None,
                 scratch: Path | None = None, use_cache: bool = True,
                 generation: Future | None = None) -> MutationRun:
    """Mutation-test the code in the scope of ``project``'s requirements.

    For each mutant (mutmut's, in a scratch copy under ``.testplan/mutants``), run the tests linked
    to its requirement(s) that execute the mutated line (per-test coverage from ``trace``), in
    suite order, without ``-x``, ``jobs`` children at a time. ``matrix="decisive"`` (the default)
    runs only the tests that can still change a mutant's status: for each requirement of the
    mutant, its tests up to the first ``assert`` verdict (the mutant is then ``killed`` for it)
    or the first ``timeout`` (paid once; the rest are not run); then, for each approved case
    whose tests saw no kill, its tests on the mutants they did not run, up to the case's first
    kill (:func:`~testplan.mutate.outcome.case_completion`): statuses, O, M, case and
    requirement states are those of the full matrix. ``matrix="full"`` runs every selected test
    on every mutant (the complete kill matrix), except a requirement's tests after a ``timeout``
    (the hang is paid once; the status is settled), then the same case completion. ``fast`` stops each requirement's tests at their
    first kill of any kind (a ``crash`` too, as mutmut stops at its first failing test), without
    the case completion: a mutant a later test would kill by an assertion may be
    ``killed-by-crash``, and a case may show WEAK where the full matrix shows VERIFIED; ``all_tests`` also runs covering tests of other requirements (their
    verdicts are recorded; the status is still decided by the linked tests). ``max_mutants``
    judges exactly that many of the selected mutants (all if fewer), covered or not: a
    deterministic sample stratified over requirements and covered/uncovered
    (:func:`stratified_sample`), recorded as ``stats["sampled"]`` with its strata.
    ``min_mutants`` (only with ``diff_base``): when the diff selects fewer mutants than that, the
    whole scope is generated (else only the changed files) and the selection is topped up to ``min_mutants`` with the lowest IDs
    of the other mutants with tests (``stats["topped_up"]``), so a CI job on a commit that changes
    no code still judges something.

    ``generation``: what :func:`start_generation` returned for this run (with the same
    options), started before the trace; without it the mutants are generated here.

    ``stats["estimate"]`` (:func:`estimate_cost`) is passed to ``on_estimate`` once: after the
    worker's baseline run when at most :data:`CALIBRATION_MUTANTS` mutants are to run, else
    fitted on the first that many finished mutants (:func:`calibrate`);
    ``stats["seconds"]["worker"]`` is what the run took.

    Returns a MutationRun; ``complete`` is False (with the reason) after Ctrl-C/SIGTERM: the
    mutants that finished are in it, the caller saves it and exits 4. Raises BaselineError
    (exit 3) when the selected tests fail unmutated in the scratch copy or the forced-fail check
    shows the mutants are not active, InputError on bad ``diff_base``/``shard``.
    """
    started = time.perf_counter()
    if not hasattr(os, "fork"):
        raise InputError("mutation testing needs fork(): run it on Linux or macOS (or in WSL)")
    shard_kn = check_options(shard, max_mutants, min_mutants, diff_base)
    mode = check_matrix(matrix, fast)
    workers = jobs or config.mutation.jobs or os.cpu_count() or 1
    stats: dict = {"jobs": workers, "fast": fast, "matrix": mode, "all_tests": all_tests, "diff_base": diff_base,
                   "max_mutants": max_mutants, **({"min_mutants": min_mutants} if min_mutants is not None else {}),
                   "shard": f"{shard_kn[0]}/{shard_kn[1]}" if shard_kn else None,
                   "executed": 0, "executed_ids": [], "cache_hits": 0, "cache_misses": 0, "seconds": {}}
    results: dict[str, dict[str, str]] = {}
    plans: list[_Plan] = []
    unmutated: dict[str, list[str]] = {}
    complete, reason = True, None
    cache = None
    generated_ids: set[str] = set()
    changed: dict[str, set[int] | None] | None = None  # --diff: the changed lines per file in scope
    with SigtermAsInterrupt():
        try:
            if generation is None:
                changed = _changed(config, project, diff_base)
                gen = _generate(config, project, changed, min_mutants, scratch, use_cache, None, all_tests)
            else:
                changed, gen = generation.result()
            if changed is not None:
                stats["changed_files"] = sorted(changed)
            unmutated = gen.unmutated
            generated_ids = {m.id for m in gen.mutants}
            stats["seconds"]["generate"] = round(gen.seconds, 3)
            stats.update(generated=len(gen.mutants), files=len(gen.files), scratch=str(gen.scratch))
            stats["generated_per_requirement"] = _generated_per_requirement(config, project, gen, changed)
            candidates = [m for m in gen.mutants if m.requirements or all_tests]
            stats["in_scope"] = len(candidates)
            in_diff = {m.id for m in candidates
                       if changed is None or (m.file in changed and touches(changed[m.file], m.line, m.end_line))}
            if min_mutants is None:
                candidates = [m for m in candidates if m.id in in_diff]
            if shard_kn:
                chosen = in_shard([m.id for m in candidates], shard_kn)
                candidates = [m for m in candidates if m.id in chosen]
            counted = {t.nodeid: {r for r in map(partial(counted_requirement, project), t.links) if r} for t in trace.tests}
            plans = _select(candidates, trace, all_tests, counted)
            if min_mutants is not None:  # --diff, topped up with a sample of the rest of the scope
                diff_selected = {p.mutant.id for p in plans if p.mutant.id in in_diff}
                keep = _top_up(diff_selected, [p.mutant.id for p in plans if p.tests], min_mutants)
                plans = [p for p in plans if p.mutant.id in keep]
                if len(keep) > len(diff_selected):
                    stats["topped_up"] = {"diff": len(diff_selected), "added": len(keep) - len(diff_selected)}
            if max_mutants is not None and len(plans) > max_mutants:  # exactly N, stratified
                strata: dict[str, list[str]] = {}
                for p in plans:
                    strata.setdefault(stratum(p.mutant, bool(p.tests)), []).append(p.mutant.id)
                keep, per_stratum = stratified_sample(strata, max_mutants)
                plans = [p for p in plans if p.mutant.id in keep]
                stats["sampled"] = {"ran": max_mutants, "of": sum(map(len, strata.values())), "strata": per_stratum}
            outcomes = {t.nodeid: t.outcome for t in trace.tests}
            position = {n: i for i, n in enumerate(outcomes)}
            selected = sorted({n for p in plans for n in p.tests}, key=position.__getitem__)
            failing = [n for n in selected if outcomes.get(n) in FAILING]
            if failing:
                raise BaselineError(f"{len(failing)} test(s) selected for mutation fail before any mutant runs: "
                                    f"{', '.join(failing[:10])}{' ...' if len(failing) > 10 else ''}; "
                                    "make them pass (or unlink them), then run the audit again")
            hashes = hash_tests(config.root, selected, executed={n: list(trace.lines.get(n, {})) for n in selected},
                                search=import_roots(config))
            cache = _open_cache(config) if use_cache else None
            to_run: list[_Plan] = []
            for plan in plans:
                if not plan.tests:
                    continue
                cached = cache.get(plan.mutant, {n: hashes[n] for n in plan.tests}, mode) if cache else None
                if cached is not None:
                    results[plan.mutant.id] = cached
                    stats["cache_hits"] += 1
                else:
                    to_run.append(plan)
            stats["cache_misses"] = len(to_run)
            cases = _case_scopes(project, trace, plans) if mode != "fast" else []
            known = {p.mutant.id: {"name": p.mutant.name, "tests": p.tests, "verdicts": results[p.mutant.id]}
                     for p in plans if p.mutant.id in results}
            completing = bool(cases) and bool(outcome.case_completion(cases, known))

            baseline: dict[str, float] = {}
            calibration: list[tuple[float, float]] = []  # (a mutant's child seconds, its tests' baseline seconds)
            # few mutants: the tests run unmutated after them, only those that killed one (LAZY_BASELINE_MUTANTS)
            lazy = len(to_run) <= LAZY_BASELINE_MUTANTS
            unconfirmed: dict[str, dict[str, str]] = {}  # lazy: verdicts cached once the baseline confirms them

            clock = {"worker": time.perf_counter()}

            def announce(per_mutant: float, factor: float, calibrated_on: int, at_once: float | None = None) -> None:
                startup = clock.get("baseline", clock["worker"]) - clock["worker"]
                stats["estimate"] = estimate_cost(to_run, baseline, per_mutant, factor, workers, mode, calibrated_on,
                                                  at_once, startup)
                if lazy and to_run:
                    stats["estimate"]["from_trace"] = 1
                if on_estimate:
                    on_estimate(stats["estimate"])

            def on_baseline(durations: dict[str, float], overhead: float) -> None:
                clock["baseline"] = time.perf_counter()
                baseline.update(durations)
                # a first estimate from the baseline children alone, kept when the run is too short to calibrate
                stats["estimate"] = estimate_cost(to_run, baseline, overhead, 1.0, workers, mode, 0)
                if len(to_run) <= CALIBRATION_MUTANTS:
                    announce(overhead, 1.0, 0)

            if not to_run:
                announce(0.0, 1.0, 0)
            elif lazy:  # estimated up front, from the trace's durations
                baseline.update((t.nodeid, t.duration) for t in trace.tests)
                announce(0.0, 1.0, 0)
            total = len(plans)
            done = total - len(to_run)
            if progress:
                progress(done, total)
            if to_run or completing:
                by_id = {p.mutant.id: p for p in plans}

                def on_mutant(mutant_id: str, verdicts: dict[str, str], seconds: float = 0.0) -> None:
                    nonlocal done
                    plan = by_id[mutant_id]
                    calibration.append((seconds, sum(baseline.get(n, 0.0) for n in verdicts)))
                    if len(calibration) == CALIBRATION_MUTANTS and len(to_run) > CALIBRATION_MUTANTS:
                        # how many children really ran at once: their seconds over the window's
                        elapsed = time.perf_counter() - clock["baseline"]
                        at_once = sum(w for w, _ in calibration) / elapsed if elapsed > 0 else workers
                        announce(*calibrate(calibration), len(calibration), at_once)
                    results[mutant_id] = verdicts
                    stats["executed"] += 1
                    stats["executed_ids"].append(mutant_id)
                    if cache is not None and lazy:
                        unconfirmed[mutant_id] = verdicts
                    elif cache is not None:
                        cache.put(plan.mutant, {n: hashes[n] for n in plan.tests}, verdicts, mode)
                    done += 1
                    if progress:
                        progress(done, total)

                worker = _run_worker(config, gen, to_run, trace, workers, mode, on_mutant, cases=cases, known=known,
                                     on_baseline=on_baseline if to_run and not lazy else None, lazy=lazy)
                stats["seconds"]["worker"] = round(worker.seconds, 3)
                if worker.completion:
                    stats["case_completion"] = {"mutants": len(worker.completion),
                                                "test_runs": sum(map(len, worker.completion.values()))}
                    stats["completed_cells"] = {m: sorted(v) for m, v in sorted(worker.completion.items())}
                for mutant_id, extra in worker.completion.items():  # the cases' runs, after every mutant's
                    plan = by_id[mutant_id]
                    results[mutant_id] = {**results.get(mutant_id, {}), **extra}
                    if cache is not None and lazy:
                        unconfirmed[mutant_id] = results[mutant_id]
                    elif cache is not None:
                        cache.put(plan.mutant, {n: hashes[n] for n in plan.tests}, results[mutant_id], mode)
                stats["baseline_tests"] = len(worker.baseline or {})
                stats["baseline_lazy"] = int(worker.baseline_lazy)
                if worker.memory_limit_mb is not None:
                    stats["memory"] = {"limit_mb": worker.memory_limit_mb, "baseline_peak_mb": worker.baseline_peak_mb,
                                       "crashes": sum(len(v) for v in worker.memory.values())}
                    stats["memory_crashes"] = {m: list(v) for m, v in sorted(worker.memory.items())}
                if worker.forced_fail is not None:
                    stats["forced_fail"] = {"failed": sum(v != "pass" for v in worker.forced_fail.values()),
                                            "of": len(worker.forced_fail)}
                if not scratch_intact(gen.scratch, gen.token):
                    # another process replaced the copy the tests ran in: no verdict of this run is
                    # trusted, none is cached (the state lock keeps other testplans out; this
                    # catches anything else)
                    cache, results = None, {}
                    complete, reason = False, (f"the scratch copy {gen.scratch} was replaced during the run "
                                               "(by another process); run the audit again")
                elif worker.interrupted:
                    complete, reason = False, "interrupted"
                else:
                    _check_worker(worker, gen, config.state_dir.resolve() / "mutate.log")
                    for mutant_id, verdicts in unconfirmed.items() if cache is not None else ():
                        cache.put(by_id[mutant_id].mutant, {n: hashes[n] for n in by_id[mutant_id].tests}, verdicts, mode)
        except KeyboardInterrupt:
            complete, reason = False, "interrupted"
        finally:
            if cache is not None:  # --diff generates only changed files: keep the others' entries
                cache.save(generated_ids if changed is None else generated_ids | set(cache.entries))

    mutants = []
    for plan in plans:
        m = plan.mutant
        if plan.tests and m.id not in results:
            continue  # not run (interrupted)
        verdicts = results.get(m.id, {})
        ordered = {n: verdicts[n] for n in plan.tests if n in verdicts}
        mutants.append(MutantResult(id=m.id, file=m.file, line=m.line, operator=m.operator, original=m.original,
                                    mutated=m.mutated, requirements=list(m.requirements),
                                    status=outcome.status(ordered, plan.judges, plan.groups or None),
                                    verdicts=ordered))
    mutants.sort(key=lambda r: (r.file, r.line, r.id))
    stats["executed_ids"].sort()
    counts = Counter(r.status for r in mutants)
    stats.update(
        mutants=len(mutants), not_run=len(plans) - len(mutants), statuses=dict(sorted(counts.items())),
        cells=sum(len(r.verdicts) for r in mutants),
        per_requirement={req: dict(sorted(Counter(r.status for r in mutants if req in r.requirements).items()))
                         for req in sorted(unmutated)},
        detected_by_any_test=sum(1 for r in mutants if set(r.verdicts.values()) - {"pass"}),
    )
    if all_tests and mutants:  # the global score: any covering test, linked or not, may detect a mutant
        stats["mutation_score_all_tests"] = round(stats["detected_by_any_test"] / len(mutants), 4)
    stats["seconds"]["total"] = round(time.perf_counter() - started, 3)
    return MutationRun(mutants, unmutated, complete, reason, stats)


def _changed(config, project, diff_base: str | None) -> dict[str, set[int] | None] | None:
    """``--diff``: the changed lines of each file in scope (before generating: mutmut then only
    has to process the changed files)."""
    if not diff_base:
        return None
    return changed_lines(config.root, diff_base, sorted(scope_files(config, project.requirements)[1]))


def _generate(config, project, changed, min_mutants: int | None, scratch: Path | None, use_cache: bool,
              copied: str | None, all_tests: bool = False) -> Generation:
    """The mutants of every file in scope, or under ``--diff`` of the changed files only. With
    ``min_mutants`` the changed files come first: when their changed lines hold at least that
    many candidates (mutants of a requirement's code, or any under ``all_tests``), which is what
    :func:`_top_up` counts, nothing is topped up and that is all; else every file in scope is
    generated, to sample the top-up from (the changed files again, from the generation cache)."""
    if changed is None:
        return generate(config, project.requirements, scratch, use_cache=use_cache, copied=copied)
    first = generate(config, project.requirements, scratch, only_files=set(changed), use_cache=use_cache, copied=copied)
    if min_mutants is None or sum(1 for m in first.mutants if (m.requirements or all_tests)
                                  and touches(changed[m.file], m.line, m.end_line)) >= min_mutants:
        return first
    whole = generate(config, project.requirements, scratch, use_cache=use_cache, copied=first.token or copied)
    whole.seconds += first.seconds
    return whole


def start_generation(config, project, *, fast: bool = False, matrix: str = "decisive", diff_base: str | None = None,
                     shard: str | tuple[int, int] | None = None, max_mutants: int | None = None,
                     min_mutants: int | None = None, scratch: Path | None = None, use_cache: bool = True,
                     all_tests: bool = False, **_run_options) -> Future:
    """Start the generation of a :func:`run_mutation` with these options before its trace, for
    ``run_mutation(..., generation=...)``: mutmut's trampolines need only the code and the
    requirements, so they are made in a thread while the trace's pytest runs. The options are
    checked and the ``--diff`` lines and the scratch copy are taken here, before the tests run
    (the copy holds the tree as it is, not files the tests write while it is copied). The
    Future gives ``(changed lines, Generation)``; its errors are raised by ``result()``."""
    check_options(shard, max_mutants, min_mutants, diff_base)
    check_matrix(matrix, fast)
    changed = _changed(config, project, diff_base)
    where = (scratch or config.state_dir / SCRATCH_DIR).resolve()
    copied = make_scratch(config.root.resolve(), where, list(config.mutation.also_copy))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="testplan-generate")
    try:
        return pool.submit(lambda: (changed, _generate(config, project, changed, min_mutants, where, use_cache, copied,
                                                       all_tests)))
    finally:
        pool.shutdown(wait=False)


CALIBRATION_MUTANTS = 12  # the estimate is fitted on this many finished mutants (when more are to run)
# At most this many mutants to run: no baseline run of every selected test before them; after them,
# only the tests that gave one a killing verdict run unmutated (worker.Driver._confirm), and the
# trace's durations, longest setup and peak RSS set the timeouts and the memory limit. A CI run of
# 10 mutants of testplan spent 90 of its 133 s of mutation on running 49 selected tests unmutated.
LAZY_BASELINE_MUTANTS = 12


def calibration_first(plans: list[_Plan]) -> list[_Plan]:
    """The run order: :data:`CALIBRATION_MUTANTS` mutants spread evenly over the list first (the
    estimate is fitted on the first to finish, and neighbours in a file run alike), then the
    rest in order. The order changes no verdict: every mutant runs in its own child."""
    n = len(plans)
    if n <= CALIBRATION_MUTANTS:
        return list(plans)
    picks = sorted({i * n // CALIBRATION_MUTANTS for i in range(CALIBRATION_MUTANTS)})
    chosen = set(picks)
    return [plans[i] for i in picks] + [p for i, p in enumerate(plans) if i not in chosen]


def calibrate(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Fit ``seconds = per_mutant + factor * baseline_seconds`` by least squares over finished
    mutants (their children's wall time; the baseline durations of the tests they ran), both
    terms at least 0: what one child costs besides its tests (fork, the fixtures every child
    sets up again, exit) and how much slower the tests run than in the baseline (load, the
    first run of each test in a fresh child)."""
    n = len(samples)
    if not n:
        return 0.0, 1.0
    mean_w = sum(w for w, _ in samples) / n
    mean_x = sum(x for _, x in samples) / n
    var_x = sum((x - mean_x) ** 2 for _, x in samples)
    if var_x <= 1e-12:  # every mutant ran the same tests: the time is all per mutant
        return mean_w, 0.0
    factor = sum((x - mean_x) * (w - mean_w) for w, x in samples) / var_x
    per_mutant = mean_w - factor * mean_x
    if factor < 0:
        return mean_w, 0.0
    if per_mutant < 0:
        return 0.0, sum(w for w, _ in samples) / max(sum(x for _, x in samples), 1e-12)
    return per_mutant, factor


def estimate_cost(to_run: list[_Plan], durations: dict[str, float], per_mutant: float, factor: float, workers: int,
                  mode: str, calibrated_on: int = 0, at_once: float | None = None, startup: float = 0.0) -> dict:
    """The expected time of the worker (``seconds``, to compare with ``seconds.worker``):
    ``startup`` (its collection and baseline run, already measured) plus, over the mutants to
    run, ``per_mutant`` seconds and ``factor`` times the worker's baseline durations of the tests
    each one runs, divided by the children that run at once (``at_once``, measured during the
    calibration; else ``workers``, at most the cores). Uncalibrated (``calibrated_on`` = 0),
    ``per_mutant`` is a baseline child's own overhead and ``factor`` 1; calibrated, both come
    from :func:`calibrate` over the first finished mutants. For ``mode`` "full" every selected
    test runs (but for a requirement's tests after a timeout, which no baseline foresees); for
    "decisive" and "fast" (a mutant stops at its first kill) it is an upper bound (``upper_bound``)."""
    import math

    parallel = max(1, min(workers, os.cpu_count() or 1))
    divisor = at_once if at_once and at_once > 0 else parallel
    test_seconds = math.fsum(durations.get(n, 0.0) for p in to_run for n in p.tests)
    total = per_mutant * len(to_run) + factor * test_seconds
    return {"seconds": round(startup + total / divisor, 3), "startup": round(startup, 3), "at_once": round(divisor, 3),
            "test_seconds": round(test_seconds, 3),
            "per_mutant": round(per_mutant, 4), "factor": round(factor, 3), "calibrated_on": calibrated_on,
            "test_runs": sum(len(p.tests) for p in to_run), "mutants": len(to_run), "jobs": parallel,
            "upper_bound": mode != "full", "matrix": mode}


def estimate_line(estimate: dict) -> str:
    """The estimate as the one line the CLI prints (before the bulk of the mutants runs)."""
    bound = "at most " if estimate["upper_bound"] else ""
    flag = "--fast" if estimate.get("matrix") == "fast" else "a decisive run"
    why = f" (an upper bound: {flag} stops each mutant at its first kill)" if estimate["upper_bound"] else ""
    basis = (f"calibrated on the first {estimate['calibrated_on']} mutants" if estimate.get("calibrated_on")
             else "from the trace (a lazy baseline)" if estimate.get("from_trace") else "from the baseline run")
    durations = "traced" if estimate.get("from_trace") else "baseline"
    return (f"testplan: estimated mutation time {bound}{estimate['seconds']:.1f} s{why}: {estimate['mutants']} mutants "
            f"to run, {estimate['test_runs']} test runs; {basis}: {estimate['test_seconds']:.1f} s of {durations} test "
            f"time x {estimate.get('factor', 1.0):g} + {estimate.get('per_mutant', 0.0) * 1000:.0f} ms a mutant, "
            f"/ {estimate.get('at_once', estimate['jobs']):g} at once (--jobs {estimate['jobs']}), "
            f"+ {estimate.get('startup', 0.0):.1f} s start-up")


def check_matrix(matrix: str, fast: bool) -> str:
    """The run's mode: "fast", or ``matrix`` ("decisive", "full"); InputError on a bad one."""
    if matrix not in outcome.MATRIX_MODES:
        raise InputError(f"--matrix {matrix}: not a matrix mode; use one of {', '.join(outcome.MATRIX_MODES)}")
    if fast and matrix == "full":
        raise InputError("--fast and --matrix full contradict each other (--fast stops each mutant at its first "
                         "kill, the full matrix runs every test); drop one")
    return "fast" if fast else matrix


def _case_scopes(project, trace: TraceData, plans: list[_Plan]) -> list[dict]:
    """For :func:`~testplan.mutate.outcome.case_completion`: every approved case with linked
    tests, its tests that some mutant of its requirement selected, and those mutants."""
    from ..score import resolve_links

    links = resolve_links(project, trace.tests)
    out = []
    for requirement in project.requirements:
        plan = project.plans.get(requirement.id)
        scope = [p for p in plans if requirement.id in p.mutant.requirements and p.tests]
        if plan is None or not scope:
            continue
        selected = {n for p in scope for n in p.tests}
        for case in plan.approved():
            tests = [n for n in links.case_tests.get(case.id, []) if n in selected]
            if tests:
                out.append({"id": case.id, "tests": tests, "mutants": [p.mutant.id for p in scope]})
    return out


def import_roots(config) -> list[Path]:
    """Where the tests' absolute imports are looked up for the cache (:func:`.cache.hash_tests`): the
    root, the source roots, and every directory from a test module or ``conftest.py`` under the
    configured tests up to the root (pytest puts such directories on ``sys.path``); hidden
    directories, ``__pycache__``, virtual environments and ``site-packages`` are not searched."""
    root = config.root.resolve()
    out = {root, *(p.resolve() for p in config.source_roots if p.is_dir())}
    for test in config.tests:
        top = (root / test).resolve()
        if not top.is_dir() or (top != root and root not in top.parents):
            continue
        for directory, subdirs, names in os.walk(top):
            if "pyvenv.cfg" in names:
                subdirs[:] = []
                continue
            subdirs[:] = [d for d in subdirs if not d.startswith((".", "__pycache__")) and d != "site-packages"]
            if any(n == "conftest.py" or (n.endswith(".py") and (n.startswith("test") or n.endswith("_test.py")))
                   for n in names):
                here = Path(directory)
                out.update(d for d in (here, *here.parents) if d == root or root in d.parents)
    return sorted(out)


def _open_cache(config) -> MutationCache:
    """The state directory's verdict cache. An ``--out DIR`` run writes its own, and starts from
    the project's ``.testplan/`` cache too (read only: another run may hold that directory; an
    entry is reused only when its hashes still match, whichever run wrote it)."""
    tool = tool_key(mutmut_version(), list(config.pytest_args), pytest_config(config.root))
    cache = MutationCache(config.state_dir.resolve() / "cache" / CACHE_FILE, tool)
    project_state = config.root / DEFAULT_NAME
    if not project_state.is_symlink() and project_state.resolve() != config.state_dir.resolve():
        for mutant_id, entry in MutationCache(project_state.resolve() / "cache" / CACHE_FILE, tool).entries.items():
            cache.entries.setdefault(mutant_id, entry)
    return cache


def _generated_per_requirement(config, project, gen, changed: dict | None) -> dict[str, int]:
    """Requirement ID -> the mutants mutmut made for its code, before --diff/--shard/--max-mutants
    select some (the scorer tells ``no-mutants`` from ``not-run`` with it). Under ``--diff`` only
    the changed files are mutated: a requirement with code in another project file is left out
    (its count is not known)."""
    counts = Counter(req for m in gen.mutants for req in m.requirements)
    spans = scope_files(config, project.requirements)[0] if changed is not None else {}
    root = config.root.resolve()
    out = {}
    for requirement in project.requirements:
        if changed is not None:
            files = set()
            for span in spans.get(requirement.id, []):
                try:
                    files.add(span.file.resolve().relative_to(root).as_posix())
                except ValueError:  # outside the project: never mutated, known to yield nothing
                    pass
            if not files <= set(changed):
                continue
        out[requirement.id] = counts.get(requirement.id, 0)
    return out


def _run_worker(config, gen, to_run: list[_Plan], trace: TraceData, workers: int, mode: str, on_mutant,
                cases: list[dict] = (), known: dict[str, dict] | None = None, on_baseline=None, lazy: bool = False):
    scratch = gen.scratch
    order = {t.nodeid: n for n, t in enumerate(trace.tests)}
    tests = sorted({n for p in to_run for n in p.tests} | {n for c in cases for n in c["tests"]}, key=order.__getitem__)
    wanted = set(tests)
    durations = {t.nodeid: t.duration for t in trace.tests if t.nodeid in wanted}
    position = {nodeid: n for n, nodeid in enumerate(tests)}

    def ranges(nodeids: list[str]) -> str:
        return index_ranges([position[n] for n in nodeids])

    sys_path = []
    for source in config.source:
        path = (scratch / source).resolve()
        if path.is_dir() and str(path) not in sys_path:
            sys_path.append(str(path))
    # --tb=no last: nobody reads the children's reports, and formatting each failure's traceback
    # cost ~60 ms (10x the whole run on the example, where most mutants fail a dozen tests)
    pytest_args = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:random_order", "--capture=sys",
                   f"--rootdir={scratch}", *config.tests, *config.pytest_args, "--tb=no"]
    if importlib.util.find_spec("xdist") is not None:
        pytest_args += ["-n", "0"]  # the worker is the parallelism; an addopts -n would stop collection
    if importlib.util.find_spec("pytest_cov") is not None:
        # an addopts --cov would start pytest-cov's tracer in the worker, and every forked child
        # would run its tests traced: measured on python-semver (--cov=semver in its .pytest.ini)
        # the suite runs 1.6x slower; --no-cov keeps the --cov options valid and turns it off
        pytest_args += ["--no-cov"]
    job = {
        "scratch": str(scratch), "user_root": str(config.root.resolve()), "sys_path": sys_path,
        "pytest_args": pytest_args,
        "modules": {module: str(scratch / rel) for rel, module in gen.files.items()},
        "mutated_files": [str(scratch / rel) for rel in gen.files],
        "tests": tests, "durations": durations, "matrix": mode, "workers": workers,
        # the trace's conditions: its hash seed (the same test IDs), and every test it collected
        "hash_seed": trace.hash_seed, "trace_tests": [t.nodeid for t in trace.tests],
        "timeout_multiplier": config.mutation.timeout_multiplier,
        "timeout_min_seconds": config.mutation.timeout_min_seconds,
        "memory_limit_mb": config.mutation.memory_limit_mb,
        # a lazy baseline (LAZY_BASELINE_MUTANTS): the trace's peak RSS and its tests' longest setup stand in
        "lazy_baseline": lazy, "trace_peak_mb": trace.peak_mb,
        "setup_seconds": max([t.setup for t in trace.tests if t.nodeid in wanted] + [0.0]),
        # decisive: each requirement's tests up to its first assert/timeout; --fast: up to its first
        # kill of any kind, crashes included, as mutmut stops; full: all of them, but none after a
        # timeout (outcome.SETTLE, StopRule)
        # a task's tests and its rule's groups as ranges of indexes into "tests" ("0-52,60"): written
        # as nodeids, mistune's job was 28 MB and its 1.2 million strings 150 MB of the worker that
        # every child's fork copies the page tables of
        "tasks": [{"id": p.mutant.id, "name": p.mutant.name, "tests": ranges(p.tests),
                   "rule": {"groups": [ranges(g) for g in p.groups], "settle": list(outcome.SETTLE[mode])}}
                  for p in calibration_first(to_run)],
        "cases": list(cases),
        "known": dict(known or {}) if cases else {},  # cached mutants' verdicts: only the cases' completion reads them
    }
    return run_worker(job, scratch=scratch, job_path=config.state_dir.resolve() / "mutate-job.json",
                      log_path=config.state_dir.resolve() / "mutate.log", on_mutant=on_mutant, on_baseline=on_baseline)


def _few(nodeids: list[str], total: int | None = None, shown: int = 5) -> str:
    listed = nodeids[:shown]
    total = len(nodeids) if total is None else total
    more = f" and {total - len(listed)} more" if total > len(listed) else ""
    return ", ".join(listed) + more


def missing_tests_message(worker, scratch: Path, where: str) -> str:
    """Why tests of the trace were not collected by the worker, in one line: when the worker
    collected other tests instead, the test IDs differ between two runs of the same suite
    (nondeterministic parametrization or collection); otherwise the copy lacks something."""
    head = (f"{len(worker.missing)} test(s) of the trace were not collected in the scratch copy {scratch}: "
            f"{_few(worker.missing)}")
    if worker.extra_count:
        return (f"{head}; it collected {_few(worker.extra, worker.extra_count)} instead: the test IDs differ from "
                "one run of the suite to the next, so parametrization or collection is nondeterministic "
                "(parameters from a set, or IDs made from random values, ids, times or the process); make them "
                f"stable (a list, sorted(...), or ids=...) and run the audit again; {where}")
    return (f"{head}; does collection depend on files outside the project or under an ignored directory? {where}")


def _check_worker(worker, gen, log: Path) -> None:
    where = f"see {log}"
    if worker.error:
        raise BaselineError(f"the tests cannot run in the scratch copy {gen.scratch}: {worker.error}; {where}")
    if worker.missing:
        raise BaselineError(missing_tests_message(worker, gen.scratch, where))
    if worker.live is not None:
        for rel, module in gen.files.items():
            expected = os.path.realpath(gen.scratch / rel)
            if worker.live.get(module) != expected:
                raise BaselineError(
                    f"mutants are not active: module {module} is imported from {worker.live.get(module) or 'nowhere'} "
                    f"instead of the scratch copy {expected}; an installed copy (site-packages, or an editable "
                    "install) shadows it: check [tool.testplan] source, or put the source root on the tests' "
                    "pythonpath")
    if worker.baseline is not None:
        bad = {n: v for n, v in worker.baseline.items() if v != "pass"}
        if bad:
            listed = ", ".join(f"{n} ({v})" for n, v in list(bad.items())[:10])
            raise BaselineError(f"{len(bad)} test(s) fail unmutated in the scratch copy {gen.scratch}: {listed}; "
                                f"they pass in the project itself, so they depend on something the copy lacks "
                                f"(files outside the project, absolute paths, test order); {where}")
    if worker.slow:
        raise BaselineError(f"{len(worker.slow)} test(s) take as long unmutated in the scratch copy as the timeout "
                            f"they had on a mutant (from the trace's durations), so their timeouts say nothing: "
                            f"{_few(worker.slow)}; raise [tool.testplan.mutation] timeout_multiplier, or judge more "
                            f"than {LAZY_BASELINE_MUTANTS} mutants (they get a baseline run first); {where}")
    if worker.forced_fail is not None and all(v == "pass" for v in worker.forced_fail.values()):
        raise BaselineError("mutants are not active: with every mutant forced to fail (MUTANT_UNDER_TEST=fail) "
                            "all selected tests still pass; either the code under test is imported from "
                            "elsewhere (site-packages, an editable install) instead of the scratch copy, or the "
                            "tests pass whatever the code does (they catch every exception?)")
    if not worker.done:
        raise WorkerError(f"the mutation worker stopped (exit {worker.returncode}) before finishing; {where}:\n"
                          + _tail(log))


def audit_hook(config, project, trace: TraceData) -> list[MutantResult]:
    """The ``mutate`` hook of :func:`testplan.audit.run_audit` (defaults for every option).
    A partial run raises MutationIncomplete carrying the partial MutationRun."""
    run = run_mutation(config, project, trace)
    if not run.complete:
        raise MutationIncomplete(f"mutation testing did not finish: {run.incomplete_reason}", run)
    return run.mutants
