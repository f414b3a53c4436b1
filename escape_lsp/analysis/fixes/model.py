"""Edits and fixes, in byte spans; the LSP edge converts them to the client's encoding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from escape_lsp.findings.model import Finding, Span
from escape_lsp.findings.positions import LineIndex


@dataclass(frozen=True)
class FileEdit:
    path: str
    span: Span
    text: str

    def offsets(self, lines: LineIndex) -> tuple[int, int]:
        """The byte range this edit replaces in the text `lines` indexes."""
        start = lines.offset(self.span.start_line, self.span.start_col)
        return start, lines.offset(self.span.end_line, self.span.end_col)


@dataclass(frozen=True)
class Fix:
    title: str
    finding: Finding
    edits: tuple[FileEdit, ...]
    preferred: bool = False
    #: Code the fix adds that allocates only on a slow path (a sync.Pool's New): new heap
    #: findings inside this edit's text do not count against the fix.
    amortised: FileEdit | None = None

    @property
    def files(self) -> set[str]:
        return {e.path for e in self.edits}


def edited_span(data: bytes, edits: Iterable[FileEdit], target: FileEdit) -> Span:
    """Where `target`'s new text lands once all `edits` are applied to `data`."""
    lines = LineIndex(data)
    start, _ = target.offsets(lines)
    shift = 0
    for e in edits:
        e_start, e_end = e.offsets(lines)
        if e_end <= start and e is not target:
            shift += len(e.text.encode()) - (e_end - e_start)
    new = apply_edits(data, edits)
    after = LineIndex(new)
    sl, sc = after.position(start + shift)
    el, ec = after.position(start + shift + len(target.text.encode()))
    return Span(sl, sc, el, ec)


def apply_edits(data: bytes, edits: Iterable[FileEdit]) -> bytes:
    """`data` with non-overlapping edits applied (last first, so offsets stay valid)."""
    lines = LineIndex(data)
    spans = sorted(((*e.offsets(lines), e.text) for e in edits), reverse=True)
    out = data
    for start, end, text in spans:
        out = out[:start] + text.encode() + out[end:]
    return out
