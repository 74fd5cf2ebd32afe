"""run_trace on real fixture projects (one real pytest subprocess each), and the links table."""

from __future__ import annotations

import base64
import re
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import BaselineError, InputError
from testplan.links import combine, matches, table_links
from testplan.trace import TraceData, run_trace

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
EXAMPLE = HERE.parent / "examples" / "pet-insurance"

# Most runs skip pytest's plugin autoloading (this environment's hypothesis plugin alone costs
# ~1 s per run); run_trace then loads testplan's plugin with -p. The flat project and the
# example run with autoloading, the way users run.
FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def copy_project(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__", ".pytest_cache"))
    return target


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file and the set of directories under root, except .testplan/."""
    digest = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".testplan":
            continue
        digest[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return digest


def lines_of(trace: TraceData, nodeid: str, file: Path) -> set[int]:
    return trace.lines[nodeid].get(str(file.resolve()), set())


# --- a flat-layout project: outcomes, failure classes, markers, per-test coverage ----------------


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> tuple[Path, dict[str, str], dict[str, str], TraceData]:
    root = copy_project(FIXTURES / "trace_flat", tmp_path_factory.mktemp("flat") / "calc-project")
    before = tree_digest(root)
    trace = run_trace(load_config(root))
    return root, before, tree_digest(root), trace


def test_flat_trace_records_every_test_in_suite_order(flat):
    root, _, _, trace = flat
    assert trace.root == root.resolve()
    assert trace.complete is True
    assert [t.nodeid for t in trace.tests] == [
        "tests/test_coverage.py::test_uses_f",
        "tests/test_coverage.py::test_uses_g",
        "tests/test_markers.py::test_decorated",
        "tests/test_markers.py::TestGrouped::test_in_class",
        "tests/test_markers.py::TestGrouped::test_in_class_decorated",
        "tests/test_markers.py::test_params[one]",
        "tests/test_markers.py::test_params[two]",
        "tests/test_markers.py::test_invalid_id",
        "tests/test_outcomes.py::test_assert_fails",
        "tests/test_outcomes.py::test_crash",
        "tests/test_outcomes.py::test_did_not_raise",
        "tests/test_outcomes.py::test_fixture_error",
        "tests/test_outcomes.py::test_explicit_fail",
        "tests/test_outcomes.py::test_passes",
        "tests/test_outcomes.py::test_teardown_error",
        "tests/test_outcomes.py::test_skipped",
        "tests/test_outcomes.py::test_xfailed",
        "tests/test_outcomes.py::test_xpassed",
    ]


@pytest.mark.verifies("TRACE-1.2")
def test_flat_trace_outcomes_and_failure_classes(flat):
    trace = flat[3]
    got = {t.nodeid.split("::")[-1]: (t.outcome, t.failure_class) for t in trace.tests if "test_outcomes" in t.nodeid}
    assert got == {
        "test_assert_fails": ("failed", "assert"),
        "test_crash": ("failed", "crash"),  # TypeError inside the code under test
        "test_did_not_raise": ("failed", "assert"),  # pytest.raises: DID NOT RAISE (Failed)
        "test_fixture_error": ("error", "crash"),  # the fixture raised in setup
        "test_explicit_fail": ("failed", "assert"),  # pytest.fail (Failed)
        "test_passes": ("passed", None),
        "test_teardown_error": ("error", "crash"),  # passed, then its fixture's teardown raised
        "test_skipped": ("skipped", None),
        "test_xfailed": ("xfailed", None),
        "test_xpassed": ("xpassed", None),
    }


def test_flat_trace_links_from_every_marker_place_and_the_table(flat):
    trace = flat[3]
    links = {t.nodeid.split("::", 1)[1]: t.links for t in trace.tests if "test_markers" in t.nodeid or "test_coverage" in t.nodeid}
    assert links == {
        "test_uses_f": ["CALC-1.9"],  # [tool.testplan.links]
        "test_uses_g": [],
        "test_decorated": ["CALC-1.1", "CALC-1.2", "CALC-1"],  # decorator, then module pytestmark
        "TestGrouped::test_in_class": ["CALC-1.3", "CALC-1"],  # class mark
        "TestGrouped::test_in_class_decorated": ["CALC-1.4", "CALC-1.3", "CALC-1"],  # closest first
        "test_params[one]": ["CALC-1.5", "CALC-1"],  # pytest.param(marks=...)
        "test_params[two]": ["CALC-1"],
        "test_invalid_id": ["not an id", "CALC-1.1", "CALC-1"],  # kept as-is: the scorer says DANGLING
    }


def test_flat_trace_locations_durations_and_assertion_counts(flat):
    trace = flat[3]
    decorated = trace.test("tests/test_markers.py::test_decorated")
    assert (decorated.file, decorated.line) == ("tests/test_markers.py", 7)  # the def line, not the decorator's
    in_class = trace.test("tests/test_markers.py::TestGrouped::test_in_class")
    assert (in_class.file, in_class.line) == ("tests/test_markers.py", 13)
    crash = trace.test("tests/test_outcomes.py::test_crash")
    assert (crash.assertions, crash.flags) == (1, [])
    assert all(t.duration >= 0 for t in trace.tests)
    assert trace.test("tests/test_outcomes.py::test_skipped").duration == 0.0
    assert all(t.setup > 0 for t in trace.tests)  # every test has a setup phase, a skipped one too
    assert 0 < trace.peak_mb < 4096  # the traced pytest's peak RSS, in MB


@pytest.mark.verifies("TRACE-1.1")
def test_flat_trace_per_test_coverage_is_real(flat):
    root, _, _, trace = flat
    calc = root / "calc" / "__init__.py"
    f_body = {5, 6}  # the two lines of f's body
    assert lines_of(trace, "tests/test_coverage.py::test_uses_f", calc) == f_body
    assert lines_of(trace, "tests/test_coverage.py::test_uses_g", calc) == {10}
    assert lines_of(trace, "tests/test_outcomes.py::test_crash", calc) == {14}
    assert trace.covering(calc, 10) == ["tests/test_coverage.py::test_uses_g"]
    assert trace.covering(calc, 14) == ["tests/test_outcomes.py::test_crash"]
    # every test has an entry; tests that run no measured code have an empty one
    assert set(trace.lines) == {t.nodeid for t in trace.tests}
    assert trace.lines["tests/test_markers.py::test_decorated"] == {}
    # test files are not measured, only the project's code
    assert all(set(files) <= {str(calc.resolve())} for files in trace.lines.values())


@pytest.mark.verifies("TRACE-1.3")
def test_flat_trace_leaves_the_tree_byte_identical_except_state_dir(flat):
    root, before, after, _ = flat
    assert after == before
    assert sorted(p.name for p in (root / ".testplan" / "trace").iterdir()) == [
        "coverage.sqlite",
        "coveragerc",
        "progress.log",
        "pytest.log",
        "records.json",
    ]


def test_maxfail_run_is_incomplete(tmp_path):
    root = copy_project(FIXTURES / "trace_flat", tmp_path / "calc-project")
    trace = run_trace(load_config(root), extra_args=["tests/test_outcomes.py", "--maxfail=1"], env=FAST)
    assert trace.complete is False
    assert [t.nodeid for t in trace.tests if "test_outcomes" in t.nodeid] == ["tests/test_outcomes.py::test_assert_fails"]


# --- layouts ----------------------------------------------------------------------------------


def test_src_layout_project(tmp_path):
    root = copy_project(FIXTURES / "trace_src", tmp_path / "shapes")
    before = tree_digest(root)
    trace = run_trace(load_config(root), env=FAST)
    assert tree_digest(root) == before
    area = root / "src" / "shapes" / "area.py"
    assert [(t.nodeid, t.links, t.outcome) for t in trace.tests] == [
        ("tests/test_area.py::test_square", ["SHAPE-1.1"], "passed"),
        ("tests/test_area.py::test_negative_side", ["SHAPE-1.2"], "passed"),
        ("tests/test_area.py::test_circle", [], "passed"),
    ]
    assert lines_of(trace, "tests/test_area.py::test_square", area) == {2, 4}
    assert lines_of(trace, "tests/test_area.py::test_negative_side", area) == {2, 3}
    assert lines_of(trace, "tests/test_area.py::test_circle", area) == {8}
    negative = trace.test("tests/test_area.py::test_negative_side")
    assert (negative.assertions, negative.flags) == (1, ["raises-without-match"])
    circle = trace.test("tests/test_area.py::test_circle")
    assert (circle.assertions, circle.flags) == (1, [])  # assert ... == pytest.approx(...) counts once


def _wheel(package_dir: Path, out: Path) -> Path:
    """A minimal pure-Python wheel of ``package_dir`` (no build backend, no network)."""
    name = package_dir.name
    dist_info = f"{name}-0.1.0.dist-info"
    files = {f"{name}/{p.name}": p.read_bytes() for p in sorted(package_dir.glob("*.py"))}
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n".encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: testplan-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = out / f"{name}-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


@pytest.fixture(scope="module")
def installed_tinyinst(tmp_path_factory) -> Path:
    """tinyinst installed with pip into a private target directory (put on PYTHONPATH)."""
    base = tmp_path_factory.mktemp("tinyinst")
    wheel = _wheel(FIXTURES / "trace_installed" / "tinyinst", base)
    site = base / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--disable-pip-version-check", "--target", str(site), str(wheel)],
        check=True,
    )
    return site


def test_tests_importing_an_installed_package_are_measured_by_package_name(tmp_path, installed_tinyinst):
    root = copy_project(FIXTURES / "trace_installed" / "project", tmp_path / "uses-tinyinst")
    before = tree_digest(root)
    trace = run_trace(load_config(root), env={**FAST, "PYTHONPATH": str(installed_tinyinst)})
    assert tree_digest(root) == before
    module = installed_tinyinst / "tinyinst" / "__init__.py"
    assert [(t.nodeid, t.links, t.outcome) for t in trace.tests] == [
        ("tests/test_tiny.py::test_triple", ["TINY-1.1"], "passed"),
        ("tests/test_tiny.py::test_negate", [], "passed"),
    ]
    # measured because requirements.yaml names tinyinst in a code: ref
    assert trace.lines["tests/test_tiny.py::test_triple"] == {str(module.resolve()): {2, 3}}
    assert trace.lines["tests/test_tiny.py::test_negate"] == {str(module.resolve()): {7}}


def test_installed_package_not_named_anywhere_is_not_measured(tmp_path, installed_tinyinst):
    root = copy_project(FIXTURES / "trace_installed" / "project", tmp_path / "uses-tinyinst")
    trace = run_trace(load_config(root), env={**FAST, "PYTHONPATH": str(installed_tinyinst)}, packages=[])
    assert trace.lines == {"tests/test_tiny.py::test_triple": {}, "tests/test_tiny.py::test_negate": {}}


# --- the bundled example ------------------------------------------------------------------------


def test_pet_insurance_example(tmp_path):
    root = copy_project(EXAMPLE, tmp_path / "pet-insurance")
    before = tree_digest(root)
    trace = run_trace(load_config(root))
    assert tree_digest(root) == before
    assert trace.complete is True
    known = ["tests/test_card_brands.py::test_visa", "tests/test_payments.py::test_authorize_then_capture", "tests/test_policy.py::test_issue_policy_for_dog"]
    assert [trace.test(nodeid).outcome for nodeid in known] == ["passed", "passed", "passed"]
    assert trace.test("tests/test_card_brands.py::test_visa").links == ["CARD-2.1", "CARD-2"]
    assert trace.test("tests/test_card_brands.py::test_amex[378282246310005]").links == ["CARD-2.2", "CARD-2"]
    assert trace.test("tests/test_payments.py::test_authorize_then_capture").links == ["PAY-2.1"]
    assert trace.test("tests/test_policy.py::test_age_limits_bad[21]").links == ["POL-1.4"]
    dog = trace.test("tests/test_policy.py::test_issue_policy_for_dog")
    assert (dog.links, dog.assertions, dog.flags) == (["POL-1.1"], 0, ["no-assertion"])
    capture = trace.test("tests/test_payments.py::test_authorize_then_capture")
    assert (capture.assertions, capture.flags) == (5, [])
    # the captured_payment fixture runs Payment.capture in the test's setup: it is the test's coverage
    payments = root / "src" / "petinsure" / "payments.py"
    assert lines_of(trace, "tests/test_payments.py::test_refunded_payment_is_final", payments)
    cards = root / "src" / "petinsure" / "cards.py"
    assert not lines_of(trace, "tests/test_payments.py::test_authorize_then_capture", cards)


# --- broken suites ------------------------------------------------------------------------------


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "broken"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _baseline_error(tmp_path: Path, files: dict[str, str], env: dict[str, str] | None = None) -> str:
    root = _project(tmp_path, files)
    before = tree_digest(root)
    with pytest.raises(BaselineError) as caught:
        run_trace(load_config(root), env=FAST if env is None else env)
    assert tree_digest(root) == before
    message = str(caught.value)
    assert "\n" not in message
    return message


OK_TEST = "def test_ok():\n    assert True\n"


def test_syntax_error_in_a_test_file(tmp_path):
    message = _baseline_error(tmp_path, {"tests/test_ok.py": OK_TEST, "tests/test_x.py": "def test_ok():\n    assert True\n\ndef test_x(:\n    pass\n"})
    assert message == "tests could not be collected: tests/test_x.py:4: SyntaxError: invalid syntax; fix the test file"


def test_missing_dependency(tmp_path):
    message = _baseline_error(tmp_path, {"tests/test_x.py": "import nonexistent_dep_xyz\n\n" + OK_TEST})
    assert message == (
        "tests could not be collected: tests/test_x.py:1: ModuleNotFoundError: No module named 'nonexistent_dep_xyz'; "
        "install the missing dependency or fix the import"
    )


def test_missing_dependency_in_conftest(tmp_path):
    message = _baseline_error(tmp_path, {"tests/conftest.py": "import nonexistent_dep_xyz\n", "tests/test_x.py": OK_TEST})
    assert message == (
        "tests could not be collected: tests/conftest.py:1: ModuleNotFoundError: No module named 'nonexistent_dep_xyz'; "
        "install the missing dependency or fix the import"
    )


BROKEN_CONFTEST = "import pytest\n\n\n@pytest.fixture\ndef fixture(:\n    pass\n"  # line 5 does not parse


@pytest.mark.parametrize("conftest", ["conftest.py", "tests/conftest.py"])
def test_syntax_error_in_a_conftest_names_the_users_file_and_the_error(tmp_path, conftest):
    """pytest reports it from inside Python's ast.py; the message names the conftest's line."""
    message = _baseline_error(tmp_path, {conftest: BROKEN_CONFTEST, "tests/test_x.py": OK_TEST})
    assert message == f"tests could not be collected: {conftest}:5: SyntaxError: invalid syntax; fix the conftest"


def test_syntax_error_in_a_module_a_conftest_imports(tmp_path):
    message = _baseline_error(tmp_path, {
        "conftest.py": "import pytest\n\nimport helpers\n",
        "helpers.py": "X = 1\n\ndef broken(:\n    pass\n",
        "tests/test_x.py": OK_TEST,
    })
    assert message == "tests could not be collected: helpers.py:3: SyntaxError: invalid syntax; fix the syntax error"


def test_exception_raised_while_loading_a_conftest_names_the_deepest_project_frame(tmp_path):
    message = _baseline_error(tmp_path, {
        "tests/conftest.py": "import json\n\nimport settings\n\nSETTINGS = settings.load()\n",
        "settings.py": "import json\n\n\ndef load():\n    return json.loads('{bad json')\n",
        "tests/test_x.py": OK_TEST,
    })
    assert message == (
        "tests could not be collected: settings.py:5: json.decoder.JSONDecodeError: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1); fix the conftest"
    )


def test_two_collection_errors_name_the_first(tmp_path):
    message = _baseline_error(tmp_path, {"tests/test_a.py": "raise RuntimeError('boom at import')\n", "tests/test_b.py": "import nonexistent_dep_xyz\n"})
    assert message == "tests could not be collected: tests/test_a.py:1: RuntimeError: boom at import (and 1 more); fix the test module"


def test_no_tests_collected(tmp_path):
    message = _baseline_error(tmp_path, {"tests/test_x.py": "X = 1\n"})
    assert message == (
        "no tests were collected from tests (pytest exit code 5); "
        "check [tool.testplan] tests and pytest_args and the project's pytest configuration"
    )


def test_pytest_usage_error(tmp_path):
    message = _baseline_error(tmp_path, {"tests/test_x.py": OK_TEST, "pyproject.toml": "[tool.testplan]\npytest_args = ['--bogus-flag']\n"})
    assert message == "pytest usage error: unrecognized arguments: --bogus-flag; check [tool.testplan] tests and pytest_args"


def test_the_testplan_plugin_disabled_in_addopts(tmp_path):
    """Only with plugin autoloading (the way users run): -p no:testplan blocks the entry point."""
    message = _baseline_error(tmp_path, {
        "tests/test_x.py": OK_TEST,
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p no:testplan"\n',
    }, env={})
    root = (tmp_path / "broken").resolve()
    assert message == (
        f"pytest usage error: unrecognized arguments: --testplan-record={root}/.testplan/trace/records.json "
        "--testplan-contexts; testplan's pytest plugin is disabled (-p no:testplan in the project's pytest "
        "configuration or PYTEST_ADDOPTS): the audit needs it, remove -p no:testplan"
    )


@pytest.mark.parametrize(("pyproject", "where"), [
    ('[tool.pytest.ini_options]\naddopts = "-p pytest_nonexistent"\n', "the project's pytest configuration (addopts)"),
    ("[tool.testplan]\npytest_args = ['-p', 'pytest_nonexistent']\n", "[tool.testplan] pytest_args"),
], ids=["addopts", "pytest_args"])
def test_a_missing_plugin_names_where_it_was_asked_for(tmp_path, pyproject, where):
    message = _baseline_error(tmp_path, {"tests/test_x.py": OK_TEST, "pyproject.toml": pyproject})
    assert message == (
        "pytest usage error: Error importing plugin \"pytest_nonexistent\": No module named 'pytest_nonexistent'; "
        f"the pytest plugin pytest_nonexistent is not installed: install it, or remove -p pytest_nonexistent from {where}"
    )


@pytest.mark.parametrize(("addopts", "hint"), [
    ("--timeout=5", "--timeout needs pytest-timeout, which is not installed: install it, or remove --timeout=5 "
                    "from the project's pytest configuration (addopts)"),
    ("--frobnicate", "no installed plugin provides --frobnicate: install the one that does, or remove --frobnicate "
                     "from the project's pytest configuration (addopts)"),
])
def test_an_option_of_a_plugin_that_is_not_installed(tmp_path, addopts, hint):
    message = _baseline_error(tmp_path, {
        "tests/test_x.py": OK_TEST,
        "pyproject.toml": f'[tool.pytest.ini_options]\naddopts = "{addopts}"\n',
    })
    assert message == f"pytest usage error: unrecognized arguments: {addopts}; {hint}"


def test_missing_test_directory(tmp_path):
    message = _baseline_error(tmp_path, {"other/test_x.py": OK_TEST})
    assert message == "pytest usage error: file or directory not found: tests; check [tool.testplan] tests and pytest_args"


def test_failing_tests_are_data_not_an_error(tmp_path):
    root = _project(tmp_path, {"tests/test_x.py": "def test_bad():\n    assert 1 == 2\n"})
    trace = run_trace(load_config(root), env=FAST)
    assert [(t.outcome, t.failure_class, t.line) for t in trace.tests] == [("failed", "assert", 1)]
    assert trace.complete is True


# --- the links table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "nodeid", "expected"),
    [
        ("tests/test_version.py::test_parse*", "tests/test_version.py::test_parse_ok", True),
        ("tests/test_version.py::test_parse*", "tests/test_version.py::test_parse_ok[1.2.3]", True),
        ("tests/test_version.py::test_parse*", "tests/test_version.py::test_compare", False),
        ("tests/test_version.py::test_parse", "tests/test_version.py::test_parse[x-1]", True),  # all its params
        ("tests/test_version.py::test_parse[x-1]", "tests/test_version.py::test_parse[x-1]", True),  # exact, despite []
        ("tests/test_version.py::test_parse[x-1]", "tests/test_version.py::test_parse[x-2]", False),
        ("tests/test_version.py", "tests/test_version.py::TestA::test_b", True),  # a file
        ("tests/unit", "tests/unit/test_a.py::test_b", True),  # a directory
        ("tests/unit", "tests/unit_other/test_a.py::test_b", False),
        ("*::test_b", "tests/unit/test_a.py::test_b", True),
        ("tests/test_version.py::Test_Parse*", "tests/test_version.py::test_parse_ok", False),  # case-sensitive
        ("", "tests/test_a.py::test_b", False),
    ],
)
def test_links_table_patterns(pattern, nodeid, expected):
    assert matches(pattern, nodeid) is expected


def test_links_table_and_markers_combine_markers_first_deduplicated():
    table = {"tests/test_a.py::*": ["A-1", "A-1.2"], "tests/test_a.py::test_b": ["B-1", "A-1"]}
    assert table_links("tests/test_a.py::test_b", table) == ["A-1", "A-1.2", "B-1"]
    assert combine(["A-1.2", "C-1"], "tests/test_a.py::test_b", table) == ["A-1.2", "C-1", "A-1", "B-1"]
    assert combine([], "tests/test_z.py::test_b", table) == []


def test_links_table_patterns_know_their_pyproject_lines(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.testplan]\ntests = ["tests"]\n\n[tool.testplan.links]\n# legacy suite\n'
        '"tests/test_a.py::*" = ["A-1"]\n\'tests/b\' = ["B-1"]\nplain = ["C-1"]\n')
    config = load_config(tmp_path)
    assert [(pattern, config.link_line(pattern)) for pattern in config.links] == [
        ("tests/test_a.py::*", 6), ("tests/b", 7), ("plain", 8)]
    assert config.link_line("not in the table") == 0
    assert load_config(tmp_path, {"links": {"x": ["A-1"]}}).link_line("x") == 0  # from a flag, not the file


def test_the_gate_fails_on_dangling_links_unless_configured_otherwise(tmp_path):
    assert load_config(tmp_path).fail_on == ["dangling", "failing"]
    (tmp_path / "pyproject.toml").write_text("[tool.testplan]\nfail_on = []\n")
    assert load_config(tmp_path).fail_on == []
    (tmp_path / "pyproject.toml").write_text('[tool.testplan]\nfail_on = ["orphan"]\n')
    assert load_config(tmp_path).fail_on == ["orphan"]


@pytest.mark.parametrize(("toml", "message"), [
    ('[tool.testplan]\ntests = ["tests"]\n\n[tool.testplan.links]\n"tests/test_a.py" = ["A-1"]\n"tests/test_policy.py" = "POL-1"\n',
     'pyproject.toml:6: [tool.testplan] links.tests/test_policy.py: Input should be a valid list; write a list: "tests/test_policy.py" = ["POL-1"]'),
    ('[tool.testplan]\nplans = "plans"\ntests = "tests"\n',
     'pyproject.toml:3: [tool.testplan] tests: Input should be a valid list; write a list: tests = ["tests"]'),
    ('[tool.testplan]\nlinks = "tests"\n',
     "pyproject.toml:2: [tool.testplan] links: Input should be a valid dictionary; write a table: [tool.testplan.links]"),
    ('[tool.testplan]\ntests = ["tests"]\n\n[tool.testplan.mutation]\nalso_copy = []\njobs = 0\n',
     "pyproject.toml:6: [tool.testplan] mutation.jobs: Input should be greater than or equal to 1; fix the value"),
    ('[tool.testplan]\nfail_on = ["dangling", "flaky"]\n',
     "pyproject.toml:2: [tool.testplan] fail_on.1: Input should be 'suspect', 'unreviewed', 'uncovered', 'failing', "
     "'weak', 'unjudged', 'dangling' or 'orphan'; use one of the values listed"),
    ('[tool.testplan]\ntests = ["tests"]\n\n[tool.testplan.llm]\nmodel = "m"\ntemperature = 0\n',
     "pyproject.toml:6: [tool.testplan] unknown key 'llm.temperature' (allowed: model, base_url, timeout, max_retries, seed); remove or rename it"),
])
def test_config_errors_point_at_the_key_and_say_how_to_fix_it(tmp_path, toml, message):
    (tmp_path / "pyproject.toml").write_text(toml)
    with pytest.raises(InputError, match=r"^pyproject\.toml:\d+: \[tool\.testplan\] ") as caught:
        load_config(tmp_path)
    assert str(caught.value) == message


def test_a_projects_cov_addopts_do_not_replace_the_per_test_contexts(tmp_path):
    """python-semver says --cov=semver in its addopts: pytest-cov used to start a Coverage of
    its own over testplan's and every test came back with no lines. The tracer passes --no-cov."""
    root = _project(tmp_path, {
        "src/calc.py": "def double(x):\n    return 2 * x\n",
        "tests/test_calc.py": "from calc import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\naddopts = "--cov=calc"\n',
    })
    trace = run_trace(load_config(root), packages=["calc"])
    assert trace.lines["tests/test_calc.py::test_double"] == {str((root / "src" / "calc.py").resolve()): {2}}


def test_a_projects_xdist_addopts_do_not_scatter_the_trace(tmp_path):
    """addopts = "-n 2" (pytest-xdist) would run the tests in worker processes, out of reach of
    the trace's coverage; the tracer appends -n 0."""
    pytest.importorskip("xdist")
    root = _project(tmp_path, {
        "src/calc.py": "def double(x):\n    return 2 * x\n\n\ndef half(x):\n    return x / 2\n",
        "tests/test_calc.py": ("from calc import double, half\n\n\ndef test_double():\n    assert double(2) == 4\n\n\n"
                               "def test_half():\n    assert half(2) == 1\n"),
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\naddopts = "-n 2"\n',
    })
    trace = run_trace(load_config(root), packages=["calc"])
    calc = str((root / "src" / "calc.py").resolve())
    assert [(t.nodeid, t.outcome) for t in trace.tests] == [("tests/test_calc.py::test_double", "passed"),
                                                             ("tests/test_calc.py::test_half", "passed")]
    assert trace.lines == {"tests/test_calc.py::test_double": {calc: {2}}, "tests/test_calc.py::test_half": {calc: {6}}}


SHARED_FIXTURES = {
    "src/store.py": (
        "def engine():\n"                  # 1
        "    return {'open': True}\n"      # 2
        "\n"
        "\n"
        "def connect(eng):\n"              # 5
        "    return dict(eng, db=1)\n"     # 6
        "\n"
        "\n"
        "def make_table(name):\n"          # 9
        "    if name == 'a':\n"            # 10
        "        return ['a']\n"           # 11
        "    return ['b']\n"               # 12
        "\n"
        "\n"
        "def ping(db):\n"                  # 15
        "    return db['db']\n"            # 16
    ),
    "tests/conftest.py": (
        "import pytest\n\nimport store\n\n\n"
        "@pytest.fixture(scope='session')\ndef eng():\n    return store.engine()\n\n\n"
        "@pytest.fixture(scope='session')\ndef db(eng):\n    yield store.connect(eng)\n"
    ),
    "tests/test_a.py": (
        "import pytest\n\nimport store\n\n\n"
        "@pytest.fixture(scope='module')\ndef table():\n    return store.make_table('a')\n\n\n"
        "def test_a_plain():\n    assert store.ping({'db': 1}) == 1\n\n\n"
        "def test_a_db(db):\n    assert db['db'] == 1\n\n\n"
        "def test_a_table(db, table):\n    assert table == ['a']\n"
    ),
    "tests/test_b.py": (
        "import pytest\n\nimport store\n\n\n"
        "@pytest.fixture(scope='module')\ndef table():\n    return store.make_table('b')\n\n\n"
        "def test_b_table(table):\n    assert table == ['b']\n"
    ),
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
}


@pytest.mark.verifies("TRACE-1.4")
def test_code_run_by_a_shared_fixture_counts_for_every_test_that_uses_it(tmp_path):
    """A session fixture runs once, in the first test that needs it, but a mutant in its code
    changes what every test using it sees; a module fixture set up again per module is
    credited per module."""
    root = _project(tmp_path, SHARED_FIXTURES)
    trace = run_trace(load_config(root), packages=["store"])
    store = str((root / "src" / "store.py").resolve())
    lines = {nodeid.split("::")[1]: trace.lines[nodeid].get(store, set()) for nodeid in trace.lines}
    assert lines == {
        "test_a_plain": {16},
        "test_a_db": {2, 6},            # engine() via db's dependency eng, connect() via db
        "test_a_table": {2, 6, 10, 11},  # and test_a.py's own table
        "test_b_table": {10, 12},        # test_b.py's table, set up again: not test_a.py's lines
    }
    assert [t.outcome for t in trace.tests] == ["passed"] * 4


def test_coverage_stopped_by_something_else_is_an_error_not_a_zero(tmp_path):
    root = _project(tmp_path, {
        "src/calc.py": "def double(x):\n    return 2 * x\n",
        # a tool that takes the tracer away (what pytest-cov's own Coverage did to testplan's)
        "tests/conftest.py": "import sys\n\nimport pytest\n\n\n@pytest.fixture(autouse=True)\ndef _untrace():\n    sys.settrace(None)\n",
        "tests/test_calc.py": "from calc import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
    })
    with pytest.raises(BaselineError, match=r"^1 tests ran but coverage recorded no line of calc for any of them; another coverage tool may be replacing testplan's"):
        run_trace(load_config(root), env=FAST, packages=["calc"])


def test_tests_that_import_an_installed_copy_instead_of_the_project_are_refused(tmp_path, installed_tinyinst):
    """Found by the bench: with the project's src/ off the path, the tests ran site-packages'
    copy; the audit measured and mutated the project's copy and reported all mutants as not
    covered, complete, exit 0."""
    root = copy_project(FIXTURES / "trace_installed" / "project", tmp_path / "uses-tinyinst")
    own = root / "src" / "tinyinst"
    own.mkdir(parents=True)
    for source in installed_tinyinst.joinpath("tinyinst").glob("*.py"):
        shutil.copy(source, own / source.name)
    with pytest.raises(BaselineError, match=(
            rf"^the tests imported tinyinst from {re.escape(str(installed_tinyinst / 'tinyinst'))}, not the project's "
            r"src/tinyinst: testplan would measure and mutate a copy the tests never run; put the project's copy first")):
        run_trace(load_config(root), env={**FAST, "PYTHONPATH": str(installed_tinyinst)}, packages=["tinyinst"])
