"""The one mutable place of the analysis layer: it turns events into new snapshots.

Every change (an edit, new settings, a finished build) makes a new frozen `Snapshot`; readers
hold on to the one they took. Module contexts are looked up once per directory and kept until
a go.mod/go.work changes or the settings do; a directory with neither file has its nearest
known ancestor's (go would walk up to the same files).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.errors import EXPECTED_FAILURES
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.snapshot import Buffer, RootState, Snapshot
from escape_lsp.gotool.modfiles import MODULE_FILES, WORKSPACE_FILES
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain, module_context_async

if TYPE_CHECKING:
    from escape_lsp.analysis.evidence import Evidence

#: The files whose presence in a directory decides its module or workspace.
_DEFINING = (MODULE_FILES[0], WORKSPACE_FILES[0])


class Workspace:
    """Owns the current snapshot and the engines; hands out snapshots, never its dicts."""

    def __init__(self, toolchain: Toolchain, settings: AnalysisSettings) -> None:
        self.toolchain = toolchain
        self._snapshot = Snapshot(0, MappingProxyType({}), settings, MappingProxyType({}), {})
        self._contexts: dict[str, ModuleContext | None] = {}
        #: Lookups started before the workspace existed (the server's start), by directory.
        self._lookups: dict[str, asyncio.Future[ModuleContext]] = {}

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
        self._forget_lookups()
        self._advance(settings=settings, problems={})
        return True

    # -- module contexts ------------------------------------------------------------------------

    def forget_contexts(self) -> None:
        """Module contexts (and "not in a module" problems) are looked up again on next use."""
        self._forget_lookups()
        self._advance(problems={})

    def _forget_lookups(self) -> None:
        self._contexts.clear()
        for lookup in self._lookups.values():
            lookup.cancel()
        self._lookups.clear()

    def expect_contexts(
        self, lookups: Mapping[str, asyncio.Future[ModuleContext]], env: Mapping[str, str]
    ) -> None:
        """Adopt context lookups already running (with `env`) for these directories; they are
        dropped if the settings' environment is another by now."""
        if dict(env) != dict(self._snapshot.settings.env):
            for lookup in lookups.values():
                lookup.cancel()
            return
        self._lookups.update(lookups)

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
            inherited = await self._inherited(directory)
            if inherited is not None:
                self._contexts[directory] = inherited
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
            if ctx is not None and ctx.gowork is None and ctx.gomod is not None:
                # go walked up to the module's root finding no go.mod on the way, nor a
                # go.work anywhere: the root itself answers the same (its other
                # subdirectories inherit it)
                self._contexts.setdefault(os.path.dirname(ctx.gomod), ctx)
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

    async def _inherited(self, directory: str) -> ModuleContext | None:
        """The context of the nearest ancestor known (or being looked up) when no directory on
        the way holds a go.mod or go.work; None when that cannot be told without go."""
        at = directory
        while True:
            if at != directory and self._contexts.get(at) is not None:
                return self._contexts[at]
            lookup = self._lookups.get(at)
            if lookup is not None:
                try:
                    ctx = await asyncio.shield(lookup)
                except asyncio.CancelledError:
                    if not lookup.cancelled():
                        raise  # this task was cancelled, not the lookup
                    self._lookups.pop(at, None)
                    return None
                except EXPECTED_FAILURES:  # go tells the directory's own problem again
                    self._lookups.pop(at, None)
                    return None
                self._contexts[at] = ctx
                return ctx
            if any(os.path.exists(os.path.join(at, name)) for name in _DEFINING):
                return None
            parent = os.path.dirname(at)
            if parent == at:
                return None
            at = parent

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
