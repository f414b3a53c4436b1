"""pool-local: a pool declared in a function body and used only there is new and empty on every
call (or loop iteration), so its Gets always call New. Exact syntax; the verdict at the name
(moved to heap, escapes), when there is one, is carried along."""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.pools.checks.finding import line, pool_finding
from escape_lsp.analysis.pools.checks.variables import declared_once
from escape_lsp.analysis.pools.checks.verdicts import Verdicts
from escape_lsp.analysis.pools.syntax import PackagePools, PoolDecl, Scope
from escape_lsp.analysis.pools.tree import FUNCTIONS, enclosing, walk
from escape_lsp.findings.model import Finding, Kind

_AT_NAME = frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP})


def local(pools: PackagePools, verdicts: Verdicts) -> list[Finding]:
    out: list[Finding] = []
    for decl in pools.decls:
        if decl.scope is not Scope.LOCAL:
            continue
        facts = pools.files[decl.file]
        name_node = facts.src.tree.root_node.descendant_for_byte_range(
            decl.start_byte, decl.start_byte + 1
        )
        if name_node is None:
            continue
        fn = enclosing(name_node, FUNCTIONS)
        if fn is None or not local_uses_only(pools, decl, fn):
            continue
        if not pools.calls_of(decl, "Get"):
            continue
        out.append(
            pool_finding(
                Kind.POOL_LOCAL,
                decl.file,
                decl.span,
                f"{decl.name} is a new, empty sync.Pool {_per_what(name_node, fn, decl)}: "
                "declare it at package level",
                decl.name,
                decl.function,
                decl.name,
                verdicts.at(decl.file, name_node, _AT_NAME),
            )
        )
    return out


def _per_what(name: Node, fn: Node, decl: PoolDecl) -> str:
    loop = enclosing(name, ("for_statement", *FUNCTIONS))
    if loop is not None and loop.type == "for_statement":
        return f"on every iteration of the loop on line {line(loop)}"
    if fn.type == "func_literal":
        return f"on every call of the function literal on line {line(fn)}"
    return f"on every call of {decl.function}"


def local_uses_only(pools: PackagePools, decl: PoolDecl, fn: Node) -> bool:
    """Every use of a local pool is `p.Get()`, `p.Put(x)` or `p.New = …` in its own function
    (not in a closure, which could outlive the call and keep the pool), and nothing else in the
    function declares the same name."""
    file = decl.file
    names = 0
    for node in walk(fn):
        if node.type != "identifier" or pools.text(file, node) != decl.name:
            continue
        if node.start_byte == decl.start_byte:
            names += 1
            continue
        if node.start_byte < decl.start_byte:
            return False
        if enclosing(node, FUNCTIONS) != fn:
            return False
        sel = node.parent
        if (
            sel is None
            or sel.type != "selector_expression"
            or sel.child_by_field_name("operand") != node
        ):
            return False
        fld = sel.child_by_field_name("field")
        method = pools.text(file, fld) if fld is not None else ""
        parent = sel.parent
        if method in ("Get", "Put") and parent is not None and parent.type == "call_expression":
            continue
        if method == "New" and parent is not None and parent.type == "expression_list":
            stmt = parent.parent
            if (
                stmt is not None
                and stmt.type == "assignment_statement"
                and stmt.child_by_field_name("left") == parent
            ):
                continue
        return False
    return (
        names == 1
        and decl.name in pools.declared_in(file, fn)
        and declared_once(pools, file, fn, decl.name)
    )
