"""The incremental engine: what to rebuild, one go command per batch, a content-hash memo.

Knows the go tool (layer 1) and findings (layer 2); knows nothing of LSP. The server and the CLI
both drive it. It composes the parts: `PackageGraphCache` (listing), `ResultMemo` and
`DurableStore` (memos in memory and on disk), `SourceCache` (parsed sources), `BuildRunner`
(go commands) and `package_results` (go's output → results).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterable, Mapping

from escape_lsp.analysis import package_results
from escape_lsp.analysis.builds import BuildRunner, build_request
from escape_lsp.analysis.compile_recipes import RecipeBook, recipe_key
from escape_lsp.analysis.durable_store import DurableStore
from escape_lsp.analysis.hashing import FileHasher, digest
from escape_lsp.analysis.memo_keys import key_base, package_keys
from escape_lsp.analysis.package_graphs import PackageGraphCache
from escape_lsp.analysis.result_memo import ResultMemo
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.source_cache import SOURCE_BUDGET, SOURCE_COST_FACTOR, SourceCache
from escape_lsp.analysis.stream_follower import follow
from escape_lsp.findings.model import Finding
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool import head_start
from escape_lsp.gotool.build import BuildOutput, OverlayStore
from escape_lsp.gotool.build_command import BuildRequest
from escape_lsp.gotool.compile_recipe import Recipe, replay
from escape_lsp.gotool.compile_stream import Streams, as_go_shows
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain

__all__ = ["SOURCE_BUDGET", "SOURCE_COST_FACTOR", "AnalysisSettings", "Buffers", "Engine"]

Buffers = Callable[[], Mapping[str, bytes]]

#: `off`: every build is a go build (no compile replayed from a recipe).
REPLAY_ENV = "ESCAPE_LSP_COMPILE_REPLAY"


class Engine:
    """One module or go.work workspace: its package graph, overlays, memo and go commands."""

    def __init__(
        self,
        toolchain: Toolchain,
        context: ModuleContext,
        settings: AnalysisSettings,
        buffers: Buffers | None = None,
    ) -> None:
        self.toolchain = toolchain
        self.context = context
        self.settings = settings
        #: The editor's unsaved buffers (path -> bytes), so `go list` sees new and deleted files.
        self.buffers: Buffers = buffers or dict
        self.overlays = OverlayStore()
        self.hasher = FileHasher()
        self.store = DurableStore(toolchain, context)
        self.disk = self.store.disk
        self.graphs = PackageGraphCache(
            toolchain,
            context,
            lambda: self.settings,
            lambda: self.buffers(),
            self.overlays,
            self.hasher,
            self.store,
        )
        self.memo = ResultMemo(self.store, self.hasher)
        self.sources = SourceCache(self._memo_answers)
        self._sources = self.sources.entries
        self.builds = BuildRunner(toolchain, settings.max_processes)
        #: Packages the server compiles without go while their recipe holds.
        self.recipes = RecipeBook(toolchain, self.overlays)
        #: File hashes of the last build of each package (which files change between builds).
        self._built_hashes: dict[str, Mapping[str, str]] = {}
        #: Each package's last result: for files whose findings came from a memo (never
        #: mapped in this process), what their points map to, for their next texts.
        self._latest: dict[str, PackageResult] = {}
        #: The process ends with this engine's analysis (the CLI): a build parses compiled
        #: trees ahead while go compiles (`package_results.TREES_AHEAD` bytes of Go), and
        #: the mapping keeps those trees and keeps no answers for later texts of a file
        #: (`package_results.package_result`). The server keeps its memory for the session.
        self.one_shot = False

    def close(self) -> None:
        self.cancel_speculation()
        self.recipes.close()
        self.flush_disk()
        self.overlays.close()

    def configure(self, settings: AnalysisSettings) -> None:
        if settings != self.settings:
            self.settings = settings
            self.builds.resize(settings.max_processes)
            self.invalidate_graph()

    def flush_disk(self) -> None:
        """Write the on-disk entries still deferred."""
        self.store.flush()

    # -- package graph (see PackageGraphCache) ------------------------------------------------

    @property
    def current_graph(self) -> PackageGraph | None:
        """The graph as last listed, without listing again."""
        return self.graphs.current

    def invalidate_graph(self) -> None:
        """List packages again on next use (settings, go.mod or files changed; rebuild)."""
        self.graphs.invalidate()

    async def graph(
        self, while_listing: Callable[[PackageGraph], None] | None = None
    ) -> PackageGraph:
        """The package graph; `while_listing` gets a stored earlier listing while go lists
        (see `speculate`)."""
        return await self.graphs.graph(while_listing)

    async def graph_for(
        self,
        path: str,
        delay: float = 0.0,
        while_listing: Callable[[PackageGraph], None] | None = None,
    ) -> PackageGraph:
        """The graph, listed again (once per burst of `delay`) if `path` is in no package;
        `while_listing` as for `graph`."""
        return await self.graphs.graph_for(path, delay, while_listing)

    def _stored_graph(self) -> tuple[PackageGraph | None, str | None]:
        return self.graphs.stored_graph()

    def is_excluded(self, path: str) -> bool:
        rel = os.path.relpath(path, self.context.root)
        return any(
            rel == ex or rel.startswith(ex.rstrip("/") + "/") for ex in self.settings.excluded
        )

    # -- contents -----------------------------------------------------------------------------

    def source(self, path: str, overlays: Mapping[str, bytes]) -> GoSource | None:
        """The parsed file as the build saw it (overlay or disk); cached by content hash."""
        return self.sources.source(path, overlays)

    def file_hash(self, path: str, overlays: Mapping[str, bytes]) -> str:
        """The content hash memo keys and `PackageResult.file_hashes` use (overlay, else disk)."""
        return self.hasher.content_hash(path, overlays)

    # -- analysis -----------------------------------------------------------------------------

    async def analyze(
        self,
        packages: Iterable[str],
        overlays: Mapping[str, bytes] | None = None,
        on_package: Callable[[str], None] | None = None,
    ) -> dict[str, PackageResult]:
        """Results for `packages` with `overlays` (path -> unsaved bytes) applied.

        Memo hits return at once; the rest are built in one go command. Cancelling the caller's
        task kills that command. `on_package` hears of each package as the compiler finishes it
        (progress lines).
        """
        contents = dict(overlays or {})
        graph = await self.graph()
        wanted = sorted(p for p in set(packages) if p in graph.packages)
        keys, hashes = package_keys(
            self.toolchain, self.context, self.settings, self.hasher, graph, wanted, contents
        )
        results: dict[str, PackageResult] = {}
        missing: list[str] = []
        for name in wanted:
            from_disk = self.store.durable_package(graph, name)
            hit = self.memo.lookup(name, keys[name], hashes.get(name, {}), contents, from_disk)
            if hit is not None:
                results[name] = self._latest[name] = PackageResult(
                    name, hit.findings, hit.blocked, hit.file_hashes, hit.key, from_memo=True
                )
                if len(wanted) == 1 and hit.blocked is None:
                    self._make_recipes(graph, [name], contents, keys)
            else:
                missing.append(name)
        if not missing:
            self.cancel_speculation()
            head_start.release()  # the CLI's head start too: nothing to build
        if missing:
            recipe_keys = self._recipe_keys(graph, missing, contents, keys)
            built = await self._build(
                graph, missing, contents, keys, hashes, recipe_keys, on_package
            )
            for name, res in built.items():
                results[name] = self._latest[name] = res
                self._built_hashes[name] = res.file_hashes
                if res.blocked is None or not res.blocked.transient:
                    self.memo.remember(res)
                if res.file_keys is not None and self.store.durable_package(graph, name):
                    self.memo.store(res, self._lineage(name))
            self._make_recipes(
                graph,
                [n for n, r in built.items() if r.blocked is None],
                contents,
                keys,
                recipe_keys,
            )
        return results

    def _make_recipes(
        self,
        graph: PackageGraph,
        names: list[str],
        contents: Mapping[str, bytes],
        keys: Mapping[str, str],
        recipe_keys: Mapping[str, str | None] | None = None,
    ) -> None:
        """Start making the recipe of a package the server built or answered from a memo
        alone (a workspace's packages answered at once make none: a recipe serves a lone
        package's next build)."""
        if recipe_keys is None:
            if all(self.recipes.held_or_making(n) for n in names):
                return
            recipe_keys = self._recipe_keys(graph, names, contents, keys)
        for name in names:
            if name in recipe_keys:
                root = self.context.root
                self.recipes.make(self.settings, root, graph, name, contents, recipe_keys[name])

    def _recipe_keys(
        self,
        graph: PackageGraph,
        names: list[str],
        contents: Mapping[str, bytes],
        keys: Mapping[str, str],
    ) -> dict[str, str | None]:
        """The recipe key (`compile_recipes.recipe_key`) of a package built alone, by the
        server, without tests: what a recipe can serve; none for anything else."""
        if len(names) != 1 or self.one_shot or self.settings.tests:
            return {}
        if os.environ.get(REPLAY_ENV) == "off":
            return {}
        base = key_base(self.toolchain, self.context, self.settings, self.hasher, graph)
        return {n: recipe_key(base, graph, n, contents, keys) for n in names}

    def input_stats(self) -> dict[str, head_start.Stat]:
        """The (mtime_ns, size, inode) of what this engine's results were read from: every file
        hashed for a memo key as it was when read, the directories holding them (a file added
        or removed) and the go binary, as they are now. The CLI's head start skips its build
        when all are unchanged (see `head_start.note_inputs`)."""
        files = self.hasher.signatures()
        out = dict(files)
        for path in {os.path.dirname(f) for f in files} | {self.toolchain.go}:
            if (stat := head_start.stat_of(path)) is not None:
                out[path] = stat
        return out

    def _memo_answers(self, path: str, key: str) -> Iterable[Finding]:
        """The findings of `path` in the last result of its package, if that result is for
        the text whose content key is `key`: asked by `SourceCache` for a text never mapped
        here (its findings came from a memo, whole or per file)."""
        graph = self.current_graph
        name = graph.by_file.get(path) if graph is not None else None
        res = self._latest.get(name) if name is not None else None
        if res is None or res.file_hashes.get(path) != key:
            return ()
        return [f for f in res.findings if f.file == path]

    def speculate(
        self,
        graph: PackageGraph,
        packages: Iterable[str],
        on_package: Callable[[str], None] | None = None,
    ) -> None:
        """Start building `packages` as `graph` (an earlier listing) has them, while go lists
        the real graph. `analyze` takes that build when it needs exactly the same command
        (same packages, files and flags; no unsaved buffers), else kills it."""
        self.cancel_speculation()
        wanted = sorted(p for p in set(packages) if p in graph.packages)
        if wanted:
            req = build_request(
                self.settings, self.context.root, graph, wanted, {}, None, self.one_shot
            )
            self.builds.speculate(req, on_package)

    def cancel_speculation(self) -> None:
        self.builds.cancel_speculation()

    async def _build(
        self,
        graph: PackageGraph,
        names: list[str],
        contents: Mapping[str, bytes],
        keys: Mapping[str, str],
        hashes: Mapping[str, dict[str, str]],
        recipe_keys: Mapping[str, str | None],
        on_package: Callable[[str], None] | None = None,
    ) -> dict[str, PackageResult]:
        changed = {p: d for p, d in contents.items() if self.hasher.hash(p) != digest(d)}
        with self.overlays.lease(changed) as (overlay, path_map):
            req = build_request(
                self.settings, self.context.root, graph, names, contents, overlay, self.one_shot
            )

            pools: dict[str, package_results.PreparedPools] = {}
            ahead: set[str] = set()
            premapped = package_results.Premapped()
            following: list[asyncio.Future[None]] = []

            def prepare(gotmp: str | None) -> None:  # while go compiles: needs no output of it
                with contextlib.suppress(Exception):  # only a head start; mapping redoes it
                    answered: set[str] = set()  # likely answered by the memo: no tree ahead
                    for name in names:  # a package's first build here: a stored result?
                        first = name not in self._built_hashes
                        if first and self.store.durable_package(graph, name):
                            answered |= self.memo.preload(self._lineage(name), contents)
                    budget = package_results.TREES_AHEAD if self.one_shot else 0
                    package_results.prepare_sources(
                        self, graph, names, contents, self._built_hashes, budget, ahead, answered
                    )
                    pools.update(package_results.prepare_pools(self, graph, names, contents))
                if req.stream and gotmp is not None:
                    following.append(asyncio.ensure_future(follow(Streams(gotmp), premap)))

            def premap(package: str, printed: str) -> None:  # the compiler's text, go running
                if package not in names:  # a test variant, or a dependency
                    return
                with contextlib.suppress(Exception):  # only ahead of time; mapping redoes it
                    text = as_go_shows(printed, package, graph.packages[package].dir, req.cwd)
                    package_results.premap(
                        self, graph, contents, path_map, ahead, package, text, premapped
                    )

            try:
                # a lone package's, if it holds (a batch has no recipe keys)
                recipe = self.recipes.usable(names[0], recipe_keys.get(names[0]))
                out = await self._replayed(recipe, path_map, req, prepare) if recipe else None
                if out is None:
                    out = await self.builds.run(req, on_package, prepare)
                    if recipe is not None and out.returncode == 0:  # go built what it could not
                        self.recipes.forget(names[0])
                elif on_package is not None:
                    on_package(names[0])
            finally:
                for task in following:
                    task.cancel()
        batch = package_results.BuildBatch(graph, out, contents, path_map, pools, ahead, premapped)
        return {
            name: package_results.package_result(
                self, batch, name, keys[name], hashes.get(name, {})
            )
            for name in names
        }

    async def _replayed(
        self,
        recipe: Recipe,
        path_map: Mapping[str, str],
        req: BuildRequest,
        prepare: Callable[[str | None], None],
    ) -> BuildOutput | None:
        """The output of the package's compile run from its recipe, without go; None when
        the compile did not end cleanly (go build runs and says why: an error in the code,
        or a recipe gone stale, which that build then shows)."""
        self.cancel_speculation()
        overlaid = {real: tmp for tmp, real in path_map.items()}
        return await replay(recipe, overlaid, req.options.timeout, lambda _: prepare(None))

    def _lineage(self, name: str) -> str:
        """What the disk memo keeps a package's last result under: its name and settings."""
        return repr((name, self.settings))
