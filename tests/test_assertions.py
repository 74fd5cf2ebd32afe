"""Static analysis of test bodies: assertion counts and oracle smells."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from testplan.assertions import analyze_source, analyze_test


def analyze(source: str, name: str = "test_it") -> tuple[int, list[str]]:
    analysis = analyze_source(textwrap.dedent(source), name)
    assert analysis is not None
    return analysis.assertions, analysis.flags


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def test_it():\n    f()\n", (0, ["no-assertion"])),
        ("def test_it():\n    assert f() == 1\n    assert g()\n", (2, [])),
        ("def test_it():\n    assert f() == pytest.approx(0.3)\n", (1, [])),  # one construct, not two
        ("def test_it():\n    x = pytest.approx(0.3)\n    assert f() == x\n", (2, [])),
        ("def test_it():\n    with pytest.raises(ValueError, match='bad'):\n        f()\n", (1, [])),
        ("def test_it():\n    with pytest.raises(ValueError):\n        f()\n", (1, ["raises-without-match"])),
        ("def test_it():\n    pytest.raises(ValueError, f, 1)\n", (1, ["raises-without-match"])),  # call form
        ("def test_it():\n    with pytest.raises(ValueError, match=None):\n        f()\n", (1, ["raises-without-match"])),
        # the exception info is read afterwards: the message is checked by hand
        ("def test_it():\n    with pytest.raises(ValueError) as exc:\n        f()\n    assert 'bad' in str(exc.value)\n", (2, [])),
        # bound but never read: still unchecked
        ("def test_it():\n    with pytest.raises(ValueError) as exc:\n        f()\n", (1, ["raises-without-match"])),
        ("from pytest import raises\ndef test_it():\n    with raises(KeyError):\n        f()\n", (1, ["raises-without-match"])),
        ("def test_it():\n    with pytest.warns(UserWarning):\n        f()\n", (1, [])),
        ("def test_it():\n    with pytest.deprecated_call():\n        f()\n", (1, [])),
        ("def test_it():\n    if not f():\n        pytest.fail('no')\n", (1, [])),
        ("def test_it():\n    if not f():\n        raise AssertionError('no')\n", (1, [])),
        ("def test_it(mock):\n    f(mock)\n    mock.assert_called_once_with(1)\n", (1, [])),
        ("def test_it():\n    numpy.testing.assert_allclose(f(), [1.0])\n    assert_frame_equal(a, b)\n", (2, [])),
        ("async def test_it():\n    assert await f()\n", (1, [])),
        ("def test_it():\n    def check(x):\n        assert x\n    check(f())\n", (1, [])),  # nested: in the body
        ("def test_it():\n    check_invoice(f())\n", (0, ["no-assertion"])),  # helpers are not followed
        ("def test_it():\n    assertion = f()\n    asserted(f())\n", (0, ["no-assertion"])),  # names, not assert helpers
        ("def test_it():\n    for x in xs:\n        with pytest.raises(ValueError):\n            f(x)\n", (1, ["raises-without-match"])),
    ],
)
def test_counts_and_flags(source, expected):
    assert analyze(source) == expected


def test_unittest_style_methods():
    source = """
    class TestThing(unittest.TestCase):
        def test_it(self):
            self.assertEqual(f(), 1)
            self.assertTrue(g())
            with self.assertRaises(ValueError):
                h()
            if bad():
                self.fail("bad")
    """
    assert analyze(source) == (4, [])


def test_analyze_test_finds_the_function_by_decorator_or_def_line(tmp_path: Path):
    path = tmp_path / "test_x.py"
    path.write_text(
        "import pytest\n"
        "\n"
        "@pytest.mark.verifies('A-1.1')\n"
        "@pytest.mark.parametrize('x', [1, 2])\n"
        "def test_a(x):\n"
        "    assert x\n"
        "\n"
        "class TestB:\n"
        "    def test_b(self):\n"
        "        pass\n",
        encoding="utf-8",
    )
    by_decorator = analyze_test(path, 3, "test_a")
    assert (by_decorator.line, by_decorator.assertions, by_decorator.flags) == (5, 1, [])
    assert analyze_test(path, 5, "test_a").line == 5
    in_class = analyze_test(path, 9, "test_b")
    assert (in_class.line, in_class.assertions, in_class.flags) == (9, 0, ["no-assertion"])
    assert analyze_test(path, 0, "test_b").line == 9  # unknown line: the only function of that name
    assert analyze_test(path, 42, "test_missing") is None
    assert analyze_test(tmp_path / "nope.py", 1, "test_a") is None


def test_unparsable_file_gives_no_analysis(tmp_path: Path):
    path = tmp_path / "test_bad.py"
    path.write_text("def test_a(:\n", encoding="utf-8")
    assert analyze_test(path, 1, "test_a") is None
