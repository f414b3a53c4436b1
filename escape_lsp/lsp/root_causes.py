"""Root causes in the editor: one diagnostic on the sink several heap findings escape through
("4 allocations escape through this assignment"), related to each of them; each of them points
back to it. The findings themselves stay as they are (the compiler's verdicts)."""

from __future__ import annotations

from escape_lsp.analysis.causes import Cause, FindingKey, causes_by_member, find_causes
from escape_lsp.analysis.views import FileView
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.weighting import weighted_severity
from escape_lsp.lsp.wire import Json, diagnostic, location, path_to_uri, range_of, related
from escape_lsp.report.weights import weight_sentence

CAUSE_CODE = "escape-cause"
SOURCE = "escape-lsp"


def view_causes(view: FileView, settings: ServerSettings) -> list[Cause]:
    """Causes among the findings of the kinds shown."""
    return find_causes(f for f in view.findings if f.kind in settings.kinds)


def member_index(causes: list[Cause]) -> dict[FindingKey, Cause]:
    return causes_by_member(causes)


def pointer(cause: Cause, lines: LineIndex | None, encoding: Encoding) -> Json:
    """What a grouped finding says about its cause."""
    at = location(path_to_uri(cause.file), range_of(lines, cause.span, encoding))
    return related(at, f"root cause: {cause.subject} — {cause.summary}")


def cause_diagnostics(
    view: FileView,
    causes: list[Cause],
    lines: LineIndex | None,
    encoding: Encoding,
    settings: ServerSettings,
) -> list[Json]:
    """One diagnostic per cause whose sink is in this file, related to its findings."""
    out = []
    for c in causes:
        if c.file != view.path:
            continue
        info = [
            related(
                location(path_to_uri(f.file), range_of(lines, f.span, encoding)),
                f"{f.message} (line {f.line})",
            )
            for f in c.members
        ]
        message = f"{c.summary}: {c.subject}"
        joined = view.evidence
        if joined is not None and joined.measured(c.file):
            from escape_lsp.analysis.evidence import combined_weight  # (once there is some)

            w = combined_weight(c.members, joined)
            if w is not None:
                message += f" ({weight_sentence(w, joined.evidence.label)})"
        severity = min(weighted_severity(f, view, settings) for f in c.members)
        out.append(
            diagnostic(
                range_of(lines, c.span, encoding),
                message,
                severity,
                CAUSE_CODE,
                SOURCE,
                info,
                {"kind": CAUSE_CODE, "subject": c.subject, "findings": len(c.members)},
            )
        )
    return out
