"""The CI recipes in examples/ci/ and the pre-commit hook: each file parses, names what its CI needs,
and every testplan command it contains runs on a git clone of the example (exit 0 or 1: the gate's
verdict on the deliberately uneven example, never bad input or an internal error)."""

from __future__ import annotations

import re

import glob
import shlex
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent
CI = REPO / "examples" / "ci"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
GATE_FAILED_IS_FINE = " || [ $? -eq 1 ]"


def _load(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("testplan ")]


def _github_commands(workflow: dict) -> dict[str, list[str]]:
    return {name: [line for step in job["steps"] if "run" in step for line in _lines(step["run"])]
            for name, job in workflow["jobs"].items()}


def _clone(example: Path) -> Path:
    """The example as a git clone whose origin/main is the commit before a one-line change to refunds.py."""
    def git(*args: str) -> str:
        return subprocess.run([*GIT, "-C", str(example), *args], check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("update-ref", "refs/remotes/origin/main", "HEAD")
    source = example / "src/petinsure/refunds.py"
    source.write_text(source.read_text(encoding="utf-8").replace(
        "    remaining = payment.captured - payment.refunded\n", "    remaining = payment.captured - payment.refunded  # left\n"), encoding="utf-8")
    git("commit", "-qam", "change")
    return example


def _run(cli, root: Path, line: str, values: dict[str, str]) -> int:
    """Run one recipe line in the project (variables replaced, globs expanded as a shell would)."""
    allowed = (0,)
    if line.endswith(GATE_FAILED_IS_FINE):
        line, allowed = line[: -len(GATE_FAILED_IS_FINE)], (0, 1)
    for name, value in values.items():
        line = line.replace(name, value)
    assert "${" not in line and "$CI" not in line, line
    words = shlex.split(line)
    assert words[0] == "testplan", line
    args = []
    for word in words[1:]:
        args.extend(sorted(str(Path(p).relative_to(root)) for p in glob.glob(str(root / word))) if "*" in word else [word])
    run = cli(*args)
    assert "internal error" not in run.err and "usage error" not in run.err, (line, run.err)
    if words[1] in ("audit", "merge") and allowed == (0,):
        allowed = (0, 1)  # the gate's verdict: the example is deliberately uneven (a failed gate fails the CI job)
    assert run.code in allowed, (line, run.code, run.err)
    return run.code


@pytest.fixture
def clone(example: Path, monkeypatch) -> Path:
    monkeypatch.chdir(_clone(example))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return example


def test_the_github_workflow_audits_the_change_uploads_sarif_and_keeps_the_reports() -> None:
    workflow = _load(CI / "github-actions.yml")
    steps = workflow["jobs"]["testplan"]["steps"]
    uses = [step.get("uses") for step in steps]
    assert "github/codeql-action/upload-sarif@v3" in uses and "actions/upload-artifact@v4" in uses
    assert workflow["permissions"] == {"contents": "read", "security-events": "write"}
    sarif = next(step for step in steps if step.get("uses") == "github/codeql-action/upload-sarif@v3")
    assert sarif["with"]["sarif_file"] == ".testplan/testplan.sarif"
    assert _github_commands(workflow) == {"testplan": [
        "testplan lint",
        'testplan audit --diff "origin/${{ github.base_ref }}" --min-mutants 20 --format md,sarif,junit,html',
        "testplan audit --format md,sarif,junit,html",
    ]}


@pytest.mark.slow
def test_the_github_workflows_commands_run_on_the_example_and_write_the_step_summary(clone: Path, cli, monkeypatch, tmp_path) -> None:
    workflow = _load(CI / "github-actions.yml")
    lint, pr_audit, _ = _github_commands(workflow)["testplan"]
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert _run(cli, clone, lint, {}) == 0
    assert _run(cli, clone, pr_audit, {"${{ github.base_ref }}": "main"}) == 1
    state = clone / ".testplan"
    for name in workflow["jobs"]["testplan"]["steps"][-1]["with"]["path"].split():
        assert (clone / name).is_file(), name
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## testplan: pet-insurance — score ")
    assert text == "earlier step\n" + (state / "testplan.md").read_text(encoding="utf-8")
    assert "### This change touches" in text and "- **PAY-3**" in text


@pytest.mark.slow
def test_the_sharded_workflow_merges_its_shards_and_gates(clone: Path, cli) -> None:
    workflow = _load(CI / "github-actions-sharded.yml")
    assert workflow["jobs"]["shard"]["strategy"]["matrix"] == {"shard": [1, 2]}
    assert workflow["jobs"]["gate"]["needs"] == "shard"
    commands = _github_commands(workflow)
    assert commands == {
        "shard": ["testplan audit --shard ${{ matrix.shard }}/2 --out shards/testplan-shard-${{ matrix.shard }} || [ $? -eq 1 ]"],
        "gate": ["testplan merge shards/testplan-shard-*/audit.json", "testplan report --format md,sarif,junit,html"],
    }
    for shard in workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]:
        _run(cli, clone, commands["shard"][0], {"${{ matrix.shard }}": str(shard)})
        upload = workflow["jobs"]["shard"]["steps"][-1]["with"]["path"].replace("${{ matrix.shard }}", str(shard))
        assert (clone / upload).is_file()
    merge, report = commands["gate"]
    assert _run(cli, clone, merge, {}) in (0, 1)
    merged = (clone / ".testplan" / "audit.json").read_text(encoding="utf-8")
    assert '"complete": true' in merged and '"shard": null' in merged
    assert _run(cli, clone, report, {}) == 0
    assert (clone / ".testplan" / "testplan.sarif").is_file()


@pytest.mark.slow
def test_the_gitlab_recipe_writes_junit_and_code_quality(clone: Path, cli) -> None:
    recipe = _load(CI / "gitlab-ci.yml")
    base = recipe[".testplan"]
    assert base["artifacts"]["reports"] == {"junit": ".testplan/testplan-junit.xml",
                                            "codequality": ".testplan/gl-code-quality-report.json"}
    assert [job.get("extends") for name, job in recipe.items() if not name.startswith(".")] == [".testplan", ".testplan"]
    before = [line for line in base["before_script"] if line.startswith("testplan ")]
    scripts = {name: [line for line in job["script"] if line.startswith("testplan ")] for name, job in recipe.items() if "script" in job}
    assert scripts == {
        "testplan:merge-request": ['testplan audit --diff "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --min-mutants 20 --format junit,codequality,md,html'],
        "testplan": ["testplan audit --format junit,codequality,md,html"],
    }
    for line in before:
        assert _run(cli, clone, line, {}) == 0
    assert _run(cli, clone, scripts["testplan:merge-request"][0], {"$CI_MERGE_REQUEST_DIFF_BASE_SHA": "origin/main"}) == 1
    for path in [*base["artifacts"]["paths"], *base["artifacts"]["reports"].values()]:
        assert (clone / path).is_file(), path
    quality = (clone / ".testplan" / "gl-code-quality-report.json").read_text(encoding="utf-8")
    assert '"check_name": "testplan/drift"' in quality


def test_the_pre_commit_hook_runs_testplan_lint(example: Path, cli, monkeypatch) -> None:
    import re

    (hook,) = _load(REPO / ".pre-commit-hooks.yaml")
    assert (hook["id"], hook["entry"], hook["language"], hook["pass_filenames"]) == ("testplan-lint", "testplan lint", "python", False)
    files = re.compile(hook["files"])
    assert [p for p in ("requirements.yaml", "plans/PAY-1.yaml", "pyproject.toml", "sub/plans/X-1.yml", "src/a.py", "plans.yaml")
            if files.search(p)] == ["requirements.yaml", "plans/PAY-1.yaml", "pyproject.toml", "sub/plans/X-1.yml"]
    monkeypatch.chdir(example)
    assert _run(cli, example, hook["entry"], {}) == 0


def test_github_step_summary_is_appended_by_audit(example: Path, cli, monkeypatch, tmp_path) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = cli("audit", "-C", example, "--no-mutation")
    first = summary.read_text(encoding="utf-8")
    assert run.code == 0 and first.startswith("## testplan: pet-insurance — score ")
    assert "mutation testing did not run" in first
    cli("audit", "-C", example, "--no-mutation")
    # appended, never replaced (the footer's time may tick between the two audits)
    stamp = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?( UTC)?")
    assert stamp.sub("TIME", summary.read_text(encoding="utf-8")) == stamp.sub("TIME", first + first)
    assert summary.read_text(encoding="utf-8").startswith(first)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    failed = cli("audit", "-C", example, "--no-mutation")
    assert failed.code == 0  # the verdict stands
    assert failed.err == f"testplan: cannot append the summary to $GITHUB_STEP_SUMMARY ({tmp_path / 'missing' / 'summary.md'}): No such file or directory\n"
