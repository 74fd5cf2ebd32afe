"""The mutation-testing-report-schema JSON (Stryker dashboard, mutation-testing-elements)."""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from report_fixtures import EXAMPLE_ROOT, large_result, npm_file, pet_insurance_result
from testplan.errors import InputError
from testplan.report import write_report
from testplan.result import AuditResult

SCHEMA_PACKAGE = "mutation-testing-report-schema@3.8.4"
SCHEMA_MEMBER = "src/mutation-testing-report-schema.json"


def _report(tmp_path: Path, result: AuditResult | None = None, source_root: Path | None = EXAMPLE_ROOT) -> dict:
    path = write_report(result or pet_insurance_result(), "stryker", tmp_path / "mutation.json", source_root)
    assert path is not None
    return json.loads(path.read_text(encoding="utf-8"))


def _mutants(doc: dict) -> list[dict]:
    return [m for f in doc["files"].values() for m in f["mutants"]]


def test_files_carry_the_source_and_every_mutant(tmp_path: Path) -> None:
    doc = _report(tmp_path)
    assert doc["schemaVersion"] == "2"
    assert doc["thresholds"] == {"high": 80, "low": 80}  # low follows the gate's min_score
    assert sorted(doc["files"]) == [f"src/petinsure/{n}.py" for n in ("cards", "payments", "policy", "pricing", "refunds")]
    for path, entry in doc["files"].items():
        assert entry["language"] == "python"
        assert entry["source"] == (EXAMPLE_ROOT / path).read_text(encoding="utf-8")
    assert len(_mutants(doc)) == 40
    assert doc["projectRoot"] == str(EXAMPLE_ROOT.resolve())


def test_location_and_replacement_reproduce_the_mutated_line(tmp_path: Path) -> None:
    doc = _report(tmp_path)
    result = pet_insurance_result()
    by_id = {m.id: m for m in result.mutants}
    for path, entry in doc["files"].items():
        lines = entry["source"].splitlines()
        for mutant in entry["mutants"]:
            start, end = mutant["location"]["start"], mutant["location"]["end"]
            assert start["line"] == end["line"] == by_id[mutant["id"]].line
            line = lines[start["line"] - 1]
            mutated_line = line[: start["column"] - 1] + mutant["replacement"] + line[end["column"] - 1 :]
            assert mutated_line.strip() == by_id[mutant["id"]].mutated


def test_status_mapping_and_tests(tmp_path: Path) -> None:
    doc = _report(tmp_path)
    mutants = {m["id"]: m for m in _mutants(doc)}
    crash = mutants["petinsure.refunds:refund:42:comparison:if amount >= available:"]
    assert crash["status"] == "Killed"
    assert crash["statusReason"].startswith("killed only by crashes")
    assert crash["killedBy"] == ["tests/test_refunds.py::test_full_refund", "tests/test_refunds.py::test_refunds_add_up"]
    assert len(crash["coveredBy"]) == 4 and crash["testsCompleted"] == 4
    assert crash["mutatorName"] == "comparison" and crash["replacement"] == ">="
    assert crash["description"] == "PAY-3 · comparison: if amount > available: → if amount >= available:"
    statuses = sorted({m["status"] for m in mutants.values()})
    assert statuses == ["Killed", "NoCoverage", "Survived"]
    survived = [m for m in mutants.values() if m["status"] == "Survived"]
    assert len(survived) == 6 and all(m["killedBy"] == [] for m in survived)
    tests = doc["testFiles"]["tests/test_refunds.py"]["tests"]
    assert {"id": "tests/test_refunds.py::test_full_refund", "name": "test_full_refund", "location": {"start": {"line": 13, "column": 1}}} in tests
    all_test_ids = {t["id"] for f in doc["testFiles"].values() for t in f["tests"]}
    assert all(t in all_test_ids for m in mutants.values() for t in m["coveredBy"])


def test_requirement_ids_in_config(tmp_path: Path) -> None:
    requirements = _report(tmp_path)["config"]["testplan"]["requirements"]
    assert list(requirements) == ["PAY-1", "CARD-1", "CARD-2", "PAY-2", "PAY-3", "POL-1"]
    assert requirements["PAY-3"]["state"] == "WEAK" and len(requirements["PAY-3"]["mutants"]) == 10


def test_each_mutant_carries_its_requirement_ids(tmp_path: Path) -> None:
    mutants = _mutants(_report(tmp_path))
    assert Counter(tuple(m["requirements"]) for m in mutants) == {
        ("PAY-1",): 6, ("CARD-1",): 7, ("CARD-2",): 4, ("PAY-2",): 5, ("PAY-3",): 10, ("POL-1",): 8,
    }
    by_id = {m["id"]: m for m in mutants}
    assert by_id['petinsure.refunds:refundable:27:string:return Decimal("1.00")']["requirements"] == ["PAY-3"]
    result = pet_insurance_result()
    result.mutants[0].requirements = ["PAY-1", "CARD-1"]  # code shared by two requirements
    result.mutants[1].requirements = []  # code of no requirement (--all-tests)
    by_id = {m["id"]: m for m in _mutants(_report(tmp_path, result))}
    assert by_id[result.mutants[0].id]["requirements"] == ["PAY-1", "CARD-1"]
    assert by_id[result.mutants[0].id]["description"].startswith("PAY-1, CARD-1 · comparison: ")
    assert by_id[result.mutants[1].id]["requirements"] == []
    assert by_id[result.mutants[1].id]["description"].startswith("no requirement · comparison: ")


def test_timeout_maps_to_timeout(tmp_path: Path) -> None:
    result = pet_insurance_result()
    result.mutants[0].status = "timeout"
    result.mutants[0].verdicts = {next(iter(result.mutants[0].verdicts)): "timeout"}
    (first,) = [m for m in _mutants(_report(tmp_path, result)) if m["id"] == result.mutants[0].id]
    assert first["status"] == "Timeout" and len(first["killedBy"]) == 1


def test_missing_source_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="source_root is not set"):
        _report(tmp_path, source_root=None)
    project = tmp_path / "copy"
    shutil.copytree(EXAMPLE_ROOT / "src", project / "src")
    (project / "src" / "petinsure" / "refunds.py").unlink()
    with pytest.raises(InputError) as caught:
        _report(tmp_path, source_root=project)
    assert str(caught.value).startswith(str(project / "src/petinsure/refunds.py") + ": source file not found for the stryker report")
    assert not (tmp_path / "mutation.json").exists()


def test_changed_source_falls_back_to_the_line(tmp_path: Path) -> None:
    project = tmp_path / "copy"
    shutil.copytree(EXAMPLE_ROOT / "src", project / "src")
    refunds = project / "src" / "petinsure" / "refunds.py"
    refunds.write_text(refunds.read_text(encoding="utf-8").replace("payment.captured - payment.refunded", "payment.captured-payment.refunded"), encoding="utf-8")
    mutants = {m["id"]: m for m in _mutants(_report(tmp_path, source_root=project))}
    moved = mutants["petinsure.refunds:refund:45:arithmetic:remaining = payment.captured + payment.r"]
    assert moved["location"] == {"start": {"line": 45, "column": 5}, "end": {"line": 45, "column": 50}}
    assert moved["statusReason"].endswith("the source changed since the audit, the location is the whole line")


@pytest.mark.network
def test_validates_against_the_official_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema (the 'test' extra)")
    schema_path = npm_file(SCHEMA_PACKAGE, SCHEMA_MEMBER)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    doc = _report(tmp_path)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    # "requirements" on each mutant is an extra property: the schema leaves MutantResult open ...
    mutant_schema = schema["properties"]["files"]["additionalProperties"]["properties"]["mutants"]["items"]
    assert mutant_schema["title"] == "MutantResult" and "additionalProperties" not in mutant_schema
    assert "requirements" not in mutant_schema["properties"]
    assert all(m["requirements"] for m in _mutants(doc))
    # ... and the validator does look at each mutant: it rejects a bad status, and would reject
    # "requirements" if the schema closed MutantResult
    bad = copy.deepcopy(doc)
    bad["files"]["src/petinsure/cards.py"]["mutants"][0]["status"] = "Bogus"
    assert [list(e.absolute_path) for e in validator.iter_errors(bad)] == [["files", "src/petinsure/cards.py", "mutants", 0, "status"]]
    closed = copy.deepcopy(schema)
    closed["properties"]["files"]["additionalProperties"]["properties"]["mutants"]["items"]["additionalProperties"] = False
    rejected = {e.message for e in jsonschema.Draft7Validator(closed).iter_errors(doc)}
    assert rejected == {"Additional properties are not allowed ('requirements' was unexpected)"}
    # a big generated project, whose files do not exist: give it sources
    big = large_result(20, 400)
    root = tmp_path / "big"
    for mutant in big.mutants:
        path = root / mutant.file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(f"line {n}" for n in range(1, 300)) + "\n", encoding="utf-8")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_report(tmp_path, big, root))]
    assert errors == []
