"""The ``testplan`` command: parse flags, call the library, print with rich, map errors to exit codes.

Errors are caught in exactly one place (:func:`main`): a TestplanError prints one line and
exits with its code; a usage error prints one line and exits 2; anything else is an internal
error (exit 70) whose traceback is shown only with TESTPLAN_DEBUG=1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .config import Config, load_config
from .errors import ExitCode, InputError, TestplanError
from .escape import visible

app = typer.Typer(
    name="testplan",
    help="Test-plan-first test quality auditor: requirements -> reviewed plans -> linked tests -> mutation scoped by requirement.",
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Root = Annotated[Path, typer.Option("-C", "--root", help="The project directory (where pyproject.toml is).", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
# the LLM provider settings shared by enumerate --llm, critique --llm and propose-tests
LlmModel = Annotated[Optional[str], typer.Option("--model", help="LLM model (else TESTPLAN_MODEL).", show_default=False)]
LlmBaseUrl = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible base URL (else TESTPLAN_BASE_URL, OPENAI_BASE_URL).", show_default=False)]
LlmTimeout = Annotated[Optional[float], typer.Option("--timeout", help="Seconds per LLM request.", show_default=False)]
LlmMaxRetries = Annotated[Optional[int], typer.Option("--max-retries", help="Retries on 429/5xx/timeouts.", show_default=False)]
LlmSeed = Annotated[Optional[int], typer.Option("--seed", help="Sampling seed sent to the server.", show_default=False)]
LlmNoCache = Annotated[bool, typer.Option("--no-cache", help="Ignore cached LLM responses.")]


# -q/--quiet and -v/--verbose, on every command (added to each by add_verbosity_options):
#   -q  nothing on stdout but --json output; on stderr only errors and warnings (no progress, no
#       'wrote PATH'): the exit code is the verdict.
#   -v  more: every surviving mutant after the audit table (not the top 10), and the traceback of
#       an internal error (as TESTPLAN_DEBUG=1 does).
VERBOSITY = {"level": 0}  # -1 quiet, 0 normal, 1 verbose; set by the options' callbacks


def quiet() -> bool:
    return VERBOSITY["level"] < 0


def verbose() -> bool:
    return VERBOSITY["level"] > 0


def console() -> Console:
    """stdout console; markup off, so user text with [brackets] prints as written. Silent under -q."""
    return Console(highlight=False, soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 120, quiet=quiet())


def err_console() -> Console:
    """stderr console for errors and warnings (shown under -q too)."""
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def info_console() -> Console:
    """stderr console for progress and 'wrote PATH' notes: silent under -q."""
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False, quiet=quiet())


def _set_level(level: int):
    def callback(value: bool) -> bool:
        if value:
            VERBOSITY["level"] = level
        return value
    return callback


Quiet = Annotated[bool, typer.Option("-q", "--quiet", callback=_set_level(-1), expose_value=False, is_eager=True,
                                     help="Print nothing but errors, warnings and --json output; the exit code is the verdict.")]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", callback=_set_level(1), expose_value=False, is_eager=True,
                                       help="Print more: every surviving mutant, and the traceback of an internal error.")]


def add_verbosity_options(typer_app: typer.Typer) -> None:
    """Give every registered command the same -q/--quiet and -v/--verbose options (once)."""
    import functools
    import inspect

    for info in typer_app.registered_commands:
        command = info.callback
        if command is None or getattr(command, "_verbosity", False):
            continue
        signature = inspect.signature(command, eval_str=True)
        extra = [inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Quiet),
                 inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Verbose)]
        parameters = list(signature.parameters.values())
        keyword = [p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
        positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]

        def wrapper(*args, _command=command, **kwargs):
            kwargs.pop("quiet", None)
            kwargs.pop("verbose", None)
            return _command(*args, **kwargs)

        functools.update_wrapper(wrapper, command)
        wrapper.__signature__ = signature.replace(parameters=[*positional, *keyword, *extra])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**{p.name: p.annotation for p in parameters}, "quiet": Quiet, "verbose": Verbose}
        del wrapper.__wrapped__  # typer must see the new signature, not the command's own
        wrapper._verbosity = True  # type: ignore[attr-defined]
        info.callback = wrapper


class _QuietStdout:
    """sys.stdout while a command runs: under -q, writes are dropped unless they are the command's
    data (--json, or the schema 'testplan schema' prints)."""

    def __init__(self, inner):
        self.inner = inner

    def write(self, text: str) -> int:
        if quiet() and not _data_output():
            return len(text)
        return self.inner.write(text)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def _data_output() -> bool:
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    return ctx is not None and (bool(ctx.params.get("as_json")) or (ctx.info_name == "schema" and ctx.params.get("write") is None))


def _config(root: Path, **overrides) -> Config:
    return load_config(root, overrides)


def _is_tty() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _version(value: bool) -> None:
    if value:
        print(f"testplan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root_callback(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None,
) -> None:
    """testplan: does each requirement's test suite check what the requirement says?"""


# --- init ---------------------------------------------------------------------------------------

REQUIREMENTS_TEMPLATE = """\
# yaml-language-server: $schema={schema}
# Requirements of this project: what the code should do, written by people.
# Each requirement gets a test plan in plans/<ID>.yaml ('testplan enumerate ID'),
# reviewed and approved by a person ('testplan review ID').
project: {project}
requirements: []
# - id: PAY-1                      # ^[A-Z][A-Z0-9]*-[0-9]+$, unique, never reused
#   title: Premium discount for multi-pet households
#   statement: >
#     A household insuring 2 or more pets gets 10 % off each premium.
#   acceptance:
#     - 1 pet pays the list premium
#     - a negative pet count is rejected with ValueError("pet count must be >= 0")
#   risk: high                     # low | medium | high | critical
#   code: [mypackage.pricing:premium_for]
#   inputs:
#     pets: {{type: int, min: 0, max: 50}}
"""

CONFIG_TABLE = """
[tool.testplan]
requirements = "requirements.yaml"
plans = "plans"
tests = ["tests"]
min_score = 0
fail_on = ["dangling", "failing", "suspect"]
"""

SRC_LAYOUT_ARGS = 'pytest_args = ["-o", "pythonpath=src"]  # src/ layout: lets the tests import {packages}\n'



def _config_document(text: str) -> dict:
    """pyproject.toml parsed (a [tool.testplan] table may be written in several TOML forms)."""
    import re
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise InputError(f"malformed TOML: {exc}; fix the syntax (nothing was written)", "pyproject.toml",
                         int(line.group(1)) if line else 1) from None


@app.command()
def init(
    root: Root = Path("."),
    from_code: Annotated[Optional[str], typer.Option("--from-code", help="Draft requirements from an existing package (one per public module).")] = None,
    granularity: Annotated[str, typer.Option("--granularity", help="With --from-code: 'module' (one requirement per public module) or 'function' (per public class/function).")] = "module",
    write_links: Annotated[bool, typer.Option("--write-links", help="With --from-code: append the suggested links to pyproject.toml as [tool.testplan.links].")] = False,
) -> None:
    """Scaffold requirements.yaml, plans/ and a [tool.testplan] table. Never overwrites a file."""
    from .store import atomic_write

    if from_code is not None:
        from .draft import init_from_code  # the traceability issue's drafting; imported lazily

        if granularity not in ("module", "function"):
            raise InputError(f"--granularity: '{granularity}' is not a granularity; use module or function")
        init_from_code(root, from_code, console(), granularity=granularity, write_links=write_links)  # type: ignore[arg-type]
        return
    if not root.is_dir():
        raise InputError(f"--root: '{root}' is not a directory; create it first")
    requirements = root / "requirements.yaml"
    if requirements.exists():
        print(f"kept     {requirements} (exists)")
    else:
        from .model import SCHEMA_DIR, schema_file, write_schemas

        write_schemas(root / SCHEMA_DIR)  # what the modeline points at, for an editor's YAML language server
        atomic_write(requirements, REQUIREMENTS_TEMPLATE.format(project=root.resolve().name, schema=f"{SCHEMA_DIR}/{schema_file('requirements')}"))
        print(f"created  {requirements}")
    plans = root / "plans"
    if plans.is_dir():
        print(f"kept     {plans}/ (exists)")
    else:
        plans.mkdir(parents=True)
        print(f"created  {plans}/")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    document = _config_document(text)
    unimportable = _unimportable_src_packages(root, document)
    table = CONFIG_TABLE + (SRC_LAYOUT_ARGS.format(packages=", ".join(unimportable)) if unimportable else "")
    if not pyproject.exists():
        atomic_write(pyproject, table.lstrip())
        print(f"created  {pyproject} with [tool.testplan]")
    elif "testplan" in document.get("tool", {}):
        print(f"kept     {pyproject} (has [tool.testplan])")
    else:
        atomic_write(pyproject, text + ("" if text.endswith("\n") else "\n") + table)
        print(f"appended [tool.testplan] to {pyproject}")
    if unimportable:
        configured = "testplan" not in document.get("tool", {})
        print(f"note     src/ layout: the tests cannot import {', '.join(unimportable)} (not installed, and pytest has no "
              f"pythonpath = [\"src\"]); " + ("testplan runs pytest with -o pythonpath=src (pytest_args); " if configured else
              "add pytest_args = [\"-o\", \"pythonpath=src\"] to [tool.testplan]; ")
              + "for plain pytest add pythonpath = [\"src\"] to [tool.pytest.ini_options] or pip install -e .")
    _ignore_state_dir(root, atomic_write)
    print("next: add requirements, then 'testplan enumerate --all' and 'testplan review ID'")


def _ignore_state_dir(root: Path, atomic_write) -> None:
    """Append ``.testplan/`` to the project's .gitignore unless a line ignores it already;
    the other lines are kept byte for byte."""
    gitignore = root / ".gitignore"
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if any(line.strip() in (".testplan", ".testplan/", "/.testplan", "/.testplan/") for line in text.splitlines()):
        print(f"kept     {gitignore} (ignores .testplan/)")
        return
    atomic_write(gitignore, text + ("\n" if text and not text.endswith("\n") else "") + ".testplan/\n")
    print(f"{'appended .testplan/ to' if text else 'created '} {gitignore}" + ("" if text else " with .testplan/"))


def _unimportable_src_packages(root: Path, document: dict) -> list[str]:
    """Packages under ``src/`` the tests cannot import: not installed in this interpreter and no
    pytest ``pythonpath`` (or testplan ``pytest_args``) naming src."""
    import importlib.util

    src = root / "src"
    if not src.is_dir():
        return []
    packages = sorted(p.name for p in src.iterdir() if (p / "__init__.py").is_file() and p.name.isidentifier())
    pytest_options = document.get("tool", {}).get("pytest", {}).get("ini_options", {})
    paths = pytest_options.get("pythonpath", [])
    paths = [paths] if isinstance(paths, str) else paths
    args = document.get("tool", {}).get("testplan", {}).get("pytest_args", [])
    if any(str(p).strip("./") == "src" for p in paths) or any("pythonpath" in str(a) and "src" in str(a) for a in args):
        return []
    return [name for name in packages if importlib.util.find_spec(name) is None]


# --- lint ---------------------------------------------------------------------------------------

@app.command()
def lint(root: Root = Path("."), as_json: JsonFlag = False) -> None:
    """Validate requirements and plans without running anything (exit 0 clean, 2 on errors)."""
    from .lint import lint as run_lint

    try:
        findings = run_lint(_config(root))
    except InputError as exc:
        if not as_json or exc.path is None:
            raise
        findings = [exc.finding]  # a broken pyproject.toml is a finding like any other, in JSON too
    errors = [f for f in findings if f.severity == "error"]
    if as_json:
        print(json.dumps([{"path": f.path, "line": f.line, "severity": f.severity, "message": f.message} for f in findings], indent=2))
    else:
        for finding in findings:
            print(visible(str(finding)))
        if not findings:
            print("lint: no problems")
        else:
            warnings = len(findings) - len(errors)
            print(f"lint: {len(errors)} error{'s' if len(errors) != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}", file=sys.stderr)
    raise typer.Exit(ExitCode.BAD_INPUT if errors else ExitCode.OK)


# --- enumerate ----------------------------------------------------------------------------------

@app.command("enumerate")
def enumerate_cmd(
    requirement_ids: Annotated[Optional[list[str]], typer.Argument(metavar="REQ...", help="Requirement IDs to enumerate.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every requirement.")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="Also ask an OpenAI-compatible server for cases.")] = False,
    model: LlmModel = None,
    base_url: LlmBaseUrl = None,
    timeout: LlmTimeout = None,
    max_retries: LlmMaxRetries = None,
    seed: LlmSeed = None,
    no_cache: LlmNoCache = False,
    offline: Annotated[bool, typer.Option("--offline", help="Use only cached LLM responses and the rules.")] = False,
    root: Root = Path("."),
) -> None:
    """Propose cases (rules; with --llm also an LLM) into plans/<REQ>.yaml as 'proposed'."""
    from .review import load_project, parse_cache
    from .statedir import state_lock

    config = _config(root)
    if all_ and requirement_ids:
        raise InputError("enumerate: give requirement IDs or --all, not both")
    if not all_ and not requirement_ids:
        raise InputError("enumerate: name at least one requirement ID, or pass --all")
    # one writer of the plans and the LLM cache; the parse cache is saved under that lock
    with state_lock(config.state_dir, config.root), parse_cache(config, prune=True) as cache:
        _enumerate(config, load_project(config, cache=cache), requirement_ids, all_, llm, offline, model, base_url,
                   timeout, max_retries, seed, no_cache, cache)


def _enumerate(config, project, requirement_ids, all_, llm, offline, model, base_url, timeout, max_retries, seed,
               no_cache, cache=None) -> None:
    from .enumerate import merge
    from .enumerate.rules import propose
    from .model import outline
    from .parsecache import digest
    from .store import PlanFile, plan_path

    targets = [r.id for r in project.requirements] if all_ else list(requirement_ids or [])
    requirements = [project.requirements.get(rid) for rid in targets]
    llm_settings = None
    if llm or offline:
        from .enumerate.llm import settings_from

        llm_settings = settings_from(config, model=model, base_url=base_url, timeout=timeout,
                                     max_retries=max_retries, seed=seed, use_cache=not no_cache, offline=offline)
    out = console()
    # every requirement's proposals first: a failing LLM request (exit 2 or 4) must leave every
    # plan file as it was, so nothing is merged or saved until all proposals are in
    pending = []
    for requirement in requirements:
        plan_file = project.plans.files.get(requirement.id) or PlanFile.new(plan_path(config.plans_dir, requirement.id), requirement.id, config.root)
        key = project.memo_key(requirement, plan_file) if llm_settings is None else None
        if key is not None and cache is not None and cache.memo("enumerated", key) is not None:
            pending.append((requirement, plan_file, None))  # the rules' proposals are in this plan already
            continue
        proposals = propose(requirement)
        if llm_settings is not None:
            from .enumerate.llm import propose as llm_propose

            proposals += llm_propose(requirement, plan_file.plan, llm_settings)
        pending.append((requirement, plan_file, proposals))
    lines = []
    for requirement, plan_file, proposals in pending:
        if proposals is None:  # nothing to merge: the plan is not even read
            outline = project.outline(requirement)
            lines.append(f"{'unchanged':9} {visible(plan_file.shown)}: 0 new cases proposed, {outline.case_count} in plan")
            continue
        added = merge(plan_file, proposals)
        before = plan_file.original
        written = plan_file.save()
        if written and cache is not None and plan_file.original is not None:
            cache.written(plan_file.original, replacing=before)  # the next lint or status does not parse it
        if llm_settings is None and cache is not None and plan_file.original is not None:
            # merged: the rules would add nothing to these bytes of the plan
            key = project.memo_key(requirement, plan_file, digest(plan_file.original.encode("utf-8")))
            if key is not None:  # and its outline: the next lint or status does not validate it
                cache.keep("enumerated", key, "rules")
                cache.keep("outlines", key, outline(requirement, plan_file.plan).model_dump(mode="json"))
        total = len(plan_file.plan.cases)
        verb = "wrote" if written else "unchanged"
        lines.append(f"{verb:9} {visible(plan_file.shown)}: {len(added)} new case{'s' if len(added) != 1 else ''} proposed, {total} in plan")
    out.print("\n".join(lines))


# --- critique -----------------------------------------------------------------------------------

@app.command()
def critique(
    requirement_ids: Annotated[Optional[list[str]], typer.Argument(metavar="[REQ...]", help="Requirement IDs (default: every one in the audit).", show_default=False)] = None,
    llm: Annotated[bool, typer.Option("--llm", help="Ask an OpenAI-compatible server to label the prose cases' tests.")] = False,
    model: LlmModel = None,
    base_url: LlmBaseUrl = None,
    timeout: LlmTimeout = None,
    max_retries: LlmMaxRetries = None,
    seed: LlmSeed = None,
    no_cache: LlmNoCache = False,
    offline: Annotated[bool, typer.Option("--offline", help="Use only cached LLM responses.")] = False,
    json_: JsonFlag = False,
    root: Root = Path("."),
) -> None:
    """Does each linked test check its case's expected outcome? Advisory findings into audit.json's critique[]."""
    from .audit import AUDIT_FILE
    from .critique import critique as do_critique, merge_findings
    from .result import load_result, save_result
    from .review import load_project
    from .statedir import state_lock

    config = _config(root)
    settings = None
    if llm or offline:
        from .enumerate.llm import settings_from

        settings = settings_from(config, model=model, base_url=base_url, timeout=timeout, max_retries=max_retries,
                                 seed=seed, use_cache=not no_cache, offline=offline)
    with state_lock(config.state_dir, config.root):  # one writer of audit.json and the LLM cache
        path = config.state_dir / AUDIT_FILE
        result = load_result(path)
        project = load_project(config)
        ids = [project.requirements.get(r).id for r in requirement_ids or []]
        findings = do_critique(config, project, result, ids, settings)
        merge_findings(result, findings, ids)
        save_result(result, path)
    if json_:
        print(json.dumps([f.model_dump() for f in findings], indent=2))
        return
    table = Table(title="critique (advisory; scores unchanged)")
    for column in ("Case", "Test", "Label", "Reason", "By"):
        table.add_column(column)
    for f in findings:
        table.add_row(visible(f.case), visible(f.test), f.label, visible(f.reason), visible(f.by))
    out = console()
    out.print(table)
    counts = {label: sum(1 for f in findings if f.label == label) for label in ("checks-expected", "checks-other", "checks-nothing")}
    out.print(", ".join(f"{n} {label}" for label, n in counts.items()))


# --- propose-tests ------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


@app.command("propose-tests")
def propose_tests_cmd(
    requirement_ids: Annotated[list[str], typer.Argument(metavar="REQ...", help="Requirements whose surviving mutants to target.", show_default=False)],
    max_: Annotated[int, typer.Option("--max", help="At most this many surviving mutants per run (one request each).")] = 10,
    into: Annotated[Optional[Path], typer.Option("--into", help="Write the accepted tests as new files into this directory of the suite (else .testplan/proposals/<REQ>/).", show_default=False)] = None,
    model: LlmModel = None,
    base_url: LlmBaseUrl = None,
    timeout: LlmTimeout = None,
    max_retries: LlmMaxRetries = None,
    seed: LlmSeed = None,
    no_cache: LlmNoCache = False,
    offline: Annotated[bool, typer.Option("--offline", help="Use only cached LLM responses.")] = False,
    root: Root = Path("."),
) -> None:
    """Ask an LLM for a test per surviving mutant; keep only tests that pass 3 times and assert-kill their mutant."""
    from .audit import AUDIT_FILE
    from .enumerate.llm import settings_from
    from .propose import propose_tests
    from .result import load_result
    from .review import load_project
    from .statedir import state_lock

    config = _config(root)
    settings = settings_from(config, model=model, base_url=base_url, timeout=timeout, max_retries=max_retries,
                             seed=seed, use_cache=not no_cache, offline=offline)
    target = None
    if into is not None:
        target = into if into.is_absolute() else (config.root / into)
        if not target.is_dir():
            raise InputError(f"--into: {into} is not a directory of the project; pass the suite's directory, e.g. --into tests")
    info = info_console()
    with state_lock(config.state_dir, config.root):
        result = load_result(config.state_dir / AUDIT_FILE)
        project = load_project(config)
        ids = [project.requirements.get(r).id for r in requirement_ids]
        outcome = propose_tests(config, project, result, ids, settings, max_, target,
                                progress=lambda text: info.print(text))
    out = console()
    for path in outcome.written:
        info.print(f"wrote {visible(str(path))}")
    table = Table(title="propose-tests")
    for column in ("survivors targeted", "candidates", "(a) shape", "(b) passes x3", "(c) assert-kills", "(d) not duplicate", "mutants killed", "O before → if accepted"):
        table.add_column(column)
    oracle = ", ".join(f"{r} {_pct(outcome.oracle_before[r])} → {_pct(outcome.oracle_after[r])}" for r in ids)
    table.add_row(str(outcome.targeted), str(len(outcome.candidates)), *(str(outcome.passed(f)) for f in "abcd"),
                  str(len(outcome.killed)), oracle)
    out.print(table)
    out.print(f"survivors targeted {outcome.targeted} · candidates {len(outcome.candidates)} · "
              + " · ".join(f"({f}) {outcome.passed(f)}" for f in "abcd")
              + f" · mutants killed {len(outcome.killed)} · O {oracle}")


# --- review / approve / reject --------------------------------------------------------------------

@app.command()
def approve(
    requirement_id: Annotated[str, typer.Argument(metavar="REQ")],
    case: Annotated[Optional[list[str]], typer.Option("--case", help="Approve this case (repeatable).", show_default=False)] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="The reviewer's name (recorded in the plan).", show_default=False)] = None,
    all_proposed: Annotated[bool, typer.Option("--all-proposed", help="Approve every proposed case (after looking at them: 'testplan status', the plan file).")] = False,
    root: Root = Path("."),
) -> None:
    """Approve the cases named with --case (or every proposed one with --all-proposed) and record the
    review. With no proposed case left and no --case it re-signs the review, approving nothing new."""
    from .review import approve as do_approve, load_project

    if by is None:
        if not _is_tty():
            raise InputError("approve: --by NAME is required when not on a terminal (the review records who approved)")
        by = typer.prompt("Reviewer name")
    project = load_project(_config(root))
    requirement = project.requirements.get(requirement_id)
    plan_file = project.plan_file(requirement_id)
    if case and all_proposed:
        raise InputError("approve: give --case IDs or --all-proposed, not both")
    changed = do_approve(plan_file, requirement, by, case or None, all_proposed=all_proposed)
    plan_file.save()
    plan = plan_file.plan
    console().print(f"approved {len(changed)} case{'s' if len(changed) != 1 else ''} of {requirement_id} "
                    f"({len(plan.approved())} approved in plan); review recorded by {visible(by)}: {plan.review.fingerprint[:19]}…")


@app.command()
def reject(
    requirement_id: Annotated[str, typer.Argument(metavar="REQ")],
    case: Annotated[list[str], typer.Option("--case", help="The case to reject (repeatable).", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why the case is wrong (kept in the plan).", show_default=False)],
    root: Root = Path("."),
) -> None:
    """Reject cases with a reason; rejected cases are kept, and never proposed again."""
    from .review import load_project, reject as do_reject

    project = load_project(_config(root))
    project.requirements.get(requirement_id)
    plan_file = project.plan_file(requirement_id)
    for case_id in case:
        do_reject(plan_file, case_id, reason)
    plan_file.save()
    console().print(visible(f"rejected {', '.join(case)} of {requirement_id}"))


@app.command()
def review(
    requirement_id: Annotated[str, typer.Argument(metavar="REQ")],
    by: Annotated[Optional[str], typer.Option("--by", help="The reviewer's name.", show_default=False)] = None,
    root: Root = Path("."),
) -> None:
    """Interactive review on a terminal: approve / reject with reason / skip each proposed case."""
    from .review import load_project
    from .review_tty import interactive_review

    if not _is_tty():
        raise InputError(f"review: needs a terminal; in scripts use 'testplan approve {requirement_id} --case ID --by NAME' and 'testplan reject {requirement_id} --case ID --reason TEXT'")
    project = load_project(_config(root))
    requirement = project.requirements.get(requirement_id)
    plan_file = project.plan_file(requirement_id)
    interactive_review(plan_file, requirement, by, Console(highlight=False))  # markup on: user text is escaped there


@app.command()
def diff(
    requirement_id: Annotated[str, typer.Argument(metavar="REQ")],
    root: Root = Path("."),
) -> None:
    """Show what changed since the last review (requirement fields and approved cases) as a unified diff."""
    from .review import changes_since_review, load_project

    project = load_project(_config(root))
    requirement = project.requirements.get(requirement_id)
    plan = project.plan_file(requirement_id).plan
    changes = changes_since_review(requirement, plan)
    assert plan.review is not None
    if changes is None:
        print(visible(f"{requirement_id}: the review by {plan.review.by} kept no snapshot (it predates them), so there "
                      f"is nothing to compare; 'testplan status' says whether the plan is SUSPECT"))
    elif not changes:
        print(visible(f"{requirement_id}: no change since the review by {plan.review.by}"))
    else:
        sys.stdout.write(visible(changes))


# --- scaffold -----------------------------------------------------------------------------------

@app.command()
def scaffold(
    requirement_ids: Annotated[Optional[list[str]], typer.Argument(metavar="REQ...", help="Requirement IDs.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every requirement with a plan.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Directory for the test files (default: the first [tool.testplan] tests path).", show_default=False)] = None,
    root: Root = Path("."),
) -> None:
    """Write pytest tests for the approved cases no test links to yet, into tests/test_<req>_plan.py."""
    from .review import load_project
    from .scaffold import scaffold as write_tests

    if all_ == bool(requirement_ids):
        raise InputError("scaffold: name requirement IDs or pass --all (not both)")
    project = load_project(_config(root))
    targets = [r.id for r in project.requirements if r.id in project.plans.files] if all_ else list(requirement_ids or [])
    for result in write_tests(project, targets, out):
        if not result.changed:
            print(visible(f"unchanged {result.shown}: every approved case of {result.requirement} has a linked test"))
            continue
        verb = "created" if result.created else "appended to"
        what = f"{len(result.written)} case test{'s' if len(result.written) != 1 else ''}"
        if result.properties:
            what += f", {result.properties} property test{'s' if result.properties != 1 else ''}"
        print(visible(f"{verb} {result.shown}: {what}"))


# --- status / schema ----------------------------------------------------------------------------

@app.command()
def status(root: Root = Path("."), as_json: JsonFlag = False) -> None:
    """Per requirement: plan state (APPROVED / SUSPECT / UNREVIEWED / NO PLAN) and cases by status and kind."""
    from .review import load_project, parse_cache, status as compute

    config = _config(root)
    with parse_cache(config) as cache:  # status keeps the parse cache (see testplan.store.ParseCache)
        rows = compute(load_project(config, cache=cache))
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title="testplan status", title_justify="left")
    for column in ("requirement", "risk", "plan", "cases", "kinds", "reviewed by"):
        table.add_column(column)
    styles = {"APPROVED": "green", "SUSPECT": "yellow", "UNREVIEWED": "cyan", "NO PLAN": "red"}
    for row in rows:
        cases = ", ".join(f"{n} {s}" for s, n in row.cases_by_status.items()) or "-"
        kinds = ", ".join(f"{n} {k}" for k, n in row.cases_by_kind.items()) or "-"
        state = row.plan_state.value
        table.add_row(visible(f"{row.id} {row.title}"), row.risk, Text(state, style=styles[state]), cases, kinds, visible(row.reviewed_by or "-"))
    console().print(table)


@app.command()
def schema(kind: Annotated[str, typer.Argument(metavar="requirements|plan|audit", help="Which file format.")] = "requirements",
           root: Root = Path("."),
           write: Annotated[Optional[Path], typer.Option("--write", metavar="DIR", help="Write every format's schema into DIR as <kind>.schema.json instead of printing one.", show_default=False)] = None) -> None:
    """Print the JSON Schema of a file format: requirements and plans (for editors' YAML language
    servers: '# yaml-language-server: $schema=<file>') or audit (.testplan/audit.json, for tools
    that read it); --write DIR writes all three. The schema does not depend on the project; -C is
    accepted like on every command (a relative --write DIR is under it)."""
    from .model import SCHEMA_KINDS, json_schema, write_schemas

    if kind not in SCHEMA_KINDS:
        raise InputError(f"schema: unknown format '{kind}'; use 'requirements', 'plan' or 'audit'")
    if not root.is_dir():
        raise InputError(f"--root: '{root}' is not a directory; pass the project's directory with -C")
    if write is not None:
        for path in write_schemas(write if write.is_absolute() else root / write):
            console().print(f"wrote {path}")
        return
    print(json.dumps(json_schema(kind), indent=2))  # type: ignore[arg-type]


# --- entry point --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    add_verbosity_options(app)
    command = typer.main.get_command(app)
    VERBOSITY["level"] = 0
    args = sys.argv[1:] if argv is None else argv
    stdout, sys.stdout = sys.stdout, _QuietStdout(sys.stdout)  # type: ignore[assignment]
    try:
        result = command.main(args=args, prog_name="testplan", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:  # typer's (vendored click's) usage errors
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(visible(exc.format_message()), file=sys.stderr)
        else:
            name = ctx.command_path if ctx is not None else "testplan"
            print(visible(f"testplan: usage error: {exc.format_message()} (see '{name} --help')"), file=sys.stderr)
        code = ExitCode.BAD_INPUT
    except typer.Abort:
        print("testplan: aborted", file=sys.stderr)
        code = ExitCode.INCOMPLETE
    except TestplanError as exc:
        text = str(exc) if isinstance(exc, InputError) and exc.path else f"testplan: {exc.slug}: {exc}"
        print(visible(text), file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("testplan: interrupted", file=sys.stderr)
        code = ExitCode.INCOMPLETE
    except Exception as exc:  # the one place an unexpected error becomes exit 70
        if os.environ.get("TESTPLAN_DEBUG", "") not in ("", "0"):
            raise
        if verbose():
            import traceback

            traceback.print_exc()
        print(visible(f"testplan: internal error: {type(exc).__name__}: {exc} (rerun with TESTPLAN_DEBUG=1 for the traceback, and please report it)"), file=sys.stderr)
        code = ExitCode.INTERNAL
    finally:
        sys.stdout = stdout
    return int(code)


def run() -> None:  # pragma: no cover - console script shim
    from .store import freeze_loaded

    freeze_loaded()
    exit_now(main())


def exit_now(code: int) -> None:
    """End the process with ``code`` once its output is flushed, without tearing the
    interpreter down when nothing waits for that: no ``atexit`` handler (coverage.py, logging,
    multiprocessing and ``weakref.finalize`` register one), no thread but this one, no tracer or
    profiler (a debugger, cProfile). A command on a large project leaves millions of objects,
    which the teardown frees one by one (2,000 plans of 20 cases: ~0.5 s of a 2-s ``status``);
    mypy ends the same way. When a flush fails (a closed pipe) or something waits, it exits as
    usual (``sys.exit``)."""
    import atexit

    threading = sys.modules.get("threading")
    if (getattr(atexit, "_ncallbacks", lambda: 1)() or (threading is not None and threading.active_count() > 1)
            or sys.gettrace() is not None or sys.getprofile() is not None):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
from . import cli_audit  # noqa: E402,F401  (registers audit, gate)
