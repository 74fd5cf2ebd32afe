"""The ``stryker`` format: the mutation-testing-report-schema JSON (schemaVersion 2).

Readable by mutation-testing-elements (``<mutation-test-report-app>``) and the Stryker dashboard.
Every mutated file carries its full source (read from the project, so the report needs
``source_root``); each mutant's ``location`` is the changed range in that source and
``replacement`` the text that replaced it.

Status mapping: killed → ``Killed``; killed-by-crash → ``Killed`` with a ``statusReason`` naming
the crashing tests; timeout → ``Timeout``; survived → ``Survived``; no-coverage → ``NoCoverage``.
``killedBy`` lists the tests whose verdict was not ``pass``; ``coveredBy`` every test that ran it.

Requirement IDs: the schema has no field for them, but it does not close ``MutantResult``
(``additionalProperties`` is set only on ``files``, ``testFiles`` and ``framework.dependencies``,
so by JSON Schema's default a mutant may carry more properties; the schema test checks this).
Each mutant therefore carries ``"requirements": ["PAY-3"]``, the IDs of the requirements whose
code it mutates (readers that do not know it ignore it). They are also in each mutant's
``description`` ("PAY-3 · comparison: ...", which the HTML elements show) and in the free-form
top-level ``config`` (``config.testplan.requirements``: id → title, state, score, evidence,
score_basis, note, mutant IDs). ``score`` is null for an UNJUDGED requirement and everywhere in an
incomplete run; ``note`` says why ("incomplete run: ...", the reason it is UNJUDGED, or "cases only: ...").
"""

from __future__ import annotations

import json
from typing import IO, Any

from .. import __version__
from ..result import MutantResult
from .report_core import Reporter, killers, mutation_span, no_score_reason, read_source, status_reason, visible_json

STATUS = {
    "killed": "Killed",
    "killed-by-crash": "Killed",
    "timeout": "Timeout",
    "survived": "Survived",
    "no-coverage": "NoCoverage",
}
DEFAULT_THRESHOLDS = {"high": 80, "low": 60}


def _test_name(nodeid: str) -> str:
    return nodeid.split("::", 1)[1] if "::" in nodeid else nodeid


class StrykerReporter(Reporter):
    name = "stryker"
    filename = "mutation.json"
    description = "mutation-testing-report-schema JSON (Stryker dashboard, mutation-testing-elements)"

    def report(self, outfile: IO[str]) -> None:
        json.dump(visible_json(self.document()), outfile, indent=2, ensure_ascii=False)
        outfile.write("\n")

    def thresholds(self) -> dict[str, int]:
        thresholds = dict(DEFAULT_THRESHOLDS)
        gate = self.result.gate
        if gate is not None and gate.min_score > 0:
            low = int(round(gate.min_score))
            thresholds["low"] = low
            thresholds["high"] = max(thresholds["high"], low)
        return thresholds

    def document(self) -> dict[str, Any]:
        result = self.result
        files: dict[str, dict[str, Any]] = {}
        by_file: dict[str, list[MutantResult]] = {}
        for mutant in result.mutants:
            by_file.setdefault(mutant.file, []).append(mutant)
        seen_ids: set[str] = set()
        for path in sorted(by_file):
            source = read_source(self.context, path, "stryker report")
            mutants = []
            for mutant in by_file[path]:
                mutants.append(self._mutant(source, mutant, seen_ids))
            files[path] = {"language": "python", "source": source, "mutants": mutants}

        test_files: dict[str, dict[str, Any]] = {}
        for test in result.tests:
            entry = test_files.setdefault(test.file, {"tests": []})
            entry["tests"].append({
                "id": test.nodeid,
                "name": _test_name(test.nodeid),
                "location": {"start": {"line": max(test.line, 1), "column": 1}},
            })

        doc: dict[str, Any] = {
            "schemaVersion": "2",
            "thresholds": self.thresholds(),
            "files": files,
            "testFiles": test_files,
            "framework": {"name": "testplan", "version": __version__},
            "config": {
                "testplan": {
                    "project": result.project,
                    "score": result.score,
                    "complete": result.complete,
                    "requirements": {
                        r.id: {
                            "title": r.title,
                            "risk": r.risk,
                            "state": r.state,
                            "score": r.score,
                            "evidence": r.evidence,
                            "score_basis": r.score_basis,
                            "note": no_score_reason(result, r),
                            "code": r.code,
                            "mutants": [m.id for m in result.mutants if r.id in m.requirements],
                        }
                        for r in result.requirements
                    },
                }
            },
        }
        if self.context.source_root is not None:
            doc["projectRoot"] = str(self.context.source_root.resolve())
        return doc

    def _mutant(self, source: str, mutant: MutantResult, seen_ids: set[str]) -> dict[str, Any]:
        span = mutation_span(source, mutant)
        mutant_id = mutant.id
        n = 2
        while mutant_id in seen_ids:  # ids must be unique in the report
            mutant_id = f"{mutant.id}#{n}"
            n += 1
        seen_ids.add(mutant_id)
        reqs = ", ".join(mutant.requirements) or "no requirement"
        out: dict[str, Any] = {
            "id": mutant_id,
            "mutatorName": mutant.operator,
            "replacement": span.replacement,
            "description": f"{reqs} · {mutant.operator}: {mutant.original.strip()} → {mutant.mutated.strip()}",
            "location": {
                "start": {"line": span.start_line, "column": span.start_column},
                "end": {"line": span.end_line, "column": span.end_column},
            },
            "status": STATUS[mutant.status],
            "killedBy": killers(mutant) if mutant.status in ("killed", "killed-by-crash", "timeout") else [],
            "coveredBy": list(mutant.verdicts),
            "testsCompleted": len(mutant.verdicts),
            "requirements": list(mutant.requirements),  # an extra property: see the module docstring
        }
        reason = status_reason(mutant)
        if not span.exact:
            reason += "; the source changed since the audit, the location is the whole line"
        out["statusReason"] = reason
        return out
