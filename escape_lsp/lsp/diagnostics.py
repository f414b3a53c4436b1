"""Findings and blocked states as diagnostics (push or pull; never both for one client).

Built as the JSON the client reads (`lsp/wire.py`), without lsprotocol: the first
diagnostics of a spawned server are sent before lsprotocol is imported."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from escape_lsp.analysis.causes import Cause, finding_key
from escape_lsp.analysis.results import Blocked
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.views import FileView
from escape_lsp.findings.model import Finding, Span
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.findings.syntax import GoSource
from escape_lsp.lsp import root_causes
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.weighting import weighted_severity
from escape_lsp.lsp.wire import Json, Severity, diagnostic, location, path_to_uri, range_of, related

if TYPE_CHECKING:  # (the gcassert checker is imported only for packages with directives)
    from escape_lsp.analysis.gcassert import Violation

SOURCE = "escape-lsp"
GCASSERT_CODE = "gcassert"
BLOCKED_CODE = "analysis-blocked"
NO_MODULE_CODE = "no-module"

Lines = Callable[[str], LineIndex | None]


def lines_of(snapshot: Snapshot) -> Lines:
    """Line indexes of the snapshot's texts, each file read and parsed once per call."""
    cache: dict[str, LineIndex | None] = {}

    def lookup(path: str) -> LineIndex | None:
        if path not in cache:
            src = snapshot.source(path)
            cache[path] = src.lines if src else None
        return cache[path]

    return lookup


def finding_diagnostic(
    f: Finding,
    lines: Lines,
    encoding: Encoding,
    settings: ServerSettings,
    severity: Severity | None = None,
    cause: Cause | None = None,
) -> Json:
    info = [root_causes.pointer(cause, lines(cause.file), encoding)] if cause else []
    info += [
        related(
            location(path_to_uri(step.file), range_of(lines(step.file), step.span, encoding)),
            f"{i}. {step.message}",
        )
        for i, step in enumerate(f.flow, 1)
    ]
    return diagnostic(
        range_of(lines(f.file), f.span, encoding),
        f.message,
        severity or settings.severity(f.kind),
        f.kind.value,
        SOURCE,
        info,
        {"kind": f.kind.value, "subject": f.subject, "function": f.function},
    )


def violation_diagnostic(v: Violation, lines: Lines, encoding: Encoding) -> Json:
    """A violated `//gcassert:` directive: an error at the statement, whatever kinds show."""
    return diagnostic(
        range_of(lines(v.file), v.span, encoding),
        v.message,
        Severity.ERROR,
        GCASSERT_CODE,
        SOURCE,
        data={"directive": v.directive},
    )


def _note(span: Span, source: GoSource | None, message: str, code: str, enc: Encoding) -> Json:
    rng = range_of(source.lines if source else None, span, enc)
    return diagnostic(rng, message, Severity.INFORMATION, code, SOURCE)


def _package_clause(source: GoSource | None) -> Span:
    return source.package_clause() if source is not None else Span.point(0, 0)


def blocked_diagnostic(
    path: str, blocked: Blocked, source: GoSource | None, encoding: Encoding
) -> Json:
    """One diagnostic: at the first compiler error if in this file, else the package clause."""
    first = blocked.errors[0] if blocked.errors else None
    if first is not None and first.file == path and first.line > 0 and source is not None:
        span = source.widen(Span.point(first.line - 1, max(first.col - 1, 0)), "")
    else:
        span = _package_clause(source)
    message = f"Escape analysis paused: {blocked.summary}"
    return _note(span, source, message, BLOCKED_CODE, encoding)


def problem_diagnostic(problem: str, source: GoSource | None, encoding: Encoding) -> Json:
    message = f"Escape analysis unavailable: {problem}"
    return _note(_package_clause(source), source, message, NO_MODULE_CODE, encoding)


def diagnostics_for(
    view: FileView, lines: Lines, encoding: Encoding, settings: ServerSettings
) -> list[Json]:
    out: list[Json] = []
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
