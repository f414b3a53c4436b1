"""Results the engine already computed: per package and per file, in memory (bounded by
estimated bytes) and, for durable workspaces, on disk for later processes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter

from escape_lsp.analysis.bounded_memo import BoundedMemo
from escape_lsp.analysis.durable_store import DurableStore
from escape_lsp.analysis.hashing import FileHasher
from escape_lsp.analysis.results import PackageResult
from escape_lsp.findings import codec as findings_codec
from escape_lsp.findings.model import Finding
from escape_lsp.findings.syntax import unwiden_findings

#: Estimated bytes the result memo may hold.
MEMO_BUDGET = 96 * 2**20
#: Estimated bytes the per-file findings memo may hold.
FILE_MEMO_BUDGET = 48 * 2**20
#: Estimated bytes of parsed (not yet mapped) findings kept, the last parse per file.
PARSE_MEMO_BUDGET = 4 * 2**20

#: A per-file entry: the files its ranges were computed from (with their hashes), and the
#: findings.
FileEntry = tuple[tuple[tuple[str, str], ...], tuple[Finding, ...]]


def _findings_cost(findings: Iterable[Finding]) -> int:
    """Rough bytes findings hold (their flow steps included); counted in C loops (a large
    package's first run asks for ~9k findings' twice)."""
    found = findings if isinstance(findings, list | tuple) else list(findings)
    return 400 * len(found) + 300 * sum(map(len, map(_FLOW, found)))


_FLOW = attrgetter("flow")


def _result_cost(res: PackageResult) -> int:
    """Rough bytes a memoised result holds (findings and their flow steps dominate)."""
    return 512 + _findings_cost(res.findings) + 120 * len(res.file_hashes)


def _file_entry_cost(entry: FileEntry) -> int:
    return 256 + _findings_cost(entry[1])


class ResultMemo:
    """Package results by content key, and per-file findings by the compiler's text about the
    file (validated against the hashes of every file their ranges came from): a package that
    recompiles after one file changed re-parses and re-maps only that file."""

    MEMO_SIZE = 512

    def __init__(self, store: DurableStore, hasher: FileHasher) -> None:
        self._store = store
        self._hasher = hasher
        self._results: BoundedMemo[PackageResult] = BoundedMemo(
            MEMO_BUDGET, _result_cost, self.MEMO_SIZE
        )
        self._files: BoundedMemo[FileEntry] = BoundedMemo(FILE_MEMO_BUDGET, _file_entry_cost)
        #: By file: the key of the compiler's last text about it, that text's parse or
        #: mapped findings, and which of the two.
        self._parsed: BoundedMemo[tuple[str, Sequence[Finding], bool]] = BoundedMemo(
            PARSE_MEMO_BUDGET, lambda entry: _findings_cost(entry[1])
        )

    def lookup(
        self,
        name: str,
        key: str,
        file_hashes: Mapping[str, str],
        contents: Mapping[str, bytes],
        from_disk: bool,
    ) -> PackageResult | None:
        """The result memoised for `key`; else, when `from_disk`, one an earlier process
        stored."""
        hit = self._results.get(key)
        if hit is None and from_disk:
            hit = self._disk_result(name, key, file_hashes, contents)
        return hit

    def remember(self, res: PackageResult) -> None:
        """Memoise `res`; the oldest entries go past MEMO_SIZE entries or MEMO_BUDGET bytes."""
        self._results.put(res.key, res)

    def store(self, res: PackageResult, lineage: str) -> None:
        """Keep `res` on disk (as the list of its per-file keys, stored with the files), and
        its per-file keys as the last of `lineage` (the package and settings; see `preload`)."""
        value = (res.file_keys, tuple(sorted(res.file_hashes.items())))
        self._store.put_later("package", res.key, lambda: value)
        self._store.put_later("last", lineage, lambda: res.file_keys)

    def preload(self, lineage: str, contents: Mapping[str, bytes]) -> set[str]:
        """Read into memory the per-file entries of the result last stored for `lineage`, while
        go compiles: after an edit most files' output is what it was, so their entries answer
        as soon as go is done (reading and decoding them took ~60 ms of a large package's
        result). Entries that no longer match cost only this idle time. The files whose
        entries still hold for every file they read (`contents`, else disk) come back: those
        most likely need no mapping, so no tree parsed ahead for it."""
        answered: set[str] = set()
        if self._store.disk is None:
            return answered
        keys = self._store.get("last", lineage)
        if not isinstance(keys, tuple):
            return answered  # nothing stored yet, or not what this version writes
        hash_of = self._hasher.content_hash
        for key in keys:
            if not isinstance(key, str):
                continue
            entry = self._files.get(key, touch=False) or self._load(key)
            if entry is None or not entry[1]:
                continue
            deps, findings = entry
            if all(hash_of(path, contents) == digest for path, digest in deps):
                answered.add(findings[0].file)  # an entry's findings are about its file
        return answered

    def _disk_result(
        self, name: str, key: str, file_hashes: Mapping[str, str], contents: Mapping[str, bytes]
    ) -> PackageResult | None:
        """A result an earlier process stored for exactly this key, rebuilt from its files'
        entries."""
        stored = self._store.get("package", key)
        try:
            chunk_keys, stored_hashes = stored
            if dict(stored_hashes) != dict(file_hashes):
                return None
        except (TypeError, ValueError):
            return None  # missing, or not what this version writes
        findings: list[Finding] = []
        for chunk_key in chunk_keys:
            entry = self.file_entry(chunk_key, contents)
            if entry is None:
                return None
            findings.extend(entry)
        # Stored in path order, each file's findings sorted: already in Finding.sort_key order.
        res = PackageResult(
            name, tuple(findings), None, dict(file_hashes), key, file_keys=tuple(chunk_keys)
        )
        self.remember(res)
        return res

    def file_entry(self, key: str, contents: Mapping[str, bytes]) -> tuple[Finding, ...] | None:
        """Findings memoised for `key` (in memory, else on disk) whose files are unchanged."""
        entry = self._files.get(key, touch=False)
        if entry is None and self._store.disk is not None:
            entry = self._load(key)
        if entry is None:
            return None
        deps, findings = entry
        if any(self._hasher.content_hash(path, contents) != digest for path, digest in deps):
            return None
        self._files.touch(key)
        return findings

    def parsed(self, path: str, key: str) -> list[Finding] | None:
        """The parse of the compiler's text about `path` under `key` (see `remember_parsed`),
        if it is the last one kept for `path`."""
        entry = self._parsed.get(path)
        if entry is None or entry[0] != key:
            return None
        _, found, mapped = entry
        return unwiden_findings(found) if mapped else list(found)

    def has_parsed(self, path: str, key: str) -> bool:
        """Whether `parsed` has the parse of the compiler's text about `path` under `key`."""
        entry = self._parsed.get(path)
        return entry is not None and entry[0] == key

    def remember_parsed(
        self, path: str, key: str, found: Sequence[Finding], mapped: bool = False
    ) -> None:
        """Keep the parse (`build_findings`, before mapping) of the compiler's text about
        `path` under `key`: a save that changed the file but not what the compiler says
        about it (a comment, a line appended at the end) maps again, against the new text,
        without parsing again (~1.8 ms of a small package's save). `mapped`: `found` are
        its findings mapped (the compiled mapping makes no parsed ones), the parse is made
        of them when it is asked for. Nothing mutates findings once made; mapping makes new
        ones."""
        self._parsed.put(path, (key, found, mapped))

    def _load(self, key: str) -> FileEntry | None:
        """The entry an earlier process stored for `key`, now also in memory."""
        stored = self._store.get("file", key)
        try:
            deps, rows = stored
            entry = (tuple((str(p), str(d)) for p, d in deps), findings_codec.decode(rows))
        except (TypeError, ValueError, KeyError):
            return None  # missing, or not what this version writes
        self._files.put(key, entry)
        return entry

    def remember_file(
        self,
        key: str,
        path: str,
        findings: tuple[Finding, ...],
        contents: Mapping[str, bytes],
        durable: bool,
        rows: tuple[findings_codec.Row, ...] | None = None,
    ) -> None:
        """Memoise the findings of the compiler's text about `path` (and on disk if
        `durable`, as `rows` when they are already encoded), valid while every file their
        ranges came from is unchanged."""
        used = {f.file for f in findings} | {s.file for f in findings for s in f.flow} | {path}
        deps = tuple((p, self._hasher.content_hash(p, contents)) for p in sorted(used))
        self._files.put(key, (deps, findings))
        if durable and self._store.disk is not None:

            def value() -> tuple[object, ...]:
                return deps, rows if rows is not None else findings_codec.encode(findings)

            self._store.put_later("file", key, value)
