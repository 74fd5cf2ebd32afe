"""The pytest plugin (entry point ``pytest11``): the ``verifies`` marker, and an opt-in recorder.

Tests declare which plan cases (``PAY-1.3``) or requirements (``PAY-1``) they verify::

    @pytest.mark.verifies("PAY-1.1", "PAY-1.2")
    def test_two_pets_get_ten_percent(): ...

The marker works on functions, classes, modules (``pytestmark = pytest.mark.verifies(...)``)
and parametrized cases (``pytest.param(..., marks=pytest.mark.verifies(...))``).

This module stays thin. It registers the marker (so ``--strict-markers`` accepts it) and the
options; only with ``--testplan-record=PATH`` does it register the recorder
(:class:`testplan.trace.Recorder`), which writes one JSON record per test at session end (under
pytest-xdist: in the controller; with ``--testplan-workers=N``, the parallel trace, the tests run in
N processes forked after collection, each recording and measuring its own tests).
``testplan audit`` passes that option itself; run it by hand to see what testplan sees::

    pytest --testplan-record=records.json

Disable the plugin with ``-p no:testplan``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

RECORDER_NAME = "testplan-recorder"


def _workers(value: str) -> int:
    if not value.isdigit() or int(value) < 2:
        raise pytest.UsageError(f"--testplan-workers needs a number of processes of 2 or more, not {value!r}")
    return int(value)


def _record_path(value: str) -> Path:
    if not value.strip():
        raise pytest.UsageError("--testplan-record needs a file path")
    return Path(value)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testplan", "testplan: requirement traceability")
    group.addoption(
        "--testplan-record",
        metavar="PATH",
        type=_record_path,
        default=None,
        help="write each test's links, outcome, failure class and duration to PATH (JSON) at session end",
    )
    group.addoption(
        "--testplan-contexts",
        action="store_true",
        default=False,
        help="with --testplan-record under 'coverage run': switch coverage.py's dynamic context to each test's nodeid",
    )
    group.addoption(
        "--testplan-linked-only",
        metavar="TABLE",
        type=_record_path,
        default=None,
        help="run only the tests that link a requirement or case: a verifies marker, or a pattern of TABLE (the "
             "[tool.testplan.links] table as a JSON object, {} for none); testplan audit --linked-only",
    )
    group.addoption(
        "--testplan-coverage-rc",
        metavar="RCFILE",
        type=_record_path,
        default=None,
        help="with --testplan-workers and --testplan-contexts: each worker measures its own tests with coverage.py "
             "configured by RCFILE and writes its own data",
    )
    group.addoption(
        "--testplan-workers",
        metavar="N",
        type=_workers,
        default=0,
        help="with --testplan-record: collect once, then run the tests in N forked processes, each taking whole "
             "test files in suite order and writing its own records (the parallel trace; testplan audit --jobs N)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--testplan-linked-only=TABLE``: deselect every test that links nothing, neither by a
    ``verifies`` marker nor by a pattern of TABLE (the ``[tool.testplan.links]`` table as JSON). A
    link naming an unknown ID keeps its test: that link is DANGLING, which the audit reports."""
    path = config.getoption("testplan_linked_only", None)
    if path is None:
        return
    import json

    from .links import combine
    from .trace import marker_links  # the recorder's own reading of a test's links

    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise pytest.UsageError(f"--testplan-linked-only: cannot read the links table {path}: {exc}") from None
    keep = [bool(combine(marker_links(item), item.nodeid, table)) for item in items]
    if not all(keep):
        config.hook.pytest_deselected(items=[item for item, kept in zip(items, keep) if not kept])
        items[:] = [item for item, kept in zip(items, keep) if kept]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "verifies(*ids): the plan cases (PAY-1.3) or requirements (PAY-1) this test verifies (testplan)",
    )
    path = config.getoption("testplan_record", None)
    if path is None:
        return
    if getattr(config, "workerinput", None) is not None:
        return  # a pytest-xdist worker: its controller records the reports it sends
    from .trace import Recorder  # only when enabled: plain pytest runs never import the tracer

    recorder = Recorder(path, contexts=bool(config.getoption("testplan_contexts", False)), rootpath=config.rootpath,
                        coverage_rc=config.getoption("testplan_coverage_rc", None),
                        workers=config.getoption("testplan_workers", 0))
    config.pluginmanager.register(recorder, RECORDER_NAME)
