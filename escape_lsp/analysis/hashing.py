"""Content hashes: what every memo key and `PackageResult.file_hashes` are made of."""

from __future__ import annotations

from collections.abc import Mapping

from escape_lsp.gotool.blake2 import blake2b
from escape_lsp.gotool.head_start import Stat, stat_of


def digest(data: bytes, *more: bytes) -> str:
    """A content hash of `data` and `more` one after the other, 64 hex digits (BLAKE2b: ~2.5x
    faster than SHA-256 on CPUs without SHA instructions, and the engine hashes the compiler's
    whole output on every build; parts are fed in turn, not joined into one copy first)."""
    h = blake2b(data, digest_size=32)
    for part in more:
        h.update(part)
    return h.hexdigest()


#: `text_digest`'s answers by (length, Python's hash of the text), oldest first.
_TEXT_DIGESTS: dict[tuple[int, int], str] = {}
_TEXT_DIGESTS_KEPT = 8192


def text_digest(text: str) -> str:
    """`digest` of the text's UTF-8, remembered for this process by its length and Python's
    own hash of it: after an edit most of a package's compiler output is what it was, and
    Python's hash (SipHash, keyed per process) is one pass over the text where encoding and
    hashing it took ~3 ms per MB (on a large package, a tenth of the engine's time after go)."""
    key = (len(text), hash(text))
    found = _TEXT_DIGESTS.get(key)
    if found is None:
        found = _TEXT_DIGESTS[key] = digest(text.encode())
        if len(_TEXT_DIGESTS) > _TEXT_DIGESTS_KEPT:
            del _TEXT_DIGESTS[next(iter(_TEXT_DIGESTS))]
    return found


def read_contents(path: str, overlays: Mapping[str, bytes]) -> bytes | None:
    """The bytes of `path` as a build with `overlays` sees them; None when unreadable."""
    data = overlays.get(path)
    if data is None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
    return data


class FileHasher:
    """Content hashes of files on disk, re-read only when their stat changes (the head
    start's `Stat`, which it compares with what `signatures` recorded)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Stat, str]] = {}

    def hash(self, path: str) -> str:
        sig = stat_of(path)
        if sig is None:
            return "missing"
        hit = self._cache.get(path)
        if hit and hit[0] == sig:
            return hit[1]
        try:
            with open(path, "rb") as fh:
                hashed = digest(fh.read())
        except OSError:
            return "unreadable"
        self._cache[path] = (sig, hashed)
        return hashed

    def signatures(self) -> dict[str, Stat]:
        """Every file hashed so far, with its (mtime_ns, size, inode) when it was read."""
        return {path: sig for path, (sig, _) in self._cache.items()}

    def content_hash(self, path: str, overlays: Mapping[str, bytes]) -> str:
        """The hash of `path` as a build with `overlays` sees it (overlay, else disk)."""
        data = overlays.get(path)
        return digest(data) if data is not None else self.hash(path)
