"""The package graph of one module or go.work workspace: listed by go with the unsaved buffers
as an overlay, remembered until invalidated, and kept on disk for later processes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

from escape_lsp.analysis import graph_memo
from escape_lsp.analysis.durable_store import DurableStore
from escape_lsp.analysis.hashing import FileHasher, digest, read_contents
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool.build import OverlayStore
from escape_lsp.gotool.packages import PackageGraph, load_graph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain, ToolchainError


class PackageGraphCache:
    """The graph as last listed, listing again only when invalidated or asked for a file in
    no package. `settings` and `buffers` are read at each listing (they change)."""

    def __init__(
        self,
        toolchain: Toolchain,
        context: ModuleContext,
        settings: Callable[[], AnalysisSettings],
        buffers: Callable[[], Mapping[str, bytes]],
        overlays: OverlayStore,
        hasher: FileHasher,
        store: DurableStore,
    ) -> None:
        self.toolchain = toolchain
        self.context = context
        self._settings = settings
        self._buffers = buffers
        self._overlays = overlays
        self._hasher = hasher
        self._store = store
        self._graph: PackageGraph | None = None
        self._error: ToolchainError | None = None
        self._lock = asyncio.Lock()
        #: File -> content hash last listed without finding it in any package.
        self._unlisted: dict[str, str] = {}
        #: The listing parts of the module's files by stat, as last read (from disk at first).
        self._parts_by_stat: graph_memo.Parts | None = None
        #: File -> digest of its listing part when first seen in a package (see `graph_for`).
        self._parts: dict[str, str] = {}
        self._relist_waits: dict[str, object] = {}

    @property
    def current(self) -> PackageGraph | None:
        """The graph as last listed, without listing again."""
        return self._graph

    def invalidate(self) -> None:
        """List packages again on next use (settings, go.mod or files changed; rebuild)."""
        self._graph = None
        self._error = None
        self._unlisted.clear()

    async def graph(
        self, while_listing: Callable[[PackageGraph], None] | None = None
    ) -> PackageGraph:
        """The package graph, listed with the unsaved buffers as an overlay.

        A failed listing is remembered (and raised again) until `invalidate`, so a broken
        go does not run again on every keystroke. When go must list and an earlier listing of
        this module is on disk, `while_listing` gets that (maybe out of date) graph first, to
        start work meanwhile.
        """
        async with self._lock:
            if self._error is not None:
                raise self._error
            if self._graph is None:
                self._graph = await self._list(while_listing)
            return self._graph

    async def _list(self, while_listing: Callable[[PackageGraph], None] | None) -> PackageGraph:
        buffers = self._buffers()
        changed = {
            p: d
            for p, d in buffers.items()
            if self._hasher.hash(p) != digest(d) and self._in_context(p)
        }
        stored, key = self.stored_graph() if not changed else (None, None)
        if stored is not None:
            return stored
        hint = self._latest_graph() if key is not None and while_listing else None
        if hint is not None and while_listing is not None:
            while_listing(hint)
        settings = self._settings()
        try:
            with self._overlays.lease(changed) as (overlay, _):
                graph = await load_graph(
                    self.toolchain,
                    self.context,
                    dict(settings.env),
                    list(settings.build_flags),
                    overlay,
                )
        except ToolchainError as exc:
            self._error = exc
            raise
        disk = self._store.disk
        if key is not None and disk is not None and self._store.durable(graph):
            encoded = graph_memo.encode_graph(graph)
            disk.put(key, encoded)
            disk.put(self._latest_graph_key(), encoded)
        return graph

    def _latest_graph_key(self) -> str:
        settings = self._settings()
        flags = (self.context.root, settings.env, settings.build_flags)
        return self._store.key("latest-graph", repr(flags))

    def _latest_graph(self) -> PackageGraph | None:
        """The last graph any process listed for this module, whatever its tree was then."""
        if self._store.disk is None:
            return None
        try:
            return graph_memo.decode_graph(
                self.context, self._store.disk.get(self._latest_graph_key())
            )
        except (TypeError, ValueError):
            return None

    def stored_graph(self) -> tuple[PackageGraph | None, str | None]:
        """The graph an earlier process listed for this very tree, and the key to store one
        under (one module only: a go.work's modules are known only by listing)."""
        if self._store.disk is None or self.context.gowork is not None:
            return None, None
        root = self.context.root
        known = self._parts_by_stat
        if known is None:
            known = graph_memo.decode_parts(self._store.get("listing-parts", root))
        signature, parts = graph_memo.tree_signature(root, known)
        self._parts_by_stat = parts
        if parts != known:
            self._store.put_later("listing-parts", root, lambda: parts)
        settings = self._settings()
        key = self._store.key("graph", repr((signature, settings.env, settings.build_flags)))
        try:
            return graph_memo.decode_graph(self.context, self._store.disk.get(key)), key
        except (TypeError, ValueError):
            return None, key  # missing, or not what this version writes

    def _in_context(self, path: str) -> bool:
        return path.startswith(self.context.root.rstrip(os.sep) + os.sep)

    async def graph_for(
        self,
        path: str,
        delay: float = 0.0,
        while_listing: Callable[[PackageGraph], None] | None = None,
    ) -> PackageGraph:
        """The graph, listed again if `path` is in no package yet (a new file, a changed build
        constraint) or its listing part changed since this cache first saw it in one (an
        import added or removed, a renamed package). A text already listed without a package
        is not listed again, and a burst of edits waits `delay` and lists once.
        `while_listing` as for `graph`."""
        graph = await self.graph(while_listing)
        if not path.endswith(".go") or self._listed_as_is(graph, path):
            return graph
        if delay > 0:
            token = self._relist_waits[path] = object()
            await asyncio.sleep(delay)
            if self._relist_waits.get(path) is not token:
                return graph  # a newer edit of this file lists instead
            self._relist_waits.pop(path, None)
            if self._listed_as_is(graph, path):
                return graph
        async with self._lock:
            if self._graph is graph:
                self._graph = None
        graph = await self.graph()
        if graph.package_of(path) is None:
            self._unlisted[path] = self._hasher.content_hash(path, self._buffers())
        else:
            self._parts[path] = self._part(path)
        return graph

    def _listed_as_is(self, graph: PackageGraph, path: str) -> bool:
        """Whether `graph` still holds what go would list for `path`'s text now, as far as this
        cache knows: a file in no package is not listed again for a text listed before, and a
        file in one is listed again once its listing part differs from the first one seen
        (the one read from disk before the last listing, when the module's files were read
        then: a file changed on disk since, e.g. by a checkout, lists again too)."""
        if graph.package_of(path) is None:
            return self._unlisted.get(path) == self._hasher.content_hash(path, self._buffers())
        part = self._part(path)
        seen = self._parts.get(path)
        if seen is None:  # first seen: as read before the last listing, if it was read then
            listed = (self._parts_by_stat or {}).get(path)
            seen = self._parts[path] = listed[3] if listed is not None else part
        return seen == part

    def _part(self, path: str) -> str:
        data = read_contents(path, self._buffers())
        return graph_memo.part_digest(data) if data is not None else "unreadable"
