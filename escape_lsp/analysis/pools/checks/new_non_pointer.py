"""pool-new-non-pointer: `New` returns what the syntax shows is not pointer-shaped (a slice,
struct, array, string or number), so each Put of what Get handed out boxes it again (SA6002).
The verdict at the returned value, when there is one, is carried along."""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.pools.checks.finding import pool_finding
from escape_lsp.analysis.pools.checks.verdicts import Verdicts
from escape_lsp.analysis.pools.syntax import PackagePools
from escape_lsp.analysis.pools.tree import unparen, walk
from escape_lsp.analysis.pools.type_facts import Shape
from escape_lsp.findings.model import Finding, Kind

_AT_VALUE = frozenset({Kind.ESCAPES_TO_HEAP, Kind.MOVED_TO_HEAP})


def new_non_pointer(pools: PackagePools, verdicts: Verdicts) -> list[Finding]:
    out: list[Finding] = []
    for decl, news in pools.news.items():
        for file, value in news:
            for rfile, expr, scope in _new_results(pools, file, value):
                if pools.type_facts.value_shape(rfile, expr, scope) is not Shape.VALUE:
                    continue
                out.append(
                    pool_finding(
                        Kind.POOL_NEW_NON_POINTER,
                        rfile,
                        pools.span(rfile, expr),
                        f"{decl.name}.New returns a non-pointer: each Put of it allocates (SA6002)",
                        decl.name,
                        pools.function_name(rfile, expr),
                        decl.name,
                        verdicts.at(rfile, expr, _AT_VALUE),
                    )
                )
    return out


def _new_results(pools: PackagePools, file: str, value: Node) -> list[tuple[str, Node, Node]]:
    """(file, returned expression, function body) for a New func literal or function."""
    value = unparen(value)
    fn: Node | None = None
    if value.type == "func_literal":
        fn = value
    elif value.type == "identifier" and pools.is_global(file, value):
        found = pools.function_named(pools.text(file, value))
        if found is not None:
            file, fn = found
    body = fn.child_by_field_name("body") if fn is not None else None
    if body is None:
        return []
    out = []
    for node in walk(body, into_literals=False):
        if node.type == "return_statement" and node.named_children:
            results = node.named_children[0]
            exprs = results.named_children if results.type == "expression_list" else [results]
            if len(exprs) == 1:
                out.append((file, exprs[0], body))
    return out
