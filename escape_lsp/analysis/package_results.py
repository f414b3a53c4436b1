"""What go printed for one package → its `PackageResult`: the compiler's errors (`Blocked`),
or the findings of each file (widened, memoised per file) plus the derived pool findings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from escape_lsp.analysis.durable_store import DurableStore
from escape_lsp.analysis.hashing import digest, text_digest
from escape_lsp.analysis.pools.tree import may_import_sync
from escape_lsp.analysis.result_memo import ResultMemo
from escape_lsp.analysis.results import Blocked, PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.two_cores import map_on_two_cores
from escape_lsp.findings import codec, native
from escape_lsp.findings.codec import Row
from escape_lsp.findings.compiled_map import CompiledRoute, mapped_findings, mapped_rows
from escape_lsp.findings.model import Finding
from escape_lsp.findings.parser import build_findings, gc_paused, parse_errors, split_by_file
from escape_lsp.findings.syntax import MAPPED_ORDER, GoSource, widen_findings
from escape_lsp.gotool.build import BuildOutput, transient_failure
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain

if TYPE_CHECKING:  # the sync.Pool doctor is imported for a package that may have a pool only
    from escape_lsp.analysis.pools.syntax import PackagePools

#: Bytes of Go whose compiled trees a one-shot run (the CLI) parses while go compiles, beyond
#: the files that need them then (the mapping reads them once go is done): about ten times
#: as many bytes of memory, so a run over many large packages parses the rest as it maps,
#: one file at a time.
TREES_AHEAD = 8 * 2**20

Made = TypeVar("Made")


class Host(Protocol):
    """What mapping needs of the engine."""

    #: The process ends with this analysis (see `Engine.one_shot`).
    one_shot: bool
    toolchain: Toolchain
    context: ModuleContext
    settings: AnalysisSettings
    memo: ResultMemo
    store: DurableStore

    @property
    def current_graph(self) -> PackageGraph | None: ...

    def source(self, path: str, overlays: Mapping[str, bytes]) -> GoSource | None: ...

    def file_hash(self, path: str, overlays: Mapping[str, bytes]) -> str: ...

    def is_excluded(self, path: str) -> bool: ...


class Split(NamedTuple):
    """A package's text split by file, with each chunk's per-file memo key and parse key."""

    text: str
    chunks: list[tuple[str, str]]
    keys: list[str]
    parse_keys: dict[str, str]


@dataclass
class Premapped:
    """What `premap` mapped while go still ran, for `_compiled` to take where go's output
    turns out the same."""

    #: Per package: the text go was expected to show, split.
    texts: dict[str, Split] = field(default_factory=dict)
    #: Per file: the chunk mapped, and its findings.
    files: dict[str, tuple[str, tuple[Finding, ...]]] = field(default_factory=dict)

    def found(self, path: str, chunk: str) -> tuple[Finding, ...] | None:
        got = self.files.get(path)
        return got[1] if got is not None and got[0] == chunk else None


@dataclass(frozen=True)
class BuildBatch:
    """One go command's output, and the contents and overlay names it was run with."""

    graph: PackageGraph
    out: BuildOutput
    contents: Mapping[str, bytes]
    path_map: Mapping[str, str]
    #: Per package, the sync.Pool indexes built while go compiled (see `prepare_pools`).
    pools: Mapping[str, PreparedPools] = field(default_factory=dict)
    #: The files whose compiled trees were parsed while go compiled beyond those that need
    #: them then (`prepare_sources`' `ahead`).
    ahead: Set[str] = frozenset()
    #: What was mapped while go still ran (`premap`).
    premapped: Premapped = field(default_factory=Premapped)


#: A package's files as parsed sources, and the sync.Pool indexes built from exactly those.
PreparedPools = tuple[dict[str, GoSource], list["PackagePools"]]


def package_result(
    host: Host, batch: BuildBatch, name: str, key: str, file_hashes: dict[str, str]
) -> PackageResult:
    """The result of `name` in `batch`, for the files hashed as `file_hashes` under `key`."""
    cwd, out, path_map = host.context.root, batch.out, batch.path_map
    text = out.output.get(name, "")
    blocked: Blocked | None = None
    died = out.interrupted or out.returncode < 0  # timed out, or go itself was killed
    if name in out.failed:
        errors = tuple(parse_errors(text, cwd, path_map))
        blocked = Blocked(name, errors, transient=died or transient_failure(text))
    elif out.returncode != 0 and not text:
        culprit = _culprit(batch.graph, name, out.failed, host.settings.tests)
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
        with gc_paused():
            findings, chunk_keys = _compiled(host, batch, name, text)
        return PackageResult(name, findings, None, file_hashes, key, file_keys=chunk_keys)
    return PackageResult(name, (), blocked, file_hashes, key)


class _Mapping:
    """How one build's output about each file becomes findings: once go is done
    (`_compiled`), or while it still runs (`premap`)."""

    def __init__(
        self,
        host: Host,
        graph: PackageGraph,
        contents: Mapping[str, bytes],
        path_map: Mapping[str, str],
        ahead: Set[str],
    ) -> None:
        self.host, self.contents, self.path_map, self.ahead = host, contents, path_map, ahead
        self.root = host.context.root
        self.keep = keep_filter(host, graph, contents)
        self.parsed: dict[str, GoSource | None] = {}
        self.parse_keys: dict[str, str] = {}

    def sources(self, path: str) -> GoSource | None:
        if path not in self.parsed:
            keep = self.keep(path)
            self.parsed[path] = self.host.source(path, self.contents) if keep else None
        return self.parsed[path]

    def chunks(self, text: str) -> list[tuple[str, str]]:
        """The text's part about each kept file, by path (a package's findings come out in
        `Finding.sort_key` order: it starts with the file)."""
        chunks = sorted(split_by_file(text, self.root, self.path_map).items())
        return [(path, chunk) for path, chunk in chunks if self.keep(path)]

    def keys(self, chunks: Iterable[tuple[str, str]]) -> list[str]:
        """Each chunk's per-file memo key (its parse's key noted for the mapping)."""
        keys: list[str] = []
        for path, chunk in chunks:
            parse_key = self.parse_keys[path] = _parse_key(self.root, path, chunk, self.path_map)
            keys.append(_chunk_key(self.host, parse_key, path, self.contents))
        return keys

    def compiled(
        self, item: tuple[str, str], route: CompiledRoute[Made]
    ) -> tuple[Made, ...] | None:
        """The chunk parsed and mapped in one compiled call (`compiled_map`'s `route`: rows
        or findings), unless its parse is memoised. Also for a file whose earlier text's
        answers it could reuse: the compiled call locating every point was faster than the
        Python mapping's lookups (a net/http copy after an edit of server.go: medians 76–87
        → 64–75 ms for the package)."""
        path, chunk = item
        if self.host.memo.has_parsed(path, self.parse_keys[path]):
            return None
        return route(chunk, self.root, self.keep, self.path_map, self.sources)

    def mapped(self, item: tuple[str, str]) -> tuple[Finding, ...]:
        return self.found_of(item, self.compiled(item, mapped_findings))

    def found_of(
        self, item: tuple[str, str], compiled: tuple[Finding, ...] | None
    ) -> tuple[Finding, ...]:
        """The chunk's findings: those the compiled mapping made, else through its parse."""
        host, (path, chunk) = self.host, item
        key = self.parse_keys[path]
        if compiled is not None:
            found = compiled
            host.memo.remember_parsed(path, key, found, mapped=True)
        else:
            raw = host.memo.parsed(path, key)
            if raw is None:
                raw = build_findings(chunk, self.root, self.keep, self.path_map)
                host.memo.remember_parsed(path, key, raw)
            found = tuple(sorted(widen_findings(raw, self.sources), key=MAPPED_ORDER))
        self.release(path)
        return found  # the disk memo encodes what it stores, later

    def as_rows(self, item: tuple[str, str]) -> tuple[Row, ...]:
        """`mapped`'s findings as rows, made as rows when the compiled mapping maps them."""
        rows = self.compiled(item, mapped_rows)
        if rows is None:  # (asked once: a file without a compiled tree is parsed once)
            return codec.encode(self.found_of(item, None))
        self.release(item[0])
        return rows

    def release(self, path: str) -> None:
        """One compiled tree at a time (a later flow step parses it again); a one-shot
        run keeps those it parsed ahead: the peak held them already, and freeing them
        costs time (~20 ms for a copy of net/http) where the exit frees them at once."""
        src = self.parsed.get(path)
        if src is not None and not (self.host.one_shot and path in self.ahead):
            src.release_native()


def premap(
    host: Host,
    graph: PackageGraph,
    contents: Mapping[str, bytes],
    path_map: Mapping[str, str],
    ahead: Set[str],
    name: str,
    text: str,
    into: Premapped,
) -> None:
    """Map `text`, what go is expected to show for `name` (the compiler's output read while
    go still runs, see `gotool/compile_stream.py`), into `into`: each kept file's chunk that
    the memo does not answer and that is not mapped already. Only ever ahead of time: the
    findings are taken for a file only where go's own output has the very same chunk."""
    m = _Mapping(host, graph, contents, path_map, ahead)
    with gc_paused():
        chunks = m.chunks(text)
        keys = m.keys(chunks)
        for item, key in zip(chunks, keys, strict=True):
            if into.found(*item) is None and host.memo.file_entry(key, contents) is None:
                into.files[item[0]] = (item[1], m.mapped(item))
        into.texts[name] = Split(text, chunks, keys, m.parse_keys)


def _compiled(
    host: Host, batch: BuildBatch, name: str, text: str
) -> tuple[tuple[Finding, ...], tuple[str, ...] | None]:
    """The findings of a package that compiled, and the per-file memo keys they came from."""
    graph, contents = batch.graph, batch.contents
    m = _Mapping(host, graph, contents, batch.path_map, batch.ahead)
    # Unsaved buffers' results stay in memory: a saved text builds without overlays.
    durable = host.store.durable_package(graph, name) and not batch.path_map
    early = batch.premapped
    expected = early.texts.get(name)
    if expected is not None and expected.text == text:  # as the early mapping split it
        chunks, keys = expected.chunks, expected.keys
        m.parse_keys.update(expected.parse_keys)
    else:
        chunks = m.chunks(text)
        keys = m.keys(chunks)
    hits = [host.memo.file_entry(key, contents) for key in keys]
    missed = [item for item, hit in zip(chunks, hits, strict=True) if hit is None]
    ready = {
        path: found for path, chunk in missed if (found := early.found(path, chunk)) is not None
    }
    rest = [item for item in missed if item[0] not in ready]
    fresh = iter(map_on_two_cores(rest, m.mapped, lambda item: len(item[1]), m.as_rows))
    findings: list[Finding] = []
    by_file: dict[str, tuple[Finding, ...]] = {}  # (a file's chunk holds its verdicts alone)
    for (path, _), key, hit in zip(chunks, keys, hits, strict=True):
        found = hit
        if found is None:
            found, rows = (ready[path], None) if path in ready else next(fresh)
            host.memo.remember_file(key, path, found, contents, durable, rows)
        findings.extend(found)
        by_file[path] = found
    if not host.one_shot:  # a lasting session's sources: nothing kept for this output
        for src in m.parsed.values():
            if src is not None:
                src.forget_points()
    parsed_files = _package_sources(host, graph, name, m.sources, m.keep)
    prepared = batch.pools.get(name)
    index = prepared[1] if prepared is not None and _same(prepared[0], parsed_files) else None
    if any(map(may_import_sync, parsed_files.values())):  # derived: the sync.Pool doctor
        from escape_lsp.analysis.pools.checks import pool_findings

        findings += pool_findings(by_file, parsed_files, index)
    return tuple(findings), (tuple(keys) if durable else None)


def _package_sources(
    host: Host,
    graph: PackageGraph,
    name: str,
    sources: Callable[[str], GoSource | None],
    keep: Callable[[str], bool],
) -> dict[str, GoSource]:
    """The files of `name` the user has, parsed as the build saw them."""
    files = graph.packages[name].all_files(host.settings.tests)
    return {f: s for f in files if keep(f) and (s := sources(f)) is not None}


def _same(a: Mapping[str, GoSource], b: Mapping[str, GoSource]) -> bool:
    """The same files as the very same parsed texts."""
    return a.keys() == b.keys() and all(a[path] is b[path] for path in a)


def _chunk_key(host: Host, parse_key: str, path: str, contents: Mapping[str, bytes]) -> str:
    """The per-file memo key of the compiler's text about `path`: its parse's key (that text,
    the overlay names in it, the root), the file's content, which the mapping reads, and what
    tells the workspace's files apart."""
    graph = host.current_graph
    modules = graph.modules if graph is not None else ()
    head = repr((parse_key, host.file_hash(path, contents), host.settings.excluded, modules))
    return digest(head.encode())


def _parse_key(root: str, path: str, text: str, path_map: Mapping[str, str]) -> str:
    """What the parse of the compiler's `text` about `path` depends on: that text, the
    overlay names in it and the root relative paths resolve from (not the file's content,
    which only the mapping reads)."""
    overlaid = sorted((tmp, real) for tmp, real in path_map.items() if tmp in text)
    head = repr((path, overlaid, root))
    return digest(head.encode(), b"\0", text_digest(text).encode())


def keep_filter(
    host: Host, graph: PackageGraph, contents: Mapping[str, bytes]
) -> Callable[[str], bool]:
    """Workspace files the user has; generated ones (`_testmain.go`) and GOROOT go."""

    answers: dict[str, bool] = {}

    def keep(path: str) -> bool:
        answer = answers.get(path)
        if answer is None:
            known = path in graph.by_file or path in contents or os.path.isfile(path)
            answer = answers[path] = (
                known
                and graph.is_workspace_file(path)
                and not host.toolchain.in_goroot(path)
                and not host.is_excluded(path)
            )
        return answer

    return keep


def prepare_sources(
    host: Host,
    graph: PackageGraph,
    names: Iterable[str],
    contents: Mapping[str, bytes],
    built_hashes: Mapping[str, Mapping[str, str]],
    ahead: int = 0,
    parsed_ahead: set[str] | None = None,
    answered: Set[str] = frozenset(),
) -> None:
    """Parse (syntax trees included) the files of `names` the mapping will read, while go is
    busy: all of a package's files on its first build here (its findings are mapped and its
    pools indexed with the trees of all of them), else those changed since (`built_hashes`),
    whose earlier text's answers are settled on them then too (`GoSource.settle_carried`).
    With the compiled mapping a first build parses here only the trees of the files open in
    the editor (`contents`: what is shown); the mapping parses each other file's compiled
    tree as it comes and drops every one after its file, so a large package holds about one
    at a time beside the Python trees the pool index reads (a large package's peak: 108 →
    94 MB in the engine alone). `ahead`: bytes of Go beyond those whose compiled trees are
    parsed now all the same (the CLI's, whose run ends with the mapping: go leaves most of a
    core idle while it compiles, and a copy of net/http's first run mapped ~0.09 s sooner);
    `parsed_ahead` gets the paths of those. Files the memo most likely `answered` (see
    `ResultMemo.preload`) get none ahead: a run after an edit maps only what changed."""
    keep = keep_filter(host, graph, contents)
    tests = host.settings.tests
    for name in names:
        before = built_hashes.get(name)
        for path in graph.packages[name].all_files(tests):
            if before is not None and before.get(path) == host.file_hash(path, contents):
                continue
            if keep(path):
                src = host.source(path, contents)
                if src is not None:
                    early = before is not None or native.compiled is None or path in contents
                    if not early and path not in answered and ahead >= len(src.data):
                        early, ahead = True, ahead - len(src.data)
                        if parsed_ahead is not None:
                            parsed_ahead.add(path)
                    if early:
                        src.prepare()  # its tree parsed now, read when the output arrives
                    src.settle_carried()  # an edited file: its unchanged declarations' answers


def prepare_pools(
    host: Host, graph: PackageGraph, names: Iterable[str], contents: Mapping[str, bytes]
) -> dict[str, PreparedPools]:
    """The sync.Pool indexes of `names`, built while go is busy: they read syntax alone, so
    only the checks that read the compiler's verdicts wait for its output (the index of a
    large package took ~25 ms after go on a first build)."""
    keep = keep_filter(host, graph, contents)
    out: dict[str, PreparedPools] = {}
    for name in names:
        files = _package_sources(host, graph, name, lambda p: host.source(p, contents), keep)
        if any(map(may_import_sync, files.values())):
            from escape_lsp.analysis.pools.checks import prepare_checks
            from escape_lsp.analysis.pools.syntax import index_packages

            indexes = index_packages(files)
            prepare_checks(indexes)
            out[name] = (files, indexes)
    return out


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
