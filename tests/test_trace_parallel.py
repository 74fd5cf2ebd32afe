"""The parallel trace (``audit --jobs N``: pytest collects once, then N forked workers run the test
files) gives the serial trace's data: real pytest runs, serial and parallel, on the same small projects."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import BaselineError, IncompleteError
from testplan.trace import TraceData, import_time_lines, run_trace, trace_command, trace_paths, trace_workers

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "fixtures" / "trace_parallel"


def copy_project(target: Path) -> Path:
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    return target


def comparable(trace: TraceData) -> dict:
    """Everything a trace says, but the tests' durations (measured, never equal twice)."""
    return {
        "tests": [(t.nodeid, t.file, t.line, t.links, t.marker_links, t.outcome, t.failure_class, t.assertions, t.flags)
                  for t in trace.tests],
        "lines": trace.lines,
        "complete": trace.complete,
        "hash_seed": trace.hash_seed,
    }


def worker_outcomes(root: Path) -> dict[str, list[str]]:
    """What each worker's records say it ran (nodeids with an outcome)."""
    trace_dir = root / ".testplan" / "trace"
    ran = {}
    for path in sorted(trace_dir.glob("records.w*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        ran[document["worker"]] = [t["nodeid"] for t in document["tests"] if t["outcome"] is not None]
    return ran


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> tuple[Path, TraceData, TraceData, dict[str, list[str]], str]:
    """One project traced serially, then on 2 workers: (root, serial, parallel, what each worker
    ran, the parallel run's pytest log)."""
    root = copy_project(tmp_path_factory.mktemp("parallel") / "shop")
    env = {"PYTHONHASHSEED": "123"}
    serial = run_trace(load_config(root), env=env)
    assert worker_outcomes(root) == {}
    parallel = run_trace(load_config(root), env=env, jobs=2)
    log = (root / ".testplan" / "trace" / "pytest.log").read_text(encoding="utf-8")
    return root, serial, parallel, worker_outcomes(root), log


@pytest.mark.verifies("TRACE-1.4")
def test_the_parallel_trace_gives_the_serial_traces_data(traces):
    root, serial, parallel, ran, log = traces
    # it did run in parallel: two workers, each test file on one of them
    assert " --testplan-workers=2 " in log.splitlines()[0]
    assert "/.testplan/trace/records.json (per-test coverage contexts, 2 forked workers)\n" in log
    assert sorted(ran) == ["w0", "w1"] and all(ran.values())
    files = {worker: {nodeid.split("::")[0] for nodeid in nodeids} for worker, nodeids in ran.items()}
    assert not files["w0"] & files["w1"]
    # what each worker printed (its tests, its failures' tracebacks, its counts) is in the trace's log
    assert 0 < log.index("\n--- worker w0 (stdout and stderr) ---\n") < log.index("\n--- worker w1 (stdout and stderr) ---\n")
    assert "E           ValueError: negative price" in log
    assert sorted(n for nodeids in ran.values() for n in nodeids) == sorted(t.nodeid for t in serial.tests)
    # and gave the serial trace's data: tests in collection order, outcomes, links, lines per test
    assert comparable(parallel) == comparable(serial)
    assert parallel.hash_seed == 123
    # the peak memory: the largest of the collecting process's and the workers' (each records its own)
    peaks = [json.loads((root / ".testplan" / "trace" / name).read_text())["peak_mb"]
             for name in ("records.json", "records.w0.json", "records.w1.json")]
    assert parallel.peak_mb == max(peaks) and min(peaks) > 0 and serial.peak_mb > 0


def test_the_combined_data_is_the_serial_data_in_detail(traces):
    """The cases that depend on a process's history: shared fixtures (set up once per worker),
    their teardown, and a module first imported inside a test (once per worker)."""
    root, serial, parallel, _, _ = traces

    def lines(trace: TraceData, test: str) -> dict[str, list[int]]:
        nodeid = next(t.nodeid for t in trace.tests if t.nodeid.endswith(test))
        return {Path(f).name: sorted(n) for f, n in trace.lines[nodeid].items() if n}

    for trace in (serial, parallel):
        # the session fixture db: engine() (line 2) via eng, connect() (6), and its teardown close() (10, 11),
        # credited to every test that used it, on whichever worker it ran
        assert lines(trace, "test_store_a.py::test_db") == {"store.py": [2, 6, 10, 11]}
        assert lines(trace, "test_cart.py::test_check") == {"cart.py": [9, 11], "store.py": [2, 6, 10, 11]}
        assert lines(trace, "test_more.py::TestTogether::test_cart_in_db") == {"cart.py": [2, 3, 5],
                                                                               "store.py": [2, 6, 10, 11]}
        # a module fixture per module: test_store_a.py's table (15, 16), test_store_b.py's (15, 17)
        assert lines(trace, "test_store_a.py::test_table") == {"store.py": [2, 6, 10, 11, 15, 16]}
        assert lines(trace, "test_store_b.py::test_expected_failure") == {"store.py": [15, 17]}
        # skipped before its setup: it used no fixture
        assert lines(trace, "test_store_b.py::test_skipped") == {}
        # report.py's module-level lines (1, 4, 7) go to the first test of the suite to import it only
        assert lines(trace, "test_cart.py::test_report_total") == {"cart.py": [2, 3, 5], "report.py": [1, 4, 7, 8]}
        assert lines(trace, "test_store_b.py::test_report_ping") == {"report.py": [8], "store.py": [21]}
    assert {t.nodeid: (t.outcome, t.failure_class) for t in parallel.tests if t.outcome != "passed"} == {
        "tests/test_cart.py::test_check_crashes": ("failed", "crash"),
        "tests/test_store_a.py::test_wrong_table": ("failed", "assert"),
        "tests/test_store_b.py::test_skipped": ("skipped", None),
        "tests/test_store_b.py::test_expected_failure": ("xfailed", None),
    }


def test_the_worker_that_imported_first_in_suite_order_keeps_the_module_lines(tmp_path):
    """report.py imported first by a test of the *second* worker's files: the lines still go to the
    first test in suite order that imported it."""
    root = copy_project(tmp_path / "shop")
    (root / "tests" / "test_aaa.py").write_text(
        "def test_first_import():\n    from shop import report\n\n    assert report.HEADER == 'report'\n", encoding="utf-8")
    serial = run_trace(load_config(root))
    parallel = run_trace(load_config(root), jobs=2)
    assert comparable(parallel) == comparable(serial)
    report = str((root / "src" / "shop" / "report.py").resolve())
    assert {t.nodeid: sorted(parallel.lines[t.nodeid][report]) for t in parallel.tests if report in parallel.lines[t.nodeid]} == {
        "tests/test_aaa.py::test_first_import": [1, 4, 7],
        "tests/test_cart.py::test_report_total": [8],
        "tests/test_store_b.py::test_report_ping": [8],
    }


def test_import_time_lines_are_module_and_class_bodies_not_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        '"""doc"""\n'                 # 1
        "import os\n"                # 2
        "\n"                         # 3
        "@staticmethod\n"            # 4
        "def f(x):\n"                # 5
        "    y = x\n"                # 6
        "    return y\n"             # 7
        "\n"                         # 8
        "class C:\n"                 # 9
        "    size = 2\n"             # 10
        "    def g(self):\n"         # 11
        "        return 1\n"         # 12
        "h = lambda: 3\n",           # 13
        encoding="utf-8")
    assert import_time_lines(str(module)) == {1, 2, 3, 8, 9, 10, 11}  # @staticmethod f: 4, 5 run at each call
    module.write_text("def broken(:\n", encoding="utf-8")
    assert import_time_lines(str(module)) == set()


def test_how_many_workers(monkeypatch):
    assert [trace_workers(jobs) for jobs in (None, 1, 2, 3)] == [0, 0, 2, 3]
    monkeypatch.delattr(os, "fork")  # Windows: the trace stays serial
    assert trace_workers(2) == 0


def test_the_serial_and_the_parallel_commands(tmp_path):
    root = copy_project(tmp_path / "shop")
    config = load_config(root)
    paths = trace_paths(config)
    serial = trace_command(config, paths)
    parallel = trace_command(config, paths, workers=2)
    assert serial[:6] == [sys.executable, "-m", "coverage", "run", f"--rcfile={paths.rcfile}", "-m"]
    assert serial[-2:] == ["-n", "0"]  # over an addopts "-n auto" (pytest-xdist is installed here)
    assert parallel[:3] == [sys.executable, "-m", "pytest"]
    assert parallel[-4:] == [f"--testplan-coverage-rc={paths.rcfile}", "--testplan-workers=2", "-n", "0"]
    assert parallel[3:-4] == serial[7:-2]  # the same pytest arguments before them


# --- a broken suite: the same errors as serially --------------------------------------------------


def _project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


OK_TEST = "def test_ok():\n    assert True\n"
BROKEN = {
    "syntax error in a test file": {"tests/test_ok.py": OK_TEST, "tests/test_x.py": "def test_x(:\n    pass\n"},
    "missing dependency": {"tests/test_ok.py": OK_TEST, "tests/test_x.py": "import nosuchmodule\n\n" + OK_TEST},
    "broken conftest": {"tests/test_ok.py": OK_TEST, "tests/conftest.py": "import pytest\n\n\ndef fixture(:\n    pass\n"},
    "no tests": {"tests/test_ok.py": "X = 1\n"},
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_suite_is_the_same_baseline_error(tmp_path, case):
    messages = []
    for jobs in (None, 2):
        root = _project(tmp_path / f"jobs{jobs}", BROKEN[case])
        with pytest.raises(BaselineError) as caught:
            run_trace(load_config(root), jobs=jobs)
        messages.append(str(caught.value).replace(str(root), "<root>"))
    assert messages[1] == messages[0]
    assert messages[0].startswith("no tests were collected" if case == "no tests" else "tests could not be collected: ")


def test_the_cli_gives_the_same_exit_codes_and_audit(tmp_path):
    """--no-mutation takes --jobs (the trace's workers): failing tests are data (the same audit.json,
    exit 1 from the default gate's fail_on "failing"); a broken suite is exit 3 with the same message."""
    audits, runs = [], []
    for jobs in ([], ["--jobs", "2"]):
        root = copy_project(tmp_path / f"shop{len(jobs)}")
        run = subprocess.run([sys.executable, "-m", "testplan", "audit", "--no-mutation", "--json", *jobs, "-C", str(root)],
                             capture_output=True, text=True, timeout=600)
        audit = json.loads(run.stdout)
        audits.append({key: audit[key] for key in ("requirements", "problems", "score", "complete", "hash_seed")}
                      | {"tests": [{k: v for k, v in t.items() if k != "duration"} for t in audit["tests"]]})
        (root / "tests" / "test_cart.py").write_text("import nosuchmodule\n", encoding="utf-8")
        broken = subprocess.run([sys.executable, "-m", "testplan", "audit", "--no-mutation", *jobs, "-C", str(root)],
                                capture_output=True, text=True, timeout=600)
        runs.append((run.returncode, broken.returncode, broken.stderr.replace(str(root), "<root>")))
    assert audits[1] == audits[0]
    assert [t["outcome"] for t in audits[0]["tests"]].count("failed") == 2
    assert runs[1] == runs[0]
    assert runs[0] == (1, 3, "testplan: baseline-failing: tests could not be collected: tests/test_cart.py:1: "
                             "ModuleNotFoundError: No module named 'nosuchmodule'; install the missing dependency or fix the import\n")


def test_a_test_that_ends_its_worker_is_a_baseline_error(tmp_path):
    root = _project(tmp_path / "exits", {"tests/test_ok.py": OK_TEST,
                                         "tests/test_exit.py": "import os\n\n\ndef test_exit():\n    os._exit(3)\n"})
    with pytest.raises(BaselineError, match=r"^a trace worker crashed while running tests/test_exit\.py::test_exit "
                                            r"\(a test ended its process: os\._exit, a signal\); fix the test, or trace "
                                            r"without --jobs; see .*/\.testplan/trace/pytest\.log$"):
        run_trace(load_config(root), jobs=2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_the_timeout_stops_every_worker_and_names_the_running_test(tmp_path):
    pids = tmp_path / "pids"
    hang = ("import os, subprocess, time\n\n\ndef test_hangs():\n"
            f"    open({str(pids)!r}, 'a').write(f'{{os.getpid()}} {{subprocess.Popen([\"sleep\", \"100000\"]).pid}}\\n')\n"
            "    time.sleep(100000)\n")
    root = _project(tmp_path / "hangs", {"tests/test_ok.py": OK_TEST, "tests/test_hang.py": hang})
    with pytest.raises(IncompleteError, match=r"^the test run did not finish within 20 s \(\[tool\.testplan\] "
                                              r"trace_timeout_seconds\); still running: tests/test_hang\.py::test_hangs \(for "):
        run_trace(load_config(root), jobs=2, timeout=20)
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2  # the worker, and the sleeper it started
    assert [p for p in started if _alive(p)] == []
