"""Findings and blocked states as diagnostics (push or pull; never both for one client)."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types as lsp

from escape_lsp.analysis.causes import Cause, finding_key
from escape_lsp.analysis.gcassert import Violation
from escape_lsp.analysis.results import Blocked
from escape_lsp.analysis.views import FileView
from escape_lsp.findings.model import Finding, Span
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.findings.syntax import GoSource
from escape_lsp.lsp import root_causes
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.convert import path_to_uri, to_range
from escape_lsp.lsp.weighting import weighted_severity

SOURCE = "escape-lsp"
GCASSERT_CODE = "gcassert"
BLOCKED_CODE = "analysis-blocked"
NO_MODULE_CODE = "no-module"

Lines = Callable[[str], LineIndex | None]


def finding_diagnostic(
    f: Finding,
    lines: Lines,
    encoding: Encoding,
    settings: ServerSettings,
    severity: lsp.DiagnosticSeverity | None = None,
    cause: Cause | None = None,
) -> lsp.Diagnostic:
    related = [root_causes.pointer(cause, lines(cause.file), encoding)] if cause else []
    related += [
        lsp.DiagnosticRelatedInformation(
            lsp.Location(path_to_uri(step.file), to_range(lines(step.file), step.span, encoding)),
            f"{i}. {step.message}",
        )
        for i, step in enumerate(f.flow, 1)
    ]
    return lsp.Diagnostic(
        range=to_range(lines(f.file), f.span, encoding),
        message=f.message,
        severity=severity or settings.severity(f.kind),
        code=f.kind.value,
        source=SOURCE,
        related_information=related or None,
        data={"kind": f.kind.value, "subject": f.subject, "function": f.function},
    )


def violation_diagnostic(v: Violation, lines: Lines, encoding: Encoding) -> lsp.Diagnostic:
    """A violated `//gcassert:` directive: an error at the statement, whatever kinds show."""
    return lsp.Diagnostic(
        range=to_range(lines(v.file), v.span, encoding),
        message=v.message,
        severity=lsp.DiagnosticSeverity.Error,
        code=GCASSERT_CODE,
        source=SOURCE,
        data={"directive": v.directive},
    )


def _note(
    span: Span, source: GoSource | None, message: str, code: str, enc: Encoding
) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=to_range(source.lines if source else None, span, enc),
        message=message,
        severity=lsp.DiagnosticSeverity.Information,
        code=code,
        source=SOURCE,
    )


def _package_clause(source: GoSource | None) -> Span:
    return source.package_clause() if source is not None else Span.point(0, 0)


def blocked_diagnostic(
    path: str, blocked: Blocked, source: GoSource | None, encoding: Encoding
) -> lsp.Diagnostic:
    """One diagnostic: at the first compiler error if in this file, else the package clause."""
    first = blocked.errors[0] if blocked.errors else None
    if first is not None and first.file == path and first.line > 0 and source is not None:
        span = source.widen(Span.point(first.line - 1, max(first.col - 1, 0)), "")
    else:
        span = _package_clause(source)
    message = f"Escape analysis paused: {blocked.summary}"
    return _note(span, source, message, BLOCKED_CODE, encoding)


def problem_diagnostic(problem: str, source: GoSource | None, encoding: Encoding) -> lsp.Diagnostic:
    message = f"Escape analysis unavailable: {problem}"
    return _note(_package_clause(source), source, message, NO_MODULE_CODE, encoding)


def diagnostics_for(
    view: FileView, lines: Lines, encoding: Encoding, settings: ServerSettings
) -> list[lsp.Diagnostic]:
    out: list[lsp.Diagnostic] = []
    if view.problem:
        out.append(problem_diagnostic(view.problem, view.source, encoding))
    if view.blocked is not None:
        out.append(blocked_diagnostic(view.path, view.blocked, view.source, encoding))
    causes = root_causes.view_causes(view, settings)
    grouped = root_causes.member_index(causes)
    out.extend(
        finding_diagnostic(
            f,
            lines,
            encoding,
            settings,
            weighted_severity(f, view, settings),
            grouped.get(finding_key(f)),
        )
        for f in view.findings
        if f.kind in settings.kinds
    )
    out.extend(violation_diagnostic(v, lines, encoding) for v in view.violations)
    out.extend(root_causes.cause_diagnostics(view, causes, lines(view.path), encoding, settings))
    return out
