"""The pytest plugin in real (in-process) pytest sessions via ``pytester``."""

from __future__ import annotations

import json
import re

import pytest

from testplan.pytest_plugin import RECORDER_NAME

pytest_plugins = ("pytester",)

MARKED = """
import pytest

pytestmark = pytest.mark.verifies("MOD-1")


@pytest.mark.verifies("FN-1.1", "FN-1.2")
def test_decorated():
    assert True


@pytest.mark.verifies("CLS-1")
class TestGroup:
    @pytest.mark.verifies("FN-2.1")
    def test_method(self):
        assert True


@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.verifies("PAR-1.1"), id="one"), 2])
def test_param(x):
    assert x


@pytest.mark.verifies("lower-case", 7, ["LIST-1.1", "LIST-1.2"], "FN-1.1")
def test_odd_arguments():
    assert True


def test_unlinked():
    assert True
"""


def records(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    result = pytester.runpytest("--testplan-record=out/records.json", *args)
    return result, json.loads((pytester.path / "out" / "records.json").read_text(encoding="utf-8"))


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester):
    pytester.makepyfile(test_marked=MARKED)
    result = pytester.runpytest("--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=6)
    assert "PytestUnknownMarkWarning" not in result.stdout.str()
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.verifies(*ids): the plan cases (PAY-1.3) or requirements (PAY-1) this test verifies (testplan)"])


def test_disabled_with_no_testplan(pytester: pytest.Pytester):
    # in a subprocess, the way users run it
    pytester.makepyfile(test_marked=MARKED)
    result = pytester.runpytest_subprocess("-p", "no:testplan", "--strict-markers")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'verifies' not found in `markers` configuration option*"])
    result = pytester.runpytest_subprocess("-p", "no:testplan", "--testplan-record=x.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --testplan-record=x.json*"])


def test_links_from_decorators_classes_modules_and_params(pytester: pytest.Pytester):
    pytester.makepyfile(test_marked=MARKED)
    result, document = records(pytester, "--strict-markers")
    result.assert_outcomes(passed=6)
    assert {t["nodeid"]: t["links"] for t in document["tests"]} == {
        "test_marked.py::test_decorated": ["FN-1.1", "FN-1.2", "MOD-1"],
        "test_marked.py::TestGroup::test_method": ["FN-2.1", "CLS-1", "MOD-1"],
        "test_marked.py::test_param[one]": ["PAR-1.1", "MOD-1"],
        "test_marked.py::test_param[2]": ["MOD-1"],
        # recorded as given (flattened, str()-ed, deduplicated); validation is the scorer's job
        "test_marked.py::test_odd_arguments": ["lower-case", "7", "LIST-1.1", "LIST-1.2", "FN-1.1", "MOD-1"],
        "test_marked.py::test_unlinked": ["MOD-1"],
    }


@pytest.mark.verifies("TRACE-1.2")
def test_records_locations_outcomes_failure_classes_and_durations(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_outcomes="""
        import pytest


        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")


        def test_assert():
            assert 1 == 2


        def test_crash():
            int("x")


        def test_did_not_raise():
            with pytest.raises(ValueError):
                pass


        def test_raises_wrong_message():
            with pytest.raises(ValueError, match="expected"):
                raise ValueError("other")


        def test_fixture_error(broken):
            pass


        def test_fail():
            pytest.fail("nope")


        def test_group_of_asserts():
            raise ExceptionGroup("two", [AssertionError("a"), AssertionError("b")])


        def test_group_with_a_crash():
            raise ExceptionGroup("two", [AssertionError("a"), KeyError("b")])


        @pytest.mark.xfail(strict=True)
        def test_strict_xpass():
            pass


        @pytest.mark.skipif(True, reason="no")
        def test_skipped():
            pass


        def test_skip_inside():
            pytest.skip("later")


        @pytest.mark.xfail(raises=KeyError)
        def test_xfailed():
            {}["x"]


        @pytest.mark.xfail
        def test_xpassed():
            pass


        def test_passed():
            assert True
        """
    )
    result, document = records(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    tests = {t["nodeid"].split("::")[1]: t for t in document["tests"]}
    assert {name: (t["outcome"], t["failure_class"]) for name, t in tests.items()} == {
        "test_assert": ("failed", "assert"),
        "test_crash": ("failed", "crash"),
        "test_did_not_raise": ("failed", "assert"),
        "test_raises_wrong_message": ("failed", "assert"),
        "test_fixture_error": ("error", "crash"),
        "test_fail": ("failed", "assert"),
        "test_group_of_asserts": ("failed", "assert"),
        "test_group_with_a_crash": ("failed", "crash"),
        "test_strict_xpass": ("failed", "assert"),
        "test_skipped": ("skipped", None),
        "test_skip_inside": ("skipped", None),
        "test_xfailed": ("xfailed", None),
        "test_xpassed": ("xpassed", None),
        "test_passed": ("passed", None),
    }
    assert (tests["test_assert"]["file"], tests["test_assert"]["line"], tests["test_assert"]["name"]) == ("test_outcomes.py", 9, "test_assert")
    # the recorder keeps pytest's location (the first decorator's line); run_trace moves it to the def
    assert tests["test_strict_xpass"]["line"] == 43  # its def is on line 44
    assert tests["test_skipped"]["duration"] == 0.0
    assert tests["test_passed"]["duration"] > 0
    assert document["version"] == 2
    assert document["exitstatus"] == 1
    assert document["collection_errors"] == []
    assert document["coverage_contexts"] is False
    assert document["rootdir"] == str(pytester.path.resolve())


@pytest.mark.verifies("TRACE-1.2")
def test_records_hold_each_tests_setup_time_and_the_processs_peak_memory(pytester: pytest.Pytester):
    """What a lazy mutation baseline takes from the trace instead of running the tests first: the
    setup phase's seconds (a module fixture is set up by its first test) and the peak RSS."""
    import resource

    pytester.makepyfile(test_setup="""
        import time

        import pytest


        @pytest.fixture(scope="module")
        def slow():
            time.sleep(0.5)


        def test_first(slow):
            pass


        def test_second(slow):
            pass
        """)
    # a subprocess larger than this process, waited for before the run: the peak is the larger of
    # the process's own and its waited-for children's (as the mutation worker measures its children)
    import subprocess
    import sys

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    size = own + 200
    subprocess.run([sys.executable, "-c", f"x = bytearray({size} * 1024 * 1024); x[::4096] = bytes(len(x[::4096]))"],
                   check=True)
    result, document = records(pytester)
    assert result.ret == pytest.ExitCode.OK
    setup = {t["nodeid"].split("::")[1]: t["setup"] for t in document["tests"]}
    assert setup["test_first"] >= 0.5 > setup["test_second"] > 0
    usage = [resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    assert size <= document["peak_mb"] <= round(max(usage), 1)


def test_setup_and_teardown_errors(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_errors="""
        import pytest


        @pytest.fixture
        def assert_in_setup():
            assert False, "setup checked something"


        @pytest.fixture
        def bad_teardown():
            yield
            raise OSError("teardown broke")


        def test_setup_assert(assert_in_setup):
            pass


        def test_teardown_after_pass(bad_teardown):
            pass


        def test_teardown_after_failure(bad_teardown):
            assert False
        """
    )
    _, document = records(pytester)
    assert {t["nodeid"].split("::")[1]: (t["outcome"], t["failure_class"]) for t in document["tests"]} == {
        "test_setup_assert": ("error", "assert"),
        "test_teardown_after_pass": ("error", "crash"),
        "test_teardown_after_failure": ("failed", "assert"),  # the failure is what counts
    }


def test_collection_errors_are_recorded(pytester: pytest.Pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    assert True\n", test_syntax="def test_x(:\n    pass\n", test_import="import nonexistent_dep_xyz\n")
    result, document = records(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    errors = sorted(document["collection_errors"], key=lambda e: e["nodeid"])
    assert [(e["nodeid"], e["where"], e["kind"], e["message"], e["syntax"], e["import"]) for e in errors] == [
        ("test_import.py", "test_import.py:1", "ModuleNotFoundError", "No module named 'nonexistent_dep_xyz'", False, True),
        ("test_syntax.py", "test_syntax.py:1", "SyntaxError", "invalid syntax", True, False),
    ]


def test_recorder_is_registered_only_when_enabled(pytester: pytest.Pytester):
    assert pytester.parseconfigure().pluginmanager.get_plugin(RECORDER_NAME) is None
    assert pytester.parseconfigure("--testplan-record=r.json").pluginmanager.get_plugin(RECORDER_NAME) is not None
    pytester.makepyfile(test_a="def test_a():\n    assert True\n")
    plain = pytester.runpytest()
    assert "testplan:" not in plain.stdout.str()
    assert not (pytester.path / "r.json").exists()


def test_report_header_when_recording(pytester: pytest.Pytester):
    pytester.makepyfile(test_a="def test_a():\n    assert True\n")
    result = pytester.runpytest("--testplan-record=r.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["testplan: recording tests to r.json (no coverage contexts)"])


def test_empty_record_path_is_a_usage_error(pytester: pytest.Pytester):
    result = pytester.runpytest("--testplan-record=")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--testplan-record needs a file path*"])


LINKS = """
import pytest


@pytest.mark.verifies("A-1.1")
def test_marked():
    assert True


@pytest.mark.verifies("NOPE-9")
def test_dangling():
    assert True


def test_in_table():
    assert True


def test_unlinked():
    assert True


@pytest.mark.verifies()
def test_bare_marker():
    assert True


@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.verifies("A-1.2"), id="one"), 2])
def test_param(x):
    assert x
"""


def test_linked_only_deselects_the_tests_that_link_nothing_by_marker_or_table(pytester: pytest.Pytester):
    pytester.makepyfile(test_links=LINKS)
    (pytester.path / "table.json").write_text(json.dumps({"test_links.py::test_in_table": ["A-1"]}), encoding="utf-8")
    (pytester.path / "empty.json").write_text("{}", encoding="utf-8")
    result, data = records(pytester, "--testplan-linked-only=table.json")
    result.assert_outcomes(passed=4, deselected=3)
    # a marker (an unknown ID too: DANGLING is the audit's to report) or a pattern of the table keeps a test;
    # a bare verifies() names nothing, so it links nothing (ORPHAN to a whole-suite audit) and is deselected
    assert [t["nodeid"] for t in data["tests"]] == ["test_links.py::test_marked", "test_links.py::test_dangling",
                                                   "test_links.py::test_in_table", "test_links.py::test_param[one]"]
    pytester.runpytest("--testplan-linked-only=empty.json").assert_outcomes(passed=3, deselected=4)
    pytester.runpytest().assert_outcomes(passed=7)  # without the option nothing is deselected
    missing = pytester.runpytest("--testplan-linked-only=missing.json")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["ERROR: --testplan-linked-only: cannot read the links table missing.json: "
                                  "[[]Errno 2[]] No such file or directory: 'missing.json'"])
    usage = pytester.runpytest("--help")
    usage.stdout.fnmatch_lines(["*--testplan-linked-only=TABLE*"])
    assert ("run only the tests that link a requirement or case: a verifies marker, or a pattern of TABLE (the "
            "[tool.testplan.links] table as a JSON object, {} for none); testplan audit --linked-only"
            ) in " ".join(usage.stdout.str().split())


WORKERS = {
    "test_one": "def test_a():\n    assert True\n\n\ndef test_b():\n    assert 1 == 2\n",
    "test_two": "def test_c():\n    assert True\n",
    "test_three": "import pytest\n\n\n@pytest.mark.skip(reason='no')\ndef test_d():\n    pass\n",
}


def test_workers_run_whole_test_files_in_forked_processes_and_the_session_counts_their_failures(pytester: pytest.Pytester):
    pytester.makepyfile(**WORKERS)
    result, main = records(pytester, "--testplan-workers=2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # test_b failed in a worker
    result.stdout.fnmatch_lines(["*testplan: recording tests to *records.json (no coverage contexts, 2 forked workers)",
                                 "*- the tests ran in 2 forked workers (1 with a failing test), each printing to "
                                 "records.w<N>.out; pytest's counts below include none of them -*"])
    # the collecting process records the collection (nothing ran there) and how each worker ended
    assert [(t["nodeid"], t["outcome"]) for t in main["tests"]] == [
        ("test_one.py::test_a", None), ("test_one.py::test_b", None), ("test_three.py::test_d", None),
        ("test_two.py::test_c", None)]
    assert main["workers"] == [{"worker": "w0", "exit": 0}, {"worker": "w1", "exit": 0}]
    ran = {}
    for worker in ("w0", "w1"):
        part = json.loads((pytester.path / "out" / f"records.{worker}.json").read_text(encoding="utf-8"))
        assert part["worker"] == worker
        ran.update({t["nodeid"]: (worker, t["outcome"]) for t in part["tests"] if t["outcome"] is not None})
    assert {nodeid: outcome for nodeid, (_, outcome) in ran.items()} == {
        "test_one.py::test_a": "passed", "test_one.py::test_b": "failed", "test_three.py::test_d": "skipped",
        "test_two.py::test_c": "passed"}
    assert ran["test_one.py::test_a"][0] == ran["test_one.py::test_b"][0]  # a file's tests in one worker
    # (what each worker prints goes to records.wN.out: tests/test_trace_parallel.py, where pytest runs in a process)


def test_a_worker_that_dies_is_recorded_with_the_test_it_was_running(pytester: pytest.Pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    assert True\n",
                        test_dies="import os\n\n\ndef test_first():\n    assert True\n\n\ndef test_exit():\n    os._exit(3)\n")
    result, main = records(pytester, "--testplan-workers=2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert [w for w in main["workers"] if "crashed" in w] == [
        {"worker": next(w["worker"] for w in main["workers"] if w["exit"] == 3), "exit": 3,
         "crashed": "test_dies.py::test_exit"}]
    result.stdout.fnmatch_lines(["*- the tests ran in 2 forked workers (1 with a failing test), each printing *",
                                 "testplan: worker w? died (exit 3) while running test_dies.py::test_exit"])


def test_a_worker_stopped_by_pytest_exit_interrupts_the_session(pytester: pytest.Pytester):
    pytester.makepyfile(test_stop="import pytest\n\n\ndef test_stop():\n    pytest.exit('enough')\n")
    result, main = records(pytester, "--testplan-workers=2")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*- the tests ran in 1 forked worker (0 with a failing test), each printing *",
                                 "*!!! Interrupted: Exit: enough !!!*"])
    part = json.loads((pytester.path / "out" / "records.w0.json").read_text(encoding="utf-8"))
    assert (part["exitstatus"], part["interrupted"]) == (2, "Exit: enough")


def test_workers_need_two_or_more(pytester: pytest.Pytester):
    for value in ("1", "two"):
        result = pytester.runpytest("--testplan-record=out/records.json", f"--testplan-workers={value}")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: --testplan-workers needs a number of processes of 2 or more, not '{value}'"])


RUN_WORKER_HERE = """
import pytest

from testplan.pytest_plugin import RECORDER_NAME
from testplan.trace import test_file_groups


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    groups = iter(test_file_groups(session.items)[::-1])  # the files in the order take() hands them out
    recorder = session.config.pluginmanager.get_plugin(RECORDER_NAME)
    recorder.run_worker(session, "w7", lambda: next(groups, None))
    # a forked worker exits here; this session goes on, and its end would write the records again
    recorder.path.replace(recorder.path.with_name("worker.json"))
    return True
"""


def test_a_worker_runs_what_it_takes_in_that_order_measures_it_and_writes_its_records(pytester: pytest.Pytester):
    """run_worker in this process (a forked worker runs it the same way)."""
    pytester.makepyfile(**WORKERS)
    # a worker's progress line is on disk while its test runs: a worker that dies is told by it
    pytester.makepyfile(test_zprogress="from pathlib import Path\n\n\ndef test_sees_its_own_start():\n"
                                       "    last = Path('out/progress.w7.log').read_text().splitlines()[-1].split(' ')\n"
                                       "    assert (last[0], last[2]) == ('start', 'test_zprogress.py::test_sees_its_own_start')\n")
    pytester.makeconftest(RUN_WORKER_HERE)
    data_file = pytester.path / "out" / "coverage.sqlite"
    (pytester.path / "rc").write_text(f"[run]\ndata_file = {data_file}\nsource =\n    {pytester.path}\n", encoding="utf-8")
    result = pytester.runpytest("--testplan-record=out/records.json", "--testplan-contexts", "--testplan-coverage-rc=rc", "-v")
    part = json.loads((pytester.path / "out" / "worker.json").read_text(encoding="utf-8"))
    assert (part["worker"], part["exitstatus"]) == ("w7", 1)
    assert [t["nodeid"] for t in part["tests"]] == ["test_one.py::test_a", "test_one.py::test_b", "test_three.py::test_d",
                                                   "test_two.py::test_c", "test_zprogress.py::test_sees_its_own_start"]
    ran = [m.group(1) for m in map(re.compile(r"(test_\w+\.py::test_\w+) (PASSED|FAILED|SKIPPED) ").match, result.stdout.lines) if m]
    assert ran == ["test_zprogress.py::test_sees_its_own_start", "test_two.py::test_c", "test_three.py::test_d",
                   "test_one.py::test_a", "test_one.py::test_b"]
    result.stdout.fnmatch_lines(["*1 failed, 3 passed, 1 skipped*"])
    from coverage import CoverageData

    data = CoverageData(basename=str(pytester.path / "out" / "coverage.w7.sqlite"))
    data.read()
    assert {"test_one.py::test_a", "test_one.py::test_b", "test_two.py::test_c"} <= data.measured_contexts()


def test_test_file_groups_keep_each_files_tests_together_in_suite_order():
    from types import SimpleNamespace

    from testplan.trace import test_file_groups

    items = [SimpleNamespace(nodeid=n) for n in ("a.py::t1", "a.py::C::t2", "b.py::t3", "docs/x.rst::x.rst", "a.py::t4")]
    assert [[i.nodeid for i in g] for g in test_file_groups(items)] == [
        ["a.py::t1", "a.py::C::t2"], ["b.py::t3"], ["docs/x.rst::x.rst"], ["a.py::t4"]]
    assert test_file_groups([]) == []


def test_the_work_queue_hands_out_each_test_file_once_in_order_then_says_it_is_empty():
    import os
    import threading

    from testplan.trace import feed_queue, next_group, worker_takes

    groups = [[f"file{index}"] for index in range(20_000)]  # 80,000 bytes: more than a pipe holds at once
    queue, feed = os.pipe()
    writer = threading.Thread(target=lambda: (feed_queue(feed, 0, len(groups)), os.close(feed)))
    writer.start()
    taken = []
    while (group := next_group(queue, groups)) is not None:
        taken.append(group[0])
    writer.join()
    os.close(queue)
    assert taken == [f"file{index}" for index in range(20_000)]
    # with 2 workers the first 2 files are dealt at the fork: each worker takes its own first, then the queue's
    queue, feed = os.pipe()
    feed_queue(feed, 2, 5)
    os.close(feed)
    second = worker_takes(groups[1], queue, groups)
    assert [second(), second(), second(), second(), second()] == [["file1"], ["file2"], ["file3"], ["file4"], None]
    os.close(queue)


def test_a_worker_stops_at_x_and_at_pytest_exit_and_says_why(pytester: pytest.Pytester):
    """run_worker in this process: -x stops it after the first failure; pytest.exit() inside a test
    stops it too, and its records say so (the collecting process then interrupts the session)."""
    pytester.makepyfile(test_0="def test_last():\n    assert True\n",
                        test_a="def test_fails():\n    assert 1 == 2\n",
                        test_b="def test_first():\n    assert True\n")
    pytester.makeconftest(RUN_WORKER_HERE)
    pytester.runpytest("--testplan-record=out/records.json", "-x")
    part = json.loads((pytester.path / "out" / "worker.json").read_text(encoding="utf-8"))
    assert {t["nodeid"]: t["outcome"] for t in part["tests"]} == {
        "test_0.py::test_last": None, "test_a.py::test_fails": "failed", "test_b.py::test_first": "passed"}
    assert (part["exitstatus"], "interrupted" in part) == (1, False)
    (pytester.path / "test_a.py").write_text("import pytest\n\n\ndef test_fails():\n    pytest.exit('enough')\n")
    pytester.runpytest("--testplan-record=out/records.json")
    part = json.loads((pytester.path / "out" / "worker.json").read_text(encoding="utf-8"))
    assert [t["nodeid"] for t in part["tests"] if t["outcome"] is not None] == ["test_b.py::test_first"]
    assert (part["exitstatus"], part["interrupted"]) == (2, "Exit: enough")


def test_a_dead_workers_test_is_the_one_it_started_and_did_not_finish(tmp_path):
    from testplan.trace import _running_test_of

    progress = tmp_path / "progress.w0.log"
    assert _running_test_of(progress) == "no test (before its first)"  # it died before writing a line
    progress.write_text("start 1.0 t.py::a\nend 1.5 t.py::a\n", encoding="utf-8")
    assert _running_test_of(progress) == "no test (after t.py::a)"
    progress.write_text("start 1.0 t.py::a\nend 1.5 t.py::a\nstart 1.6 t.py::b[x y]\n", encoding="utf-8")
    assert _running_test_of(progress) == "t.py::b[x y]"
