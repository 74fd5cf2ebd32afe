"""Reports of an audit result, one module per format over a shared :mod:`.report_core`.

Every format reads the same :class:`~testplan.result.AuditResult` (``.testplan/audit.json``):

=========== =============================== ============================================================
format      default file                    what it is for
=========== =============================== ============================================================
md          ``testplan.md``                 PR comment / ``$GITHUB_STEP_SUMMARY`` (under 64 KiB)
junit       ``testplan-junit.xml``          CI test reporters: one testcase per requirement
sarif       ``testplan.sarif``              code scanning: surviving mutants at their line, drift
stryker     ``mutation.json``               mutation-testing-report-schema (Stryker dashboard, elements)
html        ``testplan.html``               the self-contained reviewer report
json        ``audit.json``                  the audit result itself
codequality ``gl-code-quality-report.json`` GitLab Code Quality (merge request widget and diff)
=========== =============================== ============================================================

The library API is :func:`write_reports` (several formats into a directory) and
:func:`write_report` (one format to a path or ``-`` for stdout); the CLI is one client of it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import InputError
from ..result import AuditResult
from .report_core import Reporter, ReportContext, render_report

FORMATS: tuple[str, ...] = ("md", "junit", "sarif", "stryker", "html", "json", "codequality")

_MODULES = {
    "md": ("md", "MarkdownReporter"),
    "junit": ("junit", "JUnitReporter"),
    "sarif": ("sarif", "SarifReporter"),
    "stryker": ("stryker", "StrykerReporter"),
    "html": ("html", "HtmlReporter"),
    "json": ("json_report", "JsonReporter"),
    "codequality": ("codequality", "CodeQualityReporter"),
}

__all__ = ["FORMATS", "Reporter", "ReportContext", "check_formats", "default_filename", "reporter_class", "write_report", "write_reports"]


def check_formats(formats: list[str] | tuple[str, ...]) -> list[str]:
    """The formats, validated and without duplicates (order kept). Accepts 'md,junit' items too."""
    seen: list[str] = []
    for item in formats:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name not in FORMATS:
                raise InputError(f"--format: unknown format {name!r}; use one of {', '.join(FORMATS)}")
            if name not in seen:
                seen.append(name)
    return seen


def reporter_class(name: str) -> type[Reporter]:
    check_formats([name])
    module_name, class_name = _MODULES[name]
    module = importlib.import_module(f"{__name__}.{module_name}")  # html imports jinja2 only when asked for
    return getattr(module, class_name)


def default_filename(name: str) -> str:
    return reporter_class(name).filename


def write_report(
    result: AuditResult,
    format: str,
    output: str | Path,
    source_root: Path | None = None,
    *,
    plans_dir: str = "plans",
) -> Path | None:
    """Write one report to ``output`` (a file path, or ``'-'`` for stdout); returns the path written."""
    reporter = reporter_class(format)(ReportContext(result, source_root, plans_dir))
    return render_report(reporter, output)


def write_reports(
    result: AuditResult,
    formats: list[str],
    out_dir: Path,
    source_root: Path | None = None,
    *,
    plans_dir: str = "plans",
) -> list[Path]:
    """Write each format's report into ``out_dir`` under its default file name.

    All names are checked before anything is written. ``source_root`` is the project directory
    the audit ran in (file paths in the result are relative to it): the stryker format needs it
    for the source text; sarif uses it to find case lines in plan files. ``plans_dir`` is the
    plans directory relative to it (``[tool.testplan] plans``).
    """
    names = check_formats(formats)
    classes = [reporter_class(name) for name in names]
    written = []
    for cls in classes:
        reporter = cls(ReportContext(result, source_root, plans_dir))
        path = render_report(reporter, Path(out_dir) / cls.filename)
        assert path is not None
        written.append(path)
    return written
