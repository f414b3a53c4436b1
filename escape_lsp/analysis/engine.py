"""The incremental engine: what to rebuild, one go command per batch, a content-hash memo.

Knows the go tool (layer 1) and findings (layer 2); knows nothing of LSP. The server and the CLI
both drive it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from escape_lsp.analysis.pools.checks import pool_findings
from escape_lsp.analysis.results import Blocked, PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import Finding
from escape_lsp.findings.parser import build_findings, parse_errors
from escape_lsp.findings.syntax import GoSource, widen_finding
from escape_lsp.gotool.build import BuildOutput, BuildRequest, OverlayStore, run_build
from escape_lsp.gotool.modfiles import graph_files
from escape_lsp.gotool.packages import PackageGraph, load_graph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain


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


class Engine:
    """One module or go.work workspace: its package graph, overlays, memo and go commands."""

    MEMO_SIZE = 512

    def __init__(
        self, toolchain: Toolchain, context: ModuleContext, settings: AnalysisSettings
    ) -> None:
        self.toolchain = toolchain
        self.context = context
        self.settings = settings
        self.overlays = OverlayStore()
        self.hasher = FileHasher()
        self._graph: PackageGraph | None = None
        self._graph_lock = asyncio.Lock()
        self._memo: OrderedDict[str, PackageResult] = OrderedDict()
        self._sources: OrderedDict[str, GoSource] = OrderedDict()
        self._slots = asyncio.Semaphore(settings.max_processes)

    def close(self) -> None:
        self.overlays.close()

    def configure(self, settings: AnalysisSettings) -> None:
        if settings != self.settings:
            self.settings = settings
            self._slots = asyncio.Semaphore(settings.max_processes)
            self._graph = None

    # -- package graph ------------------------------------------------------------------------

    @property
    def current_graph(self) -> PackageGraph | None:
        """The graph as last listed, without listing again."""
        return self._graph

    def invalidate_graph(self) -> None:
        self._graph = None

    async def graph(self) -> PackageGraph:
        async with self._graph_lock:
            if self._graph is None:
                self._graph = await load_graph(
                    self.toolchain,
                    self.context,
                    dict(self.settings.env),
                    list(self.settings.build_flags),
                )
            return self._graph

    def is_excluded(self, path: str) -> bool:
        rel = os.path.relpath(path, self.context.root)
        return any(
            rel == ex or rel.startswith(ex.rstrip("/") + "/") for ex in self.settings.excluded
        )

    # -- sources ------------------------------------------------------------------------------

    def source(self, path: str, overlays: Mapping[str, bytes]) -> GoSource | None:
        """The parsed file as the build saw it (overlay or disk); cached by content hash."""
        data = overlays.get(path)
        if data is None:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                return None
        key = _sha(data)
        src = self._sources.get(key)
        if src is None:
            src = self._sources[key] = GoSource(data)
            while len(self._sources) > 256:
                self._sources.popitem(last=False)
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
        self, packages: Iterable[str], overlays: Mapping[str, bytes] | None = None
    ) -> dict[str, PackageResult]:
        """Results for `packages` with `overlays` (path -> unsaved bytes) applied.

        Memo hits return at once; the rest are built in one go command. Cancelling the caller's
        task kills that command.
        """
        contents = dict(overlays or {})
        graph = await self.graph()
        wanted = sorted(p for p in set(packages) if p in graph.packages)
        keys, hashes = self._keys(graph, wanted, contents)
        results: dict[str, PackageResult] = {}
        missing: list[str] = []
        for name in wanted:
            hit = self._memo.get(keys[name])
            if hit is not None:
                self._memo.move_to_end(keys[name])
                results[name] = PackageResult(
                    name, hit.findings, hit.blocked, hit.file_hashes, hit.key, from_memo=True
                )
            else:
                missing.append(name)
        if missing:
            built = await self._build(graph, missing, contents, keys, hashes)
            for name, res in built.items():
                results[name] = res
                self._memo[res.key] = res
            while len(self._memo) > self.MEMO_SIZE:
                self._memo.popitem(last=False)
        return results

    async def _build(
        self,
        graph: PackageGraph,
        names: list[str],
        contents: Mapping[str, bytes],
        keys: Mapping[str, str],
        hashes: Mapping[str, dict[str, str]],
    ) -> dict[str, PackageResult]:
        changed = {p: d for p, d in contents.items() if self.hasher.hash(p) != _sha(d)}
        overlay, path_map = self.overlays.write(changed)
        s = self.settings
        req = BuildRequest(
            packages=tuple(names),
            cwd=self.context.root,
            tests=s.tests,
            gcflags=s.gcflags,
            build_flags=s.build_flags,
            env=s.env,
            overlay=overlay,
            timeout=s.timeout,
        )
        async with self._slots:
            out = await run_build(self.toolchain, req)
        return {
            name: self._result(
                graph, name, out, contents, path_map, keys[name], hashes.get(name, {})
            )
            for name in names
        }

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
        if name in out.failed:
            blocked = Blocked(name, tuple(parse_errors(text, cwd, path_map)))
        elif out.returncode != 0 and not text:
            culprit = _culprit(graph, name, out.failed, self.settings.tests)
            if culprit is not None:
                errors = tuple(parse_errors(out.output.get(culprit, ""), cwd, path_map))
                blocked = Blocked(name, errors, because_of=culprit)
            else:
                detail = out.stderr or f"go exited with status {out.returncode}"
                blocked = Blocked(name, tuple(parse_errors(detail, cwd, path_map)))
        else:
            keep = self._keep(graph, contents)
            raw = build_findings(text, cwd, keep, path_map)

            parsed: dict[str, GoSource | None] = {}

            def sources(path: str) -> GoSource | None:
                if path not in parsed:
                    parsed[path] = self.source(path, contents) if keep(path) else None
                return parsed[path]

            findings = [widen_finding(f, sources) for f in raw]
            files = (
                graph.packages[name].all_files(self.settings.tests)
                if name in graph.packages
                else ()
            )
            parsed_files = {f: s for f in files if keep(f) and (s := sources(f)) is not None}
            findings += pool_findings(findings, parsed_files)
        return PackageResult(name, tuple(findings), blocked, file_hashes, key)


def _culprit(graph: PackageGraph, name: str, failed: set[str], tests: bool) -> str | None:
    """The failed package that stopped `name`: an import (workspace or not), else any failure."""
    deps = graph.workspace_deps(name, tests) | {name}
    imported = set(deps)
    for dep in deps:
        pkg = graph.packages.get(dep)
        if pkg is not None:
            imported |= pkg.imports | (pkg.test_imports if tests else frozenset())
    return next(iter(sorted(failed & imported)), None) or next(iter(sorted(failed)), None)
