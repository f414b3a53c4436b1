"""pool-use-after-put: a variable is used after `p.Put(v)` in straight-line code, when the pool
may have handed it out again. Exact syntax; `defer p.Put(v)` runs last and is fine."""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.pools.checks.finding import Hit, line, per_call
from escape_lsp.analysis.pools.checks.straight_line import forward
from escape_lsp.analysis.pools.checks.variables import declared_once, put_variable
from escape_lsp.analysis.pools.syntax import PackagePools, PoolCall
from escape_lsp.analysis.pools.tree import FUNCTIONS, enclosing, walk
from escape_lsp.findings.model import Finding, Kind


def use_after_put(pools: PackagePools) -> list[Finding]:
    def used_after(put: PoolCall) -> Hit | None:
        var = put_variable(pools, put)
        stmt = put.call.parent
        if var is None or stmt is None or stmt.type != "expression_statement":
            return None  # `defer p.Put(x)` runs last: later uses are fine
        fn = enclosing(stmt, FUNCTIONS)
        if fn is None or not declared_once(pools, put.file, fn, var):
            return None
        use = _first_use_after(pools, put.file, stmt, var)
        if use is None:
            return None
        message = (
            f"{var} is used after {put.receiver}.Put({var}) on line {line(stmt)}: the "
            "pool may have handed it out again"
        )
        return use, message, var

    return per_call(pools, "Put", Kind.POOL_USE_AFTER_PUT, used_after)


def _first_use_after(pools: PackagePools, file: str, stmt: Node, var: str) -> Node | None:
    """The first reference to `var` after `stmt`; none once `var` is assigned or declared."""

    def visit(sibling: Node) -> Node | bool | None:
        if _assigns(pools, file, sibling, var):
            return True
        return next(
            (
                n
                for n in walk(sibling)
                if n.type == "identifier" and pools.text(file, n) == var and not _is_key(n)
            ),
            None,
        )

    return forward(pools, file, stmt, visit)


def _is_key(ident: Node) -> bool:
    parent = ident.parent
    return (
        parent is not None
        and parent.type == "literal_element"
        and parent.parent is not None
        and parent.parent.type == "keyed_element"
        and parent.parent.named_children[0] == parent
    )


def _assigns(pools: PackagePools, file: str, stmt: Node, var: str) -> bool:
    """`stmt` (or a statement inside it) assigns or declares `var`."""
    for node in (stmt, *walk(stmt)):
        if node.type in ("assignment_statement", "short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            if left is not None and any(
                n.type == "identifier" and pools.text(file, n) == var for n in left.named_children
            ):
                return True
        elif node.type == "var_spec" and any(
            pools.text(file, n) == var for n in node.children_by_field_name("name")
        ):
            return True
    return False
