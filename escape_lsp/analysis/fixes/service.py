"""Quick fixes for a snapshot: proposed from the table, proven by the compiler, cached.

After each build the service proves, in the background, the candidates of the open files whose
results changed, so the light bulb usually only reads verdicts. A request for a fix whose proof
is still running waits for that proof rather than starting another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.errors import EXPECTED_FAILURES
from escape_lsp.analysis.fixes.context import FixContext
from escape_lsp.analysis.fixes.model import Fix
from escape_lsp.analysis.fixes.registry import candidates
from escape_lsp.analysis.fixes.verify import FixVerifier
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.views import file_view
from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import GoSource

log = logging.getLogger(__name__)


class FixService:
    def __init__(self) -> None:
        self.verifier = FixVerifier()
        self._background: asyncio.Task[None] | None = None

    def proposals(self, snapshot: Snapshot, path: str, window: Span) -> list[tuple[Engine, Fix]]:
        """Unproven candidates for the findings of `path` that touch `window`."""
        root = snapshot.root_of(path)
        view = file_view(snapshot, path)
        graph = root.engine.current_graph if root else None
        pkg = graph.package_of(path) if graph else None
        if root is None or pkg is None or view.source is None:
            return []
        engine = root.engine

        def siblings() -> list[GoSource]:
            return [
                src
                for f in pkg.all_files(snapshot.settings.tests)
                if f != path and (src := engine.source(f, snapshot.overlays)) is not None
            ]

        out: list[tuple[Engine, Fix]] = []
        for finding in view.findings:
            if finding.span.overlaps(window):
                ctx = FixContext(finding, view.findings, view.source, pkg.import_path, siblings)
                out.extend((engine, fix) for fix in candidates(ctx))
        return out

    async def fixes(self, snapshot: Snapshot, path: str, window: Span) -> list[Fix]:
        """Proven fixes for the findings of `path` that touch `window`, in `snapshot`'s text."""
        out: list[Fix] = []
        for engine, fix in self.proposals(snapshot, path, window):
            try:
                if await self.verifier.verify(engine, fix, snapshot.overlays):
                    out.append(fix)
            except EXPECTED_FAILURES as exc:
                log.warning("could not verify %r: %s", fix.title, exc)
        return out

    def prepare(self, snapshot: Snapshot, paths: Iterable[str]) -> None:
        """Prove the candidates of open `paths` in the background (superseding earlier work)."""
        self.cancel()
        opened = [p for p in sorted(paths) if p in snapshot.buffers]
        if opened:
            self._background = asyncio.ensure_future(self._prepare(snapshot, opened))

    async def _prepare(self, snapshot: Snapshot, paths: list[str]) -> None:
        whole = Span(0, 0, 1 << 31, 0)
        for path in paths:
            try:
                await self.fixes(snapshot, path, whole)
            except Exception:
                log.exception("background fix verification for %s failed", path)

    def cancel(self) -> None:
        if self._background is not None and not self._background.done():
            self._background.cancel()

    async def wait_idle(self) -> None:
        while self._background is not None and not self._background.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._background)
