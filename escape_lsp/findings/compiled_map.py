"""The compiler's text about one file parsed and mapped in one compiled call
(`native/src/map.rs`): `widen_findings(build_findings(...))` sorted by `MAPPED_ORDER`, with no
parsed findings made between the two, as the findings themselves (`mapped_findings`, made in
`native/src/decode.rs`) or as `codec` rows for what leaves the process as data
(`mapped_rows`). A large package's first run mapped ~3× faster than through the parsed
findings when the call made rows (the compiled parse and locating were a third of that time;
the rest was Python objects made twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from escape_lsp.findings import codec, native
from escape_lsp.findings.codec import Row
from escape_lsp.findings.model import Finding
from escape_lsp.findings.parser import gc_paused, path_askers
from escape_lsp.findings.syntax import GoSource

Made = TypeVar("Made", covariant=True)


class CompiledRoute(Protocol[Made]):
    """`mapped_rows` or `mapped_findings`: what one compiled call makes of a file's text."""

    def __call__(
        self,
        text: str,
        cwd: str,
        keep: Callable[[str], bool],
        path_map: Mapping[str, str] | None,
        sources: Callable[[str], GoSource | None],
    ) -> tuple[Made, ...] | None: ...


class _NoTree(Exception):
    """A file the findings name has a source but no compiled tree (tree-sitter gave none)."""


def mapped_rows(
    text: str,
    cwd: str,
    keep: Callable[[str], bool],
    path_map: Mapping[str, str] | None,
    sources: Callable[[str], GoSource | None],
) -> tuple[Row, ...] | None:
    """The mapped findings of `text` as rows (`codec.decode` makes them findings; a mapping
    child sends them, the disk memo stores them); None without the compiled mapping, or when
    a file they name has no compiled tree: the caller maps through the parsed findings then
    (the Python rules answer for such a file)."""
    return _mapped(text, cwd, keep, path_map, sources, None)


def mapped_findings(
    text: str,
    cwd: str,
    keep: Callable[[str], bool],
    path_map: Mapping[str, str] | None,
    sources: Callable[[str], GoSource | None],
) -> tuple[Finding, ...] | None:
    """`codec.decode(mapped_rows(...))` with no row made: the findings made in the same
    compiled call (h2_bundle.go's 3,735: 75–87 → 49–69 ms), sharing one object per range and
    per repeated text."""
    return _mapped(text, cwd, keep, path_map, sources, codec.MODEL)


def _mapped(
    text: str,
    cwd: str,
    keep: Callable[[str], bool],
    path_map: Mapping[str, str] | None,
    sources: Callable[[str], GoSource | None],
    model: object,
) -> tuple[Any, ...] | None:
    compiled = native.compiled
    if compiled is None:
        return None
    kept, resolve = path_askers(cwd, keep, path_map)

    def tree_of(path: str) -> Any:
        src = sources(path)
        if src is None:
            return None
        tree = src.compiled_tree()
        if tree is None:
            raise _NoTree(path)
        return tree

    try:
        with gc_paused():
            return tuple(compiled.map_findings(text, kept, resolve, tree_of, model))
    except _NoTree:
        return None
