"""Deterministic runs (issue 10, item 5): the traced pytest and the mutation worker run with one
pinned PYTHONHASHSEED (recorded in audit.json) and a derandomized Hypothesis profile without an
example database, so audits of a suite with ``@given`` tests and a test parametrized over a set
give the same verdicts every time; when test IDs still differ between the trace and the worker,
the error names them and the likely cause.

Real audits (with mutation) of copies of tests/fixtures/determinism; the CLI runs in-process."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from testplan.cli import main
from testplan.config import load_config
from testplan.determinism import DEFAULT_HASH_SEED, hash_seed
from testplan.mutate.executor import WorkerResult, worker_env
from testplan.mutate.lab import missing_tests_message
from testplan.trace import trace_env, trace_paths
from tp_helpers import read_audit

FIXTURE = Path(__file__).parent / "fixtures" / "determinism"


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".hypothesis"))
    return target


def audit(root: Path, *args: str) -> dict:
    code = main(["audit", "-C", str(root), "--jobs", "2", *args])
    assert code == 0, f"audit exited {code}"
    return read_audit(root / ".testplan" / "audit.json")


@pytest.mark.parametrize(("environ", "seed"), [
    ({}, DEFAULT_HASH_SEED),
    ({"PYTHONHASHSEED": ""}, DEFAULT_HASH_SEED),
    ({"PYTHONHASHSEED": "random"}, DEFAULT_HASH_SEED),  # 'random' pins nothing: ours is used
    ({"PYTHONHASHSEED": "123"}, 123),
    ({"PYTHONHASHSEED": " 7 "}, 7),
    ({"PYTHONHASHSEED": "4294967295"}, 4294967295),
    ({"PYTHONHASHSEED": "4294967296"}, DEFAULT_HASH_SEED),  # out of Python's range
])
def test_the_hash_seed_is_the_users_when_it_is_one_else_the_default(environ, seed):
    assert DEFAULT_HASH_SEED == 0
    assert hash_seed(environ) == seed


def test_the_trace_and_the_worker_get_the_same_seed(tmp_path, monkeypatch):
    paths = trace_paths(load_config(copy(tmp_path, "tally")))
    scratch = tmp_path / "scratch"
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    assert trace_env(paths)["PYTHONHASHSEED"] == "0"
    assert worker_env({"hash_seed": 0}, scratch)["PYTHONHASHSEED"] == "0"
    assert worker_env({}, scratch)["PYTHONHASHSEED"] == "0"  # a job without a traced seed: the same default
    assert trace_env(paths, {"PYTHONHASHSEED": "99"})["PYTHONHASHSEED"] == "99"  # run_trace(env=...) wins
    monkeypatch.setenv("PYTHONHASHSEED", "4242")
    assert trace_env(paths)["PYTHONHASHSEED"] == "4242"
    assert worker_env({"hash_seed": None}, scratch)["PYTHONHASHSEED"] == "4242"
    assert worker_env({"hash_seed": 17}, scratch)["PYTHONHASHSEED"] == "17"  # the trace's seed, whatever ours is
    assert worker_env({"hash_seed": 17}, scratch)["HYPOTHESIS_STORAGE_DIRECTORY"] == str(scratch / ".hypothesis")
    monkeypatch.setenv("PYTHONHASHSEED", "random")
    assert trace_env(paths)["PYTHONHASHSEED"] == "0"


@pytest.mark.slow
def test_three_audits_give_identical_statuses_and_verdicts(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)  # each process would hash str differently
    runs = []
    for n in range(3):
        root = copy(tmp_path, f"run{n}")  # a fresh copy each time: no cache, nothing carried over
        result = audit(root)
        job = json.loads((root / ".testplan" / "mutate-job.json").read_text(encoding="utf-8"))
        assert (result["complete"], result["hash_seed"], job["hash_seed"]) == (True, 0, 0)
        assert not (root / ".hypothesis").exists() and not (root / "tests" / ".hypothesis").exists()
        runs.append((
            {m["id"]: (m["status"], m["verdicts"]) for m in result["mutants"]},
            {t["nodeid"]: t["outcome"] for t in result["tests"]},
            {r["id"]: (r["state"], r["oracle_score"], r["mutation_score"], r["score"]) for r in result["requirements"]},
            (result["score"], result["gate"]),
        ))
    assert runs[0] == runs[1] == runs[2]
    mutants, tests, _, _ = runs[0]
    assert sorted(n for n in tests if "test_kind[" in n) == [
        "tests/test_tally.py::test_kind[1]", "tests/test_tally.py::test_kind[None]", "tests/test_tally.py::test_kind[a]",
        "tests/test_tally.py::test_kind[b]", f"tests/test_tally.py::test_kind[value{_tuple_index()}]",
    ]
    assert len(mutants) == 17
    # the @given test judged mutants of is_lucky both ways: its verdicts depend on the examples drawn
    judged = [status for status, verdicts in mutants.values() if "tests/test_tally.py::test_lucky_numbers" in verdicts]
    assert len(judged) >= 6 and set(judged) == {"killed", "survived"}


def _tuple_index() -> int:
    """Where the tuple lands in the fixture's set under PYTHONHASHSEED=0 (pytest names it by index)."""
    import subprocess
    import sys

    code = 'print([i for i, v in enumerate({None, "a", "b", 1, (1, 2)}) if isinstance(v, tuple)][0])'
    env = {"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"}
    return int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)


PROFILE_TEST = '''
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally import is_lucky

ACTIVE = settings.default  # the profile active when the test module is imported
DECORATED = settings(max_examples=5)  # made at import time, as a decorator's settings are


@pytest.mark.verifies("LUCK-1.1")
@DECORATED
@given(st.integers(0, 3))
def test_runs_derandomized_without_a_database_and_with_the_seed(number):
    assert os.environ["PYTHONHASHSEED"] == "4242"
    assert (settings.default.derandomize, settings.default.database) == (True, None)
    assert (ACTIVE.derandomize, ACTIVE.database, ACTIVE.max_examples) == (True, None, MAX_EXAMPLES)  # the project's profile kept
    assert (DECORATED.derandomize, DECORATED.database, DECORATED.max_examples) == (True, None, 5)
    assert is_lucky(number) is False
'''


PROJECT_PROFILE = '''

from hypothesis import settings

settings.register_profile("project", max_examples=7)
settings.load_profile("project")
'''


@pytest.mark.slow
@pytest.mark.parametrize("imported_by", ["the tests", "the root conftest.py, with a profile of its own"])
def test_the_trace_and_the_worker_run_with_the_users_seed_and_the_derandomized_profile(tmp_path, monkeypatch, imported_by):
    monkeypatch.setenv("PYTHONHASHSEED", "4242")
    root = copy(tmp_path, "tally")
    test = PROFILE_TEST + "\nMAX_EXAMPLES = 100\n"  # Hypothesis' default
    if imported_by != "the tests":  # Hypothesis is imported before testplan's profile is loaded
        (root / "conftest.py").write_text((root / "conftest.py").read_text(encoding="utf-8") + PROJECT_PROFILE, encoding="utf-8")
        test = PROFILE_TEST + "\nMAX_EXAMPLES = 7\n"
    (root / "tests" / "test_profile.py").write_text(test, encoding="utf-8")
    result = audit(root)
    nodeid = "tests/test_profile.py::test_runs_derandomized_without_a_database_and_with_the_seed"
    assert result["hash_seed"] == 4242
    assert {t["nodeid"]: t["outcome"] for t in result["tests"]}[nodeid] == "passed"  # in the trace
    # in the worker: the baseline passed (else exit 3), and mutants of is_lucky were judged by the test
    judged = [m["verdicts"][nodeid] for m in result["mutants"] if nodeid in m["verdicts"]]
    assert "assert" in judged and "pass" in judged


PID_TEST = '''
import os

import pytest

from tally import kind


@pytest.mark.verifies("KIND-1.1")
@pytest.mark.parametrize("value", [pytest.param("z", id=f"pid{os.getpid()}")])
def test_kind_of_text(value):
    assert kind(value) == "text"
'''


def test_test_ids_that_differ_between_trace_and_worker_are_named_with_the_cause(tmp_path, cli):
    root = copy(tmp_path, "tally")
    (root / "tests" / "test_pid.py").write_text(PID_TEST, encoding="utf-8")
    run = cli("audit", "-C", root, "--jobs", "1")
    assert run.code == 3
    scratch, log = root / ".testplan" / "mutants", root / ".testplan" / "mutate.log"
    assert re.fullmatch(
        rf"testplan: baseline-failing: 1 test\(s\) of the trace were not collected in the scratch copy {re.escape(str(scratch))}: "
        r"tests/test_pid\.py::test_kind_of_text\[pid(\d+)\]; it collected tests/test_pid\.py::test_kind_of_text\[pid(?!\1\])\d+\] "
        r"instead: the test IDs differ from one run of the suite to the next, so parametrization or collection is "
        r"nondeterministic \(parameters from a set, or IDs made from random values, ids, times or the process\); make "
        rf"them stable \(a list, sorted\(\.\.\.\), or ids=\.\.\.\) and run the audit again; see {re.escape(str(log))}\n",
        run.err.splitlines(keepends=True)[-1]), run.err


def test_the_message_for_missing_tests_tells_lacking_files_from_differing_ids(tmp_path):
    missing = [f"tests/t.py::test[{n}]" for n in range(7)]
    lacking = missing_tests_message(WorkerResult(missing=missing), tmp_path, "see mutate.log")
    assert lacking == (f"7 test(s) of the trace were not collected in the scratch copy {tmp_path}: tests/t.py::test[0], "
                       "tests/t.py::test[1], tests/t.py::test[2], tests/t.py::test[3], tests/t.py::test[4] and 2 more; "
                       "does collection depend on files outside the project or under an ignored directory? see mutate.log")
    differing = missing_tests_message(WorkerResult(missing=missing[:1], extra=["tests/t.py::test[x]"], extra_count=30),
                                      tmp_path, "see mutate.log")
    assert differing.startswith(f"1 test(s) of the trace were not collected in the scratch copy {tmp_path}: tests/t.py::test[0]; "
                                "it collected tests/t.py::test[x] and 29 more instead: the test IDs differ")


SUMMARY_CONFTEST = '''
import sys


def pytest_unconfigure(config):
    with open("imported.txt", "w") as out:
        out.write(str("hypothesis" in sys.modules))
'''

GIVEN_TEST = '''
from hypothesis import given, strategies as st


@given(st.integers())
def test_ints(n):
    assert isinstance(n, int)
'''


@pytest.mark.parametrize("uses_hypothesis", [False, True])
def test_a_suite_that_never_imports_hypothesis_does_not_import_it_for_the_terminal_summary(tmp_path, uses_hypothesis):
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text(SUMMARY_CONFTEST, encoding="utf-8")
    (tmp_path / "test_it.py").write_text(GIVEN_TEST if uses_hypothesis else "def test_one():\n    assert 1 + 1 == 2\n",
                                         encoding="utf-8")
    # (--hypothesis-show-statistics makes Hypothesis' report hook import it: only with Hypothesis in use)
    statistics = ["--hypothesis-show-statistics"] if uses_hypothesis else []
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "testplan.determinism", "-p", "no:cacheprovider",
                          *statistics, "test_it.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "imported.txt").read_text(encoding="utf-8") == str(uses_hypothesis)
    # with Hypothesis in use, its plugin still reports (the statistics of the one @given test)
    assert ("Hypothesis Statistics" in run.stdout) is uses_hypothesis
    assert ("test_it.py::test_ints:" in run.stdout) is uses_hypothesis
