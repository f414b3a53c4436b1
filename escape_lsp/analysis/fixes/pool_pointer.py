"""Fix 3: `pool.Put(buf)` of a slice/string/struct boxes it on every call (staticcheck SA6002).

Rewrites the pool to hold a pointer (`*[]byte`): New returns `&v`, each `x := pool.Get().(T)`
becomes `xPtr := pool.Get().(*T); x := *xPtr`, each `pool.Put(x)` becomes
`*xPtr = x; pool.Put(xPtr)`. Offered only when every use of the pool is in this file and has
one of those shapes; otherwise the hover explains the pattern instead.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from escape_lsp.analysis.fixes.context import FixContext
from escape_lsp.analysis.fixes.model import FileEdit, Fix
from escape_lsp.analysis.fixes.syntax_util import (
    FUNCTIONS,
    enclosing,
    indentation,
    span_of,
    text,
    walk,
)
from escape_lsp.findings.model import Kind
from escape_lsp.findings.syntax import GoSource

_PUT = re.compile(r"^\(\*sync\.Pool\)\.Put\((?P<pool>[\w.]+), (?P<arg>\w+)\)$")


def _pool_decl(src: GoSource, name: str) -> tuple[Node, Node] | None:
    """(`return EXPR` statement of New, the var_spec) for `var name = sync.Pool{New: …}`."""
    for spec in (n for n in walk(src.tree.root_node) if n.type == "var_spec"):
        ident = spec.child_by_field_name("name")
        value = spec.child_by_field_name("value")
        if ident is None or value is None or text(src, ident) != name:
            continue
        lit = value.named_children[0] if value.named_children else None
        if (
            lit is None
            or lit.type != "composite_literal"
            or text(src, lit.child_by_field_name("type") or lit) != "sync.Pool"
        ):
            return None
        for elem in (n for n in walk(lit) if n.type == "keyed_element"):
            parts = elem.named_children
            if len(parts) == 2 and text(src, parts[0]) == "New":
                fn = next((n for n in walk(parts[1]) if n.type == "func_literal"), None)
                body = fn.child_by_field_name("body") if fn else None
                stmts = [n for n in walk(body) if n.type == "return_statement"] if body else []
                if len(stmts) == 1:
                    return stmts[0], spec
    return None


def _uses(src: GoSource, name: str) -> list[Node]:
    return [n for n in walk(src.tree.root_node) if n.type == "identifier" and text(src, n) == name]


def pool_pointer_fix(ctx: FixContext) -> Fix | None:
    finding, src = ctx.finding, ctx.source
    if finding.kind is Kind.ESCAPES_TO_HEAP and any(
        f.kind is Kind.POOL_PUT_NON_POINTER and f.span == finding.span for f in ctx.file_findings
    ):
        return None  # offered once, on the pool finding that names the problem
    if finding.kind not in (Kind.ESCAPES_TO_HEAP, Kind.POOL_PUT_NON_POINTER):
        return None
    put = next((m for s in finding.flow if (m := _PUT.match(s.subject))), None)
    if put is None:
        return None
    pool = put["pool"]
    if not pool.isidentifier() or pool[:1].isupper():
        return None  # exported or qualified: users we cannot see may Get/Put it
    if any(_uses(other, pool) for other in ctx.siblings):
        return None
    found = _pool_decl(src, pool)
    if found is None:
        return None
    new_return, spec = found
    values = new_return.named_children[0].named_children if new_return.named_children else []
    if len(values) != 1 or text(src, values[0]).startswith(("&", "new(")):
        return None
    file = finding.file
    elem_type: str | None = None
    edits: list[FileEdit] = []
    gets: dict[int, tuple[str, str]] = {}  # function start byte -> (variable, pointer variable)
    puts: list[tuple[Node, Node]] = []
    for ident in _uses(src, pool):
        if spec.start_byte <= ident.start_byte < spec.end_byte:
            continue
        sel = ident.parent
        call = sel.parent if sel is not None else None
        method = (
            sel.child_by_field_name("field")
            if sel is not None and sel.type == "selector_expression"
            else None
        )
        if call is None or method is None or call.type != "call_expression":
            return None
        fn = enclosing(call, FUNCTIONS)
        if fn is None:
            return None
        if text(src, method) == "Get":
            # x := pool.Get().(T)   or   x := pool.Get().(T)[:0]
            assertion = call.parent
            tail = assertion.parent if assertion is not None else None
            rhs = tail if tail is not None and tail.type == "slice_expression" else assertion
            stmt = rhs.parent.parent if rhs is not None and rhs.parent is not None else None
            if (
                assertion is None
                or rhs is None
                or assertion.type != "type_assertion_expression"
                or stmt is None
                or stmt.type != "short_var_declaration"
            ):
                return None
            typ = text(src, assertion.child_by_field_name("type") or assertion)
            left = stmt.child_by_field_name("left")
            if left is None or len(left.named_children) != 1 or (elem_type and typ != elem_type):
                return None
            elem_type, var = typ, text(src, left.named_children[0])
            ptr = f"{var}Ptr"
            rest = text(src, rhs)[len(text(src, assertion)) :] if rhs is not assertion else ""
            indent = indentation(src, stmt)
            replacement = (
                f"{ptr} := {pool}.Get().(*{typ})\n{indent}{var} := (*{ptr}){rest}"
                if rest
                else f"{ptr} := {pool}.Get().(*{typ})\n{indent}{var} := *{ptr}"
            )
            if fn.start_byte in gets:
                return None
            gets[fn.start_byte] = (var, ptr)
            edits.append(FileEdit(file, span_of(src, stmt), replacement))
        elif text(src, method) == "Put":
            puts.append((call, fn))
        else:
            return None
    if elem_type is None or not puts:
        return None
    for call, fn in puts:
        args = call.child_by_field_name("arguments")
        stmt = call.parent
        pair = gets.get(fn.start_byte)
        if args is None or stmt is None or stmt.type != "expression_statement" or pair is None:
            return None
        var, ptr = pair
        if [text(src, a) for a in args.named_children] != [var]:
            return None
        indent = indentation(src, stmt)
        edits.append(
            FileEdit(file, span_of(src, stmt), f"*{ptr} = {var}\n{indent}{pool}.Put({ptr})")
        )
    value = text(src, values[0])
    one_line = (
        new_return.parent is not None
        and new_return.parent.start_point[0] == new_return.parent.end_point[0]
    )
    sep = "; " if one_line else "\n" + indentation(src, new_return)
    new_body = FileEdit(file, span_of(src, new_return), f"v := {value}{sep}return &v")
    edits.append(new_body)
    title = f"Store *{elem_type} in {pool} (SA6002: Put of a non-pointer allocates)"
    return Fix(title, finding, tuple(edits), preferred=True, amortised=new_body)
