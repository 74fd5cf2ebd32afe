"""The library entry point: load the project, trace the tests, (mutate,) score, gate, write audit.json.

The state directory is locked first (:func:`testplan.statedir.state_lock`: one writer at a
time). ``audit.json`` is written as the run goes, so a crash leaves evidence:

1. before anything else, a record with ``complete: false`` (a stale result of an earlier run
   can never be gated as if it were this one);
2. after tracing, the classified result (states, coverage), still ``complete: false``;
3. at the end, the final result with the gate verdict and ``complete: true`` (only when the
   test run itself completed).

Each record carries ``inputs`` (:mod:`testplan.inputs`: the hashes of the requirements, plans,
``[tool.testplan]``, tests and source files in scope, read before the tests run), which
``testplan gate`` checks against the tree, and ``hash_seed``, the PYTHONHASHSEED the tests ran
with (:mod:`testplan.determinism`).

An error on the way rewrites the record with ``complete: false`` and the reason, then propagates;
Ctrl-C becomes an :class:`IncompleteError` (exit 4). Every record with ``complete: false`` (on
disk or returned) has ``score: null`` and every requirement's ``score: null``
(:meth:`AuditResult.withhold_scores`): a partial run's numbers are not a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .config import Config
from .errors import IncompleteError, InputError, SigtermAsInterrupt, TestplanError
from .gate import apply_gate
from .inputs import read_inputs
from .result import AuditResult, MutantResult, save_result
from .review import Project, load_project
from .score import build_result
from .statedir import state_lock
from .trace import TraceData

AUDIT_FILE = "audit.json"



@dataclass
class MutationRun:
    """What a mutation hook may return instead of a bare list (any object with these attributes
    will do, e.g. ``testplan.mutate.MutationRun``): the mutants; per requirement, the code in
    its scope that could not be mutated ("module:qualname (reason)"); whether the run finished.
    A hook may also raise a TestplanError carrying the partial run as ``.run``: its mutants are
    saved in the incomplete result."""

    mutants: list[MutantResult]
    unmutated: dict[str, list[str]] = field(default_factory=dict)
    complete: bool = True
    incomplete_reason: str | None = None
    stats: dict = field(default_factory=dict)  # stats["generated_per_requirement"]: {req ID: mutants before selection}


def _as_run(value) -> MutationRun:
    if isinstance(value, (list, tuple)):
        return MutationRun(list(value))
    return MutationRun(list(value.mutants), dict(getattr(value, "unmutated", None) or {}),
                       bool(getattr(value, "complete", True)), getattr(value, "incomplete_reason", None),
                       dict(getattr(value, "stats", None) or {}))


# how the mutation run was made, kept in audit.json (only "matrix": "full" is the complete kill matrix;
# a --diff result covers the changed lines only)
MUTATION_OPTIONS = ("jobs", "fast", "matrix", "all_tests", "diff_base", "shard", "max_mutants", "min_mutants")  # min_mutants: only when given


def _numbers(stats: dict) -> dict[str, float]:
    """The numeric figures of a run's stats, flattened (``seconds.total``), for audit.json."""
    out: dict[str, float] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _numbers(value).items()})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


MutateHook = Callable[[Config, Project, TraceData], "list[MutantResult] | MutationRun"]


def default_mutation_hook(**options) -> MutateHook | None:
    """testplan's own mutation engine with ``options`` (jobs, fast, all_tests, diff_base, shard,
    progress: see :func:`testplan.mutate.run_mutation`), or None when it cannot be imported."""
    try:
        from .mutate import run_mutation, start_generation
    except ImportError:
        return None
    started: dict[str, Future] = {}

    def hook(config: Config, project: Project, trace: TraceData):
        return run_mutation(config, project, trace, **options, generation=started.pop("generation", None))

    def prepare(config: Config, project: Project) -> Future:
        """Called by :func:`run_audit` before the trace: the mutants are generated meanwhile."""
        started["generation"] = start_generation(config, project, **options)
        return started["generation"]

    hook.prepare = prepare  # type: ignore[attr-defined]
    return hook


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def run_audit(
    config: Config,
    *,
    mutation: bool = False,
    mutate: MutateHook | None = None,
    out_dir: Path | None = None,
    min_score: float | None = None,
    min_requirement_score: float | None = None,
    fail_on: Iterable[str] | str | None = None,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    mutation_options: dict | None = None,
    linked_only: bool = False,
) -> AuditResult:
    """Run one audit and return its result (also written to ``out_dir/audit.json``).

    The state directory (``out_dir``, default ``.testplan/``) is locked for the run: a second
    audit of it raises InputError at once, naming this one's pid. With ``out_dir`` the trace,
    the scratch copy and the caches live there too, so audits with different ``out_dir`` (shards)
    run side by side from one checkout.

    Mutation runs when ``mutate`` is given, or with ``mutation=True`` (the default engine,
    :func:`testplan.mutate.audit_hook`). The gate is applied with ``min_score``/``min_requirement_score``/``fail_on``
    overriding the config. ``mutation_options["jobs"]`` (≥ 2) also runs the trace in that many
    worker processes forked after one collection (:func:`testplan.trace.run_trace`), with or without
    mutation; without it the trace is serial. ``linked_only`` traces only the tests that link
    a requirement or case (the others are not run; ``linked_only`` in audit.json). Raises InputError on bad requirements/plans/flags, whatever
    ``trace.run_trace`` raises (BaselineError, ...), and IncompleteError on Ctrl-C.
    """
    options = dict(mutation_options or {})
    if mutation and mutate is None:
        mutate = default_mutation_hook(**options)
        if mutate is None:
            raise InputError("mutation testing is not available in this installation; pass --no-mutation")
    state = out_dir if out_dir is not None else config.state_dir
    with state_lock(state, config.root):  # one writer per state directory (exit 2 for a second one)
        if out_dir is not None:
            config = config.with_state_dir(out_dir)  # its own trace, scratch copy and caches
        out = state / AUDIT_FILE
        result = AuditResult(started_at=_now(), mutation=mutate is not None, incomplete_reason="the audit is running",
                             linked_only=linked_only)
        if mutate is not None and options.get("shard"):
            from .mutate import parse_shard

            k, n = parse_shard(options["shard"])
            result.shard = f"{k}/{n}"
        _save(result, out)
        with SigtermAsInterrupt():
            return _run(result, out, config, mutate, min_score, min_requirement_score, fail_on, extra_args, env,
                        options.get("jobs"))


def _run(result: AuditResult, out: Path, config: Config, mutate: MutateHook | None, min_score, min_requirement_score,
         fail_on, extra_args: Sequence[str], env: dict[str, str] | None, jobs: int | None = None) -> AuditResult:
    pending: Future | None = None  # the mutants' generation, when the hook starts it before the trace
    try:
        project = load_project(config)
        result.project = project.requirements.project
        apply_gate(result, config, min_score, min_requirement_score, fail_on)  # bad flags fail before the run
        result.inputs = read_inputs(config, project.requirements)  # what this result is about: the gate checks it

        from .trace import run_trace  # lazily: the engine is the slow part

        prepare = getattr(mutate, "prepare", None)  # a hook that can start before the trace
        if prepare is not None:
            pending = prepare(config, project)
        trace = run_trace(config, extra_args=tuple(extra_args), env=env, jobs=jobs,  # jobs: forked trace workers
                          linked_only=result.linked_only)
        result.hash_seed = trace.hash_seed
        _carry(result, build_result(project, trace, None))
        if mutate is not None:  # not the --no-mutation "cases only" basis: mutants are on their way
            for requirement in result.requirements:
                requirement.evidence, requirement.score_basis = "not-run", "mutants"
                requirement.evidence_reason = "mutation testing has not finished"
        result.incomplete_reason = "mutation testing is running" if mutate is not None else "the audit is scoring"
        _save(result, out)

        incomplete: str | None = None
        if mutate is not None:
            try:
                run = _as_run(mutate(config, project, trace))
            except TestplanError as exc:  # a partial run may come with the mutants it finished
                partial = getattr(exc, "run", None)
                if partial is not None:
                    partial = _as_run(partial)
                    _carry(result, build_result(project, trace, partial.mutants, partial.unmutated, _generated(partial)))
                    result.mutation = True
                raise
            _carry(result, build_result(project, trace, run.mutants, run.unmutated, _generated(run)))
            result.mutation_stats = _numbers(run.stats) or None
            result.mutation_options = {k: run.stats[k] for k in MUTATION_OPTIONS if k in run.stats} or None
            if not run.complete:
                incomplete = run.incomplete_reason or "mutation testing did not finish"

        result.complete = trace.complete and incomplete is None
        result.incomplete_reason = incomplete if incomplete else None if trace.complete else "the test run did not finish"
        result.finished_at = _now()
        result.withhold_scores()
        result.gate = apply_gate(result, config, min_score, min_requirement_score, fail_on)
        _save(result, out)
        return result
    except KeyboardInterrupt:
        _abandon(result, out, "interrupted")
        raise IncompleteError(f"interrupted; {out} records an incomplete audit") from None
    except TestplanError as exc:
        _abandon(result, out, f"{exc.slug}: {exc}")
        raise
    except Exception as exc:
        _abandon(result, out, f"internal error: {type(exc).__name__}: {exc}")
        raise
    finally:
        if pending is not None:  # the trace failed or was interrupted: the generation ends before the lock is let go
            wait([pending])


def _generated(run: MutationRun) -> dict[str, int] | None:
    """Per requirement, the mutants generated before selection, when the engine says."""
    counts = run.stats.get("generated_per_requirement")
    return dict(counts) if isinstance(counts, dict) else None


def _save(result: AuditResult, out: Path) -> None:
    """Write the record; an incomplete one without any score (the running record keeps its
    scores in memory for the next step)."""
    save_result(result.model_copy(deep=True).withhold_scores() if not result.complete else result, out)


def _carry(result: AuditResult, scored: AuditResult) -> None:
    """Copy the scored content into the running record (timestamps and flags stay)."""
    for name in ("project", "score", "requirements", "tests", "mutants", "problems"):
        setattr(result, name, getattr(scored, name))


def _abandon(result: AuditResult, out: Path, reason: str) -> None:
    result.complete = False
    result.incomplete_reason = reason
    result.finished_at = _now()
    result.gate = None
    result.withhold_scores()
    try:
        save_result(result, out)
    except OSError:  # the original error matters more than the evidence
        pass
