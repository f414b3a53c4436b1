"""The compiler's text about one file parsed and mapped in one compiled call
(`native/src/map.rs`): `widen_findings(build_findings(...))` sorted by `MAPPED_ORDER`, as
`codec` rows, with no parsed findings made between the two. A large package's first run
maps ~3× faster than through the parsed findings (the compiled parse and locating were a
third of that time; the rest was Python objects made twice)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from escape_lsp.findings import native
from escape_lsp.findings.codec import Row
from escape_lsp.findings.parser import gc_paused, path_askers
from escape_lsp.findings.syntax import GoSource


class _NoTree(Exception):
    """A file the findings name has a source but no compiled tree (tree-sitter gave none)."""


def mapped_rows(
    text: str,
    cwd: str,
    keep: Callable[[str], bool],
    path_map: Mapping[str, str] | None,
    sources: Callable[[str], GoSource | None],
) -> tuple[Row, ...] | None:
    """The mapped findings of `text` as rows (`codec.decode` makes them findings); None
    without the compiled mapping, or when a file they name has no compiled tree: the caller
    maps through the parsed findings then (the Python rules answer for such a file)."""
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
            return tuple(compiled.map_findings(text, kept, resolve, tree_of))
    except _NoTree:
        return None
