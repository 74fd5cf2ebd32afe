"""Mutant generation (mutmut 3.8 as the generator), stable IDs, scope, unmutated code, cache keys,
diff parsing and shard splitting: no test run needed, so these are fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testplan.config import load_config
from testplan.errors import InputError
from testplan.mutate.cache import MutationCache, hash_tests
from testplan.mutate.diff import parse_diff, touches
from testplan.mutate.generate import generate, install_mutmut_config, mutate_source
from testplan.mutate.shard import in_shard, parse_shard
from testplan.review import load_project

FIXTURE = Path(__file__).parent / "fixtures" / "mutate_shop"


@pytest.fixture
def shop(tmp_path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__"))
    return target


def _generate(root: Path):
    config = load_config(root)
    return generate(config, load_project(config).requirements)


def test_trampolined_code_is_exactly_mutmuts(shop):
    from mutmut.mutation.file_mutation import mutate_file_contents

    previous = install_mutmut_config()
    try:
        for rel in ("src/shop/core.py", "src/shop/cart.py"):
            code = (shop / rel).read_text()
            ours = mutate_source(rel, code)
            reference = mutate_file_contents(rel, code)
            assert ours.code == reference.code
            assert [f"{m.key}__mutmut_{m.number}" for m in ours.mutations] == list(reference.mutant_names)
            assert {k: v for k, v in ours.hashes.items() if k in reference.hash_by_function_name} == dict(reference.hash_by_function_name)
    finally:
        import mutmut.configuration

        mutmut.configuration._config = previous


def test_mutants_are_written_to_the_scratch_copy_only(shop):
    before = (shop / "src/shop/core.py").read_text()
    gen = _generate(shop)
    assert gen.scratch == (shop / ".testplan" / "mutants").resolve()
    assert (shop / "src/shop/core.py").read_text() == before
    scratch_code = (gen.scratch / "src/shop/core.py").read_text()
    assert "mutmut_mutated" in scratch_code and "x_countdown__mutmut_6" in scratch_code
    assert (gen.scratch / "conftest.py").is_file() and (gen.scratch / "tests/test_shop.py").is_file()
    assert not (gen.scratch / ".testplan").exists()


def test_every_mutant_has_place_operator_text_and_scope(shop):
    gen = _generate(shop)
    assert len(gen.mutants) == 34
    by_text = {(m.line, m.mutated): m for m in gen.mutants}
    loop = by_text[(31, "n += 1")]
    assert (loop.file, loop.module, loop.qualname, loop.operator, loop.original) == (
        "src/shop/core.py", "shop.core", "countdown", "swap_op", "n -= 1")
    assert loop.name == "shop.core.x_countdown__mutmut_6"
    assert loop.requirements == ["WAIT-1"]
    method = by_text[(11, "self.lines.append(price / qty)")]
    assert (method.qualname, method.name, method.requirements) == ("Cart.add", "shop.cart.xǁCartǁadd__mutmut_2", ["CART-1"])
    signature = by_text[(12, "def shipping(total, parcels=2):")]
    assert signature.operator == "number" and signature.cover_lines is None  # default values: "function entered"
    assert {m.requirements[0] for m in gen.mutants} == {"TAX-1", "SHIP-1", "LBL-1", "WAIT-1", "CART-1"}
    assert len({m.id for m in gen.mutants}) == len(gen.mutants)


def test_original_and_mutated_text_agree_with_mutmuts_diff(shop):
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    gen = _generate(shop)
    for mutant in gen.mutants:
        code = (gen.scratch / mutant.file).read_text()
        diff = get_diff_for_mutant(mutant.name, source=code, path=mutant.file).splitlines()[2:]
        removed = [line[1:].strip() for line in diff if line.startswith("-")]
        added = [line[1:].strip() for line in diff if line.startswith("+")]
        assert "\n".join(removed) == mutant.original, mutant.name
        assert "\n".join(added) == mutant.mutated, mutant.name


def test_mutated_text_of_a_parenthesized_expression_has_its_parentheses_once(shop):
    core = shop / "src" / "shop" / "core.py"
    core.write_text(core.read_text() + "\n\ndef mixed(a, b, c):\n    return (a + 1) * (b - c) + (a or b).real\n")
    test_original_and_mutated_text_agree_with_mutmuts_diff(shop)  # mutmut's own diff is the reference
    texts = {m.mutated for m in _generate(shop).mutants if m.qualname == "mixed"}
    assert {"return (a - 1) * (b - c) + (a or b).real", "return (a + 1) * (b + c) + (a or b).real",
            "return (a + 1) * (b - c) + (a and b).real"} <= texts


def test_unmutated_code_is_reported_per_requirement(shop):
    gen = _generate(shop)
    assert gen.unmutated == {
        "TAX-1": ["shop.core:RATE (module-level code)"],
        "SHIP-1": [],
        "LBL-1": ["shop.core:label (decorated)"],
        "WAIT-1": [],
        "CART-1": [],
    }


def test_ids_survive_edits_elsewhere_in_the_file(shop):
    first = {(m.qualname, m.operator, m.mutated): m.id for m in _generate(shop).mutants}
    core = shop / "src/shop/core.py"
    core.write_text(core.read_text().replace('"""Prices, shipping and labels."""',
                                             '"""Prices, shipping and labels."""\n\n\ndef added(x):\n    return x + 1\n'))
    second = _generate(shop).mutants
    lines = {m.mutated: m.line for m in second if m.qualname == "countdown"}
    assert lines["n += 1"] == 36  # moved down five lines ...
    again = {(m.qualname, m.operator, m.mutated): m.id for m in second if m.qualname != "added"}
    assert again == first  # ... same IDs
    core.write_text(core.read_text().replace("while n > 0:", "while n > 0 and steps < 100:"))
    third = {(m.qualname, m.operator, m.mutated): m.id for m in _generate(shop).mutants if m.qualname == "gross"}
    assert third == {k: v for k, v in first.items() if k[0] == "gross"}


def test_bad_code_ref_is_an_input_error(shop):
    req = shop / "requirements.yaml"
    req.write_text(req.read_text().replace("shop.core:countdown", "shop.core:count_down"))
    with pytest.raises(InputError, match="count_down"):
        _generate(shop)


def test_editing_one_test_changes_only_its_hash(shop):
    ids = ["tests/test_shop.py::test_gross_strong", "tests/test_shop.py::test_countdown",
           "tests/test_shop.py::test_cart_total"]
    before = hash_tests(shop, ids)
    test_file = shop / "tests/test_shop.py"
    test_file.write_text(test_file.read_text().replace("assert countdown(3) == 3", "assert countdown(4) == 4"))
    after = hash_tests(shop, ids)
    assert [before[i] == after[i] for i in ids] == [True, False, True]
    test_file.write_text(test_file.read_text() + "\n# a comment changes nothing\n")
    assert hash_tests(shop, ids) == after
    (shop / "tests" / "conftest.py").write_text("import pytest\n")
    assert all(hash_tests(shop, ids)[i] != after[i] for i in ids)  # a conftest may change any test


def test_cache_reuse_needs_same_function_tests_and_tool(tmp_path):
    class M:
        id, function_hash, operator = "abc", "f1", "number"

    path = tmp_path / "mutation.json"
    cache = MutationCache(path, "tool 1")
    cache.put(M, {"t::a": "h1"}, {"t::a": "assert"}, "full")
    cache.save({"abc"})
    assert MutationCache(path, "tool 1").get(M, {"t::a": "h1"}, "full") == {"t::a": "assert"}
    assert MutationCache(path, "tool 1").get(M, {"t::a": "h1"}, "decisive") == {"t::a": "assert"}
    assert MutationCache(path, "tool 1").get(M, {"t::a": "h1"}, "fast") == {"t::a": "assert"}
    assert MutationCache(path, "tool 1").get(M, {"t::a": "h2"}, "full") is None
    assert MutationCache(path, "tool 1").get(M, {"t::a": "h1", "t::b": "h3"}, "full") is None
    assert MutationCache(path, "tool 2").get(M, {"t::a": "h1"}, "full") is None
    M.function_hash = "f2"
    assert MutationCache(path, "tool 1").get(M, {"t::a": "h1"}, "full") is None


@pytest.mark.parametrize("written, served", [("decisive", ["decisive", "fast"]), ("fast", ["fast"])])
def test_an_entry_serves_only_runs_it_is_as_complete_as(tmp_path, written, served):
    class M:
        id, function_hash, operator = "abc", "f1", "number"

    path = tmp_path / "mutation.json"
    cache = MutationCache(path, "tool 1")
    cache.put(M, {"t::a": "h1", "t::b": "h2"}, {"t::a": "assert"}, written)
    cache.save({"abc"})
    again = MutationCache(path, "tool 1")
    assert {mode: again.get(M, {"t::a": "h1", "t::b": "h2"}, mode) for mode in ("decisive", "fast", "full")} == {
        "decisive": None, "fast": None, "full": None, **{mode: {"t::a": "assert"} for mode in served}}


def test_diff_hunks_give_added_and_modified_lines():
    text = """diff --git a/src/a.py b/src/a.py
--- a/src/a.py
+++ b/src/a.py
@@ -3 +3 @@ def f():
-    return 1
+    return 2
@@ -10,0 +11,2 @@ def g():
+    x = 1
+    y = 2
@@ -20,3 +21,0 @@
-gone
-gone
-gone
diff --git a/src/b.py b/src/b.py
deleted file mode 100644
--- a/src/b.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
"""
    assert parse_diff(text) == {"src/a.py": {3, 11, 12}}
    assert touches({3}, 2, 3) and not touches({3}, 4, 9) and touches(None, 1, 1)


def test_shards_split_ids_deterministically_and_disjointly():
    ids = [f"{n:04x}" for n in range(50)]
    parts = [in_shard(list(reversed(ids)), (k, 3)) for k in (1, 2, 3)]
    assert set().union(*parts) == set(ids) and sum(map(len, parts)) == 50
    assert parts[0] == in_shard(ids, (1, 3))
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


def test_module_and_empty_refs_are_reported_too(shop):
    (shop / "src" / "shop" / "model.py").write_text("class Box:\n    size: int\n")
    req = shop / "requirements.yaml"
    req.write_text(req.read_text() + """
  - id: ALL-1
    title: The whole core module
    statement: Everything in core, and the Box type.
    code: [shop.core, shop.model:Box]
""")
    gen = _generate(shop)
    assert gen.unmutated["ALL-1"] == ["shop.core:label (decorated)", "shop.core (module-level code)",
                                      "shop.model:Box (nothing to mutate)"]
    assert sum("ALL-1" in m.requirements for m in gen.mutants) == 28


def test_also_copy_brings_ignored_paths_into_the_scratch_copy(shop):
    (shop / "venv").mkdir()
    (shop / "venv" / "data.txt").write_text("needed by a test\n")
    config = load_config(shop, {"mutation": {"also_copy": ["venv/data.txt"]}})
    gen = generate(config, load_project(config).requirements)
    assert (gen.scratch / "venv" / "data.txt").read_text() == "needed by a test\n"
    config = load_config(shop, {"mutation": {"also_copy": ["nope"]}})
    with pytest.raises(InputError, match="also_copy: 'nope'"):
        generate(config, load_project(config).requirements)


def test_explain_shows_a_mutant_by_id_prefix_without_touching_anything(shop):
    from testplan.mutate import explain

    config = load_config(shop)
    requirements = load_project(config).requirements
    loop = next(m for m in generate(config, requirements, write=False).mutants if m.mutated == "n += 1")
    assert not (shop / ".testplan").exists()  # write=False copies nothing
    info = explain(config, requirements, loop.id[:6])
    assert (info["id"], info["file"], info["line"], info["qualname"]) == (loop.id, "src/shop/core.py", 31, "countdown")
    assert "-        n -= 1\n+        n += 1" in info["diff"]
    with pytest.raises(InputError, match="matches no mutant"):
        explain(config, requirements, "ffffffffffff")


def test_code_resolved_outside_the_project_is_reported_not_mutated(shop):
    req = shop / "requirements.yaml"
    req.write_text(req.read_text() + """
  - id: EXT-1
    title: An installed module
    statement: Code that lives in site-packages, not in the project.
    code: [pytest]
""")
    gen = _generate(shop)
    # a package ref covers every module of it: pytest/__init__.py and pytest/__main__.py
    assert [u.split(" (")[0] for u in gen.unmutated["EXT-1"]] == ["pytest", "pytest.__main__"]
    assert all(" (outside the project, at " in u for u in gen.unmutated["EXT-1"])
    assert not any("EXT-1" in m.requirements for m in gen.mutants) and len(gen.mutants) == 34


@pytest.mark.verifies("MUT-1")
def test_a_condition_split_over_lines_is_covered_by_the_tests_that_run_it(tmp_path, cli):
    """Found by the semver bench: Python 3.11 records the lines of the parts of a multi-line
    condition, not the line of its 'if'; its mutants were reported no-coverage though killed."""
    import json

    (tmp_path / "pkg").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(
        'def f(a, b):\n    if not (\n        a == b\n        or a.startswith(b + ".")\n    ):\n        return 1\n    return 2\n')
    (tmp_path / "tests" / "test_f.py").write_text(
        'from pkg import f\n\n\ndef test_f():\n    assert f("x", "x") == 2\n    assert f("x.y", "x") == 2\n    assert f("z", "x") == 1\n')
    (tmp_path / "requirements.yaml").write_text("requirements:\n  - id: PKG-1\n    title: f\n    statement: f\n    code: [pkg:f]\n")
    (tmp_path / "pyproject.toml").write_text('[tool.testplan]\nsource = ["."]\n[tool.testplan.links]\n"*" = ["PKG-1"]\n')
    result = cli("audit", "--jobs", "1", "--json", "-C", tmp_path)
    statuses = [(m["line"], m["status"]) for m in json.loads(result.out)["mutants"]]
    assert statuses == [(2, "killed"), (3, "killed"), (3, "killed"), (4, "killed-by-crash"), (4, "killed"),
                        (4, "killed-by-crash"), (6, "killed"), (7, "killed")]


@pytest.mark.verifies("MUT-1.2")
def test_generation_is_reused_while_the_source_is_unchanged(shop):
    import json

    first = _generate(shop)
    entries = sorted((shop / ".testplan" / "cache" / "generate").iterdir())
    assert sorted(json.loads(e.read_text())["file"] for e in entries) == ["src/shop/cart.py", "src/shop/core.py"]
    again = _generate(shop)
    assert [vars(m) for m in again.mutants] == [vars(m) for m in first.mutants]
    assert again.code == first.code

    # the entry is what the next run uses: a marker put in it reaches the scratch copy
    core = next(e for e in entries if json.loads(e.read_text())["file"] == "src/shop/core.py")
    data = json.loads(core.read_text())
    core.write_text(json.dumps({**data, "code": data["code"] + "# from the cache\n"}))
    assert (_generate(shop).scratch / "src/shop/core.py").read_text().endswith("# from the cache\n")

    # an edit of the source replaces the entry; a broken entry is computed again
    source = shop / "src/shop/core.py"
    source.write_text(source.read_text().replace("return 5 * parcels", "return 6 * parcels"))
    edited = _generate(shop)
    assert "return 6 * parcels" in edited.code["src/shop/core.py"]
    assert "# from the cache" not in (edited.scratch / "src/shop/core.py").read_text()
    core.write_text("{not json")
    assert _generate(shop).code == edited.code
    assert json.loads(core.read_text())["file"] == "src/shop/core.py"


@pytest.mark.verifies("MUT-1")
def test_testplan_builds_every_ast_tree_under_one_lock():
    """CPython 3.11 keeps the AST constructor's recursion depth per interpreter: the audit's main
    thread and the thread generating the mutants building trees at once failed a CI run with
    'SystemError: AST constructor recursion depth mismatch'. So every tree comes from pyast.parse."""
    import threading

    import testplan
    from testplan import pyast

    package = Path(testplan.__file__).parent
    direct = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                    if p.name != "pyast.py" and "ast.parse(" in p.read_text(encoding="utf-8").replace("pyast.parse(", ""))
    assert direct == []
    assert pyast.parse("f(x)", mode="eval").body.func.id == "f"
    with pytest.raises(SyntaxError, match="invalid syntax") as info:
        pyast.parse("x = = 1", filename="bad.py")
    assert info.value.filename == "bad.py"
    # a parse waits while another thread holds the lock (as the generation thread does while parsing)
    held, release, parsed = threading.Event(), threading.Event(), []
    holder = threading.Thread(target=lambda: (pyast.LOCK.acquire(), held.set(), release.wait(30), pyast.LOCK.release()))
    holder.start()
    assert held.wait(30)
    parser = threading.Thread(target=lambda: parsed.append(type(pyast.parse("x = 1")).__name__))
    parser.start()
    parser.join(0.5)
    assert parsed == []  # still waiting: it would have parsed in microseconds
    release.set()
    parser.join(30)
    holder.join(30)
    assert parsed == ["Module"]
