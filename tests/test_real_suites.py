"""The audit on a real suite not written here: python-semver 3.1.1 from its PyPI sdist.

Needs the package registry (marked ``network``; deselect offline with ``-m 'not network'``).
semver's own pytest config says ``--cov=semver``: pytest-cov is installed with the test extra,
and the tracer turns it off so its coverage does not replace testplan's per-test contexts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tp_helpers import tree_digest

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="module")
def semver(tmp_path_factory) -> Path:
    download = tmp_path_factory.mktemp("sdist")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    "semver==3.1.1", "-d", str(download)], check=True, capture_output=True)
    with tarfile.open(download / "semver-3.1.1.tar.gz") as archive:
        archive.extractall(download, filter="data")
    return download / "semver-3.1.1"


def test_init_from_code_then_audit_semver(semver, cli):
    before = tree_digest(semver)
    drafted = cli("init", "--from-code", "semver", "--write-links", "-C", semver)
    assert drafted.code == 0, drafted.err
    lines = drafted.out.splitlines()
    assert lines[0] == "created  requirements.yaml: 2 draft requirements (SEMVER-1..SEMVER-2), no plans yet"
    assert lines[3] == "suggested links from per-test coverage (157 tests):"
    assert "appended [tool.testplan.links] (157 tests) to pyproject.toml" in lines
    after_init = tree_digest(semver)
    assert {k for k in before.keys() | after_init.keys() if before.get(k) != after_init.get(k)} == {"requirements.yaml", "pyproject.toml"}
    pyproject = (semver / "pyproject.toml").read_text()
    assert '"tests/test_pysemver-cli.py::test_should_parse_cli_arguments" = ["SEMVER-1"]' in pyproject

    audited = cli("audit", "--no-mutation", "--json", "-C", semver)
    assert audited.code == 0, audited.err
    result = json.loads(audited.out)
    assert result["complete"] is True
    assert len(result["tests"]) == 513
    outcomes = {}
    for test in result["tests"]:
        outcomes[test["outcome"]] = outcomes.get(test["outcome"], 0) + 1
    assert outcomes == {"passed": 512, "skipped": 1}
    by_id = {r["id"]: r for r in result["requirements"]}
    assert by_id["SEMVER-1"]["code"] == ["semver.cli"] and by_id["SEMVER-2"]["code"] == ["semver.version"]
    assert by_id["SEMVER-1"]["line_coverage"] == 1.0
    assert by_id["SEMVER-2"]["line_coverage"] >= 0.98
    assert {r["state"] for r in result["requirements"]} == {"UNREVIEWED"}  # drafts: no plan reviewed yet
    assert tree_digest(semver) == after_init  # the audit itself writes only .testplan/
