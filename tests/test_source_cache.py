"""Parsed sources: one per text, at most the current and the previous text of an edited file."""

from __future__ import annotations

from escape_lsp.analysis.source_cache import SourceCache


def _version(n: int) -> bytes:
    return f"package p\n\n// version {n}\nfunc F() *int {{ x := {n}; return &x }}\n".encode()


def test_an_edited_file_keeps_its_current_and_previous_text_only() -> None:
    cache = SourceCache()
    sources = [cache.source("/m/p/a.go", {"/m/p/a.go": _version(n)}) for n in range(5)]
    assert all(s is not None for s in sources)
    kept = {src.data for src in cache.entries.values()}
    assert kept == {_version(3), _version(4)}
    # Asked again, the current text is the same parsed source (not parsed anew).
    assert cache.source("/m/p/a.go", {"/m/p/a.go": _version(4)}) is sources[4]


def test_a_text_another_path_still_has_stays() -> None:
    cache = SourceCache()
    shared = cache.source("/m/q/b.go", {"/m/q/b.go": _version(0)})
    for n in range(4):  # a.go starts as b.go's text, then moves on
        cache.source("/m/p/a.go", {"/m/p/a.go": _version(n)})
    assert cache.source("/m/q/b.go", {"/m/q/b.go": _version(0)}) is shared
    assert {src.data for src in cache.entries.values()} == {_version(0), _version(2), _version(3)}
