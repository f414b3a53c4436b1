"""Statements in straight-line order: what runs after a statement until control leaves."""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from escape_lsp.analysis.pools.syntax import PackagePools
from escape_lsp.analysis.pools.tree import FUNCTIONS

_TERMINATORS = ("return_statement", "break_statement", "continue_statement", "goto_statement")


def forward(
    pools: PackagePools, file: str, stmt: Node, visit: Callable[[Node], Node | bool | None]
) -> Node | None:
    """Visit the statements executed after `stmt` in straight-line order — later statements of
    its block, then of the enclosing blocks, within its function — until `visit` returns a node
    (found) or True (stop), or control leaves the block (return, break, continue, panic)."""
    current = stmt
    while True:
        block = current.parent
        if block is None or block.type != "statement_list":
            return None
        for sibling in block.named_children:
            if sibling.start_byte <= current.start_byte:
                continue
            seen = visit(sibling)
            if isinstance(seen, Node):
                return seen
            if seen is True or sibling.type in _TERMINATORS or panics(pools, file, sibling):
                return None
        node: Node | None = block.parent
        while node is not None and (node.parent is None or node.parent.type != "statement_list"):
            if node.type in FUNCTIONS:
                return None
            node = node.parent
        if node is None or node.type in FUNCTIONS:
            return None
        current = node


def panics(pools: PackagePools, file: str, stmt: Node) -> bool:
    """`stmt` is a call of `panic`."""
    if stmt.type != "expression_statement" or not stmt.named_children:
        return False
    call = stmt.named_children[0]
    fn = call.child_by_field_name("function") if call.type == "call_expression" else None
    return fn is not None and pools.text(file, fn) == "panic"
