#!/usr/bin/env python3
"""Benchmark: testplan's mutation audit against ``mutmut run`` on real PyPI sdists.

For each project of the corpus files (``<repo>/../shared/bench/corpus.txt`` and
``bench/corpus-extra.txt``; one line per project:
``name==version | unpacked dir | package | test deps | pytest args | notes``), in one run:

1. download the sdist (``pip download --no-deps --no-binary :all:``), unpack it, create (or reuse)
   a virtualenv with the project, its test deps, mutmut==3.8.1 and this repo (editable; a venv made
   from another checkout gets ``pip install -e`` of this one), and check that the suite passes;
2. the two tools, mutmut first for the 1st, 3rd, ... project of the run and testplan first for the
   others;
3. ``mutmut run --max-children 2`` in a fresh copy (``[tool.mutmut]`` written per project), timed
   (wall, and peak RSS through ``/usr/bin/time -v`` when it exists); every mutant's verdict and
   diff are read back with ``bench/mutmut_dump.py``;
4. testplan in another fresh copy: ``testplan init --from-code PACKAGE``, a ``[tool.testplan.links]``
   table linking every test to every drafted requirement (``"*" = [...]``), then, each timed and
   cold (``.testplan/cache`` deleted first): the default audit (``--jobs 2``), ``--matrix full``
   (when ``testplan audit --help`` lists it; otherwise the default run is the full matrix and is
   labelled so), an unchanged re-run (the cache) and a re-run after editing one test (which mutants
   ran, against the ones that test covered in the full run), and ``--fast``; the default's
   per-mutant statuses against the full matrix's, and each run's ``seconds.worker`` against
   ``estimate.seconds`` (audit.json's ``mutation_stats``);
5. agreement: the default audit's mutants (``.testplan/audit.json``) matched to mutmut's, by mutmut's
   name (testplan's worker job records it) and independently by (file, line, mutated text) from
   mutmut's diff; detected/undetected agreement over the mutants both tools produced, and the
   disagreements; then mutmut re-checks each disagreement itself (``mutmut run NAME``, three
   times, each with another ``PYTHONHASHSEED``), which tells a verdict mutmut reproduces from one
   it does not;
6. a table of the figures; ``--json OUT`` saves them.

Nothing here asserts on timings: the figures depend on the machine and on its load, which is
recorded (``uptime`` before and after every timed run).

Usage::

    .venv/bin/python bench/compare_mutmut.py --workdir /work/bench-work                 # semver only
    .venv/bin/python bench/compare_mutmut.py --workdir /work/bench-work --only iniconfig --only mistune
    .venv/bin/python bench/compare_mutmut.py --workdir /work/bench-work --all --json /work/bench-work/figures.json
    .venv/bin/python bench/compare_mutmut.py --skip-mutmut   # testplan side only; reuses the last mutmut figures
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def _shared_corpus() -> Path:
    """``<repo>/../shared/bench/corpus.txt``; from a worktree nested one level deeper
    (``/work/wt/NAME``), the nearest ancestor's ``shared/bench/corpus.txt`` that exists."""
    for base in REPO.parents:
        candidate = base / "shared" / "bench" / "corpus.txt"
        if candidate.is_file():
            return candidate
    return REPO.parent / "shared" / "bench" / "corpus.txt"


DEFAULT_CORPUS = _shared_corpus()
# projects this repository adds to the shared corpus (same line format): issue 15 asks for one with
# >= 1,500 mutmut mutants whose suite covers each line with many tests
EXTRA_CORPUS = BENCH / "corpus-extra.txt"
# outside the repository: a project without its own pytest configuration (inflection, schema) would
# otherwise pick up this repository's pyproject.toml ([tool.pytest.ini_options]: -n auto, ...)
DEFAULT_WORKDIR = REPO.parent / f"{REPO.name}-bench"
MUTMUT_PIN = "mutmut==3.8.1"
GNU_TIME = "/usr/bin/time"

# never copied into the tool copies, and never passed to mutmut's also_copy
JUNK = {".git", ".hg", ".tox", ".nox", ".venv", "venv", "build", "dist", "mutants", ".testplan",
        "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".coverage", "htmlcov"}

# Per-project set-up (from the corpus notes). Anything not given is guessed from the layout:
# mutmut source_paths = the package directory (or module file); also_copy = every other top-level
# entry of the sdist (mutmut runs the tests with mutants/ as the cwd, so every file the tests or
# the pytest configuration read must be there: semver's .pytest.ini and docs/, slugify's tools/ and
# README.md, iniconfig's testing/ ...).
PROFILES: dict[str, dict] = {
    # pytest runs in-process in the parent in the default 'fork' mode: module state of the stats run
    # leaks into the clean run (FINDINGS.md §3); forkserver is what ran cleanly and is DESIGN's figure.
    "semver": {"process_isolation": "forkserver"},
    "iniconfig": {"source_paths": ["src/iniconfig"]},
}


# --------------------------------------------------------------------------------------------
# corpus

@dataclass
class Project:
    name: str
    version: str
    unpacked: str
    package: str
    test_deps: list[str]
    pytest_args: list[str]
    notes: str

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


def read_corpus(path: Path) -> list[Project]:
    projects = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split("|")]
        cells += [""] * (6 - len(cells))
        name, _, version = cells[0].partition("==")
        projects.append(Project(name.strip(), version.strip(), cells[1], cells[2], cells[3].split(),
                                cells[4].split(), cells[5]))
    return projects


# --------------------------------------------------------------------------------------------
# processes, timing, load

def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return list(os.getloadavg()) if hasattr(os, "getloadavg") else []


@dataclass
class Timed:
    command: list[str]
    cwd: str
    returncode: int
    wall: float  # seconds, perf_counter around the process
    peak_rss_kb: int | None  # largest single process of the tree (GNU time / ru_maxrss), not a sum
    rss_source: str
    load_before: list[float]
    load_after: list[float]
    uptime_before: str
    uptime_after: str
    log: str


def git_commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "testplan"], cwd=REPO,
                           capture_output=True, text=True, check=False)
    return head.stdout.strip() + (" (+ uncommitted changes under testplan/)" if dirty.stdout.strip() else "")


def has_gnu_time() -> bool:
    if not os.access(GNU_TIME, os.X_OK):
        return False
    probe = subprocess.run([GNU_TIME, "-v", "true"], capture_output=True, text=True, check=False)
    return "Maximum resident set size" in probe.stderr


def timed(command: list[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None) -> Timed:
    """Run ``command`` (output to ``log_path``), measuring wall time and peak RSS."""
    import resource

    use_time = has_gnu_time()
    rusage_file = log_path.with_suffix(".time")
    full = [GNU_TIME, "-v", "-o", str(rusage_file), *command] if use_time else command
    before, up_before = loadavg(), uptime()
    maxrss_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as out:
        proc = subprocess.run(full, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    wall = time.perf_counter() - started
    after, up_after = loadavg(), uptime()
    peak, source = None, "none"
    if use_time and rusage_file.exists():
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", rusage_file.read_text())
        if match:
            peak, source = int(match.group(1)), "GNU time -v (max RSS of one process in the tree)"
    if peak is None:
        maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if maxrss > maxrss_before:  # only meaningful when this run set a new maximum
            peak, source = maxrss, "getrusage(RUSAGE_CHILDREN).ru_maxrss"
    return Timed(command, str(cwd), proc.returncode, round(wall, 2), peak, source, before, after,
                 up_before, up_after, str(log_path))


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(command)}\n{tail}")
    if not quiet and proc.returncode != 0:
        log(f"  exit {proc.returncode}: {' '.join(command)}")
    return proc


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MUTANT_UNDER_TEST", "PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "COVERAGE_PROCESS_START")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def venv_env(venv: Path) -> dict[str, str]:
    env = clean_env()
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


# --------------------------------------------------------------------------------------------
# step 1: sdist, venv, suite

def fetch(project: Project, pdir: Path, pip: list[str]) -> Path:
    """Download and unpack the sdist; returns the pristine unpacked directory."""
    downloads = pdir / "download"
    downloads.mkdir(parents=True, exist_ok=True)
    archives = [p for p in downloads.iterdir() if p.suffix in (".gz", ".zip", ".bz2")]
    if not archives:
        log(f"  pip download {project.name}=={project.version}")
        run([*pip, "download", "--no-deps", "--no-binary", ":all:", f"{project.name}=={project.version}",
             "-d", str(downloads)])
        archives = [p for p in downloads.iterdir() if p.suffix in (".gz", ".zip", ".bz2")]
    archive = archives[0]
    pristine = pdir / "pristine"
    target = pristine / project.unpacked
    if not target.is_dir():
        shutil.rmtree(pristine, ignore_errors=True)
        pristine.mkdir(parents=True)
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(pristine)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(pristine, filter="data")
        if not target.is_dir():
            found = [p for p in pristine.iterdir() if p.is_dir()]
            if len(found) != 1:
                raise RuntimeError(f"unpacked {archive.name}: expected {project.unpacked}/, found {found}")
            target = found[0]
    return target


def ensure_venv(project: Project, pdir: Path, pristine: Path, python: str) -> Path:
    """The project's venv under ``pdir``: the project (not editable), its test deps, mutmut and this
    repository's testplan (editable). It is rebuilt only when the dependency list changes; when it
    was made by another checkout of testplan (a worktree, then ``/work/main``), only
    ``pip install -e <this repo>`` runs again, so one workdir serves every checkout: whoever runs the
    script last has their testplan in the venvs. The check afterwards refuses a venv whose
    ``import testplan`` does not come from this repository."""
    venv = pdir / "venv"
    marker = venv / ".bench-ready"
    wanted_deps = {"deps": project.test_deps, "mutmut": MUTMUT_PIN}
    have: dict = {}
    if marker.exists():
        try:
            have = json.loads(marker.read_text())
        except ValueError:
            have = {}
    vpy = str(venv / "bin" / "python")
    env = venv_env(venv)
    if {k: have.get(k) for k in wanted_deps} != wanted_deps or not Path(vpy).exists():
        log(f"  creating {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        run([python, "-m", "venv", str(venv)])
        run([vpy, "-m", "pip", "install", "-q", "--upgrade", "pip"], env=env, check=False)
        # the project itself (not editable: each tool works in its own copy; both put their copy first)
        run([vpy, "-m", "pip", "install", "-q", str(pristine), *project.test_deps, MUTMUT_PIN], env=env)
        have = dict(wanted_deps)
    if have.get("repo") != str(REPO):
        log(f"  pip install -e {REPO} into {venv}" + (f" (it had {have['repo']})" if have.get("repo") else ""))
        run([vpy, "-m", "pip", "install", "-q", "-e", str(REPO)], env=env)
        have["repo"] = str(REPO)
        marker.write_text(json.dumps(have))
    where = run([vpy, "-c", "import testplan, pathlib; print(pathlib.Path(testplan.__file__).resolve())"], env=env).stdout.strip()
    if not where.startswith(str(REPO.resolve()) + os.sep):
        raise RuntimeError(f"{venv}: testplan is imported from {where}, not from {REPO}; delete {marker} to reinstall")
    return venv


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*JUNK, ".coverage.*", "*.pyc"), symlinks=True)
    return dst


def verify_suite(project: Project, pristine: Path, pdir: Path, venv: Path) -> dict:
    where = copy_tree(pristine, pdir / "verify")
    proc = run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *project.pytest_args],
               cwd=where, env=venv_env(venv), check=False)
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    summary = next((line for line in reversed(tail) if re.search(r"\d+ (passed|failed|error)", line)), tail[-1] if tail else "")
    if proc.returncode != 0:
        raise RuntimeError(f"{project.key}: the suite does not pass unmodified (exit {proc.returncode}): {summary}\n"
                           + "\n".join(tail[-20:]))
    return {"summary": summary.strip("= ")}


# --------------------------------------------------------------------------------------------
# layout helpers

def package_path(root: Path, package: str) -> Path:
    """The package directory (or module file) relative to ``root``: src/ layout or flat."""
    parts = package.split(".")
    for base in ("src", "."):
        d = root / base / Path(*parts)
        if (d / "__init__.py").is_file():
            return d.relative_to(root)
        f = root / base / Path(*parts[:-1]) / f"{parts[-1]}.py"
        if f.is_file():
            return f.relative_to(root)
    raise RuntimeError(f"package {package} not found under {root} (src/ or flat)")


def pytest_testpaths(root: Path) -> list[str]:
    """``testpaths`` from the project's pytest configuration (the files pytest reads, in its order)."""
    for name in ("pytest.ini", ".pytest.ini"):
        p = root / name
        if p.is_file():
            cp = configparser.ConfigParser(interpolation=None)
            cp.read(p)
            if cp.has_option("pytest", "testpaths"):
                return cp.get("pytest", "testpaths").split()
            return []
    p = root / "pyproject.toml"
    if p.is_file():
        ini = tomllib.loads(p.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {}).get("ini_options")
        if ini is not None:
            tp = ini.get("testpaths", [])
            return tp.split() if isinstance(tp, str) else list(tp)
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        p = root / name
        if p.is_file():
            cp = configparser.ConfigParser(interpolation=None)
            cp.read(p)
            if cp.has_section(section):
                return cp.get(section, "testpaths").split() if cp.has_option(section, "testpaths") else []
    return []


def test_selection(project: Project, root: Path) -> list[str]:
    """What the suite runs: the corpus' pytest args, else the configured testpaths, else tests/."""
    if project.pytest_args:
        return [a for a in project.pytest_args if not a.startswith("-")]
    paths = [p for p in pytest_testpaths(root) if (root / p).exists()]
    if paths:
        return paths
    return [p for p in ("tests", "test", "testing") if (root / p).is_dir()] or ["."]


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def append_pyproject(root: Path, text: str) -> None:
    path = root / "pyproject.toml"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = old + ("" if not old or old.endswith("\n") else "\n") + text
    tomllib.loads(new)
    path.write_text(new, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# step 2: mutmut

def mutmut_config(project: Project, root: Path) -> dict:
    profile = PROFILES.get(project.name, {})
    source = profile.get("source_paths") or [package_path(root, project.package).as_posix()]
    top = {s.split("/")[0] for s in source}
    also = profile.get("also_copy") or sorted(
        p.name for p in root.iterdir() if p.name not in JUNK and p.name not in top and not p.name.endswith(".egg-info"))
    cfg = {"source_paths": source, "also_copy": also}
    if project.pytest_args:
        cfg["pytest_add_cli_args_test_selection"] = project.pytest_args
    if profile.get("process_isolation"):
        cfg["process_isolation"] = profile["process_isolation"]
    return cfg


def write_mutmut_config(root: Path, cfg: dict) -> None:
    path = root / "pyproject.toml"
    if path.exists() and "mutmut" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}):
        raise RuntimeError(f"{path} already has [tool.mutmut]; refusing to guess how to merge")
    lines = ["", "[tool.mutmut]"]
    for key, value in cfg.items():
        lines.append(f"{key} = {toml_list(value) if isinstance(value, list) else json.dumps(value)}")
    append_pyproject(root, "\n".join(lines) + "\n")


def run_mutmut(project: Project, pristine: Path, pdir: Path, venv: Path, label: str = "") -> dict:
    root = copy_tree(pristine, pdir / "mutmut")
    cfg = mutmut_config(project, root)
    write_mutmut_config(root, cfg)
    log(f"  mutmut config: {cfg}")
    log(f"  mutmut run --max-children 2   (in {root}; {uptime()})")
    t = timed([str(venv / "bin" / "mutmut"), "run", "--max-children", "2"], root, pdir / f"mutmut-run{label}.log",
              env=venv_env(venv))
    log(f"  mutmut run: exit {t.returncode}, {t.wall:.1f} s, peak RSS {t.peak_rss_kb} kB")
    out: dict = {"config": cfg, "run": asdict(t)}
    if t.returncode != 0:
        out["error"] = "mutmut run failed: " + "\n".join(Path(t.log).read_text(errors="replace").splitlines()[-15:])
        return out
    dump = pdir / f"mutmut-mutants{label}.jsonl"
    run([str(venv / "bin" / "python"), str(BENCH / "mutmut_dump.py"), str(dump)], cwd=root, env=venv_env(venv))
    records = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines() if line.strip()]
    for rec in records:
        rec.update(locate_mutmut_mutant(root, rec))
    out["mutants"] = records
    out["statuses"] = dict(sorted(Counter(r["status"] for r in records).items()))
    out["statuses_by_file"] = {f: dict(sorted(Counter(r["status"] for r in records if r["path"] == f).items()))
                               for f in sorted({r["path"] for r in records})}
    out["exit_codes"] = dict(sorted(Counter(str(r["exit_code"]) for r in records).items()))
    stats = root / "mutants" / "mutmut-stats.json"
    if stats.exists():
        data = json.loads(stats.read_text())
        out["tests_seen"] = len(data.get("duration_by_test", {}))
    return out


def _function_spans(tree, key: str) -> list[tuple[int, int, int]]:
    """(first decorator line, def line, end line) of every def mutmut's function key (x_f or xǁCǁm)
    may mean, last first: with ``@overload`` stubs the name is bound several times and mutmut
    mutates the implementation (the last binding)."""
    import ast

    def span(node):
        return min([d.lineno for d in node.decorator_list] + [node.lineno]), node.lineno, node.end_lineno

    funcs = (ast.FunctionDef, ast.AsyncFunctionDef)
    if key.startswith("xǁ"):
        _, cls, meth = key.split("ǁ", 2)
        found = [span(sub) for node in tree.body if isinstance(node, ast.ClassDef) and node.name == cls
                 for sub in node.body if isinstance(sub, funcs) and sub.name == meth]
    else:
        found = [span(node) for node in tree.body if isinstance(node, funcs) and node.name == key[2:]]
    return found[::-1]


_SOURCES: dict[Path, tuple[list[str], object]] = {}


def locate_mutmut_mutant(root: Path, rec: dict) -> dict:
    """The original-file line and the changed text of a mutmut mutant, from its diff.

    mutmut diffs ``<func>__mutmut_orig`` against the mutant (function-relative hunks). The first
    removed line is looked up inside the function in the original source; if the same text occurs
    more than once, the occurrence nearest the hunk's offset wins."""
    import ast

    diff = rec.get("diff") or ""
    minus, plus, hunk_pos, first_minus_pos = [], [], None, None
    pos = 0
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        m = re.match(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", line)
        if m:
            if hunk_pos is not None and minus:
                break  # one mutation = one hunk; keep the first
            hunk_pos = int(m.group(1))
            pos = hunk_pos
            continue
        if line.startswith("-"):
            if first_minus_pos is None:
                first_minus_pos = pos
            minus.append(line[1:])
            pos += 1
        elif line.startswith("+"):
            plus.append(line[1:])
        else:
            pos += 1
    path = root / rec["path"]
    if path not in _SOURCES:
        text = path.read_text(encoding="utf-8")
        _SOURCES[path] = (text.splitlines(), ast.parse(text))
    lines, tree = _SOURCES[path]
    key = rec["name"].rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    line = None
    for first, def_line, end in _function_spans(tree, key) if minus else ():
        want = minus[0].strip()
        cands = [n for n in range(first, end + 1) if lines[n - 1].strip() == want]
        if cands and first_minus_pos is not None:
            rel = first_minus_pos - 1
            line = min(cands, key=lambda n: min(abs((n - first) - rel), abs((n - def_line) - rel)))
        elif cands:
            line = cands[0]
        if line is not None:
            break
    return {"line": line, "function": key, "original": "\n".join(s.strip() for s in minus),
            "mutated": "\n".join(s.strip() for s in plus)}


# --------------------------------------------------------------------------------------------
# step 3: testplan

def audit_flags(venv: Path) -> set[str]:
    """The options ``testplan audit --help`` lists, and ``--matrix=CHOICE`` for each choice of
    ``--matrix`` (click prints them as ``--matrix [decisive|full]``)."""
    proc = run([str(venv / "bin" / "testplan"), "audit", "--help"], env=venv_env(venv), check=False)
    flags = set(re.findall(r"(--[a-z][a-z-]+)", proc.stdout))
    choices = re.search(r"--matrix\s*\[([a-z|-]+)\]", proc.stdout)
    if choices:
        flags |= {f"--matrix={c}" for c in choices.group(1).split("|")}
    return flags


def has_matrix(flags: set[str]) -> bool:
    """Whether this testplan has ``--matrix full`` (issue 15: the default audit is decisive)."""
    return "--matrix" in flags and ("--matrix=full" in flags or not any(f.startswith("--matrix=") for f in flags))


# the audits timed per project: label -> (extra CLI flags, what the label means)
MODES = {
    "default": ([], "testplan audit --jobs 2 (decisive: each mutant stops at its first assertion kill by a test of its requirement)"),
    "full": (["--matrix", "full"], "testplan audit --jobs 2 --matrix full (the complete kill matrix)"),
    "fast": (["--fast"], "testplan audit --jobs 2 --fast (each mutant stops at its first kill of any kind)"),
}
NO_MATRIX_LABEL = "full (no --matrix yet)"


def prepare_testplan(project: Project, pristine: Path, pdir: Path, venv: Path, selection: list[str]) -> tuple[Path, dict]:
    root = copy_tree(pristine, pdir / "testplan")
    env = venv_env(venv)
    tp = str(venv / "bin" / "testplan")
    # where the tests are, and parallelism for the CLI when it has no --jobs flag
    append_pyproject(root, f"\n[tool.testplan]\ntests = {toml_list(selection)}\n\n[tool.testplan.mutation]\njobs = 2\n")
    init = run([tp, "init", "-C", str(root), "--from-code", project.package], env=env, check=False)
    (pdir / "testplan-init.log").write_text(init.stdout + init.stderr)
    if init.returncode != 0:
        raise RuntimeError(f"testplan init --from-code {project.package} failed ({init.returncode}):\n"
                           + (init.stdout + init.stderr)[-3000:])
    req_file = root / "requirements.yaml"
    ids = re.findall(r"^\s*-\s*id:\s*(\S+)", req_file.read_text(encoding="utf-8"), flags=re.M)
    codes = re.findall(r"^\s*code:\s*(.+)$", req_file.read_text(encoding="utf-8"), flags=re.M)
    doc = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    if "links" in doc.get("tool", {}).get("testplan", {}):
        raise RuntimeError("init wrote a [tool.testplan.links] table; this benchmark links every test itself")
    append_pyproject(root, f"\n[tool.testplan.links]\n\"*\" = {toml_list(ids)}\n")
    return root, {"requirements": ids, "code": codes, "init_output": init.stdout.strip().splitlines()}


def verdicts_as_dicts(data: dict) -> dict:
    """audit.json with each mutant's verdicts as {nodeid: verdict}, as format version 1 stores
    them; version 2 stores a test table and two short strings per mutant (testplan/result.py)."""
    if data.get("schema_version") == 2:
        from testplan.result import decode_verdicts

        table = data.get("matrix_tests", [])
        data["mutants"] = [{**{k: v for k, v in m.items() if k != "tests"},
                            "verdicts": decode_verdicts(table, m.get("tests", ""), m.get("verdicts", ""))}
                           for m in data.get("mutants", [])]
    return data


def clear_cache(root: Path) -> None:
    """A cold run: no verdict of an earlier run is reused."""
    shutil.rmtree(root / ".testplan" / "cache", ignore_errors=True)


def src_first(project: Project, root: Path) -> str | None:
    """For a src-layout package: ``[tool.testplan] source = ["src"]`` (the worker's scratch copy of
    src/ goes first) and the src/ directory to put first on PYTHONPATH, because pytest itself may
    import the installed copy before the project's pythonpath applies (iniconfig), and testplan
    refuses to measure a copy the tests never ran. None for a flat layout. (validity.py does the same.)"""
    if package_path(root, project.package).parts[0] != "src":
        return None
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if "[tool.testplan]\nsource = " not in text:
        pyproject.write_text(text.replace("\n[tool.testplan]\n", '\n[tool.testplan]\nsource = ["src"]\n', 1), encoding="utf-8")
    return str(root / "src")


def testplan_audit(root: Path, pdir: Path, venv: Path, label: str, extra: list[str], flags: set[str],
                   pythonpath: str | None = None) -> dict:
    """``testplan audit -C ROOT --jobs 2 *extra``, timed; what its audit.json and mutate-job.json say."""
    env = venv_env(venv)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    stats_file = pdir / f"testplan-{label}.stats.json"
    fast = "--fast" in extra
    if "--jobs" in flags and (not fast or "--fast" in flags):
        command = [str(venv / "bin" / "testplan"), "audit", "-C", str(root), "--jobs", "2", *extra]
        how = "cli"
    else:
        if "--matrix" in extra:
            raise RuntimeError("this testplan has no --jobs: bench/audit_driver.py cannot pass --matrix")
        command = [str(venv / "bin" / "python"), str(BENCH / "audit_driver.py"), str(root), "--jobs", "2",
                   *(["--fast"] if fast else []), "--stats", str(stats_file)]
        how = "library (testplan audit has no --jobs/--fast yet): bench/audit_driver.py"
    log(f"  testplan {label}: {' '.join(command[1:]) if how != 'cli' else ' '.join(command)}"
        + (f" (PYTHONPATH={pythonpath})" if pythonpath else "") + f"   ({uptime()})")
    t = timed(command, root, pdir / f"testplan-{label}.log", env=env)
    log(f"  testplan {label}: exit {t.returncode}, {t.wall:.1f} s, peak RSS {t.peak_rss_kb} kB")
    out: dict = {"how": how, "flags": ["--jobs", "2", *extra], "run": asdict(t)}
    audit_json = root / ".testplan" / "audit.json"
    if audit_json.exists():
        saved = pdir / f"testplan-{label}.audit.json"
        shutil.copy2(audit_json, saved)
        data = verdicts_as_dicts(json.loads(audit_json.read_text(encoding="utf-8")))
        mutants = data.get("mutants", [])
        mstats = data.get("mutation_stats") or {}
        estimate, worker = mstats.get("estimate.seconds"), mstats.get("seconds.worker")
        out.update(complete=data.get("complete"), incomplete_reason=data.get("incomplete_reason"),
                   score=data.get("score"), mutants=mutants,
                   tests=len(data.get("tests", [])),
                   statuses=dict(sorted(Counter(m["status"] for m in mutants).items())),
                   unmutated={r["id"]: r.get("unmutated", []) for r in data.get("requirements", [])},
                   per_requirement={r["id"]: {"code": r.get("code"), "mutants": r.get("mutants"), "state": r.get("state")}
                                    for r in data.get("requirements", [])},
                   cells=sum(len(m.get("verdicts", {})) for m in mutants),
                   mutation_stats=mstats, mutation_options=data.get("mutation_options"),
                   estimate_seconds=estimate, worker_seconds=worker,
                   actual_over_estimate=round(worker / estimate, 2) if estimate and worker is not None else None)
    job = root / ".testplan" / "mutate-job.json"
    if job.exists():
        shutil.copy2(job, pdir / f"testplan-{label}.mutate-job.json")
        tasks = json.loads(job.read_text(encoding="utf-8")).get("tasks", [])
        out["names"] = {t["id"]: t["name"] for t in tasks}
        job.unlink()  # the next run writes its own (or none, when everything is cached)
    if stats_file.exists():
        out["stats"] = json.loads(stats_file.read_text(encoding="utf-8"))
    if t.returncode not in (0, 1):
        out["error"] = f"exit {t.returncode}: " + "\n".join(Path(t.log).read_text(errors="replace").splitlines()[-15:])
    return out


def compare_statuses(a: dict, b: dict) -> dict:
    """Per-mutant statuses of two audits of the same tree (by mutant ID): how many differ, and which."""
    sa = {m["id"]: m for m in a.get("mutants", [])}
    sb = {m["id"]: m for m in b.get("mutants", [])}
    differ = [{"id": i, "file": sa[i]["file"], "line": sa[i]["line"], "operator": sa[i].get("operator"),
               "mutated": sa[i].get("mutated"), "a": sa[i]["status"], "b": sb[i]["status"]}
              for i in sorted(sa.keys() & sb.keys()) if sa[i]["status"] != sb[i]["status"]]
    only_a, only_b = sorted(sa.keys() - sb.keys()), sorted(sb.keys() - sa.keys())
    return {"compared": len(sa.keys() & sb.keys()), "mismatches": len(differ) + len(only_a) + len(only_b),
            "status_mismatches": differ, "only_in_a": only_a, "only_in_b": only_b,
            "identical": not differ and not only_a and not only_b and bool(sa)}


def _test_function(nodeid: str) -> tuple[str, tuple[str, ...]]:
    """'tests/t.py::Cls::test_x[1-2]' -> ('tests/t.py', ('Cls', 'test_x'))."""
    path, *names = nodeid.partition("[")[0].split("::")
    return path, tuple(names)


def pick_test_to_edit(root: Path, full: dict) -> tuple[str, tuple[str, ...], set[str]] | None:
    """The test function (all its parametrizations) whose edit should re-run the most mutants
    while still being a minority of them (at most a quarter of the mutants that ran): returns
    (file, names, ids of the mutants its nodeids ran in the full run)."""
    covers: dict[tuple[str, tuple[str, ...]], set[str]] = defaultdict(set)
    ran = [m for m in full.get("mutants", []) if m.get("verdicts")]
    for m in ran:
        for nodeid in m["verdicts"]:
            path, names = _test_function(nodeid)
            if path.endswith(".py") and names:
                covers[(path, names)].add(m["id"])
    if not covers:
        return None
    ordered = sorted(covers.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    small = [kv for kv in ordered if len(kv[1]) <= max(1, len(ran) // 4)]
    (path, names), ids = (small or ordered)[0]
    return path, names, ids


def edit_test_function(file: Path, names: tuple[str, ...]) -> str:
    """Insert a no-op statement as the first line of the test function's body; returns the
    original text (to restore it)."""
    import ast

    text = file.read_text(encoding="utf-8")
    body = ast.parse(text).body
    node = None
    for name in names:
        node = next(n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name)
        body = node.body
    first = body[0]
    lines = text.splitlines(keepends=True)
    indent = lines[first.lineno - 1][: first.col_offset]
    lines.insert(first.lineno - 1, f"{indent}_edited_by_the_bench = None\n")
    file.write_text("".join(lines), encoding="utf-8")
    return text


def edit_one_test(root: Path, pdir: Path, venv: Path, full: dict, flags: set[str], extra: list[str],
                  pythonpath: str | None = None) -> dict:
    """Edit one test, re-run the audit, and compare the mutants that ran with the ones that test
    covered in the full run (the acceptance: only those re-run). ``extra``: the flags of the run
    whose cache this one reuses. Restores the test afterwards."""
    picked = pick_test_to_edit(root, full)
    if picked is None:
        return {"error": "no test function in a .py file ran a mutant"}
    path, names, expected = picked
    original = edit_test_function(root / path, names)
    try:
        out = testplan_audit(root, pdir, venv, "edit", extra, flags, pythonpath)
    finally:
        (root / path).write_text(original, encoding="utf-8")
    executed = set(out.get("names", {}))  # the worker's tasks: the mutants that ran
    return {"test": f"{path}::{'::'.join(names)}", "covered_in_full_run": len(expected), "executed": len(executed),
            "executed_equals_covered": executed == expected,
            "executed_not_covered": sorted(executed - expected)[:20], "covered_not_executed": sorted(expected - executed)[:20],
            "run": out.get("run"), "complete": out.get("complete")}


# --------------------------------------------------------------------------------------------
# step 4: agreement

DETECTED_MM = {"killed", "timeout", "segfault"}
UNDETECTED_MM = {"survived", "no tests"}
DETECTED_TP = {"killed", "killed-by-crash", "timeout"}
UNDETECTED_TP = {"survived", "no-coverage"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def match_mutants(mm: list[dict], tp: list[dict], names: dict[str, str]) -> dict:
    """Pair testplan's mutants with mutmut's: by mutmut name where testplan's job recorded it, and
    independently by (file, line, mutated text); both pairings are reported."""
    by_name = {r["name"]: r for r in mm}
    pairs_name = {}
    for m in tp:
        name = names.get(m["id"])
        if name and name in by_name:
            pairs_name[m["id"]] = name

    # by text: exact (file, line, whitespace-free mutated text) first, then containment for
    # multi-line nodes (testplan shows the node's lines, mutmut's diff the changed lines)
    by_loc: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in mm:
        if r.get("line") is not None:
            by_loc[(r["path"], r["line"])].append(r)
    used: set[str] = set()
    pairs_text: dict[str, str] = {}
    def noparens(text: str) -> str:
        return text.replace("(", "").replace(")", "")

    def spliced(m: dict, r: dict) -> str | None:
        """testplan's original lines with mutmut's changed lines put in at mutmut's line."""
        lines = (m.get("original") or "").split("\n")
        removed = r["original"].split("\n")
        at = r["line"] - m["line"]
        if at < 0 or [_norm(x) for x in lines[at:at + len(removed)]] != [_norm(x) for x in removed]:
            return None
        added = r["mutated"].split("\n") if r["mutated"] else []
        return _norm("".join(lines[:at] + added + lines[at + len(removed):]))

    for how in ("exact", "spliced", "parens"):
        for m in tp:
            if m["id"] in pairs_text:
                continue
            span = max(1, len((m.get("original") or "").split("\n")))
            cands = []
            for line in range(m["line"], m["line"] + span):
                cands += [r for r in by_loc.get((m["file"], line), []) if r["name"] not in used]
            tm = _norm(m.get("mutated"))
            if how == "exact":
                hit = [r for r in cands if _norm(r["mutated"]) == tm and r["line"] == m["line"]]
            elif how == "spliced":  # multi-line nodes; a removed argument alone on its line has no '+' line
                hit = [r for r in cands if spliced(m, r) == tm]
            else:  # testplan's text may carry the node's parentheses twice (see README)
                hit = [r for r in cands if (x := spliced(m, r)) is not None and noparens(x) == noparens(tm)]
            if len(hit) >= 1:
                pairs_text[m["id"]] = hit[0]["name"]
                used.add(hit[0]["name"])
    both = {k for k in pairs_name if k in pairs_text}
    same = sum(1 for k in both if pairs_name[k] == pairs_text[k])
    pairs = dict(pairs_text)
    pairs.update(pairs_name)  # the recorded name wins where both exist
    return {"pairs": pairs, "by_name": len(pairs_name), "by_text": len(pairs_text),
            "both_methods": len(both), "methods_agree": same}


def agreement(mm_out: dict, tp_out: dict, names: dict[str, str]) -> dict:
    mm = mm_out.get("mutants", [])
    tp = tp_out.get("mutants", [])
    matched = match_mutants(mm, tp, names)
    by_name = {r["name"]: r for r in mm}
    tp_by_id = {m["id"]: m for m in tp}
    agree = disagree = excluded = 0
    confusion: Counter = Counter()
    disagreements = []
    for tp_id, mm_name in sorted(matched["pairs"].items(), key=lambda kv: kv[1]):
        t, r = tp_by_id[tp_id], by_name[mm_name]
        confusion[(r["status"], t["status"])] += 1
        mm_det = True if r["status"] in DETECTED_MM else False if r["status"] in UNDETECTED_MM else None
        tp_det = True if t["status"] in DETECTED_TP else False if t["status"] in UNDETECTED_TP else None
        if mm_det is None or tp_det is None:
            excluded += 1
            continue
        if mm_det == tp_det:
            agree += 1
        else:
            disagree += 1
            disagreements.append({"mutmut": mm_name, "mutmut_status": r["status"], "mutmut_exit_code": r.get("exit_code"),
                                  "testplan_id": tp_id,
                                  "testplan_status": t["status"], "file": t["file"], "line": t["line"],
                                  "operator": t["operator"], "original": t["original"], "mutated": t["mutated"],
                                  "verdicts": Counter(t.get("verdicts", {}).values()),
                                  "tests": len(t.get("verdicts", {}))})
    paired_mm = set(matched["pairs"].values())
    mm_only = [r for r in mm if r["name"] not in paired_mm]
    tp_only = [m for m in tp if m["id"] not in matched["pairs"]]
    compared = agree + disagree
    return {
        "mutants_mutmut": len(mm), "mutants_testplan": len(tp), "matched": len(matched["pairs"]),
        "matched_by_name": matched["by_name"], "matched_by_text": matched["by_text"],
        "match_methods_both": matched["both_methods"], "match_methods_agree": matched["methods_agree"],
        "compared": compared, "agree": agree, "disagree": disagree, "excluded": excluded,
        "agreement_pct": round(100 * agree / compared, 2) if compared else None,
        "confusion": {f"{a} / {b}": n for (a, b), n in sorted(confusion.items())},
        "disagreements": disagreements,
        "mutmut_only_by_file": dict(sorted(Counter(r["path"] for r in mm_only).items())),
        "mutmut_only_statuses": dict(sorted(Counter(r["status"] for r in mm_only).items())),
        "testplan_only": [{"id": m["id"], "file": m["file"], "line": m["line"], "mutated": m["mutated"],
                           "status": m["status"]} for m in tp_only],
    }


MUTMUT_STATUS = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.stats import status_by_exit_code
data = SourceFileMutationData(path=sys.argv[1])
data.load()
code = data.exit_code_by_key.get(sys.argv[2])
print(json.dumps({"exit_code": code, "status": status_by_exit_code[code]}))
"""


def recheck_disagreements(agr: dict, mm_out: dict, pdir: Path, venv: Path, times: int = 3) -> None:
    """Run ``mutmut run NAME`` again for each disagreement, in mutmut's own tree, ``times`` times
    with PYTHONHASHSEED 1..times (mutmut's forkserver orders a mutant's tests as ``list(set)``).
    Adds ``mutmut_recheck`` (the statuses) to each disagreement and, to ``agr``, the agreement
    over the mutants whose mutmut verdict reproduces in every re-check."""
    root = pdir / "mutmut"
    paths = {r["name"]: r["path"] for r in mm_out.get("mutants", [])}
    reproduced = 0
    for d in agr.get("disagreements", []):
        statuses = []
        for seed in range(1, times + 1):
            env = {**venv_env(venv), "PYTHONHASHSEED": str(seed)}
            run([str(venv / "bin" / "mutmut"), "run", "--max-children", "2", d["mutmut"]], cwd=root, env=env,
                check=False, quiet=True)
            out = run([str(venv / "bin" / "python"), "-c", MUTMUT_STATUS, paths[d["mutmut"]], d["mutmut"]],
                      cwd=root, env=venv_env(venv), check=False, quiet=True)
            try:
                statuses.append(json.loads(out.stdout.strip().splitlines()[-1])["status"])
            except (IndexError, ValueError, KeyError):
                statuses.append("unreadable")
        d["mutmut_recheck"] = statuses
        if all(st == d["mutmut_status"] for st in statuses):
            reproduced += 1
        log(f"  re-check {d['mutmut']}: mutmut said {d['mutmut_status']}; alone, 3 times: {', '.join(statuses)}")
    compared = agr["agree"] + reproduced
    agr["disagree_reproduced"] = reproduced
    agr["agreement_reproducible_pct"] = round(100 * agr["agree"] / compared, 2) if compared else None


def detected_mm(status: str) -> bool | None:
    return True if status in DETECTED_MM else False if status in UNDETECTED_MM else None


def rounds_summary(rounds: list[dict], names: dict[str, str]) -> dict:
    """Across rounds (each ``{"mutmut", "testplan" (the default audit), "testplan_full" (--matrix
    full, when this testplan has it)}``): each tool's wall times and their medians, how many mutants mutmut judged
    differently from one round to another, and the agreement with testplan over the mutants
    whose mutmut verdict is the same in every round (unbiased: agreeing and disagreeing mutants
    are dropped alike when mutmut is unstable on them)."""
    from statistics import median

    mm_walls = [r["mutmut"]["run"]["wall"] for r in rounds if r.get("mutmut", {}).get("run")]
    tp_walls = [r["testplan"]["run"]["wall"] for r in rounds if r.get("testplan", {}).get("run")]
    full_walls = [r["testplan_full"]["run"]["wall"] for r in rounds if r.get("testplan_full", {}).get("run")]
    verdicts: dict[str, set] = defaultdict(set)
    for r in rounds:
        for rec in r.get("mutmut", {}).get("mutants", []):
            verdicts[rec["name"]].add(detected_mm(rec["status"]))
    unstable = sorted(name for name, seen in verdicts.items() if len(seen) > 1)
    tp_statuses = [tuple(sorted((m["id"], m["status"]) for m in r["testplan"].get("mutants", []))) for r in rounds if r.get("testplan")]
    out = {"rounds": len(rounds), "wall_mutmut": mm_walls, "wall_testplan": tp_walls, "wall_testplan_matrix_full": full_walls,
           "median_mutmut": round(median(mm_walls), 2) if mm_walls else None,
           "median_testplan": round(median(tp_walls), 2) if tp_walls else None,
           "median_testplan_matrix_full": round(median(full_walls), 2) if full_walls else None,
           "mutmut_unstable": unstable, "testplan_same_in_every_round": len(set(tp_statuses)) <= 1}
    first_tp = {m["id"]: m for m in rounds[0].get("testplan", {}).get("mutants", [])}
    agree = compared = 0
    by_name = {v: k for k, v in names.items()}
    for name, seen in verdicts.items():
        if len(seen) != 1 or None in seen or name not in by_name or by_name[name] not in first_tp:
            continue
        tp_status = first_tp[by_name[name]]["status"]
        compared += 1
        agree += (tp_status in DETECTED_TP) == next(iter(seen))
    out.update(stable_compared=compared, stable_agree=agree,
               stable_agreement_pct=round(100 * agree / compared, 2) if compared else None)
    per_round = []  # each round's mutmut against testplan's first full run, by mutmut name
    for r in rounds:
        both = [(rec, first_tp[by_name[rec["name"]]]) for rec in r.get("mutmut", {}).get("mutants", [])
                if rec["name"] in by_name and by_name[rec["name"]] in first_tp and detected_mm(rec["status"]) is not None]
        same = sum(1 for rec, tp in both if detected_mm(rec["status"]) == (tp["status"] in DETECTED_TP))
        per_round.append({"agree": same, "compared": len(both)})
    out["agreement_by_round"] = per_round
    return out


# --------------------------------------------------------------------------------------------
# step 5: report

def _ratio(a, b):
    return round(a / b, 2) if a and b else None


def _mb(kb):
    return f"{kb / 1024:.0f} MB" if kb else "-"


def summarize(project: Project, res: dict) -> dict:
    mm, tpr = res.get("mutmut", {}), res.get("testplan", {})
    default, full, fast, rerun = (tpr.get(k, {}) for k in ("default", "full", "fast", "rerun"))
    agr = res.get("agreement", {})
    mm_wall = mm.get("run", {}).get("wall")
    rounds = res.get("rounds_summary") or {}
    same = res.get("default_vs_full")
    row = {
        "project": project.key,
        "order": res.get("order"),
        "default_label": res.get("default_label"),
        "mutants_mutmut": len(mm.get("mutants", [])) if mm.get("mutants") is not None else None,
        "mutants_testplan": len(default.get("mutants", [])) if default.get("mutants") is not None else None,
        "matched": agr.get("matched"), "agreement_pct": agr.get("agreement_pct"),
        "agree": agr.get("agree"), "compared": agr.get("compared"),
        "wall_mutmut": mm_wall,
        "wall_testplan_default": default.get("run", {}).get("wall"),
        "wall_testplan_full": full.get("run", {}).get("wall"),
        "wall_testplan_fast": fast.get("run", {}).get("wall"),
        "wall_testplan_rerun": rerun.get("run", {}).get("wall"),
        "statuses_default_vs_full": None if same is None else same["mismatches"],
        "estimate_default": default.get("estimate_seconds"), "worker_default": default.get("worker_seconds"),
        "estimate_full": full.get("estimate_seconds"), "worker_full": full.get("worker_seconds"),
        "actual_over_estimate_default": default.get("actual_over_estimate"),
        "actual_over_estimate_full": full.get("actual_over_estimate"),
        "actual_over_estimate_fast": fast.get("actual_over_estimate"),
        **{f"exit_{k}": r.get("run", {}).get("returncode") for k, r in
           (("default", default), ("full", full), ("fast", fast), ("rerun", rerun))},
        "exit_mutmut": mm.get("run", {}).get("returncode"),
        "rss_mutmut_kb": mm.get("run", {}).get("peak_rss_kb"),
        "rss_testplan_default_kb": default.get("run", {}).get("peak_rss_kb"),
        "rss_testplan_full_kb": full.get("run", {}).get("peak_rss_kb"),
        "rss_testplan_fast_kb": fast.get("run", {}).get("peak_rss_kb"),
    }
    if rounds.get("rounds", 1) > 1:  # medians over the rounds, each tool run alternately first
        row["wall_mutmut"] = mm_wall = rounds["median_mutmut"]
        row["wall_testplan_default"] = rounds["median_testplan"]
        if rounds.get("median_testplan_matrix_full") is not None:
            row["wall_testplan_full"] = rounds["median_testplan_matrix_full"]
    for k in ("default", "full", "fast", "rerun"):
        row[f"ratio_{k}"] = _ratio(row[f"wall_testplan_{k}"], mm_wall)
    row["rerun_of_default"] = _ratio(row["wall_testplan_rerun"], row["wall_testplan_full"] or row["wall_testplan_default"])
    return row


def _table(head: list[str], body: list[list[str]]) -> None:
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))


def print_table(rows: list[dict]) -> None:
    def timed_cell(r, k):
        wall, ratio = r[f"wall_testplan_{k}"], r[f"ratio_{k}"]
        if r.get(f"exit_{k}") not in (None, 0, 1):
            return f"FAILED (exit {r[f'exit_{k}']})"
        return "-" if wall is None else f"{wall:.1f} s" + ("" if ratio is None else f" ({ratio:.2f}x)")

    def same_cell(r):
        n = r["statuses_default_vs_full"]
        return "-" if n is None else "identical" if n == 0 else f"{n} differ"

    def est_cell(r, k):
        ratio, est, act = r[f"actual_over_estimate_{k}"], r.get(f"estimate_{k}"), r.get(f"worker_{k}")
        return "-" if ratio is None else f"{ratio:.2f} ({act:.0f}/{est:.0f} s)"

    head = ["project", "first", "mutants mm/tp", "agreement (default)", "mutmut run", "tp default (/mutmut)",
            "tp --matrix full", "tp --fast", "statuses default=full", "full actual/estimate", "re-run", "peak RSS mm / default"]
    body = []
    for r in rows:
        label = r["default_label"] or "default"
        body.append([
            r["project"], r["order"] or "-", f"{r['mutants_mutmut']} / {r['mutants_testplan']}",
            "-" if r["agreement_pct"] is None else f"{r['agreement_pct']:.1f}% ({r['agree']}/{r['compared']})",
            "-" if r["wall_mutmut"] is None else f"{r['wall_mutmut']:.1f} s" if r["exit_mutmut"] in (None, 0)
            else f"FAILED (exit {r['exit_mutmut']})",
            timed_cell(r, "default") + ("" if label == "default" else f" [{label}]"),
            timed_cell(r, "full"), timed_cell(r, "fast"), same_cell(r),
            est_cell(r, "full" if r["wall_testplan_full"] is not None else "default"),
            timed_cell(r, "rerun"),
            f"{_mb(r['rss_mutmut_kb'])} / {_mb(r['rss_testplan_default_kb'])}",
        ])
    print()
    _table(head, body)
    print()
    print("ratios are testplan wall / mutmut wall; 'first': which tool ran first for that project (they alternate);")
    print("'full actual/estimate': seconds.worker / estimate.seconds of audit.json's mutation_stats "
          "(of the default run when there is no --matrix full run)")
    print()


def print_details(project: Project, res: dict, limit: int = 20) -> None:
    mm, tpr, agr = res.get("mutmut", {}), res.get("testplan", {}), res.get("agreement", {})
    print(f"== {project.key} ({res.get('order')})")
    if "suite" in res:
        print(f"  suite: {res['suite'].get('summary')}")
    if mm:
        print(f"  mutmut: {len(mm.get('mutants', []))} mutants {mm.get('statuses')}; exit codes {mm.get('exit_codes')}; "
              f"tests seen by its stats run: {mm.get('tests_seen')}; {mm.get('run', {}).get('wall')} s")
        for f, st in (mm.get("statuses_by_file") or {}).items():
            print(f"    {f}: {st}")
        if mm.get("error"):
            print("    " + mm["error"].replace("\n", "\n    "))
    for label in ("default", "full", "rerun", "fast"):
        r = tpr.get(label)
        if not r:
            continue
        st = r.get("stats", {})
        extra = f"; engine: generated {st.get('generated')}, in scope {st.get('in_scope')}, executed {st.get('executed')}, cache hits {st.get('cache_hits')}, cells {st.get('cells')}, seconds {st.get('seconds')}" if st else ""
        name = res.get("default_label") if label == "default" and res.get("default_label") != "default" else label
        est = (f"; mutation estimated {r['estimate_seconds']} s, worker {r['worker_seconds']} s (actual/estimate {r['actual_over_estimate']})"
               if r.get("estimate_seconds") is not None else "")
        print(f"  testplan {name} ({' '.join(r.get('flags', []))}): exit {r['run']['returncode']}, {r['run']['wall']} s, "
              f"{r.get('mutants') and len(r['mutants'])} mutants {r.get('statuses')}, "
              f"{r.get('cells')} matrix cells, complete={r.get('complete')} ({r.get('how')}){est}{extra}")
        if label == "default":
            for rid, info in (r.get("per_requirement") or {}).items():
                print(f"    {rid} {info['code']}: {info['mutants']}")
        if r.get("error"):
            print("    " + r["error"].replace("\n", "\n    "))
    edit = tpr.get("edit")
    if edit:
        if "error" in edit:
            print(f"  testplan after editing one test: {edit['error']}")
        else:
            print(f"  testplan after editing {edit['test']}: {edit['executed']} mutants re-ran; the test covered "
                  f"{edit['covered_in_full_run']} in the full run; same set: {edit['executed_equals_covered']} "
                  f"({(edit.get('run') or {}).get('wall', 0):.1f} s)")
            if not edit["executed_equals_covered"]:
                print(f"    ran but not covered: {edit['executed_not_covered']}; covered but not run: {edit['covered_not_executed']}")
    for key, (a, b) in (("default_vs_full", ("default", "--matrix full")), ("fast_vs_full", ("--fast", "the full matrix"))):
        cmp_ = res.get(key)
        if cmp_ is None:
            continue
        verdict = "identical" if cmp_["identical"] else f"{cmp_['mismatches']} differ"
        print(f"  statuses, {a} against {b}: {verdict} over {cmp_['compared']} mutants"
              + (f"; only in {a}: {cmp_['only_in_a'][:10]}" if cmp_["only_in_a"] else "")
              + (f"; only in {b}: {cmp_['only_in_b'][:10]}" if cmp_["only_in_b"] else ""))
        if key == "default_vs_full":
            for d in cmp_["status_mismatches"][:limit]:
                print(f"    {d['id']} {d['file']}:{d['line']} {d['operator']} -> {d['mutated']!r}: {a} {d['a']}, {b} {d['b']}")
    if res.get("default_vs_full") is None and res.get("default_label") == NO_MATRIX_LABEL:
        print(f"  statuses, default against --matrix full: not checked (this testplan has no --matrix; the default run is the full matrix)")
    if agr:
        print(f"  matched {agr['matched']} (by mutmut name {agr['matched_by_name']}, by file/line/text {agr['matched_by_text']}; "
              f"both methods on {agr['match_methods_both']}, same pair on {agr['match_methods_agree']})")
        print(f"  detected/undetected agreement (default audit): {agr['agreement_pct']}% ({agr['agree']}/{agr['compared']}; "
              f"{agr['excluded']} excluded: suspicious/not checked)"
              + "".join(f"; {k}: {res[f'agreement_{k}']['agreement_pct']}% ({res[f'agreement_{k}']['agree']}/{res[f'agreement_{k}']['compared']})"
                        for k in ("full", "fast") if res.get(f"agreement_{k}")))
        if "agreement_reproducible_pct" in agr:
            print(f"  of the {agr['disagree']} disagreements, mutmut reproduced its own verdict (re-run alone, 3 times) on "
                  f"{agr['disagree_reproduced']}; the agreements were not re-checked, so this is no agreement figure")
        print(f"  status pairs (mutmut / testplan): {agr['confusion']}")
        print(f"  mutmut-only mutants by file: {agr['mutmut_only_by_file']} statuses {agr['mutmut_only_statuses']}")
        print(f"  testplan-only mutants: {len(agr['testplan_only'])}")
        for t in agr["testplan_only"][:5]:
            print(f"    {t['file']}:{t['line']} {t['mutated']!r} {t['status']}")
        if agr["disagreements"]:
            print(f"  disagreements (first {min(limit, len(agr['disagreements']))} of {len(agr['disagreements'])}):")
            for d in agr["disagreements"][:limit]:
                print(f"    {d['file']}:{d['line']} {d['operator']} {d['original']!r} -> {d['mutated']!r}: "
                      f"mutmut {d['mutmut_status']} (exit {d['mutmut_exit_code']}, {d['mutmut']}), testplan {d['testplan_status']} "
                      f"over {d['tests']} tests {dict(d['verdicts'])}"
                      + (f"; mutmut re-checks: {', '.join(d['mutmut_recheck'])}" if "mutmut_recheck" in d else ""))
    rs = res.get("rounds_summary")
    if rs and rs["rounds"] > 1:
        print(f"  {rs['rounds']} rounds, the tools alternately first: mutmut {rs['wall_mutmut']} s (median {rs['median_mutmut']}), "
              f"testplan default {rs['wall_testplan']} s (median {rs['median_testplan']})"
              + (f", --matrix full {rs['wall_testplan_matrix_full']} s (median {rs['median_testplan_matrix_full']})"
                 if rs.get("wall_testplan_matrix_full") else ""))
        print(f"  mutmut judged {len(rs['mutmut_unstable'])} mutants differently between rounds {rs['mutmut_unstable'][:10]}; "
              f"testplan's statuses were the same in every round: {rs['testplan_same_in_every_round']}")
        print(f"  agreement over the mutants mutmut judged the same in every round: {rs['stable_agreement_pct']}% "
              f"({rs['stable_agree']}/{rs['stable_compared']}); each round's mutmut against testplan (by mutmut name): "
              + ", ".join(f"round {k}: {a['agree']}/{a['compared']}" for k, a in enumerate(rs["agreement_by_round"], 1)))


def run_testplan_side(project: Project, pristine: Path, pdir: Path, venv: Path, selection: list[str], args,
                      res: dict) -> dict:
    """The testplan audits of one project, each cold (``.testplan/cache`` cleared first): the default,
    ``--matrix full`` (when this testplan has it), an unchanged re-run and a one-test edit (both
    reusing the full run's cache), then ``--fast``."""
    flags = audit_flags(venv)
    res["audit_flags"] = sorted(flags)
    matrix = has_matrix(flags)
    res["default_label"] = "default" if matrix else NO_MATRIX_LABEL
    root, info = prepare_testplan(project, pristine, pdir, venv, selection)
    res["testplan_setup"] = info
    pp = res["testplan_pythonpath"] = src_first(project, root)
    tpr: dict = {}
    clear_cache(root)
    tpr["default"] = testplan_audit(root, pdir, venv, "default", MODES["default"][0], flags, pp)
    if tpr["default"].get("error"):  # nothing to compare: no figure of this project is worth printing
        raise RuntimeError(f"testplan audit (default) failed: {tpr['default']['error']}")
    full_key, full_extra = "default", MODES["default"][0]
    if matrix:
        clear_cache(root)
        tpr["full"] = testplan_audit(root, pdir, venv, "full", MODES["full"][0], flags, pp)
        full_key, full_extra = "full", MODES["full"][0]
        res["default_vs_full"] = compare_statuses(tpr["default"], tpr["full"])
        log(f"  statuses, default against --matrix full: {res['default_vs_full']['mismatches']} differ "
            f"over {res['default_vs_full']['compared']} mutants")
    if not args.skip_incremental:  # the cache: unchanged, then one test edited (on the full run's cache)
        tpr["rerun"] = testplan_audit(root, pdir, venv, "rerun", full_extra, flags, pp)
        tpr["edit"] = edit_one_test(root, pdir, venv, tpr[full_key], flags, full_extra, pp)
        log(f"  edited {tpr['edit'].get('test')}: {tpr['edit'].get('executed')} mutants re-ran, "
            f"{tpr['edit'].get('covered_in_full_run')} covered by it in the full run, same set: {tpr['edit'].get('executed_equals_covered')}")
    clear_cache(root)
    tpr["fast"] = testplan_audit(root, pdir, venv, "fast", MODES["fast"][0], flags, pp)
    res["fast_vs_full"] = compare_statuses(tpr["fast"], tpr[full_key])
    res["_root"] = root
    return tpr


def bench_project(project: Project, args, position: int = 0) -> dict:
    """One project: set-up, then mutmut and the testplan audits, mutmut first when ``position`` (the
    project's place in this run) is even and last when it is odd, so the tools alternate."""
    pdir = args.workdir / project.key
    pdir.mkdir(parents=True, exist_ok=True)
    res: dict = {"project": project.key}
    pip = [sys.executable, "-m", "pip"]
    log(f"{project.key}: fetch")
    pristine = fetch(project, pdir, pip)
    venv = ensure_venv(project, pdir, pristine, args.python)
    res["versions"] = run([str(venv / "bin" / "python"), "-c",
                           "import sys, importlib.metadata as m; print(sys.version.split()[0], *(f'{p}=={m.version(p)}' for p in ('pytest','coverage','mutmut','testplan-auditor')))"],
                          env=venv_env(venv)).stdout.strip()
    log(f"  venv: {res['versions']}")
    log(f"{project.key}: verify the suite")
    res["suite"] = verify_suite(project, pristine, pdir, venv)
    log(f"  suite: {res['suite']['summary']}")
    selection = test_selection(project, pristine)
    res["test_selection"] = selection

    mutmut_first = position % 2 == 0
    res["order"] = "mutmut first" if mutmut_first else "testplan first"
    tpr: dict = {}
    for tool in (("mutmut", "testplan") if mutmut_first else ("testplan", "mutmut")):
        if tool == "mutmut":
            if not args.skip_mutmut:
                log(f"{project.key}: mutmut")
                res["mutmut"] = run_mutmut(project, pristine, pdir, venv)
                (pdir / "mutmut.json").write_text(json.dumps(res["mutmut"], indent=1, default=str))
            elif (pdir / "mutmut.json").exists():
                res["mutmut"] = json.loads((pdir / "mutmut.json").read_text())
                res["mutmut"]["reused"] = True
                log(f"  mutmut: reusing {pdir / 'mutmut.json'} (from an earlier run)")
        elif not args.skip_testplan:
            log(f"{project.key}: testplan")
            tpr = run_testplan_side(project, pristine, pdir, venv, selection, args, res)
            res["testplan"] = tpr
    if args.skip_testplan:
        return res

    root = res.pop("_root")
    names: dict[str, str] = {}
    for label in ("fast", "full", "default"):  # the mutmut name of each mutant any run executed
        names.update((tpr.get(label) or {}).get("names", {}))
    rounds = [{"mutmut": res.get("mutmut", {}), "testplan": tpr["default"], "testplan_full": tpr.get("full", {})}]
    for k in range(2, args.rounds + 1):  # round k: testplan first when k is even, mutmut first when odd
        entry: dict = {}
        for tool in (("testplan", "mutmut") if k % 2 == 0 else ("mutmut", "testplan")):
            if tool == "mutmut" and not args.skip_mutmut:
                entry["mutmut"] = run_mutmut(project, pristine, pdir, venv, label=f"-r{k}")
            elif tool == "testplan":
                clear_cache(root)
                entry["testplan"] = testplan_audit(root, pdir, venv, f"default-r{k}", MODES["default"][0], set(res["audit_flags"]),
                                                  res["testplan_pythonpath"])
                if "full" in tpr:
                    clear_cache(root)
                    entry["testplan_full"] = testplan_audit(root, pdir, venv, f"full-r{k}", MODES["full"][0], set(res["audit_flags"]),
                                                           res["testplan_pythonpath"])
        rounds.append(entry)
    res["rounds_summary"] = rounds_summary(rounds, names)
    if res.get("mutmut", {}).get("mutants"):
        res["agreement"] = agreement(res["mutmut"], tpr["default"], names)
        if res["agreement"]["disagreements"] and not args.skip_recheck:
            log(f"{project.key}: mutmut re-checks its {len(res['agreement']['disagreements'])} disagreeing verdicts")
            recheck_disagreements(res["agreement"], res["mutmut"], pdir, venv)
        for label in ("full", "fast"):
            if tpr.get(label, {}).get("mutants") is not None:
                res[f"agreement_{label}"] = {k: v for k, v in agreement(res["mutmut"], tpr[label], names).items()
                                             if k not in ("testplan_only",)}
    return res


def select_projects(corpora: list[Path], only: list[str], everything: bool, parser) -> list[Project]:
    projects: list[Project] = []
    for path in corpora:
        if not path.is_file():
            parser.error(f"{path}: no such corpus file (pass --corpus)")
        projects += [p for p in read_corpus(path) if p.key not in {q.key for q in projects}]
    if only:
        wanted = set(only)
        projects = [p for p in projects if p.name in wanted or p.key in wanted or p.package in wanted]
        missing = wanted - {p.name for p in projects} - {p.key for p in projects} - {p.package for p in projects}
        if missing:
            parser.error(f"not in {', '.join(map(str, corpora))}: {', '.join(sorted(missing))}")
    elif not everything:
        projects = [p for p in projects if p.name == "semver"][:1] or projects[:1]
    return projects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", metavar="FILE",
                        help=f"corpus file (repeatable; default: {DEFAULT_CORPUS} and {EXTRA_CORPUS})")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="project name (repeatable)")
    parser.add_argument("--all", action="store_true", help="every project of the corpus files (default: semver)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the project venvs")
    parser.add_argument("--json", type=Path, metavar="OUT", help="save the figures (and details) as JSON")
    parser.add_argument("--skip-mutmut", action="store_true", help="reuse the last mutmut figures of the workdir")
    parser.add_argument("--skip-testplan", action="store_true")
    parser.add_argument("--skip-incremental", action="store_true",
                        help="no unchanged re-run and no one-test edit (the cache checks)")
    parser.add_argument("--disagreements", type=int, default=20)
    parser.add_argument("--skip-recheck", action="store_true", help="do not re-run mutmut on the disagreements")
    parser.add_argument("--rounds", type=int, default=1, metavar="N",
                        help="time mutmut and the audits N times, alternately first; the table shows medians")
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()

    projects = select_projects(args.corpus or [DEFAULT_CORPUS, EXTRA_CORPUS], args.only, args.all, parser)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
               "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "uptime_start": uptime(),
               "gnu_time": has_gnu_time(), "testplan_commit": git_commit(), "repo": str(REPO)}
    log(f"machine: {machine}")
    results, rows = [], []
    for position, project in enumerate(projects):
        try:
            res = bench_project(project, args, position)
        except Exception as exc:  # one broken project must not hide the others' figures
            log(f"{project.key}: FAILED: {exc}")
            res = {"project": project.key, "error": str(exc)}
        res.pop("_root", None)
        results.append(res)
        if "error" not in res:
            print_details(project, res, args.disagreements)
            rows.append(summarize(project, res))
    machine["uptime_end"] = uptime()
    if rows:
        print_table(rows)
    print(f"load: start {machine['uptime_start']}\n      end   {machine['uptime_end']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine, "rows": rows, "results": results}, indent=1, default=str))
        log(f"figures saved to {args.json}")
    failed = [r["project"] for r in rows if any(r.get(f"exit_{k}") not in (None, 0, 1) for k in ("default", "full", "fast", "rerun"))
              or r.get("exit_mutmut") not in (None, 0)]
    if failed:
        log(f"some runs failed: {', '.join(failed)} (see FAILED in the table)")
    return 0 if rows and len(rows) == len(projects) and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
