"""Parsed Go sources by content hash, bounded by estimated bytes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from escape_lsp.analysis.bounded_memo import BoundedMemo
from escape_lsp.analysis.hashing import digest, read_contents
from escape_lsp.findings import native
from escape_lsp.findings.model import Finding
from escape_lsp.findings.syntax import GoSource

#: Parsed sources cost about this many bytes per byte of Go (the tree-sitter tree dominates).
SOURCE_COST_FACTOR = 64
#: Estimated bytes the parsed-source cache may hold (about 2 MiB of Go text).
SOURCE_BUDGET = 128 * 2**20
#: Texts kept per path: the current one and the one before (a request computed on the previous
#: snapshot); older ones of an edited file only cost memory until the budget pushes them out.
VERSIONS_PER_PATH = 2


def _source_cost(src: GoSource) -> int:
    return len(src.data) * SOURCE_COST_FACTOR


#: The findings a result read back from a memo has for (path, content key): empty if none.
Answers = Callable[[str, str], Iterable[Finding]]


class SourceCache:
    """The parsed file as a build saw it: the same text is parsed once, whichever path."""

    def __init__(self, answers: Answers | None = None) -> None:
        self._memo: BoundedMemo[GoSource] = BoundedMemo(SOURCE_BUDGET, _source_cost)
        #: Per path, the content keys parsed for it, oldest first.
        self._versions: dict[str, list[str]] = {}
        self._answers = answers

    @property
    def entries(self) -> OrderedDict[str, GoSource]:
        return self._memo.entries

    def source(self, path: str, overlays: Mapping[str, bytes]) -> GoSource | None:
        """The parsed file (overlay or disk); None when it cannot be read."""
        data = read_contents(path, overlays)
        if data is None:
            return None
        key = digest(data)
        src = self._memo.get(key)
        if src is None:
            src = GoSource(data)
            earlier = self._versions.get(path)
            previous = self._memo.get(earlier[-1]) if earlier else None
            # An edit: unchanged declarations map as before, in the Python mapping (the
            # compiled one locates every point anew, faster than reusing them).
            if previous is not None and native.compiled is None:
                if not previous.has_answers and self._answers is not None and earlier:
                    previous.seed(self._answers(path, earlier[-1]), path)  # from a memo
                src.carry_from(previous)
            self._memo.put(key, src)
        self._note_version(path, key)
        return src

    def _note_version(self, path: str, key: str) -> None:
        versions = self._versions.setdefault(path, [])
        if versions and versions[-1] == key:
            return
        if key in versions:
            versions.remove(key)
        versions.append(key)
        while len(versions) > VERSIONS_PER_PATH:
            old = versions.pop(0)
            if not any(old in keys for keys in self._versions.values()):
                self._memo.drop(old)  # the same text under another path keeps it
