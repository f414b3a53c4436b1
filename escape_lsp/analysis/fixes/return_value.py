"""Fix 1: `func F() *T { …; return &t }` → return `T` by value, so `t` can stay on the stack."""

from __future__ import annotations

from escape_lsp.analysis.fixes.context import FixContext
from escape_lsp.analysis.fixes.model import FileEdit, Fix
from escape_lsp.analysis.fixes.syntax_util import FUNCTIONS, enclosing, node_at, span_of, text, walk
from escape_lsp.findings.model import HEAP_KINDS


def return_value_fix(ctx: FixContext) -> Fix | None:
    """Offered when every return is `&x` or `&T{…}` and the result is a single `*T`.

    Exported functions only when their callers can all be seen (package main or internal);
    otherwise changing the signature could break code we cannot recompile.
    """
    finding, src = ctx.finding, ctx.source
    if finding.kind not in HEAP_KINDS or not any(s.reason == "return" for s in finding.flow):
        return None
    fn = enclosing(node_at(src, finding.span), FUNCTIONS)
    if fn is None or fn.type == "func_literal":
        return None
    name = fn.child_by_field_name("name")
    result = fn.child_by_field_name("result")
    body = fn.child_by_field_name("body")
    if name is None or result is None or body is None or result.type != "pointer_type":
        return None
    if text(src, name)[:1].isupper() and not ctx.callers_are_local:
        return None
    value_type = text(src, result)[1:].strip()
    edits = [FileEdit(finding.file, span_of(src, result), value_type)]
    for ret in (n for n in walk(body, skip_func_literals=True) if n.type == "return_statement"):
        values = ret.named_children[0].named_children if ret.named_children else []
        if len(values) != 1:
            return None
        value = values[0]
        operand = value.child_by_field_name("operand")
        operator = value.child_by_field_name("operator")
        if (
            value.type != "unary_expression"
            or operand is None
            or operator is None
            or text(src, operator) != "&"
        ):
            return None  # `return nil`, `return p`: no value to return instead
        edits.append(FileEdit(finding.file, span_of(src, value), text(src, operand)))
    return Fix(
        f"Return {value_type} instead of *{value_type}", finding, tuple(edits), preferred=True
    )
