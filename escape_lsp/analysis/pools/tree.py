"""Tree-sitter helpers the pool syntax and checks share; they know Go, not pools."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from escape_lsp.findings.syntax import GoSource

FUNCTIONS = ("function_declaration", "method_declaration", "func_literal")


def walk(node: Node, into_literals: bool = True) -> Iterator[Node]:
    """Named descendants in source order; optionally not entering nested function literals."""
    for child in node.named_children:
        yield child
        if into_literals or child.type != "func_literal":
            yield from walk(child, into_literals)


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


def nodes_at(src: GoSource, pattern: re.Pattern[bytes], group: int = 0) -> list[Node]:
    """The smallest named node at each match of `pattern` (a cheap text search first: a Python
    walk over every node of a large file costs tens of milliseconds)."""
    out = []
    for m in pattern.finditer(src.data):
        node = src.tree.root_node.named_descendant_for_byte_range(m.start(group), m.end(group))
        if node is not None:
            out.append(node)
    return out


def import_specs(src: GoSource) -> Iterator[Node]:
    """Import specs: they are all at the top level."""
    for decl in src.tree.root_node.named_children:
        if decl.type == "import_declaration":
            for node in decl.named_children:
                specs = node.named_children if node.type == "import_spec_list" else [node]
                yield from (spec for spec in specs if spec.type == "import_spec")


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
    for node in src.tree.root_node.named_children:
        if node.type == "package_clause" and node.named_children:
            ident = node.named_children[0]
            return src.data[ident.start_byte : ident.end_byte].decode()
    return ""
