"""The one mutable place of the analysis layer: it turns events into new snapshots.

Every change (an edit, new settings, a finished build) makes a new frozen `Snapshot`; readers
hold on to the one they took. Module contexts are looked up once per directory and kept until
a go.mod/go.work changes or the settings do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.errors import EXPECTED_FAILURES
from escape_lsp.analysis.evidence import Evidence
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.snapshot import Buffer, RootState, Snapshot
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain, module_context_async


class Workspace:
    """Owns the current snapshot and the engines; hands out snapshots, never its dicts."""

    def __init__(self, toolchain: Toolchain, settings: AnalysisSettings) -> None:
        self.toolchain = toolchain
        self._snapshot = Snapshot(0, MappingProxyType({}), settings, MappingProxyType({}), {})
        self._contexts: dict[str, ModuleContext | None] = {}

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def _advance(self, **changes: object) -> Snapshot:
        fields = {
            k: MappingProxyType(dict(v)) if isinstance(v, Mapping) else v
            for k, v in changes.items()
        }
        self._snapshot = replace(self._snapshot, id=self._snapshot.id + 1, **fields)  # type: ignore[arg-type]
        return self._snapshot

    # -- buffers and settings -------------------------------------------------------------------

    def set_buffer(self, path: str, data: bytes, version: int) -> Snapshot:
        return self._advance(buffers={**self._snapshot.buffers, path: Buffer(data, version)})

    def drop_buffer(self, path: str) -> Snapshot:
        buffers = dict(self._snapshot.buffers)
        buffers.pop(path, None)
        return self._advance(buffers=buffers)

    def configure(self, settings: AnalysisSettings) -> bool:
        """Apply settings; True when they change what the compiler says (contexts forgotten)."""
        if settings == self._snapshot.settings:
            return False
        for root in self._snapshot.roots.values():
            root.engine.configure(settings)
        self._contexts.clear()
        self._advance(settings=settings, problems={})
        return True

    # -- module contexts ------------------------------------------------------------------------

    def forget_contexts(self) -> None:
        """Module contexts (and "not in a module" problems) are looked up again on next use."""
        self._contexts.clear()
        self._advance(problems={})

    def note_problem(self, path: str, problem: str) -> None:
        self._advance(problems={**self._snapshot.problems, os.path.dirname(path): problem})

    def clear_problem(self, path: str) -> None:
        directory = os.path.dirname(path)
        if directory in self._snapshot.problems:
            problems = dict(self._snapshot.problems)
            del problems[directory]
            self._advance(problems=problems)

    async def engine_for(self, path: str) -> Engine | None:
        """The engine of the module or go.work holding `path`; None (with a problem) if none."""
        directory = os.path.dirname(path)
        if directory not in self._contexts:
            settings = self._snapshot.settings
            try:
                ctx: ModuleContext | None = await module_context_async(
                    self.toolchain, directory, dict(settings.env)
                )
            except EXPECTED_FAILURES as exc:
                self.note_problem(path, str(exc))
                ctx = None
            self._contexts[directory] = ctx
        ctx = self._contexts[directory]
        if ctx is None:
            return None
        root = self._snapshot.roots.get(ctx)
        if root is None:
            engine = Engine(
                self.toolchain, ctx, self._snapshot.settings, lambda: self._snapshot.overlays
            )
            root = RootState(engine)
            self._advance(roots={**self._snapshot.roots, ctx: root})
        return root.engine

    def engines(self) -> list[Engine]:
        return [r.engine for r in self._snapshot.roots.values()]

    # -- results --------------------------------------------------------------------------------

    def store(self, engine: Engine, results: Mapping[str, PackageResult]) -> Snapshot:
        """A new snapshot holding `results` for `engine`'s packages."""
        roots = dict(self._snapshot.roots)
        roots[engine.context] = roots[engine.context].with_results(results)
        return self._advance(roots=roots)

    def set_evidence(self, evidence: Evidence | None) -> Snapshot:
        """A new snapshot with this measurement (findings are joined to it when rendered)."""
        return self._advance(evidence=evidence)

    def close(self) -> None:
        for engine in self.engines():
            engine.close()
