"""`severityByWeight`: with a measurement, hot heap findings are warnings, cold ones hints.

A 164-escape file then shows the few that cost. Lines whose text changed since the measurement
keep their configured severity (the measurement no longer says anything about them).
"""

from __future__ import annotations

from escape_lsp.analysis.views import FileView
from escape_lsp.findings.model import HEAP_KINDS, Finding
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.wire import Severity


def weighted_severity(f: Finding, view: FileView, settings: ServerSettings) -> Severity:
    configured = settings.severity(f.kind)
    hot = settings.severity_by_weight
    joined = view.evidence
    if hot <= 0 or joined is None or f.kind not in HEAP_KINDS or not joined.measured(f.file):
        return configured
    w = joined.weight(f)
    if w is not None and w.share >= hot:
        return min(configured, Severity.WARNING)
    return Severity.HINT
