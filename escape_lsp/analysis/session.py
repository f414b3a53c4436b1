"""The live editor session: events in, snapshots and "these files changed" callbacks out.

It wires the parts that each have one job: `Workspace` (snapshots), one `BuildScheduler` per
module context (debounce, supersede), the engines (memo, go commands) and `FixService`. It knows
no LSP types; the edge reads snapshots and is told which files to re-publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.errors import EXPECTED_FAILURES
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.scheduler import BuildScheduler
from escape_lsp.analysis.settings import DEFAULT_DEBOUNCE_MS, AnalysisSettings
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.status import Status, status_of
from escape_lsp.analysis.targets import directory_error
from escape_lsp.analysis.workspace import Workspace
from escape_lsp.findings.model import Kind, Span
from escape_lsp.gotool import process
from escape_lsp.gotool.modfiles import is_graph_file
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain

if TYPE_CHECKING:
    from escape_lsp.analysis.fixes.model import Fix
    from escape_lsp.analysis.fixes.service import FixService

log = logging.getLogger(__name__)

Publish = Callable[[set[str]], Awaitable[None]]


class Session:
    """All module contexts of the editor's workspace folders, and their scheduled builds."""

    def __init__(self, toolchain: Toolchain, settings: AnalysisSettings, publish: Publish) -> None:
        self.workspace = Workspace(toolchain, settings)
        self.publish = publish
        self.debounce = DEFAULT_DEBOUNCE_MS / 1000
        self.scope = "open"
        self._fix_service: FixService | None = None
        self.builds_started = 0
        self._schedulers: dict[Engine, BuildScheduler] = {}
        #: Per directory holding a file in no package: the listing asked with, go's error.
        self._directory_errors: dict[str, tuple[PackageGraph, str]] = {}

    @property
    def fix_service(self) -> FixService:
        """Made on first use, after the first diagnostics: the fix builders' imports (~10 ms
        of CPU beside go's first build) are not on their path."""
        if self._fix_service is None:
            from escape_lsp.analysis.fixes.service import FixService

            self._fix_service = FixService()
        return self._fix_service

    @property
    def snapshot(self) -> Snapshot:
        """The current state; a request takes it once and reads only from it."""
        return self.workspace.snapshot

    def configure(self, settings: AnalysisSettings, debounce: float, scope: str) -> None:
        self.debounce, self.scope = debounce, scope
        self.workspace.configure(settings)

    @property
    def adaptive(self) -> bool:
        """The default debounce adapts (see `AdaptiveDebounce`); a configured one is fixed."""
        return self.debounce == DEFAULT_DEBOUNCE_MS / 1000

    def expect_contexts(
        self, lookups: Mapping[str, asyncio.Future[ModuleContext]], env: Mapping[str, str]
    ) -> None:
        """Module context lookups started before the session existed (see `Workspace`)."""
        self.workspace.expect_contexts(lookups, env)

    # -- events ---------------------------------------------------------------------------------

    async def open(self, path: str, data: bytes, version: int) -> None:
        self.workspace.set_buffer(path, data, version)
        await self.changed(path, delay=0.0)

    async def edit(self, path: str, data: bytes, version: int) -> None:
        self.workspace.set_buffer(path, data, version)
        await self.changed(path, delay=self.debounce, adaptive=self.adaptive)

    async def save(self, path: str) -> None:
        await self.changed(path, delay=0.0)

    async def close(self, path: str) -> None:
        self.workspace.drop_buffer(path)
        await self.changed(path, delay=self.debounce)

    async def disk_changed(self, paths: Iterable[str]) -> None:
        """Files changed outside the editor (git checkout, generators): open buffers win."""
        for path in paths:
            if is_graph_file(path):  # e.g. `go mod init`, a new require, a go.work edit
                self.workspace.forget_contexts()
                await self.rebuild_all()
                continue
            if not path.endswith(".go") or path in self.snapshot.buffers:
                continue
            engine = await self.workspace.engine_for(path)
            if engine is None:
                continue
            graph = engine.current_graph
            if graph is None or graph.package_of(path) is None or not os.path.exists(path):
                engine.invalidate_graph()
            await self.changed(path, delay=self.debounce)

    # -- scheduling -----------------------------------------------------------------------------

    def _scheduler(self, engine: Engine) -> BuildScheduler:
        sched = self._schedulers.get(engine)
        if sched is None:
            sched = self._schedulers[engine] = BuildScheduler(
                lambda packages: self._run(engine, packages)
            )
        return sched

    async def changed(self, path: str, delay: float, adaptive: bool = False) -> None:
        """A file changed: rebuild its package and the in-scope packages that import it."""
        self._cancel_fixes()
        engine = await self.workspace.engine_for(path)
        if engine is None:
            await self.publish({path})
            return
        # Opens and saves build at once: while go lists, build as an earlier listing says.
        early = self._build_early(engine, path) if delay == 0 else None
        try:  # a file in no package yet (new, or a build constraint changed): list again
            graph = await engine.graph_for(path, delay, early)
        except EXPECTED_FAILURES as exc:
            engine.cancel_speculation()
            self.workspace.note_problem(path, str(exc))
            await self.publish({path})
            return
        self.workspace.clear_problem(path)
        pkg = graph.package_of(path)
        if pkg is None:
            engine.cancel_speculation()
            if why := await self._why_no_package(engine, graph, path):  # not silence
                self.workspace.note_problem(path, f"go lists no package for this file: {why}")
            await self.publish({path})
            return
        self._scheduler(engine).schedule(self._affected(graph, pkg.import_path), delay, adaptive)

    async def _why_no_package(self, engine: Engine, graph: PackageGraph, path: str) -> str:
        """go's reason for a file in no package: a directory go cannot place (from the
        listing), else what `go list` says of the file's directory on disk (all its files
        excluded by build constraints), asked once per directory and listing; "" when go
        has no error there (a file its package's other files outvote: its tags exclude it)."""
        if why := graph.why_no_package(path):
            return why
        directory = os.path.dirname(path)
        known = self._directory_errors.get(directory)
        if known is not None and known[0] is graph:
            return known[1]
        try:
            why = await directory_error(engine, directory)
        except EXPECTED_FAILURES:
            return ""  # a transient failure: asked again on the next change
        self._directory_errors[directory] = (graph, why)
        return why

    def _affected(self, graph: PackageGraph, name: str) -> set[str]:
        """`name` and the packages in scope that import it."""
        if self.scope == "workspace":
            scope = set(graph.packages)
        else:
            buffers = self.snapshot.buffers
            scope = {p.import_path for path in buffers if (p := graph.package_of(path))}
        return graph.dependents([name], self.snapshot.settings.tests) & scope

    def _build_early(self, engine: Engine, path: str) -> Callable[[PackageGraph], None]:
        """Start the build `path` needs as `hint` (an earlier listing) has it; the scheduled
        build takes it over when its go command turns out the same, else it is killed."""

        def start(hint: PackageGraph) -> None:
            pkg = hint.package_of(path)
            if pkg is not None:
                engine.speculate(hint, self._affected(hint, pkg.import_path))

        return start

    async def rebuild_all(self) -> None:
        """List packages again and rebuild everything in scope (open files, or all)."""
        self.workspace.forget_contexts()
        for engine in self.workspace.engines():
            engine.invalidate_graph()
            if self.scope == "workspace":
                with contextlib.suppress(*EXPECTED_FAILURES):
                    self._scheduler(engine).schedule(set((await engine.graph()).packages), 0.0)
        for path in list(self.snapshot.buffers):
            await self.changed(path, delay=0.0)

    async def analyze_workspace(self, paths: Iterable[str]) -> dict[str, PackageResult]:
        """Analyse every package of the modules holding `paths` now (the command)."""
        out: dict[str, PackageResult] = {}
        for path in paths:
            engine = await self.workspace.engine_for(path)
            if engine is None:
                continue
            graph = await engine.graph()
            results = await engine.analyze(set(graph.packages), self.snapshot.overlays)
            self.workspace.store(engine, results)
            out.update(results)
            await self.publish(self._files_of(engine, results))
        return out

    async def _run(self, engine: Engine, packages: frozenset[str]) -> None:
        before = self.snapshot
        self.builds_started += 1
        try:
            results = await engine.analyze(packages, before.overlays)
        except EXPECTED_FAILURES as exc:
            log.warning("analysis of %s failed: %s", ", ".join(sorted(packages)), exc)
            return
        except Exception:
            log.exception("analysis of %s crashed", ", ".join(sorted(packages)))
            return
        after = self.workspace.store(engine, results)
        # Files edited since the build started get a newer build already; skip them now.
        stale = {p for p, b in before.buffers.items() if after.version(p) != b.version}
        changed = self._files_of(engine, results) - stale
        if changed:
            await self.publish(changed)
            self.fix_service.prepare(after, changed)

    def _files_of(self, engine: Engine, results: Mapping[str, PackageResult]) -> set[str]:
        files: set[str] = set()
        graph = engine.current_graph
        for name, res in results.items():
            files.update(f.file for f in res.findings)
            pkg = graph.packages.get(name) if graph else None
            if pkg is not None:
                files.update(pkg.all_files(tests=True))
        buffers = self.snapshot.buffers
        files.update(p for p in buffers if any(p in r.file_hashes for r in results.values()))
        return files

    async def wait_idle(self) -> None:
        """Until no build is scheduled or running and background proofs are done."""
        for sched in list(self._schedulers.values()):
            await sched.wait_idle()
        if self._fix_service is not None:
            await self._fix_service.wait_idle()

    # -- reads ----------------------------------------------------------------------------------

    def status(self, kinds: frozenset[Kind]) -> Status:
        busy = any(s.busy for s in self._schedulers.values()) or process.running() > 0
        return status_of(self.snapshot, busy, self.builds_started, kinds)

    async def fixes(self, snapshot: Snapshot, path: str, window: Span) -> list[Fix]:
        """Proven quick fixes for the findings of `path` touching `window`, in `snapshot`."""
        return await self.fix_service.fixes(snapshot, path, window)

    def _cancel_fixes(self) -> None:
        if self._fix_service is not None:
            self._fix_service.cancel()

    def close_all(self) -> None:
        self._cancel_fixes()
        for sched in self._schedulers.values():
            sched.close()
        self.workspace.close()
