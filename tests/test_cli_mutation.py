"""The mutation side of the CLI on a real fixture project (tests/fixtures/mutate_shop):
``audit --shard`` + ``merge``, ``explain``, progress lines, and the fail-closed exits."""

from __future__ import annotations

import re

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tp_helpers import read_audit

FIXTURE = Path(__file__).parent / "fixtures" / "mutate_shop"


def copy(tmp_path: Path, name: str) -> Path:
    """A separate copy per run, as on separate CI machines (no shared cache)."""
    target = tmp_path / name
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns(".testplan", "__pycache__"))
    return target


def verdicts(audit: dict) -> dict[str, tuple]:
    return {m["id"]: (m["status"], m["verdicts"], m["requirements"]) for m in audit["mutants"]}


def load(path: Path) -> dict:
    return read_audit(path)


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, dict]:
    from testplan.cli import main

    root = copy(tmp_path_factory.mktemp("full"), "shop")
    assert main(["audit", "-C", str(root), "--jobs", "2"]) in (0, 1)
    return root, load(root / ".testplan" / "audit.json")


@pytest.mark.slow
def test_three_shards_merged_equal_the_unsharded_audit(full, tmp_path, cli):
    _, unsharded = full
    shard_files = []
    for k in (1, 2, 3):
        root = copy(tmp_path, f"shard{k}")
        result = cli("audit", "-C", root, "--shard", f"{k}/3", "--out", tmp_path / f"out{k}")
        assert result.code in (0, 1), result.err
        shard = load(tmp_path / f"out{k}" / "audit.json")
        assert shard["shard"] == f"{k}/3"
        shard_files.append(tmp_path / f"out{k}" / "audit.json")
    sizes = [len(load(f)["mutants"]) for f in shard_files]
    assert sum(sizes) == len(unsharded["mutants"]) and min(sizes) > 0

    merged_run = cli("merge", *shard_files, "-C", copy(tmp_path, "merge"), "--out", tmp_path / "merged")
    merged = load(tmp_path / "merged" / "audit.json")
    assert merged["complete"] is True and merged["shard"] is None
    assert verdicts(merged) == verdicts(unsharded)
    assert [m["id"] for m in merged["mutants"]] == [m["id"] for m in unsharded["mutants"]]
    assert merged["score"] == unsharded["score"]
    assert [(r["id"], r["state"], r["oracle_score"], r["mutation_score"], r["score"]) for r in merged["requirements"]] == \
           [(r["id"], r["state"], r["oracle_score"], r["mutation_score"], r["score"]) for r in unsharded["requirements"]]
    assert merged_run.code == (0 if unsharded["gate"]["passed"] else 1)
    # the figures are the whole run's, not the first shard's
    stats, whole = merged["mutation_stats"], unsharded["mutation_stats"]
    assert {k: v for k, v in stats.items() if k.startswith("statuses.") or k in ("mutants", "cells", "executed")} == \
           {k: v for k, v in whole.items() if k.startswith("statuses.") or k in ("mutants", "cells", "executed")}
    assert (stats["shards"], merged["mutation_options"]["shard"], merged["mutation_options"]["shards"]) == (3, None, 3)
    assert f"mutation: {len(unsharded['mutants'])} mutants, {int(whole['executed'])} run, 0 from cache" in merged_run.out

    missing = cli("merge", shard_files[0], shard_files[2], "-C", copy(tmp_path, "merge2"), "--out", tmp_path / "partial")
    partial = load(tmp_path / "partial" / "audit.json")
    assert missing.code == 4
    assert (partial["complete"], partial["incomplete_reason"]) == (False, "shard 2/3 missing")
    assert "gate: INCOMPLETE — shard 2/3 missing" in missing.out


def test_merge_refuses_a_result_that_is_not_a_shard(full, tmp_path, cli):
    root, _ = full
    result = cli("merge", root / ".testplan" / "audit.json", "-C", root)
    assert result.code == 2
    assert result.err == f"{root / '.testplan' / 'audit.json'}:1: merge: not a shard result (no 'shard' field); run 'testplan audit --shard k/n'\n"


def test_explain_a_surviving_mutant(full, cli):
    root, audit = full
    mutant = next(m for m in audit["mutants"] if m["mutated"].strip() == "def shipping(total, parcels=2):")
    result = cli("explain", mutant["id"][:8], "-C", root)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"mutant {mutant['id']}  survived  ({mutant['operator']})"
    assert lines[1] == f"src/shop/core.py:{mutant['line']}"
    assert lines[3] == "+ def shipping(total, parcels=2):"
    assert "  pass     tests/test_shop.py::test_shipping_weak" in lines
    assert lines[-1] == ("why: 1 linked test ran the mutated line and passed: no assertion checks what this line "
                         "computes (assert the exact value or message)")


def test_explain_unknown_id(full, cli):
    root, _ = full
    result = cli("explain", "zzzz", "-C", root)
    assert (result.code, result.err) == (2, "testplan: bad-input: explain: mutant ID 'zzzz' matches no mutant of this audit; copy an ID from the audit report (4+ characters)\n")


def test_progress_is_plain_lines_off_a_terminal(full, cli):
    root, audit = full
    result = cli("audit", "-C", root)  # a re-run: verdicts come from the cache
    last = [line for line in result.err.splitlines() if line.startswith("testplan: mutants ")][-1]
    total = len(audit["mutants"])
    assert last.startswith(f"testplan: mutants {total}/{total} (")
    assert f"mutation: {len(audit['mutants'])} mutants, 0 run, " in result.out


@pytest.mark.parametrize("flags", [["--fast"], ["--matrix", "full"]])
def test_mutation_flags_conflict_with_no_mutation(full, cli, flags):
    root, _ = full
    result = cli("audit", "--no-mutation", *flags, "-C", root)
    assert (result.code, result.err) == (2, "testplan: bad-input: --no-mutation: --fast, --matrix, --all-tests, --diff, --shard, --max-mutants and --min-mutants are mutation options; drop them or drop --no-mutation\n")


@pytest.mark.parametrize("args, message", [
    (["--max-mutants", "0"], "--max-mutants 0: must be at least 1"),
    (["--max-mutants", "3", "--shard", "1/2"],
     "--max-mutants and --shard do not combine (merged shards must equal one unsharded run); drop one"),
])
def test_bad_max_mutants_is_a_usage_error_before_any_test_runs(tmp_path, cli, args, message):
    root = copy(tmp_path, "shop")
    result = cli("audit", *args, "-C", root)
    assert (result.code, result.err) == (2, f"testplan: bad-input: {message}\n")
    assert not (root / ".testplan").exists()


def _strata(audit: dict) -> dict[str, list[str]]:
    """Stratum (requirements/covered|uncovered) -> mutant IDs, from a full audit."""
    out: dict[str, list[str]] = {}
    for m in audit["mutants"]:
        key = f"{'+'.join(sorted(m['requirements']))}/{'covered' if m['status'] != 'no-coverage' else 'uncovered'}"
        out.setdefault(key, []).append(m["id"])
    return {k: sorted(v) for k, v in sorted(out.items())}


@pytest.mark.verifies("MUT-1.4")
def test_max_mutants_judges_exactly_n_stratified_by_requirement_and_coverage_and_says_so(full, cli, tmp_path):
    root, unsharded = full
    result = cli("audit", "-C", root, "--max-mutants", "5", "--out", tmp_path / "sample")
    sample = load(tmp_path / "sample" / "audit.json")
    strata = _strata(unsharded)
    assert {k: len(v) for k, v in strata.items()} == {
        "CART-1/covered": 6, "LBL-1/covered": 8, "SHIP-1/covered": 5, "SHIP-1/uncovered": 1, "TAX-1/covered": 4,
        "WAIT-1/covered": 10}
    # 5 of 34: floor(5 * size / 34) = 1 for WAIT-1 (50/34), 1 for LBL-1 (40/34), 0 for the rest; the 3 left over go
    # to the largest remainders: CART-1 (30/34), SHIP-1/covered (25/34), then TAX-1 (20/34); none to the uncovered (5/34)
    quota = {"WAIT-1/covered": 1, "LBL-1/covered": 1, "CART-1/covered": 1, "SHIP-1/covered": 1, "TAX-1/covered": 1}
    expected = {i for k, q in quota.items() for i in strata[k][:q]}
    assert {m["id"] for m in sample["mutants"]} == expected and len(sample["mutants"]) == 5
    full_verdicts = verdicts(unsharded)
    assert verdicts(sample) == {i: full_verdicts[i] for i in expected}
    stats = sample["mutation_stats"]
    assert (stats["sampled.ran"], stats["sampled.of"]) == (5, 34)
    assert {k: (stats[f"sampled.strata.{k}.ran"], stats[f"sampled.strata.{k}.of"]) for k in strata} == {
        k: (quota.get(k, 0), len(v)) for k, v in strata.items()}
    assert sample["complete"] is True
    assert "mutation: 5 mutants (--max-mutants: a sample of 5 of 34), 0 run, 5 from cache, " in result.out
    assert ("note: --max-mutants 5: O and M count only the mutants this run judged (a sample of 5 of the 34 selected, "
            "in proportion to each requirement's covered and uncovered mutants, the lowest mutant IDs within each); "
            "a requirement with none of them is UNJUDGED (no score)") in result.out
    assert sample["mutation_options"]["max_mutants"] == 5
    assert [(r["id"], r["evidence"], r["mutants"]["total"], r["mutants"]["generated"]) for r in sample["requirements"]] == [
        ("TAX-1", "mutants", 1, 4), ("SHIP-1", "mutants", 1, 6), ("LBL-1", "mutants", 1, 8), ("WAIT-1", "mutants", 1, 10),
        ("CART-1", "mutants", 1, 6)]
    # asking for as many as there are judges them all, and says so in the same terms
    result = cli("audit", "-C", root, "--max-mutants", "34", "--out", tmp_path / "all")
    everything = load(tmp_path / "all" / "audit.json")
    assert len(everything["mutants"]) == 34 and "sampled.ran" not in everything["mutation_stats"]


@pytest.mark.slow
@pytest.mark.verifies("MUT-1.4")
def test_max_mutants_50_on_the_example_judges_exactly_50(example, cli, tmp_path):
    result = cli("audit", "-C", example, "--max-mutants", "50", "--jobs", "2", "--out", tmp_path / "out")
    assert result.code in (0, 1), result.err
    audit = load(tmp_path / "out" / "audit.json")
    stats = audit["mutation_stats"]
    assert len(audit["mutants"]) == 50 and stats["sampled.ran"] == 50 and stats["sampled.of"] > 50
    ran = {k[len("sampled.strata."):-len(".ran")]: v for k, v in stats.items()
           if k.startswith("sampled.strata.") and k.endswith(".ran")}
    assert sum(ran.values()) == 50
    judged = Counter(f"{'+'.join(sorted(m['requirements']))}/{'covered' if m['status'] != 'no-coverage' else 'uncovered'}"
                     for m in audit["mutants"])
    assert {k: v for k, v in ran.items() if v} == dict(judged)
    for k, n in ran.items():  # proportional: within one of size * 50 / population
        assert abs(n - stats[f"sampled.strata.{k}.of"] * 50 / stats["sampled.of"]) < 1


@pytest.mark.verifies("MUT-1.5")
def test_min_mutants_judges_a_sample_when_the_diff_selects_nothing(full, cli, tmp_path):
    import subprocess

    root, unsharded = full
    target = tmp_path / "clone"
    shutil.copytree(root, target, ignore=shutil.ignore_patterns("__pycache__"))  # with the full run's cache
    (target / ".gitignore").write_text(".testplan/\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-C", str(target), *args], check=True, capture_output=True, env=env)
    result = cli("audit", "-C", target, "--diff", "HEAD", "--min-mutants", "4", "--jobs", "2", "--out", tmp_path / "out")
    sample = load(tmp_path / "out" / "audit.json")
    with_tests = sorted(m["id"] for m in unsharded["mutants"] if m["verdicts"])
    assert sorted(m["id"] for m in sample["mutants"]) == with_tests[:4]
    assert all(m["verdicts"] for m in sample["mutants"])
    assert sample["mutation_options"]["min_mutants"] == 4 and sample["mutation_options"]["diff_base"] == "HEAD"
    assert (sample["mutation_stats"]["topped_up.diff"], sample["mutation_stats"]["topped_up.added"]) == (0, 4)
    assert ("mutation: 4 mutants (--min-mutants: the diff selected 0 with tests, topped up with 4 sampled from the "
            "whole scope), 0 run, 4 from cache, ") in result.out
    assert "note: --diff HEAD, --min-mutants 4: O and M count only the mutants this run judged" in result.out


@pytest.mark.parametrize("args, message", [
    (["--min-mutants", "3"], "--min-mutants tops up a --diff selection (without --diff every mutant runs); "
                             "add --diff BASE or drop --min-mutants"),
    (["--min-mutants", "3", "--no-mutation"], "--no-mutation: --fast, --matrix, --all-tests, --diff, --shard, --max-mutants "
                                              "and --min-mutants are mutation options; drop them or drop --no-mutation"),
    (["--matrix", "complete"], "--matrix complete: not a matrix mode; use one of decisive, full"),
    (["--matrix", "full", "--fast"], "--fast and --matrix full contradict each other (--fast stops each mutant at its "
                                     "first kill, the full matrix runs every test); drop one"),
])
def test_bad_min_mutants_or_matrix_is_a_usage_error_before_any_test_runs(tmp_path, cli, args, message):
    root = copy(tmp_path, "shop")
    result = cli("audit", *args, "-C", root)
    assert (result.code, result.err) == (2, f"testplan: bad-input: {message}\n")
    assert not (root / ".testplan").exists()


@pytest.mark.verifies("MUT-1.2")
def test_how_the_mutation_run_was_made_is_recorded_and_all_tests_gives_a_global_score(full, cli, tmp_path):
    root, audit = full
    assert audit["mutation_options"] == {"jobs": 2, "fast": False, "matrix": "decisive", "all_tests": False,
                                         "diff_base": None, "shard": None, "max_mutants": None}
    result = cli("audit", "-C", copy(tmp_path, "all"), "--all-tests", "--fast", "--jobs", "1", "--out", tmp_path / "all-out")
    everything = load(tmp_path / "all-out" / "audit.json")
    assert everything["mutation_options"] == {"jobs": 1, "fast": True, "matrix": "fast", "all_tests": True,
                                              "diff_base": None, "shard": None, "max_mutants": None}
    detected = sum(1 for m in everything["mutants"] if set(m["verdicts"].values()) - {"pass"})
    total = len(everything["mutants"])
    assert everything["mutation_stats"]["mutation_score_all_tests"] == round(detected / total, 4)
    assert (f"mutation score over all tests (--all-tests, linked or not): {100 * detected / total:.1f}% "
            f"({detected} of {total} mutants detected by some test)") in result.out
    assert "mutation score over all tests" not in cli("audit", "-C", root).out


def test_bad_shard_is_a_usage_error(full, cli):
    root, _ = full
    result = cli("audit", "--shard", "4/3", "-C", root)
    assert result.code == 2
    assert result.err.startswith("testplan: bad-input: --shard")


@pytest.mark.verifies("MUT-1.3", "GATE-1.2")
@pytest.mark.slow
def test_ctrl_c_midway_exits_4_with_an_incomplete_result_and_an_untouched_tree(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tp_helpers import tree_digest

    root = copy(tmp_path, "shop")
    before = tree_digest(root)
    proc = subprocess.Popen([sys.executable, "-m", "testplan", "audit", "--jobs", "1", "-C", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("testplan: mutants ") or not line:
            break
    assert line.startswith("testplan: mutants "), line
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    audit = load(root / ".testplan" / "audit.json")
    assert audit["complete"] is False
    assert audit["incomplete_reason"] == "interrupted"
    assert "gate: INCOMPLETE" in out
    assert tree_digest(root) == before
    leftover = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True).stdout.split()
    assert leftover == []


def test_functions_mutmut_skips_are_named_and_import_time_code_is_not(full, cli):
    root, audit = full
    assert {r["id"]: r["unmutated"] for r in audit["requirements"] if r["unmutated"]} == {
        "TAX-1": ["shop.core:RATE (module-level code)"], "LBL-1": ["shop.core:label (decorated)"]}
    out = cli("audit", "-C", root).out
    assert "LBL-1: not mutated: shop.core:label (decorated)\n" in out
    assert "TAX-1: not mutated" not in out


@pytest.mark.verifies("MUT-1.2")
def test_the_estimated_mutation_time_is_printed_before_mutation_starts_and_recorded(cli, tmp_path):
    result = cli("audit", "-C", copy(tmp_path, "shop"), "--fast", "--max-mutants", "3", "--jobs", "2",
                 "--out", tmp_path / "out")
    assert result.code in (0, 1), result.err
    stats = load(tmp_path / "out" / "audit.json")["mutation_stats"]
    assert (stats["estimate.mutants"], stats["estimate.test_runs"], stats["estimate.jobs"]) == (3, 3, 2)
    # 3 mutants: too few to calibrate on, and a lazy baseline: the trace's durations are used, no start-up
    assert (stats["estimate.calibrated_on"], stats["estimate.factor"]) == (0, 1.0)
    assert stats["estimate.seconds"] == pytest.approx(
        stats["estimate.startup"] + (3 * stats["estimate.per_mutant"] + stats["estimate.test_seconds"]) / 2, abs=0.01)
    assert stats["seconds.worker"] > 0  # the actual time, next to the estimate
    lines = result.err.splitlines()
    line = next(t for t in lines if t.startswith("testplan: estimated mutation time"))
    assert re.fullmatch(r"testplan: estimated mutation time at most \d+\.\d s \(an upper bound: --fast stops each mutant "
                        r"at its first kill\): 3 mutants to run, 3 test runs; from the trace \(a lazy baseline\): \d+\.\d s of "
                        r"traced test time x 1 \+ 0 ms a mutant, / 2 at once \(--jobs 2\), \+ 0\.0 s start-up", line), line
    assert stats["estimate.from_trace"] == 1 and stats["baseline_lazy"] == 1  # 3 mutants: no baseline run before them
    # printed before any mutant finished
    assert lines.index(line) < next(i for i, t in enumerate(lines) if re.match(r"testplan: mutants [1-9]", t))
    # the full matrix's figure is the estimate itself; under --json nothing is printed on stderr for it
    from testplan.mutate.lab import estimate_line

    assert estimate_line({"seconds": 12.345, "test_seconds": 24.69, "test_runs": 40, "mutants": 7, "jobs": 2,
                          "upper_bound": False, "per_mutant": 0.05, "factor": 2.5, "calibrated_on": 12,
                          "at_once": 1.8, "startup": 3.04}) == (
        "testplan: estimated mutation time 12.3 s: 7 mutants to run, 40 test runs; calibrated on the first 12 "
        "mutants: 24.7 s of baseline test time x 2.5 + 50 ms a mutant, / 1.8 at once (--jobs 2), + 3.0 s start-up")
    assert estimate_line({"seconds": 4.0, "test_seconds": 6.0, "test_runs": 9, "mutants": 3, "jobs": 2, "upper_bound": True,
                          "matrix": "fast", "per_mutant": 0.0, "factor": 1.0, "calibrated_on": 0, "at_once": 2,
                          "startup": 0.0, "from_trace": 1}) == (
        "testplan: estimated mutation time at most 4.0 s (an upper bound: --fast stops each mutant at its first kill): 3 "
        "mutants to run, 9 test runs; from the trace (a lazy baseline): 6.0 s of traced test time x 1 + 0 ms a mutant, "
        "/ 2 at once (--jobs 2), + 0.0 s start-up")
    result = cli("audit", "-C", copy(tmp_path, "json"), "--max-mutants", "1", "--json", "--out", tmp_path / "json-out")
    assert "estimated mutation time" not in result.err
