"""Inlay hints: a short label after each finding's expression, the compiler's text as tooltip."""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.analysis.views import FileView
from escape_lsp.findings.model import Span
from escape_lsp.findings.positions import Encoding
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.convert import to_range
from escape_lsp.lsp.labels import short_label
from escape_lsp.report.weights import share_text


def inlay_hints(
    view: FileView, window: Span, encoding: Encoding, settings: ServerSettings
) -> list[lsp.InlayHint]:
    lines = view.source.lines if view.source else None
    at: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
    for f in view.findings:
        if f.kind not in settings.inlay_hints or not f.span.overlaps(window):
            continue
        label = short_label(f)
        if label is None:
            continue
        weight = view.evidence.weight(f) if view.evidence else None
        if weight is not None:  # `heap 41%`: its line's share of the measured bytes
            label = f"{label} {share_text(weight.share)}"
        labels, tips = at.setdefault((f.span.end_line, f.span.end_col), ([], []))
        if label not in labels:
            labels.append(label)
        tips.append(f.message)
    hints = []
    for (line, col), (labels, tips) in sorted(at.items()):
        pos = to_range(lines, Span.point(line, col), encoding).start
        hints.append(
            lsp.InlayHint(
                position=pos,
                label=", ".join(labels),
                padding_left=True,
                tooltip="\n".join(dict.fromkeys(tips)),
            )
        )
    return hints
