"""What to show for one file in one snapshot: findings whose ranges match its text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from escape_lsp.analysis.assertions import file_violations, package_targets, reasons_of
from escape_lsp.analysis.measured import snapshot_joined
from escape_lsp.analysis.results import Blocked
from escape_lsp.analysis.snapshot import RootState, Snapshot
from escape_lsp.findings.model import Finding, Span
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.packages import Package

if TYPE_CHECKING:
    from escape_lsp.analysis.evidence import Joined
    from escape_lsp.analysis.gcassert import Violation


@dataclass(frozen=True)
class FileView:
    """Findings for `path` (sorted), the blocked state of its package, and its parsed text."""

    path: str
    findings: tuple[Finding, ...]
    blocked: Blocked | None
    source: GoSource | None
    #: Why the file cannot be analysed at all (not in a module, go unusable), if so.
    problem: str | None = None
    #: gcassert directives the compiler's output for this text contradicts.
    violations: tuple[Violation, ...] = ()
    #: The snapshot's measurement joined to its findings, if there is one.
    evidence: Joined | None = None


def file_view(snapshot: Snapshot, path: str) -> FileView:
    """Findings for `path` from every package whose build mentioned it; computed once per
    snapshot. A result computed for other text than the snapshot holds is never shown."""
    key = ("view", path)
    hit = snapshot.memo(key)
    if isinstance(hit, FileView):
        return hit
    view = _compute(snapshot, path)
    snapshot.remember(key, view)
    return view


def _compute(snapshot: Snapshot, path: str) -> FileView:
    findings: dict[tuple[Span, str], Finding] = {}
    blocked: Blocked | None = None
    source: GoSource | None = None
    violations: tuple[Violation, ...] = ()
    problem = snapshot.problem_for(path)
    for root in snapshot.roots.values():
        current = root.engine.file_hash(path, snapshot.overlays)
        graph = root.engine.current_graph
        owner = graph.package_of(path) if graph else None
        for name, res in root.results.items():
            use = res
            if res.blocked is not None:
                if owner is not None and owner.import_path == name:
                    blocked = res.blocked
                good = root.last_good.get(name)
                if good is None:
                    continue
                use = good
            if use.file_hashes.get(path, current) != current:
                continue
            for f in use.findings:
                if f.file == path:
                    findings.setdefault((f.at, f.message), f)
        if findings or blocked or owner is not None or (problem and source is None):
            source = root.engine.source(path, snapshot.overlays)  # (a problem's package clause)
        if owner is not None and graph is not None and not violations:
            violations = _violations(snapshot, root, owner, path, list(findings.values()))
    ordered = tuple(sorted(findings.values(), key=Finding.sort_key))
    return FileView(
        path,
        ordered,
        blocked,
        source,
        problem,
        violations,
        snapshot_joined(snapshot),
    )


def _violations(
    snapshot: Snapshot, root: RootState, owner: Package, path: str, findings: list[Finding]
) -> tuple[Violation, ...]:
    """gcassert violations, only against a result computed for this exact text of the file."""
    res = root.results.get(owner.import_path)
    if res is not None and res.blocked is not None:
        return ()  # no compiler output to check against while the package does not compile
    current = root.engine.file_hash(path, snapshot.overlays)
    if res is None or res.file_hashes.get(path) != current:
        return ()
    graph = root.engine.current_graph
    if graph is None:
        return ()
    targets = package_targets(root.engine, graph, owner, snapshot.overlays)
    everything = (f for r in root.results.values() for f in r.findings)
    return file_violations(
        root.engine, owner, path, snapshot.overlays, findings, targets, reasons_of(everything)
    )
