"""The snapshot's measurement joined to all of its findings, once per snapshot.

Joining needs every heap finding of the workspace (an allocation inlined into another package
belongs to the outermost verdict), so it is done for the whole snapshot and memoised there;
views read the result for their file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from escape_lsp.findings.model import Finding

if TYPE_CHECKING:
    from escape_lsp.analysis.evidence import Joined
    from escape_lsp.analysis.snapshot import Snapshot

_KEY = ("joined-evidence",)


def snapshot_joined(snapshot: Snapshot) -> Joined | None:
    evidence = snapshot.evidence
    if evidence is None:
        return None  # (the evidence module is imported only by a snapshot that has some)
    from escape_lsp.analysis.evidence import Joined, heap_lines, import_dirs, join, path_resolver

    hit = snapshot.memo(_KEY)
    if isinstance(hit, Joined):
        return hit
    findings: list[Finding] = []
    graphs = []
    for root in snapshot.roots.values():
        for name, res in root.results.items():
            use = root.last_good.get(name) if res.blocked is not None else res
            if use is not None:
                findings.extend(use.findings)
        if root.engine.current_graph is not None:
            graphs.append(root.engine.current_graph)

    def current_hash(path: str) -> str:
        root = snapshot.root_of(path)
        return root.engine.file_hash(path, snapshot.overlays) if root else "unknown"

    joined = join(evidence, heap_lines(findings), path_resolver(import_dirs(graphs)), current_hash)
    snapshot.remember(_KEY, joined)
    return joined
