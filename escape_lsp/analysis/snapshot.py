"""Snapshots: the whole workspace state at one instant, frozen.

A request captures the current snapshot once and reads only from it, so everything it answers —
findings, ranges, fixes, document versions — belongs to one state of the texts. Results carry
the content hashes they were computed for; a view shows a result only for the text it matches.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.toolchain import ModuleContext

if TYPE_CHECKING:  # measured evidence is imported when there is some (`analysis/measure.py`)
    from escape_lsp.analysis.evidence import Evidence

EMPTY: Mapping[str, PackageResult] = MappingProxyType({})


@dataclass(frozen=True)
class Buffer:
    """An open document: its unsaved bytes and the version the editor gave them."""

    data: bytes
    version: int


@dataclass(frozen=True)
class RootState:
    """One module or go.work workspace as of a snapshot: its engine and its latest results."""

    engine: Engine
    results: Mapping[str, PackageResult] = field(default_factory=lambda: EMPTY)
    #: The newest result of each package that was not blocked (shown while it is).
    last_good: Mapping[str, PackageResult] = field(default_factory=lambda: EMPTY)

    def with_results(self, results: Mapping[str, PackageResult]) -> RootState:
        merged = {**self.results, **results}
        good = {**self.last_good, **{n: r for n, r in results.items() if r.blocked is None}}
        return RootState(self.engine, MappingProxyType(merged), MappingProxyType(good))


@dataclass(frozen=True)
class Snapshot:
    """Buffers, settings, module contexts and results at one instant. Never mutated."""

    id: int
    buffers: Mapping[str, Buffer]
    settings: AnalysisSettings
    roots: Mapping[ModuleContext, RootState]
    #: Directory -> why files there cannot be analysed at all (no module, go failed).
    problems: Mapping[str, str]
    #: The latest measurement (benchmark run or profile), joined to findings when rendered.
    evidence: Evidence | None = None
    #: Per-snapshot memo of derived facts (views); not part of the state.
    _memo: dict[object, object] = field(default_factory=dict, init=False, compare=False, repr=False)

    def version(self, path: str) -> int | None:
        buf = self.buffers.get(path)
        return buf.version if buf else None

    @cached_property
    def overlays(self) -> Mapping[str, bytes]:
        """Path -> unsaved bytes of every open buffer (what `-overlay` gives the compiler)."""
        return MappingProxyType({p: b.data for p, b in self.buffers.items()})

    def problem_for(self, path: str) -> str | None:
        return self.problems.get(os.path.dirname(path))

    def root_of(self, path: str) -> RootState | None:
        """The module context whose package graph owns `path` (listed already), if any."""
        for root in self.roots.values():
            graph = root.engine.current_graph
            if graph is not None and graph.package_of(path) is not None:
                return root
        return None

    def source(self, path: str) -> GoSource | None:
        """The file as this snapshot holds it (buffer, else disk), parsed; cached by content."""
        for root in self.roots.values():
            return root.engine.source(path, self.overlays)
        return None

    def memo(self, key: object) -> object | None:
        return self._memo.get(key)

    def remember(self, key: object, value: object) -> None:
        self._memo[key] = value
