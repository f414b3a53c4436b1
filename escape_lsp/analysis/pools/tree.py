"""Tree-sitter helpers the pool syntax and checks share; they know Go, not pools."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tree_sitter import Node

from escape_lsp.findings.syntax import GoSource

FUNCTIONS = ("function_declaration", "method_declaration", "func_literal")


def walk(node: Node, into_literals: bool = True) -> Iterator[Node]:
    """Named descendants in source order; optionally not entering nested function literals.
    (A stack, not recursive generators: each level of `yield from` costs every node below.)"""
    stack = node.named_children[::-1]
    while stack:
        child = stack.pop()
        yield child
        if into_literals or child.type != "func_literal":
            stack += child.named_children[::-1]


def enclosing(node: Node | None, types: tuple[str, ...]) -> Node | None:
    node = node.parent if node is not None else None
    while node is not None and node.type not in types:
        node = node.parent
    return node


def top_level(node: Node) -> Node | None:
    """The top-level function or method declaration containing `node`."""
    cur: Node | None = node
    while cur is not None and cur.type not in ("function_declaration", "method_declaration"):
        cur = cur.parent
    return cur


def unparen(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


def nodes_at(src: GoSource, spans: Iterable[tuple[int, int]]) -> list[Node]:
    """The smallest named node at each byte range (found by a cheap text search first: a
    Python walk over every node of a large file costs tens of milliseconds)."""
    found = list(spans)
    if not found:
        return []  # (no tree parsed for a file that has no match)
    root = src.tree.root_node
    out = []
    for start, end in found:
        node = root.named_descendant_for_byte_range(start, end)
        if node is not None:
            out.append(node)
    return out


def word_matches(data: bytes, word: bytes) -> Iterator[tuple[int, int]]:
    """Where `word` stands as a whole identifier (a plain substring search: a pattern that
    starts with `\\b` makes `re` try every offset, ~30x slower on a large file)."""
    at = data.find(word)
    while at >= 0:
        end = at + len(word)
        if not (_is_word(data, at - 1) or _is_word(data, end)):
            yield at, end
        at = data.find(word, end)


_SELECTED = re.compile(rb"\.[ \t\r\n]*(Get|Put|New)\b")


def method_selections(data: bytes, receivers: frozenset[bytes]) -> Iterator[tuple[int, int]]:
    """The method name of each `r.Get`, `r.Put`, `r.New` whose receiver's last identifier `r`
    is one of `receivers` (the regex starts at the `.`, a literal `re` can scan for)."""
    for m in _SELECTED.finditer(data):
        end = m.start()
        while end > 0 and data[end - 1] in b" \t\r\n":
            end -= 1
        start = end
        while _is_word(data, start - 1):
            start -= 1
        if data[start:end] in receivers:
            yield m.start(1), m.end(1)


def _is_word(data: bytes, at: int) -> bool:
    """Whether the byte at `at` can be part of a Go identifier (any non-ASCII byte may)."""
    if not 0 <= at < len(data):
        return False
    b = data[at]
    return b >= 0x80 or b == 0x5F or 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


def import_specs(src: GoSource) -> Iterator[Node]:
    """Import specs: they are all at the top level, before any other declaration."""
    for decl in src.head_tree().root_node.named_children:
        if decl.type == "import_declaration":
            for node in decl.named_children:
                specs = node.named_children if node.type == "import_spec_list" else [node]
                yield from (spec for spec in specs if spec.type == "import_spec")


def may_import_sync(src: GoSource) -> bool:
    """Whether the file's text names the `sync` import (a text test before any syntax: no
    file without it declares or uses a pool)."""
    return b'"sync"' in src.data


def sync_names(src: GoSource) -> frozenset[str]:
    """Names `sync` is imported as (`.` for a dot import)."""
    names: set[str] = set()
    for spec in import_specs(src):
        path = spec.child_by_field_name("path")
        if path is None or src.data[path.start_byte : path.end_byte].strip(b'"`') != b"sync":
            continue
        name = spec.child_by_field_name("name")
        names.add(src.data[name.start_byte : name.end_byte].decode() if name else "sync")
    names.discard("_")
    return frozenset(names)


def package_name(src: GoSource) -> str:
    for node in src.head_tree().root_node.named_children:
        if node.type == "package_clause" and node.named_children:
            ident = node.named_children[0]
            return src.data[ident.start_byte : ident.end_byte].decode()
    return ""
