"""Fix 4: a value boxed into `fmt` formatting → a typed alternative without the interface.

`fmt.Sprintf("%d", n)` → `strconv.Itoa(n)`; `fmt.Sprintf("%s", s)` and `fmt.Sprint(s)` → `s`.
Types are not known here: the compiler check in verify.py rejects what does not type-check
(e.g. an int64 passed to strconv.Itoa, or a Stringer that is not a string).
"""

from __future__ import annotations

from escape_lsp.analysis.fixes.context import FixContext
from escape_lsp.analysis.fixes.imports import add_import, drop_import_if_unused
from escape_lsp.analysis.fixes.model import FileEdit, Fix
from escape_lsp.analysis.fixes.syntax_util import enclosing, node_at, span_of, text
from escape_lsp.findings.model import Kind


def boxing_fix(ctx: FixContext) -> Fix | None:
    finding, src = ctx.finding, ctx.source
    if finding.kind is not Kind.ESCAPES_TO_HEAP:
        return None
    if not any(s.subject.startswith(("fmt.Sprintf(", "fmt.Sprint(")) for s in finding.flow):
        return None
    call = enclosing(node_at(src, finding.span), ("call_expression",))
    if call is None:
        return None
    func = call.child_by_field_name("function")
    args_node = call.child_by_field_name("arguments")
    if func is None or args_node is None:
        return None
    callee = text(src, func)
    args = [text(src, a) for a in args_node.named_children]
    if callee == "fmt.Sprintf" and len(args) == 2 and args[0] == '"%d"':
        replacement, title, needs = (
            f"strconv.Itoa({args[1]})",
            f"Use strconv.Itoa({args[1]})",
            "strconv",
        )
    elif callee == "fmt.Sprintf" and len(args) == 2 and args[0] == '"%s"':
        replacement, title, needs = args[1], f"Use {args[1]} directly", None
    elif callee == "fmt.Sprint" and len(args) == 1:
        replacement, title, needs = args[0], f"Use {args[0]} directly", None
    else:
        return None
    edits = [FileEdit(finding.file, span_of(src, call), replacement)]
    if needs:
        edits += add_import(src, needs, finding.file)
    edits += drop_import_if_unused(src, "fmt", "fmt", finding.file, removed_uses=1)
    return Fix(
        f"{title} instead of {callee} (no interface boxing)", finding, tuple(edits), preferred=True
    )
