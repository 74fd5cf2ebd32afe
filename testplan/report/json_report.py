"""The ``json`` format: the audit result itself, as ``testplan audit`` writes ``.testplan/audit.json``."""

from __future__ import annotations

from typing import IO

from .report_core import Reporter


class JsonReporter(Reporter):
    name = "json"
    filename = "audit.json"
    description = "the audit result (the versioned schema every other report reads)"

    def report(self, outfile: IO[str]) -> None:
        outfile.write(self.result.dump())
