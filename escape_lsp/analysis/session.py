"""A live analysis session: open buffers, debounced rebuilds, cancellation, per-file views.

This is the server's engine room, free of LSP types: the LSP edge feeds it edits and file
events and is called back with the set of files whose results changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from escape_lsp.analysis.engine import AnalysisSettings, Blocked, Engine, PackageResult
from escape_lsp.analysis.fixes.candidates import candidate_fixes
from escape_lsp.analysis.fixes.model import Fix
from escape_lsp.analysis.fixes.verify import FixVerifier
from escape_lsp.findings.model import HEAP_KINDS, Finding, Kind, Span
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool import process
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.process import GoTimeout
from escape_lsp.gotool.toolchain import (
    ModuleContext,
    Toolchain,
    ToolchainError,
    module_context_async,
)

log = logging.getLogger(__name__)

#: Files whose change means the package graph must be listed again.
GRAPH_FILES = ("go.mod", "go.sum", "go.work", "go.work.sum")


@dataclass
class Buffer:
    """An open document: its unsaved bytes and the version the editor gave them."""

    data: bytes
    version: int


@dataclass
class FileView:
    """What to show for one file right now: findings that match its current text."""

    path: str
    findings: list[Finding]
    blocked: Blocked | None
    source: GoSource | None


@dataclass
class _Root:
    engine: Engine
    results: dict[str, PackageResult] = field(default_factory=dict)
    last_good: dict[str, PackageResult] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None
    running: set[str] = field(default_factory=set)


Publish = Callable[[set[str]], Awaitable[None]]


class Session:
    """All module contexts of the editor's workspace folders, and their scheduled builds."""

    def __init__(self, toolchain: Toolchain, settings: AnalysisSettings, publish: Publish) -> None:
        self.toolchain = toolchain
        self.settings = settings
        self.publish = publish
        self.debounce = 0.3
        self.scope = "open"
        self.buffers: dict[str, Buffer] = {}
        self._roots: dict[ModuleContext, _Root] = {}
        self._contexts: dict[str, ModuleContext | None] = {}
        self._problems: dict[str, str] = {}
        self.builds_started = 0
        self.verifier = FixVerifier()

    # -- contexts -------------------------------------------------------------------------------

    async def _context(self, path: str) -> ModuleContext | None:
        directory = os.path.dirname(path)
        if directory not in self._contexts:
            try:
                ctx = await module_context_async(self.toolchain, directory, dict(self.settings.env))
            except (ToolchainError, OSError) as exc:
                self._problems[directory] = str(exc)
                ctx = None
            self._contexts[directory] = ctx
        return self._contexts[directory]

    def _forget_contexts(self) -> None:
        """Module contexts (and "not in a module" problems) are looked up again on next use."""
        self._contexts.clear()
        self._problems.clear()

    def problem_for(self, path: str) -> str | None:
        """Why a file cannot be analysed at all (no module), if so."""
        return self._problems.get(os.path.dirname(path))

    async def _root(self, path: str) -> _Root | None:
        ctx = await self._context(path)
        if ctx is None:
            return None
        root = self._roots.get(ctx)
        if root is None:
            root = self._roots[ctx] = _Root(
                Engine(self.toolchain, ctx, self.settings, self.overlays)
            )
        return root

    def configure(self, settings: AnalysisSettings, debounce: float, scope: str) -> None:
        changed = settings != self.settings
        self.settings, self.debounce, self.scope = settings, debounce, scope
        if changed:
            self._forget_contexts()
            for root in self._roots.values():
                root.engine.configure(settings)

    # -- buffers --------------------------------------------------------------------------------

    def overlays(self) -> dict[str, bytes]:
        return {p: b.data for p, b in self.buffers.items()}

    async def open(self, path: str, data: bytes, version: int) -> None:
        self.buffers[path] = Buffer(data, version)
        await self.changed(path, delay=0.0)

    async def edit(self, path: str, data: bytes, version: int) -> None:
        self.buffers[path] = Buffer(data, version)
        await self.changed(path, delay=self.debounce)

    async def save(self, path: str) -> None:
        await self.changed(path, delay=0.0)

    async def close(self, path: str) -> None:
        self.buffers.pop(path, None)
        await self.changed(path, delay=self.debounce)

    async def disk_changed(self, paths: Iterable[str]) -> None:
        """Files changed outside the editor (git checkout, generators): open buffers win."""
        for path in paths:
            name = os.path.basename(path)
            if name in GRAPH_FILES:  # e.g. `go mod init`, a new require, a go.work edit
                self._forget_contexts()
                await self.rebuild_all()
                continue
            if not name.endswith(".go") or path in self.buffers:
                continue
            root = await self._root(path)
            if root is None:
                continue
            graph = root.engine.current_graph
            if graph is None or graph.package_of(path) is None or not os.path.exists(path):
                root.engine.invalidate_graph()
            await self.changed(path, delay=self.debounce)

    # -- scheduling -----------------------------------------------------------------------------

    def _scope_packages(self, root: _Root, graph: PackageGraph) -> set[str]:
        if self.scope == "workspace":
            return set(graph.packages)
        open_pkgs = set()
        for path in self.buffers:
            pkg = graph.package_of(path)
            if pkg is not None:
                open_pkgs.add(pkg.import_path)
        return open_pkgs

    async def changed(self, path: str, delay: float) -> None:
        """A file changed: rebuild its package and the in-scope packages that import it."""
        root = await self._root(path)
        if root is None:
            await self.publish({path})
            return
        try:
            graph = await root.engine.graph_for(path, delay)
        except ToolchainError as exc:
            self._problems[os.path.dirname(path)] = str(exc)
            await self.publish({path})
            return
        self._problems.pop(os.path.dirname(path), None)
        pkg = graph.package_of(path)
        if pkg is None:
            await self.publish({path})
            return
        affected = graph.dependents([pkg.import_path], self.settings.tests)
        await self._schedule(root, affected & self._scope_packages(root, graph), delay)

    async def rebuild_all(self) -> None:
        """List packages again and rebuild everything in scope (open files, or all)."""
        self._forget_contexts()
        for root in self._roots.values():
            root.engine.invalidate_graph()
            if self.scope == "workspace":
                with contextlib.suppress(ToolchainError):  # recorded per file by `changed`
                    await self._schedule(root, set((await root.engine.graph()).packages), 0.0)
        for path in list(self.buffers):
            await self.changed(path, delay=0.0)

    async def analyze_workspace(self, paths: Iterable[str]) -> dict[str, PackageResult]:
        """Analyse every package of the modules holding `paths` now (the command)."""
        out: dict[str, PackageResult] = {}
        for path in paths:
            root = await self._root(path)
            if root is None:
                continue
            graph = await root.engine.graph()
            results = await root.engine.analyze(set(graph.packages), self.overlays())
            self._store(root, results)
            out.update(results)
            await self.publish(self._files_of(root, results))
        return out

    async def _schedule(self, root: _Root, packages: set[str], delay: float) -> None:
        if not packages:
            return
        root.pending |= packages
        if root.task is not None and not root.task.done():
            # A newer state supersedes the build in flight: kill it, redo its packages too.
            root.pending |= root.running
            root.task.cancel()
        if root.timer is not None:
            root.timer.cancel()
        loop = asyncio.get_running_loop()
        root.timer = loop.call_later(delay, lambda: self._start(root))

    def _start(self, root: _Root) -> None:
        root.timer = None
        if root.task is not None and not root.task.done():
            root.pending |= root.running
            root.task.cancel()
        packages, root.pending = root.pending, set()
        root.running = packages
        root.task = asyncio.get_running_loop().create_task(self._run(root, packages))

    async def _run(self, root: _Root, packages: set[str]) -> None:
        snapshot = {p: b.version for p, b in self.buffers.items()}
        overlays = self.overlays()
        self.builds_started += 1
        try:
            results = await root.engine.analyze(packages, overlays)
        except asyncio.CancelledError:
            raise
        except (GoTimeout, ToolchainError, OSError) as exc:
            log.warning("analysis of %s failed: %s", ", ".join(sorted(packages)), exc)
            return
        except Exception:
            log.exception("analysis of %s crashed", ", ".join(sorted(packages)))
            return
        stale = {
            p for p, v in snapshot.items() if p in self.buffers and self.buffers[p].version != v
        }
        self._store(root, results)
        changed = self._files_of(root, results) - stale
        if changed:
            await self.publish(changed)

    def _store(self, root: _Root, results: dict[str, PackageResult]) -> None:
        for name, res in results.items():
            root.results[name] = res
            if res.blocked is None:
                root.last_good[name] = res

    def _files_of(self, root: _Root, results: dict[str, PackageResult]) -> set[str]:
        files: set[str] = set()
        graph = root.engine.current_graph
        graph_pkgs = graph.packages if graph else {}
        for name, res in results.items():
            files.update(f.file for f in res.findings)
            pkg = graph_pkgs.get(name)
            if pkg is not None:
                files.update(pkg.all_files(tests=True))
        files.update(p for p in self.buffers if any(p in r.file_hashes for r in results.values()))
        return files

    async def wait_idle(self) -> None:
        """Until no build is scheduled or running (tests, benchmarks, `analyze` commands)."""
        while True:
            busy = [r.task for r in self._roots.values() if r.task and not r.task.done()]
            timers = [r for r in self._roots.values() if r.timer is not None]
            if not busy and not timers:
                return
            for task in busy:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(task)
            if timers and not busy:
                await asyncio.sleep(0.01)  # a debounce timer is about to start a build

    # -- views ----------------------------------------------------------------------------------

    def view(self, path: str) -> FileView:
        """Findings for `path` from every package whose build mentioned it; blocked state."""
        findings: dict[tuple[Span, str], Finding] = {}
        blocked: Blocked | None = None
        source: GoSource | None = None
        buf = self.buffers.get(path)
        current_text = {path: buf.data} if buf else {}
        for root in self._roots.values():
            current = root.engine.file_hash(path, current_text)
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
                for f in use.findings:
                    if f.file != path:
                        continue
                    # Never show a range computed for other text than the buffer now holds.
                    if use.file_hashes.get(path, current) != current:
                        continue
                    findings.setdefault((f.span, f.message), f)
            if findings or blocked or owner is not None:
                source = root.engine.source(path, self.overlays())
        ordered = sorted(findings.values(), key=Finding.sort_key)
        return FileView(path, ordered, blocked, source)

    def status(self, kinds: frozenset[Kind]) -> dict[str, Any]:
        busy = any((r.task and not r.task.done()) or r.timer for r in self._roots.values())
        busy = busy or process.running() > 0
        heap = blocked = 0
        for path in self.buffers:
            view = self.view(path)
            heap += sum(1 for f in view.findings if f.kind in HEAP_KINDS and f.kind in kinds)
            blocked += view.blocked is not None
        return {
            "state": "analysing" if busy else "idle",
            "heapFindings": heap,
            "blockedFiles": blocked,
            "buildsStarted": self.builds_started,
        }

    async def fixes(self, path: str, window: Span) -> list[Fix]:
        """Verified quick fixes for the findings of `path` that touch `window`."""
        root = await self._root(path)
        graph = root.engine.current_graph if root else None
        pkg = graph.package_of(path) if graph else None
        view = self.view(path)
        if root is None or pkg is None or view.source is None:
            return []
        touching = [f for f in view.findings if f.span.overlaps(window)]
        if not touching:
            return []
        overlays = self.overlays()
        others = [
            src
            for f in pkg.all_files(self.settings.tests)
            if f != path and (src := root.engine.source(f, overlays)) is not None
        ]
        out: list[Fix] = []
        for finding in touching:
            for fix in candidate_fixes(
                finding, view.findings, view.source, pkg.import_path, others
            ):
                if await self.verifier.verify(root.engine, fix, overlays):
                    out.append(fix)
        return out

    def source(self, path: str) -> GoSource | None:
        """The file as the editor holds it (buffer, else disk), parsed."""
        for root in self._roots.values():
            return root.engine.source(path, self.overlays())
        return None

    def close_all(self) -> None:
        for root in self._roots.values():
            if root.task is not None:
                root.task.cancel()
            if root.timer is not None:
                root.timer.cancel()
            root.engine.close()
