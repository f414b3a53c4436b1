"""Exact facts about one variable name in a function, so no check mistakes a shadowed one."""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.pools.syntax import PackagePools, PoolCall
from escape_lsp.analysis.pools.tree import unparen, walk


def declared_once(pools: PackagePools, file: str, fn: Node, name: str) -> bool:
    """`name` is declared exactly once in `fn` (one name, one variable)."""
    count = 0
    for node in walk(fn):
        if node.type == "short_var_declaration":
            left = node.child_by_field_name("left")
            count += sum(
                1 for n in (left.named_children if left else []) if pools.text(file, n) == name
            )
        elif node.type in ("var_spec", "parameter_declaration", "const_spec"):
            count += sum(
                1 for n in node.children_by_field_name("name") if pools.text(file, n) == name
            )
        elif node.type == "range_clause":
            left = node.child_by_field_name("left")
            count += sum(
                1 for n in (left.named_children if left else []) if pools.text(file, n) == name
            )
    return count == 1


def put_variable(pools: PackagePools, put: PoolCall) -> str | None:
    """`x` in `p.Put(x)` when the argument is a plain variable."""
    args = put.call.child_by_field_name("arguments")
    if args is None or len(args.named_children) != 1:
        return None
    arg = unparen(args.named_children[0])
    return pools.text(put.file, arg) if arg.type == "identifier" else None


def names(pools: PackagePools, file: str, expr: Node, var: str) -> bool:
    """`expr` is `var`, a slice of it, or a conversion-free reference to it."""
    expr = unparen(expr)
    if expr.type == "identifier":
        return pools.text(file, expr) == var
    if expr.type == "slice_expression":
        operand = expr.child_by_field_name("operand")
        return operand is not None and names(pools, file, operand, var)
    return False
