"""Tree-sitter walks the fix builders share; node text and spans come from `GoSource`."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import GoSource

FUNCTIONS = ("function_declaration", "method_declaration", "func_literal")


def node_at(src: GoSource, span: Span) -> Node | None:
    offset = src.lines.offset(span.start_line, span.start_col)
    return src.tree.root_node.descendant_for_byte_range(offset, offset + 1)


def enclosing(node: Node | None, types: tuple[str, ...]) -> Node | None:
    while node is not None and node.type not in types:
        node = node.parent
    return node


def text(src: GoSource, node: Node) -> str:
    return src.text(node)


def span_of(src: GoSource, node: Node) -> Span:
    return src.node_span(node)


def walk(node: Node, skip_func_literals: bool = False) -> Iterator[Node]:
    """Descendants in source order; optionally not entering nested function literals."""
    for child in node.named_children:
        yield child
        if skip_func_literals and child.type == "func_literal":
            continue
        yield from walk(child, skip_func_literals)


def indentation(src: GoSource, node: Node) -> str:
    line = src.lines.line_bytes(node.start_point[0]).decode("utf-8", "replace")
    return line[: len(line) - len(line.lstrip())]
