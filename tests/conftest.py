"""Shared fixtures: real projects in temp dirs, and the real CLI."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from testplan.cli import main

from tp_helpers import EXAMPLE


@pytest.hookimpl(optionalhook=True)  # a run without pytest-xdist (-p no:xdist) must not fail on it
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts) starts one worker more than the cores: many tests here wait
    on a subprocess (a nested audit, a timeout running out, a sleeper being killed), and a waiting
    worker leaves its core idle. On 2 cores the suite took 237 s with 3 workers, 268 s with 2.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when it is set (pytest-xdist's own hook)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return (os.cpu_count() or 1) + 1


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run the real ``testplan`` CLI in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def example(tmp_path) -> Path:
    """A private copy of the bundled pet-insurance example."""
    target = tmp_path / "pet-insurance"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    return target


@pytest.fixture(scope="session")
def example_audit(tmp_path_factory):
    """One real audit (trace + mutation) of a copy of the example, gated on weak and suspect:
    (project root, AuditResult). Shared by the tests that read its results."""
    from testplan.result import load_result

    root = tmp_path_factory.mktemp("example-audit") / "pet-insurance"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    assert main(["audit", "-C", str(root), "--fail-on", "weak,suspect"]) == 1
    return root, load_result(root / ".testplan" / "audit.json")
