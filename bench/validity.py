#!/usr/bin/env python3
"""Validity benchmark: does the score fall when the tests stop checking anything?

For each project of the corpus (``<repo>/../shared/bench/corpus.txt``, read by
``compare_mutmut.read_corpus``), audit two copies of the project with testplan:

* **original**: the sdist's suite as shipped;
* **stripped**: the same suite with every check removed by :func:`strip_source` (an AST
  transform, below): the tests still run the same code with the same arguments, but nothing
  they compute can fail them any more.

Both copies get the same set-up as ``compare_mutmut.py`` (its fetch, venv, ``testplan init
--from-code PACKAGE`` and links table are imported, not copied), plus one approved case per drafted
requirement (``R.1``, "the suite exercises R's code") that every test links to, so that C = 1 and the
requirement score is S = 100 · O: the plan side is held constant and only the oracles differ.

Printed per project and requirement: L (line coverage), O (oracle score), M (mutation score), S,
state (and ``evidence`` when audit.json has it), for both suites; at project level the score, the
mean L over requirements, and O and M pooled over the project's mutants. Then the acceptance of
issue 10:

* every requirement whose stripped audit has mutant evidence (``evidence: mutants``; without that
  field: at least one of its mutants killed by an assertion, survived or not covered) has O <= 0.10;
* the stripped project score is at most 15 % of the original's;
* every requirement's L is within 1 point of the original's (the stripped suite runs the same code).

What the transform removes (it never touches the package under test, only test files,
``conftest.py`` files, the project's other Python files outside the package — helpers such as
python-slugify's ``tools/check_algorithms.py`` — and the ``python`` blocks of its Markdown documents):

* ``assert test, msg`` becomes the expression statement ``test``: its operands and the comparison
  are still evaluated (a comparison can raise; that is the code under test crashing, and stays);
* ``with pytest.raises(...)``, ``pytest.warns``, ``pytest.deprecated_call``, ``self.assertRaises*``,
  ``self.assertWarns*``, ``self.assertLogs``: the block runs and any exception is swallowed (the
  arguments are still evaluated; ``as e`` gets an object with ``.value``/``.type``/``.match()``);
  the call form ``pytest.raises(E, f, *args)`` calls ``f(*args)`` and swallows;
* ``self.assert*(...)``, ``self.fail(...)``, ``pytest.fail(...)``, mock's ``.assert_called*(...)`` and
  friends, ``raise AssertionError(...)``: no-ops that still evaluate their arguments;
* ``AssertionError(...)`` built anywhere else (a mock's ``side_effect``: the test's own oracle) becomes
  ``RuntimeError(...)``: still raised, now a crash;
* ``python`` blocks of the project's top-level ``*.md`` documents (a suite may execute its README):
  ``assert`` becomes its expression;
* doctests: the root ``conftest.py`` makes ``doctest.OutputChecker.check_output`` accept any output.

``pytest.approx`` and similar stay (harmless: they only matter inside a check). The stripped suite must
still pass; the tests that fail after stripping are listed, and ``--drop-failing`` deselects them from
the stripped suite (otherwise the project is reported as failed).

Usage::

    .venv/bin/python bench/validity.py --only iniconfig
    .venv/bin/python bench/validity.py --all --json ../main-bench/validity.json
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_mutmut as cm  # noqa: E402  (the corpus, fetch, venv and testplan set-up)

# ---------------------------------------------------------------------------------------------
# the transform

PRELUDE = '''\
class _TpExcInfo:
    value = type = tb = exception = None
    typename = ''

    def match(self, *args, **kwargs):
        return True

    def errisinstance(self, *args, **kwargs):
        return True


class _TpSwallow:
    output = records = []

    def __init__(self, *args, **kwargs):
        self.info = _TpExcInfo()

    def __enter__(self):
        return self.info

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, (Exception, SystemExit)):
            self.info.value, self.info.type, self.info.tb = value, kind, tb
            self.info.exception = value
            return True
        return False


class _TpWarns(list):
    """pytest.warns / deprecated_call / assertWarns without the check: the warnings are recorded
    (never raised as errors, as a -W error configuration would), any exception is swallowed, and
    the recorder still answers len(), iteration, .list and .pop()."""

    warning = filename = lineno = None

    def __init__(self, *args, **kwargs):
        import warnings

        self._catcher = warnings.catch_warnings(record=True)

    @property
    def list(self):
        return self

    @property
    def warnings(self):
        return self

    def pop(self, cls=Warning):
        for index, item in enumerate(self):
            if isinstance(item.message, cls) if isinstance(cls, type) else True:
                return super().pop(index)
        return None

    def __enter__(self):
        import warnings

        self._log = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, kind, value, tb):
        self.extend(self._log)
        if self:
            self.warning = self[0].message
        self._catcher.__exit__(kind, value, tb)
        return kind is not None and issubclass(kind, (Exception, SystemExit))


def _tp_noop(*args, **kwargs):
    return None


def _tp_call_swallow(expected=None, func=None, *args, **kwargs):
    if func is None:
        return _TpSwallow()
    with _TpSwallow() as info:
        func(*args, **kwargs)
    return info


def _tp_call_warns(expected=None, func=None, *args, **kwargs):
    if func is None:
        return _TpWarns()
    with _TpWarns():
        return func(*args, **kwargs)
'''

_SWALLOW_PYTEST = {"raises"}
_WARNS_PYTEST = {"warns", "deprecated_call"}
_SWALLOW_UNITTEST = {"assertRaises", "assertRaisesRegex", "assertRaisesRegexp", "assertLogs", "assertNoLogs"}
_WARNS_UNITTEST = {"assertWarns", "assertWarnsRegex"}
_NOOP_PYTEST = {"fail"}
_MOCK_CHECKS = re.compile(r"^assert_(called|not_called|any_call|has_calls|awaited|not_awaited|any_await|has_awaits)")


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else ""


class StripChecks(ast.NodeTransformer):
    """Turn every check of a test module into code that evaluates the same things and checks nothing."""

    def __init__(self) -> None:
        self.pytest_names = {"pytest"}  # import pytest [as x]
        self.from_pytest: dict[str, str] = {}  # from pytest import raises [as r]: local name -> pytest name
        self.changed = 0

    # what a call is -------------------------------------------------------------------------
    def _kind(self, call: ast.Call) -> str | None:
        func = call.func
        if isinstance(func, ast.Attribute):
            owner, attr = func.value, func.attr
            if _name(owner) in self.pytest_names:
                return self._pytest_kind(attr)
            if _name(owner) in ("self", "cls"):
                if attr in _SWALLOW_UNITTEST:
                    return "swallow"
                if attr in _WARNS_UNITTEST:
                    return "warns"
                if attr.startswith("assert") or attr in ("fail", "failIf", "failUnless") or attr.startswith("failUnless"):
                    return "noop"
            if _MOCK_CHECKS.match(attr):
                return "noop"
        elif isinstance(func, ast.Name) and func.id in self.from_pytest:
            return self._pytest_kind(self.from_pytest[func.id])
        return None

    @staticmethod
    def _pytest_kind(name: str) -> str | None:
        if name in _SWALLOW_PYTEST:
            return "swallow"
        if name in _WARNS_PYTEST:
            return "warns"
        return "noop" if name in _NOOP_PYTEST else None

    # imports ------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> ast.AST:
        for alias in node.names:
            if alias.name == "pytest":
                self.pytest_names.add(alias.asname or "pytest")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.module == "pytest":
            for alias in node.names:
                self.from_pytest[alias.asname or alias.name] = alias.name
        return node

    # checks -------------------------------------------------------------------------------------
    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.changed += 1
        return ast.copy_location(ast.Expr(self.visit(node.test)), node)

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        exc = node.exc
        target = exc.func if isinstance(exc, ast.Call) else exc
        if _name(target) == "AssertionError":
            self.changed += 1
            args = exc.args if isinstance(exc, ast.Call) else []
            call = ast.Call(ast.Name("_tp_noop", ast.Load()), [self.visit(a) for a in args], [])
            return ast.copy_location(ast.Expr(call), node)
        return self.generic_visit(node)

    def _with_items(self, items: list[ast.withitem]) -> None:
        for item in items:
            expr = item.context_expr
            kind = self._kind(expr) if isinstance(expr, ast.Call) else None
            if kind in ("swallow", "warns"):
                self.changed += 1
                item.context_expr = ast.Call(ast.Name("_TpSwallow" if kind == "swallow" else "_TpWarns", ast.Load()),
                                             [self.visit(a) for a in expr.args],
                                             [self.visit(k) for k in expr.keywords])

    def visit_With(self, node: ast.With) -> ast.AST:
        self._with_items(node.items)
        return self.generic_visit(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.AST:
        self._with_items(node.items)
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        kind = self._kind(node)
        node = self.generic_visit(node)
        if _name(node.func) == "AssertionError":  # e.g. a mock's side_effect: the test's own oracle
            self.changed += 1
            return ast.copy_location(ast.Call(ast.Name("RuntimeError", ast.Load()), node.args, node.keywords), node)
        if kind == "noop":
            self.changed += 1
            return ast.copy_location(ast.Call(ast.Name("_tp_noop", ast.Load()), node.args, node.keywords), node)
        if kind in ("swallow", "warns"):  # the call form (not a with item: those were replaced before)
            self.changed += 1
            helper = "_tp_call_swallow" if kind == "swallow" else "_tp_call_warns"
            return ast.copy_location(ast.Call(ast.Name(helper, ast.Load()), node.args, node.keywords), node)
        return node


def strip_source(text: str) -> str:
    """The module ``text`` with every check removed (see the module docstring); the helpers it uses
    (``PRELUDE``) go after the docstring and ``from __future__`` imports. Formatting and comments are
    not kept (``ast.unparse``): the result only has to run."""
    return strip_counted(text)[0]


def strip_counted(text: str) -> tuple[str, int]:
    """:func:`strip_source` and the number of checks it removed."""
    tree = ast.parse(text)
    stripper = StripChecks()
    # imports first, wherever they are, so a later `from pytest import raises` is known everywhere
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            stripper.visit(node)
    tree = stripper.visit(tree)
    at = 0
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        at = 1
    while at < len(body) and isinstance(body[at], ast.ImportFrom) and body[at].module == "__future__":
        at += 1
    tree.body[at:at] = ast.parse(PRELUDE).body
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n", stripper.changed


DOCTEST_HOOK = '''

# testplan validity benchmark: doctests check nothing (their examples still run; an exception
# the example does not expect still fails it, as a crash)
import doctest as _tp_doctest
_tp_doctest.OutputChecker.check_output = lambda self, want, got, optionflags: True
'''

DESELECT_HOOK = '''

# testplan validity benchmark: tests that fail once their checks are stripped (--drop-failing)
_TP_DROPPED = {dropped!r}


def pytest_collection_modifyitems(config, items):
    kept = [item for item in items if item.nodeid not in _TP_DROPPED]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in _TP_DROPPED])
        items[:] = kept
'''


_NOT_TEST_CODE = {"setup.py", "noxfile.py", "fabfile.py", "tasks.py"}


def helper_files(root: Path) -> list[Path]:
    """Every other Python file of the project outside its package, dot-dirs, build output and the
    venv: the helpers a suite imports (python-slugify's ``tools/check_algorithms.py`` holds its
    golden checks). The caller leaves out the package itself."""
    skip = ("venv", "build", "dist", "site-packages", "__pycache__")
    return sorted(p for p in root.rglob("*.py")
                  if p.name not in _NOT_TEST_CODE
                  and not any(part.startswith(".") or part in skip or part.endswith(".egg-info")
                              for part in p.relative_to(root).parts[:-1]))


class _AssertsOnly(ast.NodeTransformer):
    """For code blocks of documents a suite executes: ``assert`` becomes its expression, nothing else
    changes (no helpers can be assumed in that namespace)."""

    def __init__(self) -> None:
        self.changed = 0

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.changed += 1
        return ast.copy_location(ast.Expr(self.visit(node.test)), node)


def strip_document(text: str) -> tuple[str, int]:
    """A Markdown document whose ```python blocks have their ``assert`` statements turned into
    expressions (python-slugify's suite executes its README's examples, which assert); a block
    that does not parse is left as it is."""
    changed = 0

    def block(match: re.Match) -> str:
        nonlocal changed
        try:
            tree = ast.parse(match.group(2))
        except SyntaxError:
            return match.group(0)
        stripper = _AssertsOnly()
        tree = stripper.visit(tree)
        if not stripper.changed:
            return match.group(0)
        changed += stripper.changed
        return match.group(1) + ast.unparse(ast.fix_missing_locations(tree)) + "\n" + match.group(3)

    return re.sub(r"(```python\n)(.*?)(```)", block, text, flags=re.DOTALL), changed


def test_files(root: Path, selection: list[str]) -> list[Path]:
    """The Python files of the test selection (every .py under a directory, a file as given), the
    ``conftest.py`` files at the root and the project's other helper modules (:func:`helper_files`);
    the caller leaves out the package's own files."""
    found: set[Path] = set(helper_files(root))
    for entry in selection:
        path = root / entry.split("::")[0]
        if path.is_file() and path.suffix == ".py":
            found.add(path)
        elif path.is_dir():
            found.update(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    if (root / "conftest.py").is_file():
        found.add(root / "conftest.py")
    return sorted(found)


def strip_tree(root: Path, selection: list[str], package_dir: Path) -> dict:
    """Strip every test file of the copy at ``root`` in place; returns what was changed."""
    changed = {}
    for path in test_files(root, selection):
        if path.resolve().is_relative_to((root / package_dir).resolve()):
            continue
        text = path.read_text(encoding="utf-8")
        stripped, count = strip_counted(text)
        path.write_text(stripped, encoding="utf-8")
        changed[path.relative_to(root).as_posix()] = count
    for document in sorted(root.glob("*.md")):
        text, count = strip_document(document.read_text(encoding="utf-8"))
        if count:
            document.write_text(text, encoding="utf-8")
            changed[document.name] = count
    conftest = root / "conftest.py"
    conftest.write_text((conftest.read_text(encoding="utf-8") if conftest.exists() else "") + DOCTEST_HOOK, encoding="utf-8")
    return changed


# ---------------------------------------------------------------------------------------------
# running

def failing_tests(project: cm.Project, tree: Path, work: Path, venv: Path) -> tuple[str, list[str]]:
    """Run the suite of a copy of ``tree``: (pytest's summary line, nodeids that failed or errored)."""
    where = cm.copy_tree(tree, work)
    proc = cm.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
                   *project.pytest_args], cwd=where, env=cm.venv_env(venv), check=False, quiet=True)
    lines = (proc.stdout + proc.stderr).splitlines()
    failed = sorted({m.group(2) for line in lines if (m := re.match(r"^(FAILED|ERROR) (\S+)", line))})
    summary = next((line for line in reversed(lines) if re.search(r"\d+ (passed|failed|error)", line)), "")
    if proc.returncode not in (0, 1) and not failed:
        raise RuntimeError(f"{project.key}: pytest exit {proc.returncode} on the stripped suite:\n" + "\n".join(lines[-20:]))
    return summary.strip("= "), failed


def approve_one_case_each(root: Path, venv: Path, ids: list[str]) -> None:
    """Plan ``R.1`` for each requirement, approved, and every test linked to it (C = 1, S = 100·O)."""
    plans = root / "plans"
    plans.mkdir(exist_ok=True)
    for req in ids:
        (plans / f"{req}.yaml").write_text(
            f"requirement: {req}\ncases:\n  - id: {req}.1\n    title: the suite exercises the code of {req}\n"
            f"    kind: nominal\n    status: proposed\n", encoding="utf-8")
        cm.run([str(venv / "bin" / "testplan"), "approve", req, "--case", f"{req}.1", "--by", "testplan validity benchmark", "-C", str(root)],
               env=cm.venv_env(venv))
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    old = f'"*" = {cm.toml_list(ids)}'
    if old not in text:
        raise RuntimeError(f"{pyproject}: the links table of compare_mutmut.prepare_testplan is not there")
    pyproject.write_text(text.replace(old, f'"*" = {cm.toml_list([f"{r}.1" for r in ids])}'), encoding="utf-8")


def audit(project: cm.Project, root: Path, work: Path, venv: Path, label: str) -> dict:
    """``testplan audit --jobs 2`` in ``root`` (the default decisive run: the statuses and scores of the full matrix), timed; audit.json is kept as
    ``work/testplan-LABEL.audit.json``. A src-layout package goes first on PYTHONPATH: pytest itself may
    import the installed copy before the project's pythonpath applies (iniconfig), and testplan refuses
    to measure a copy the tests never ran; its mutation worker puts its scratch copy first anyway."""
    env = cm.venv_env(venv)
    package = cm.package_path(root, project.package)
    if package.parts[0] == "src":
        env["PYTHONPATH"] = str(root / "src")
        pyproject = root / "pyproject.toml"  # and the worker's scratch copy of src/ first too
        pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
            "\n[tool.testplan]\n", '\n[tool.testplan]\nsource = ["src"]\n', 1), encoding="utf-8")
    command = [str(venv / "bin" / "testplan"), "audit", "-C", str(root), "--jobs", "2"]
    cm.log(f"  testplan {label}: {' '.join(command)}" + (f" (PYTHONPATH={env['PYTHONPATH']})" if "PYTHONPATH" in env else ""))
    t = cm.timed(command, root, work / f"testplan-{label}.log", env=env)
    cm.log(f"  testplan {label}: exit {t.returncode}, {t.wall:.1f} s")
    if t.returncode not in (0, 1):
        raise RuntimeError(f"{label} audit: exit {t.returncode}: "
                           + "\n".join(Path(t.log).read_text(errors="replace").splitlines()[-15:]))
    saved = work / f"testplan-{label}.audit.json"
    shutil.copy2(root / ".testplan" / "audit.json", saved)
    out = figures(saved)
    out["seconds"] = t.wall
    return out


def figures(audit_file: Path) -> dict:
    data = json.loads(audit_file.read_text(encoding="utf-8"))
    reqs = {}
    for r in data.get("requirements", []):
        counts = r.get("mutants") or {}
        evidence = r.get("evidence")
        if evidence is None and counts:  # before the evidence field: O is defined by these mutants
            evidence = "mutants" if counts.get("killed", 0) + counts.get("survived", 0) + counts.get("no_coverage", 0) else "none"
        reqs[r["id"]] = {"L": r.get("line_coverage"), "O": r.get("oracle_score"), "M": r.get("mutation_score"),
                         "S": r.get("score"), "state": r.get("state"), "evidence": evidence, "mutants": counts}
    mutants = data.get("mutants", [])
    status = [m["status"] for m in mutants]
    detected = sum(s in ("killed", "killed-by-crash", "timeout") for s in status)
    oracle_base = sum(s not in ("killed-by-crash", "timeout") for s in status)
    ls = [r["L"] for r in reqs.values() if r["L"] is not None]
    return {"complete": data.get("complete"), "score": data.get("score"), "requirements": reqs,
            "L": round(sum(ls) / len(ls), 4) if ls else None,
            "O": round(status.count("killed") / oracle_base, 4) if oracle_base else None,
            "M": round(detected / len(status), 4) if status else None,
            "mutants": len(mutants), "statuses": {s: status.count(s) for s in sorted(set(status))}}


def acceptance(original: dict, stripped: dict) -> dict:
    out: dict = {}
    bad_o = {rid: r["O"] for rid, r in stripped["requirements"].items()
             if r["evidence"] == "mutants" and (r["O"] is None or r["O"] > 0.10)}
    out["O<=0.10"] = {"holds": not bad_o, "failing": bad_o}
    so, ss = original["score"], stripped["score"]
    out["score<=15%"] = {"holds": so is not None and ss is not None and ss <= 0.15 * so,
                         "original": so, "stripped": ss, "ratio": round(ss / so, 4) if so and ss is not None else None}
    far = {}
    for rid, r in original["requirements"].items():
        s = stripped["requirements"].get(rid, {})
        if r["L"] is None or s.get("L") is None or abs(r["L"] - s["L"]) > 0.01:
            far[rid] = (r["L"], s.get("L"))
    out["L within 1 point"] = {"holds": not far, "failing": far}
    unjudged_scored = {rid: r["S"] for rid, r in stripped["requirements"].items()
                       if r["evidence"] not in ("mutants", None) and r["S"] is not None}
    out["no score without evidence"] = {"holds": not unjudged_scored, "failing": unjudged_scored}
    return out


def validate_project(project: cm.Project, args) -> dict:
    pdir = args.workdir / project.key
    pdir.mkdir(parents=True, exist_ok=True)
    res: dict = {"project": project.key}
    cm.log(f"{project.key}: fetch")
    pristine = cm.fetch(project, pdir, [sys.executable, "-m", "pip"])
    venv = cm.ensure_venv(project, pdir, pristine, args.python)
    res["suite"] = cm.verify_suite(project, pristine, pdir, venv)["summary"]
    cm.log(f"  original suite: {res['suite']}")
    selection = cm.test_selection(project, pristine)
    vdir = pdir / "validity"
    shutil.rmtree(vdir, ignore_errors=True)

    stripped_tree = cm.copy_tree(pristine, vdir / "stripped-pristine" / pristine.name)
    res["stripped_files"] = strip_tree(stripped_tree, selection, cm.package_path(stripped_tree, project.package))
    summary, failed = failing_tests(project, stripped_tree, vdir / "stripped-verify", venv)
    res["stripped_suite"], res["failing_after_strip"] = summary, failed
    cm.log(f"  stripped suite: {summary}; checks removed per file: {res['stripped_files']}")
    if failed:
        cm.log(f"  {len(failed)} test(s) fail after stripping: {', '.join(failed[:10])}")
        if not args.drop_failing:
            raise RuntimeError(f"{len(failed)} test(s) fail once their checks are stripped (rerun with --drop-failing "
                               f"to deselect them from the stripped suite): {', '.join(failed[:10])}")
        conftest = stripped_tree / "conftest.py"
        conftest.write_text(conftest.read_text(encoding="utf-8") + DESELECT_HOOK.format(dropped=set(failed)), encoding="utf-8")
        summary, still = failing_tests(project, stripped_tree, vdir / "stripped-verify", venv)
        if still:
            raise RuntimeError(f"still failing after deselecting: {', '.join(still[:10])}")
        res["stripped_suite"] = summary

    for label, tree in (("original", pristine), ("stripped", stripped_tree)):
        work = vdir / label
        work.mkdir(parents=True)
        root, info = cm.prepare_testplan(project, tree, work, venv, selection)
        approve_one_case_each(root, venv, info["requirements"])
        res[label] = audit(project, root, work, venv, label)
    res["acceptance"] = acceptance(res["original"], res["stripped"])
    return res


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def print_project(res: dict) -> None:
    o, s = res["original"], res["stripped"]
    print(f"\n{res['project']}: suite {res['suite']}; stripped: {res['stripped_suite']}"
          + (f"; deselected after stripping: {len(res['failing_after_strip'])}" if res["failing_after_strip"] else ""))
    print(f"{'requirement':<16} {'L orig/strip':>13} {'O orig/strip':>13} {'M orig/strip':>13} {'S orig/strip':>13}  evidence (stripped)")
    for rid, r in o["requirements"].items():
        t = s["requirements"].get(rid, {})
        print(f"{rid:<16} {_pct(r['L']):>6}/{_pct(t.get('L')):<6} {_pct(r['O']):>6}/{_pct(t.get('O')):<6} "
              f"{_pct(r['M']):>6}/{_pct(t.get('M')):<6} {str(r['S']):>6}/{str(t.get('S')):<6}  {t.get('evidence')} {t.get('state')}")
    print(f"{'project':<16} {_pct(o['L']):>6}/{_pct(s['L']):<6} {_pct(o['O']):>6}/{_pct(s['O']):<6} "
          f"{_pct(o['M']):>6}/{_pct(s['M']):<6} {str(o['score']):>6}/{str(s['score']):<6}  "
          f"({o['mutants']} mutants; original {o['statuses']}; stripped {s['statuses']})")
    for name, verdict in res["acceptance"].items():
        detail = {k: v for k, v in verdict.items() if k != "holds" and v not in ({}, None)}
        print(f"  {'holds' if verdict['holds'] else 'FAILS'}: {name} {detail if detail else ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=cm.DEFAULT_CORPUS)
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="project name (repeatable); default: all")
    parser.add_argument("--workdir", type=Path, default=cm.DEFAULT_WORKDIR)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the project venvs")
    parser.add_argument("--json", type=Path, metavar="OUT", help="save the figures as JSON")
    parser.add_argument("--drop-failing", action="store_true",
                        help="deselect tests that fail after stripping (else such a project fails)")
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    projects = cm.read_corpus(args.corpus)
    if args.only:
        wanted = set(args.only)
        projects = [p for p in projects if p.name in wanted or p.key in wanted or p.package in wanted]
        missing = wanted - {p.name for p in projects} - {p.key for p in projects} - {p.package for p in projects}
        if missing:
            parser.error(f"not in {args.corpus}: {', '.join(sorted(missing))}")
    results = []
    for project in projects:
        try:
            res = validate_project(project, args)
            print_project(res)
        except Exception as exc:  # one broken project must not hide the others' figures
            cm.log(f"{project.key}: FAILED: {exc}")
            res = {"project": project.key, "error": str(exc)}
        results.append(res)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"testplan_commit": cm.git_commit(), "results": results}, indent=1, default=str))
        cm.log(f"figures saved to {args.json}")
    ok = all("error" not in r and all(v["holds"] for v in r["acceptance"].values()) for r in results)
    return 0 if results and ok else 1


if __name__ == "__main__":
    sys.exit(main())
