"""The incremental engine: what to rebuild, one go command per batch, a content-hash memo.

Knows the go tool (layer 1) and findings (layer 2); knows nothing of LSP. The server and the CLI
both drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from escape_lsp.analysis import findings_codec, graph_memo
from escape_lsp.analysis.compiler_flags import BOUNDS_FLAG
from escape_lsp.analysis.disk_memo import DiskMemo, binary_identity, environment_salt
from escape_lsp.analysis.gcassert import needs_bounds_report
from escape_lsp.analysis.results import Blocked, PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import Finding
from escape_lsp.findings.parser import build_findings, parse_errors, split_by_file
from escape_lsp.findings.syntax import GoSource, widen_finding
from escape_lsp.gotool.build import (
    BuildOutput,
    BuildRequest,
    OverlayStore,
    run_build,
    transient_failure,
)
from escape_lsp.gotool.modfiles import graph_files
from escape_lsp.gotool.packages import PackageGraph, load_graph
from escape_lsp.gotool.process import GoTimeout
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain, ToolchainError

#: Parsed sources cost about this many bytes per byte of Go (the tree-sitter tree dominates).
SOURCE_COST_FACTOR = 64
#: Estimated bytes the parsed-source cache may hold (about 2 MiB of Go text).
SOURCE_BUDGET = 128 * 2**20
#: Estimated bytes the result memo may hold.
MEMO_BUDGET = 96 * 2**20
#: Estimated bytes the per-file findings memo may hold.
FILE_MEMO_BUDGET = 48 * 2**20
#: A go.mod/go.work `replace` to a directory: code outside the workspace that content hashes
#: do not cover, so such workspaces keep nothing on disk.
_LOCAL_REPLACE = re.compile(rb"=>\s*(?:\.{1,2}[/\\]|/|[A-Za-z]:)")

#: A per-file entry: the files its ranges were computed from (with their hashes), and the
#: findings.
FileEntry = tuple[tuple[tuple[str, str], ...], tuple[Finding, ...]]

Buffers = Callable[[], Mapping[str, bytes]]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileHasher:
    """Content hashes of files on disk, re-read only when their stat changes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int, int], str]] = {}

    def hash(self, path: str) -> str:
        try:
            st = os.stat(path)
        except OSError:
            return "missing"
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        hit = self._cache.get(path)
        if hit and hit[0] == sig:
            return hit[1]
        try:
            with open(path, "rb") as fh:
                digest = _sha(fh.read())
        except OSError:
            return "unreadable"
        self._cache[path] = (sig, digest)
        return digest


def _findings_cost(findings: Iterable[Finding]) -> int:
    """Rough bytes findings hold (their flow steps included)."""
    items = steps = 0
    for f in findings:
        items += 1
        steps += len(f.flow)
    return 400 * items + 300 * steps


def _result_cost(res: PackageResult) -> int:
    """Rough bytes a memoised result holds (findings and their flow steps dominate)."""
    return 512 + _findings_cost(res.findings) + 120 * len(res.file_hashes)


class Engine:
    """One module or go.work workspace: its package graph, overlays, memo and go commands."""

    MEMO_SIZE = 512

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
        self._graph: PackageGraph | None = None
        self._graph_error: ToolchainError | None = None
        self._graph_lock = asyncio.Lock()
        #: File -> content hash last listed without finding it in any package.
        self._unlisted: dict[str, str] = {}
        self._relist_waits: dict[str, object] = {}
        self._memo: OrderedDict[str, PackageResult] = OrderedDict()
        self._memo_cost: dict[str, int] = {}
        self._memo_bytes = 0
        self._sources: OrderedDict[str, GoSource] = OrderedDict()
        self._source_bytes = 0
        #: Per-file findings by (compiler text about the file, file hash, ...): a package that
        #: recompiles after one file changed re-parses and re-maps only that file.
        self._file_memo: OrderedDict[str, FileEntry] = OrderedDict()
        self._file_memo_cost: dict[str, int] = {}
        self._file_memo_bytes = 0
        self.disk = DiskMemo.for_workspace(context.root)
        self._salt: str | None = None
        self._speculation: tuple[BuildRequest, asyncio.Future[BuildOutput]] | None = None
        self._durable_for: tuple[PackageGraph, bool] | None = None
        self._disk_pending: list[tuple[str, Callable[[], Any]]] = []
        self._flush_scheduled = False
        #: File hashes of the last build of each package (which files change between builds).
        self._built_hashes: dict[str, Mapping[str, str]] = {}
        self._slots = asyncio.Semaphore(settings.max_processes)

    def close(self) -> None:
        self.cancel_speculation()
        self.flush_disk()
        self.overlays.close()

    def configure(self, settings: AnalysisSettings) -> None:
        if settings != self.settings:
            self.settings = settings
            self._slots = asyncio.Semaphore(settings.max_processes)
            self.invalidate_graph()

    # -- package graph ------------------------------------------------------------------------

    @property
    def current_graph(self) -> PackageGraph | None:
        """The graph as last listed, without listing again."""
        return self._graph

    def invalidate_graph(self) -> None:
        """List packages again on next use (settings, go.mod or files changed; rebuild)."""
        self._graph = None
        self._graph_error = None
        self._unlisted.clear()

    async def graph(
        self, while_listing: Callable[[PackageGraph], None] | None = None
    ) -> PackageGraph:
        """The package graph, listed with the unsaved buffers as an overlay.

        A failed listing is remembered (and raised again) until `invalidate_graph`, so a broken
        go does not run again on every keystroke. When go must list and an earlier listing of
        this module is on disk, `while_listing` gets that (maybe out of date) graph first, to
        start work meanwhile (see `speculate`).
        """
        async with self._graph_lock:
            if self._graph_error is not None:
                raise self._graph_error
            if self._graph is None:
                buffers = self.buffers()
                changed = {
                    p: d
                    for p, d in buffers.items()
                    if self.hasher.hash(p) != _sha(d) and self._in_context(p)
                }
                stored, key = self._stored_graph() if not changed else (None, None)
                if stored is not None:
                    self._graph = stored
                    return stored
                hint = self._latest_graph() if key is not None and while_listing else None
                if hint is not None and while_listing is not None:
                    while_listing(hint)
                try:
                    with self.overlays.lease(changed) as (overlay, _):
                        self._graph = await load_graph(
                            self.toolchain,
                            self.context,
                            dict(self.settings.env),
                            list(self.settings.build_flags),
                            overlay,
                        )
                except ToolchainError as exc:
                    self._graph_error = exc
                    raise
                if key is not None and self.disk is not None and self._durable(self._graph):
                    encoded = graph_memo.encode_graph(self._graph)
                    self.disk.put(key, encoded)
                    self.disk.put(self._latest_graph_key(), encoded)
            return self._graph

    def _latest_graph_key(self) -> str:
        flags = (self.context.root, self.settings.env, self.settings.build_flags)
        return self._disk_key("latest-graph", repr(flags))

    def _latest_graph(self) -> PackageGraph | None:
        """The last graph any process listed for this module, whatever its tree was then."""
        if self.disk is None:
            return None
        try:
            return graph_memo.decode_graph(self.context, self.disk.get(self._latest_graph_key()))
        except (TypeError, ValueError):
            return None

    def _stored_graph(self) -> tuple[PackageGraph | None, str | None]:
        """The graph an earlier process listed for this very tree, and the key to store one
        under (one module only: a go.work's modules are known only by listing)."""
        if self.disk is None or self.context.gowork is not None:
            return None, None
        signature = graph_memo.tree_signature(self.context.root)
        key = self._disk_key(
            "graph", repr((signature, self.settings.env, self.settings.build_flags))
        )
        try:
            return graph_memo.decode_graph(self.context, self.disk.get(key)), key
        except (TypeError, ValueError):
            return None, key  # missing, or not what this version writes

    def _in_context(self, path: str) -> bool:
        return path.startswith(self.context.root.rstrip(os.sep) + os.sep)

    async def graph_for(self, path: str, delay: float = 0.0) -> PackageGraph:
        """The graph, listed again if `path` is in no package yet (a new file, a changed build
        constraint). A text already listed without a package is not listed again, and a burst
        of edits waits `delay` and lists once."""
        graph = await self.graph()
        if graph.package_of(path) is not None or not path.endswith(".go"):
            return graph
        if self._unlisted.get(path) == self.file_hash(path, self.buffers()):
            return graph
        if delay > 0:
            token = self._relist_waits[path] = object()
            await asyncio.sleep(delay)
            if self._relist_waits.get(path) is not token:
                return graph  # a newer edit of this file lists instead
            self._relist_waits.pop(path, None)
        digest = self.file_hash(path, self.buffers())
        if self._unlisted.get(path) == digest:
            return graph
        async with self._graph_lock:
            if self._graph is graph:
                self._graph = None
        graph = await self.graph()
        if graph.package_of(path) is None:
            self._unlisted[path] = digest
        return graph

    def is_excluded(self, path: str) -> bool:
        rel = os.path.relpath(path, self.context.root)
        return any(
            rel == ex or rel.startswith(ex.rstrip("/") + "/") for ex in self.settings.excluded
        )

    # -- sources ------------------------------------------------------------------------------

    @staticmethod
    def _bytes(path: str, overlays: Mapping[str, bytes]) -> bytes | None:
        """The file as a build sees it: its unsaved buffer, else the disk (None: unreadable)."""
        data = overlays.get(path)
        if data is None:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                return None
        return data

    def source(self, path: str, overlays: Mapping[str, bytes]) -> GoSource | None:
        """The parsed file as the build saw it (overlay or disk); cached by content hash."""
        data = self._bytes(path, overlays)
        if data is None:
            return None
        key = _sha(data)
        src = self._sources.get(key)
        if src is not None:
            self._sources.move_to_end(key)
            return src
        src = self._sources[key] = GoSource(data)
        self._source_bytes += len(data) * SOURCE_COST_FACTOR
        while self._source_bytes > SOURCE_BUDGET and len(self._sources) > 1:
            _, old = self._sources.popitem(last=False)
            self._source_bytes -= len(old.data) * SOURCE_COST_FACTOR
        return src

    # -- memo ---------------------------------------------------------------------------------

    def file_hash(self, path: str, overlays: Mapping[str, bytes]) -> str:
        """The content hash memo keys and `PackageResult.file_hashes` use (overlay, else disk)."""
        data = overlays.get(path)
        return _sha(data) if data is not None else self.hasher.hash(path)

    def _keys(
        self, graph: PackageGraph, names: Iterable[str], overlays: Mapping[str, bytes]
    ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """Memo key of each package: its files, its workspace deps' keys, settings, go version."""
        keys: dict[str, str] = {}
        hashes: dict[str, dict[str, str]] = {}
        mod_files = graph_files(graph.modules, self.context.gowork)
        base = repr(
            (self.toolchain.version_text, self.settings, [self.hasher.hash(f) for f in mod_files])
        )
        tests = self.settings.tests

        def key_of(name: str, stack: frozenset[str]) -> str:
            if name in keys:
                return keys[name]
            pkg = graph.packages[name]
            files = {f: self.file_hash(f, overlays) for f in pkg.all_files(tests)}
            extra = [f for f in overlays if os.path.dirname(f) == pkg.dir and f not in files]
            files.update({f: self.file_hash(f, overlays) for f in extra})
            deps = pkg.imports | (pkg.test_imports if tests else frozenset())
            dep_keys = sorted(
                (d, key_of(d, stack | {name}))
                for d in deps
                if d in graph.packages and d not in stack and d != name
            )
            hashes[name] = files
            keys[name] = _sha(repr((base, name, sorted(files.items()), dep_keys)).encode())
            return keys[name]

        for n in names:
            if n in graph.packages:
                key_of(n, frozenset())
        return keys, hashes

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
        keys, hashes = self._keys(graph, wanted, contents)
        results: dict[str, PackageResult] = {}
        missing: list[str] = []
        durable = self._durable(graph)
        for name in wanted:
            hit = self._memo.get(keys[name])
            if hit is not None:
                self._memo.move_to_end(keys[name])
            elif durable and not graph.packages[name].cgo:
                hit = self._disk_result(name, keys[name], hashes.get(name, {}), contents)
            if hit is not None:
                results[name] = PackageResult(
                    name, hit.findings, hit.blocked, hit.file_hashes, hit.key, from_memo=True
                )
            else:
                missing.append(name)
        if not missing:
            self.cancel_speculation()
        if missing:
            built = await self._build(graph, missing, contents, keys, hashes, on_package)
            for name, res in built.items():
                results[name] = res
                self._built_hashes[name] = res.file_hashes
                if res.blocked is None or not res.blocked.transient:
                    self._remember(res)
                if durable and res.file_keys is not None and not graph.packages[name].cgo:
                    self._store_result(res)
        return results

    # -- on disk ------------------------------------------------------------------------------

    def _disk_key(self, kind: str, key: str) -> str:
        if self._salt is None:
            self._salt = environment_salt(
                binary_identity(self.toolchain.go), self.toolchain.goroot, self.context
            )
        return _sha(f"{self._salt}\0{kind}\0{key}".encode())

    def _durable(self, graph: PackageGraph) -> bool:
        """Whether results may be kept on disk: a memo dir exists, and content hashes cover
        all the workspace's code (no `replace` to a local directory). Once per graph: a change
        of a module file lists a new one."""
        if self.disk is None:
            return False
        if self._durable_for is not None and self._durable_for[0] is graph:
            return self._durable_for[1]
        answer = True
        for path in graph_files(graph.modules, self.context.gowork):
            try:
                with open(path, "rb") as fh:
                    if _LOCAL_REPLACE.search(fh.read()):
                        answer = False
            except OSError:
                continue
        self._durable_for = (graph, answer)
        return answer

    def _put_later(self, key: str, value: Callable[[], Any]) -> None:
        """Store on disk once the current step is done (after the diagnostics went out);
        `close` and `flush_disk` write what is left."""
        self._disk_pending.append((key, value))
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush_disk()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush_disk)

    def flush_disk(self) -> None:
        self._flush_scheduled = False
        pending, self._disk_pending = self._disk_pending, []
        if self.disk is not None:
            for key, value in pending:
                self.disk.put(key, value())

    def _disk_result(
        self, name: str, key: str, file_hashes: Mapping[str, str], contents: Mapping[str, bytes]
    ) -> PackageResult | None:
        """A result an earlier process stored for exactly this key, rebuilt from its files'
        entries."""
        assert self.disk is not None
        stored = self.disk.get(self._disk_key("package", key))
        try:
            chunk_keys, stored_hashes = stored
            if dict(stored_hashes) != dict(file_hashes):
                return None
        except (TypeError, ValueError):
            return None  # missing, or not what this version writes
        findings: list[Finding] = []
        for chunk_key in chunk_keys:
            entry = self._file_entry(chunk_key, contents)
            if entry is None:
                return None
            findings.extend(entry)
        # Stored in path order, each file's findings sorted: already in Finding.sort_key order.
        res = PackageResult(
            name, tuple(findings), None, dict(file_hashes), key, file_keys=tuple(chunk_keys)
        )
        self._remember(res)
        return res

    def _store_result(self, res: PackageResult) -> None:
        assert self.disk is not None
        value = (res.file_keys, tuple(sorted(res.file_hashes.items())))
        self._put_later(self._disk_key("package", res.key), lambda: value)

    # -- per-file findings ----------------------------------------------------------------------

    def _file_entry(self, key: str, contents: Mapping[str, bytes]) -> tuple[Finding, ...] | None:
        """Findings memoised for `key` (in memory, else on disk) whose files are unchanged."""
        entry = self._file_memo.get(key)
        if entry is None and self.disk is not None:
            stored = self.disk.get(self._disk_key("file", key))
            try:
                deps, rows = stored
                entry = (tuple((str(p), str(d)) for p, d in deps), findings_codec.decode(rows))
            except (TypeError, ValueError, KeyError):
                return None  # missing, or not what this version writes
            self._remember_file(key, entry)
        if entry is None:
            return None
        deps, findings = entry
        if any(self.file_hash(path, contents) != digest for path, digest in deps):
            return None
        self._file_memo.move_to_end(key)
        return findings

    def _remember_file(self, key: str, entry: FileEntry) -> None:
        if key in self._file_memo:
            self._file_memo_bytes -= self._file_memo_cost.pop(key, 0)
        self._file_memo[key] = entry
        cost = self._file_memo_cost[key] = 256 + _findings_cost(entry[1])
        self._file_memo_bytes += cost
        while len(self._file_memo) > 1 and self._file_memo_bytes > FILE_MEMO_BUDGET:
            old, _ = self._file_memo.popitem(last=False)
            self._file_memo_bytes -= self._file_memo_cost.pop(old, 0)

    def _file_findings(
        self,
        path: str,
        text: str,
        contents: Mapping[str, bytes],
        path_map: Mapping[str, str],
        keep: Callable[[str], bool],
        sources: Callable[[str], GoSource | None],
        durable: bool,
    ) -> tuple[str, tuple[Finding, ...]]:
        """The findings the compiler's `text` about `path` makes, widened; memoised by that
        text, the file's content and the overlay names in it."""
        overlaid = sorted((tmp, real) for tmp, real in path_map.items() if tmp in text)
        graph = self._graph
        modules = graph.modules if graph is not None else ()
        head = repr(
            (
                path,
                self.file_hash(path, contents),
                overlaid,
                self.context.root,
                self.settings.excluded,
                modules,
            )
        )
        key = _sha(head.encode() + b"\0" + text.encode())
        hit = self._file_entry(key, contents)
        if hit is not None:
            return key, hit
        raw = build_findings(text, self.context.root, keep, path_map)
        findings = tuple(sorted((widen_finding(f, sources) for f in raw), key=Finding.sort_key))
        used = {f.file for f in findings} | {s.file for f in findings for s in f.flow} | {path}
        deps = tuple((p, self.file_hash(p, contents)) for p in sorted(used))
        entry: FileEntry = (deps, findings)
        self._remember_file(key, entry)
        if durable and self.disk is not None:
            self._put_later(
                self._disk_key("file", key), lambda: (deps, findings_codec.encode(findings))
            )
        return key, findings

    def _remember(self, res: PackageResult) -> None:
        """Memoise `res`; the oldest entries go past MEMO_SIZE entries or MEMO_BUDGET bytes."""
        if res.key in self._memo:
            self._memo_bytes -= self._memo_cost.pop(res.key, 0)
        self._memo[res.key] = res
        self._memo.move_to_end(res.key)
        cost = self._memo_cost[res.key] = _result_cost(res)
        self._memo_bytes += cost
        while len(self._memo) > 1 and (
            len(self._memo) > self.MEMO_SIZE or self._memo_bytes > MEMO_BUDGET
        ):
            old, _ = self._memo.popitem(last=False)
            self._memo_bytes -= self._memo_cost.pop(old, 0)

    def _request(
        self,
        graph: PackageGraph,
        names: list[str],
        contents: Mapping[str, bytes],
        overlay: str | None,
    ) -> BuildRequest:
        s = self.settings
        return BuildRequest(
            packages=tuple(names),
            cwd=self.context.root,
            tests=s.tests,
            gcflags=s.gcflags,
            build_flags=s.build_flags,
            env=s.env,
            overlay=overlay,
            timeout=s.timeout,
            package_gcflags=tuple(
                (name, (BOUNDS_FLAG,))
                for name in names
                if BOUNDS_FLAG not in s.gcflags and self._asserts_bce(graph, name, contents)
            ),
        )

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
        if not wanted:
            return
        req = self._request(graph, wanted, {}, None)

        async def build() -> BuildOutput:
            async with self._slots:
                return await run_build(self.toolchain, req, on_package)

        self._speculation = (req, asyncio.ensure_future(build()))

    def cancel_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation[1].cancel()  # kills its go
            self._speculation = None

    def _speculated(self, req: BuildRequest) -> asyncio.Future[BuildOutput] | None:
        """The speculative build if it runs exactly `req`; any other one is killed."""
        spec, self._speculation = self._speculation, None
        if spec is not None and spec[0] == req:
            return spec[1]
        if spec is not None:
            spec[1].cancel()
        return None

    async def _build(
        self,
        graph: PackageGraph,
        names: list[str],
        contents: Mapping[str, bytes],
        keys: Mapping[str, str],
        hashes: Mapping[str, dict[str, str]],
        on_package: Callable[[str], None] | None = None,
    ) -> dict[str, PackageResult]:
        changed = {p: d for p, d in contents.items() if self.hasher.hash(p) != _sha(d)}
        with self.overlays.lease(changed) as (overlay, path_map):
            req = self._request(graph, names, contents, overlay)

            def prepare() -> None:  # while go compiles: parse the files that changed
                with contextlib.suppress(Exception):  # only a head start; mapping redoes it
                    self._prepare_sources(graph, names, contents)

            try:
                running = self._speculated(req)
                if running is not None:
                    out = await running
                else:
                    async with self._slots:
                        out = await run_build(self.toolchain, req, on_package, prepare)
            except (GoTimeout, OSError) as exc:
                out = BuildOutput(-1, stderr=f"go build: {exc}", interrupted=True)
        return {
            name: self._result(
                graph, name, out, contents, path_map, keys[name], hashes.get(name, {})
            )
            for name in names
        }

    def _prepare_sources(
        self, graph: PackageGraph, names: Iterable[str], contents: Mapping[str, bytes]
    ) -> None:
        """Parse (syntax trees included) the files of `names` that changed since their last
        build here: mapping their findings needs the trees, and go is busy meanwhile."""
        tests = self.settings.tests
        for name in names:
            before = self._built_hashes.get(name)
            if before is None:
                continue  # first build here: unknown which files will need mapping
            for path in graph.packages[name].all_files(tests):
                if before.get(path) != self.file_hash(path, contents):
                    src = self.source(path, contents)
                    if src is not None:
                        src.tree  # noqa: B018 - parsed now, used when the output arrives

    def _asserts_bce(self, graph: PackageGraph, name: str, contents: Mapping[str, bytes]) -> bool:
        """Whether a file of the package has a `//gcassert:bce` directive, which needs the
        compiler's bounds-check report. A function of the files' contents, so memo keys (which
        hash the contents) cover it."""
        for path in graph.packages[name].all_files(self.settings.tests):
            data = self._bytes(path, contents)
            if data is not None and needs_bounds_report(data):
                return True
        return False

    def _keep(self, graph: PackageGraph, contents: Mapping[str, bytes]) -> Callable[[str], bool]:
        """Workspace files the user has; generated ones (`_testmain.go`) and GOROOT go."""

        answers: dict[str, bool] = {}

        def keep(path: str) -> bool:
            answer = answers.get(path)
            if answer is None:
                known = path in graph.by_file or path in contents or os.path.isfile(path)
                answer = answers[path] = (
                    known
                    and graph.is_workspace_file(path)
                    and not self.toolchain.in_goroot(path)
                    and not self.is_excluded(path)
                )
            return answer

        return keep

    def _result(
        self,
        graph: PackageGraph,
        name: str,
        out: BuildOutput,
        contents: Mapping[str, bytes],
        path_map: Mapping[str, str],
        key: str,
        file_hashes: dict[str, str],
    ) -> PackageResult:
        cwd = self.context.root
        text = out.output.get(name, "")
        blocked: Blocked | None = None
        findings: list[Finding] = []
        died = out.interrupted or out.returncode < 0  # timed out, or go itself was killed
        if name in out.failed:
            errors = tuple(parse_errors(text, cwd, path_map))
            blocked = Blocked(name, errors, transient=died or transient_failure(text))
        elif out.returncode != 0 and not text:
            culprit = _culprit(graph, name, out.failed, self.settings.tests)
            if culprit is not None:
                culprit_text = out.output.get(culprit, "")
                errors = tuple(parse_errors(culprit_text, cwd, path_map))
                transient = died or transient_failure(culprit_text)
                blocked = Blocked(name, errors, because_of=culprit, transient=transient)
            else:
                detail = out.stderr or _exit_text(out.returncode)
                errors = tuple(parse_errors(detail, cwd, path_map))
                blocked = Blocked(name, errors, transient=died or transient_failure(detail))
        else:
            keep = self._keep(graph, contents)
            parsed: dict[str, GoSource | None] = {}

            def sources(path: str) -> GoSource | None:
                if path not in parsed:
                    parsed[path] = self.source(path, contents) if keep(path) else None
                return parsed[path]

            # Unsaved buffers' results stay in memory: a saved text builds without overlays.
            durable = self._durable(graph) and not graph.packages[name].cgo and not path_map
            chunk_keys: list[str] = []
            # By path, each file's findings sorted: the package's in Finding.sort_key order
            # (findings are about the file their chunk is about; sort_key starts with it).
            for path, chunk in sorted(split_by_file(text, cwd, path_map).items()):
                if keep(path):
                    chunk_key, found = self._file_findings(
                        path, chunk, contents, path_map, keep, sources, durable
                    )
                    chunk_keys.append(chunk_key)
                    findings.extend(found)
            return PackageResult(
                name,
                tuple(findings),
                None,
                file_hashes,
                key,
                file_keys=tuple(chunk_keys) if durable else None,
            )
        return PackageResult(name, tuple(findings), blocked, file_hashes, key)


def _exit_text(returncode: int) -> str:
    if returncode < 0:
        return f"go was killed by signal {-returncode}"
    return f"go exited with status {returncode}"


def _culprit(graph: PackageGraph, name: str, failed: set[str], tests: bool) -> str | None:
    """The failed package that stopped `name`: an import (workspace or not), else any failure."""
    deps = graph.workspace_deps(name, tests) | {name}
    imported = set(deps)
    for dep in deps:
        pkg = graph.packages.get(dep)
        if pkg is not None:
            imported |= pkg.imports | (pkg.test_imports if tests else frozenset())
    return next(iter(sorted(failed & imported)), None) or next(iter(sorted(failed)), None)
