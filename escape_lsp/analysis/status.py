"""The session's state for status bars, typed; the LSP edge turns it into its wire shape."""

from __future__ import annotations

from dataclasses import dataclass

from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.views import file_view
from escape_lsp.findings.model import HEAP_KINDS, Kind


@dataclass(frozen=True)
class Status:
    #: "analysing" while a build is scheduled or running, else "idle".
    state: str
    #: Heap findings (of the kinds shown) in open files.
    heap_findings: int
    #: Open files whose package does not compile.
    blocked_files: int
    builds_started: int


def status_of(snapshot: Snapshot, busy: bool, builds: int, kinds: frozenset[Kind]) -> Status:
    heap = blocked = 0
    for path in snapshot.buffers:
        view = file_view(snapshot, path)
        heap += sum(1 for f in view.findings if f.kind in HEAP_KINDS and f.kind in kinds)
        blocked += view.blocked is not None
    return Status("analysing" if busy else "idle", heap, blocked, builds)
