"""bench/validity.py's transform: a test module with every check removed still runs the same code,
and nothing it computes can fail it; an exception the code under test raises still does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def validity():
    spec = importlib.util.spec_from_file_location("validity", BENCH / "validity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("validity", module)
    spec.loader.exec_module(module)
    return module


SAMPLE = '''"""A test module."""
from __future__ import annotations

import unittest
import warnings
from unittest import mock

import pytest
from pytest import raises as r

from calc import div


def test_checks():
    assert div(6, 3) == 3, "six over three"
    with pytest.raises(ZeroDivisionError, match="division") as e:
        div(1, 0)
    assert "division" in str(e.value)
    r(ZeroDivisionError, div, 1, 0)
    pytest.warns(UserWarning, div, 1, 1)
    with pytest.warns(DeprecationWarning, match="old") as record:
        warnings.warn("old", DeprecationWarning)
    assert len(record) == 1 and record.pop(DeprecationWarning) is not None
    m = mock.Mock()
    m(3)
    m.assert_called_once_with(3)
    assert div(1, 1) == pytest.approx(1.0)
    if div(4, 2) != 2:
        pytest.fail("four over two")
        raise AssertionError("unreachable")


class TestCalc(unittest.TestCase):
    def test_methods(self):
        self.assertEqual(div(6, 2), 3, msg="six over two")
        with self.assertRaises(ZeroDivisionError) as caught:
            div(1, 0)
        self.assertIn("division", str(caught.exception))
        self.assertRaises(ZeroDivisionError, div, 1, 0)
        self.fail("always")
'''

STRIPPED_BODY = '''import unittest
import warnings
from unittest import mock
import pytest
from pytest import raises as r
from calc import div

def test_checks():
    div(6, 3) == 3
    with _TpSwallow(ZeroDivisionError, match='division') as e:
        div(1, 0)
    'division' in str(e.value)
    _tp_call_swallow(ZeroDivisionError, div, 1, 0)
    _tp_call_warns(UserWarning, div, 1, 1)
    with _TpWarns(DeprecationWarning, match='old') as record:
        warnings.warn('old', DeprecationWarning)
    len(record) == 1 and record.pop(DeprecationWarning) is not None
    m = mock.Mock()
    m(3)
    _tp_noop(3)
    div(1, 1) == pytest.approx(1.0)
    if div(4, 2) != 2:
        _tp_noop('four over two')
        _tp_noop('unreachable')

class TestCalc(unittest.TestCase):

    def test_methods(self):
        _tp_noop(div(6, 2), 3, msg='six over two')
        with _TpSwallow(ZeroDivisionError) as caught:
            div(1, 0)
        _tp_noop('division', str(caught.exception))
        _tp_call_swallow(ZeroDivisionError, div, 1, 0)
        _tp_noop('always')
'''


def test_strip_source_gives_exactly_this_module(validity):
    stripped, removed = validity.strip_counted(SAMPLE)
    assert stripped.endswith("\n" + STRIPPED_BODY)
    expected = '"""A test module."""\nfrom __future__ import annotations\n' + validity.PRELUDE + STRIPPED_BODY
    assert stripped == validity.ast.unparse(validity.ast.parse(expected)) + "\n"  # the helpers go after __future__
    assert removed == 16  # 4 asserts, 6 raises/warns/assertRaises, 6 fail/assert* calls and raise AssertionError
    assert validity.strip_source(SAMPLE) == stripped


def _run(source: str, tmp_path: Path, div_body: str) -> pytest.RunResult:
    (tmp_path / "calc.py").write_text(f"def div(a, b):\n    {div_body}\n")
    (tmp_path / "test_sample.py").write_text(source)
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:testplan",
                           "-n", "0", "-W", "error", "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
                          cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    return proc.returncode, proc.stdout.strip().splitlines()[-1]


def test_a_wrong_answer_fails_the_original_and_not_the_stripped_suite(validity, tmp_path):
    # a mutant-like wrong div: every check of the original fails, the stripped module passes
    assert _run(SAMPLE, tmp_path, "return a * b")[0] == 1
    code, summary = _run(validity.strip_source(SAMPLE), tmp_path, "return a * b")
    assert (code, summary.split(" in ")[0]) == (0, "2 passed")


def test_a_crash_of_the_code_under_test_still_fails_the_stripped_suite(validity, tmp_path):
    code, summary = _run(validity.strip_source(SAMPLE), tmp_path, "raise RuntimeError('crash')")
    # the pytest.raises blocks swallow it, the first bare call does not: both tests crash there
    assert (code, summary.split(" in ")[0]) == (1, "2 failed")


def test_a_mocks_assertion_error_and_a_readmes_asserts_are_stripped_too(validity):
    stripped, removed = validity.strip_counted(
        "from unittest import mock\n\ndef test_m():\n    with mock.patch('os.getcwd', side_effect=AssertionError('no')):\n        pass\n")
    assert stripped.endswith("def test_m():\n    with mock.patch('os.getcwd', side_effect=RuntimeError('no')):\n        pass\n")
    assert removed == 1
    readme = "# x\n\n```python\nfrom calc import div\nassert div(4, 2) == 2\n```\n\n```python\nnot python (\n```\n"
    assert validity.strip_document(readme) == (
        "# x\n\n```python\nfrom calc import div\ndiv(4, 2) == 2\n```\n\n```python\nnot python (\n```\n", 1)


def test_helper_modules_outside_the_package_are_test_code(validity, tmp_path):
    for name in ("pkg/__init__.py", "tools/check.py", "tests/test_a.py", "setup.py", ".venv/x.py", "a.egg-info/b.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in validity.helper_files(tmp_path)] == [
        "pkg/__init__.py", "tests/test_a.py", "tools/check.py"]
