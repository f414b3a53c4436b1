"""pool-put-non-pointer: the compiler says a Put's argument escapes at that call — it is boxed
there, on every Put (staticcheck SA6002)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tree_sitter import Node

from escape_lsp.analysis.pools.checks.finding import pool_finding
from escape_lsp.analysis.pools.checks.verdicts import Verdicts
from escape_lsp.analysis.pools.syntax import PackagePools
from escape_lsp.analysis.pools.tree import FUNCTIONS
from escape_lsp.analysis.pools.type_facts import Shape
from escape_lsp.findings.model import Finding, FlowStep, Kind
from escape_lsp.findings.syntax import GoSource


def put_non_pointer(pools: PackagePools, verdicts: Verdicts) -> list[Finding]:
    out: list[Finding] = []
    for file in pools.files:
        src = pools.files[file].src
        for f in verdicts.per_file(file, _boxed_into_put):
            offset = src.lines.offset(f.span.start_line, f.span.start_col)
            leaf = src.tree.root_node.descendant_for_byte_range(offset, offset + 1)
            found = _put_argument(pools, file, leaf)
            if found is None:
                continue
            call, arg = found
            if arg.start_point != (f.span.start_line, f.span.start_col):
                continue  # something inside the argument escapes, not the argument
            if pools.type_facts.value_shape(file, arg, None) is Shape.POINTER:
                continue  # `&T{}`, `new(T)`: a new object, not a box
            receiver = _receiver(pools, file, call)
            text = pools.text(file, arg)
            out.append(
                pool_finding(
                    Kind.POOL_PUT_NON_POINTER,
                    file,
                    pools.span(file, arg),
                    f"{receiver}.Put({text}): a non-pointer is boxed on every Put (SA6002)",
                    text,
                    f.function or pools.function_name(file, call),
                    receiver,
                    f,
                )
            )
    return out


def _boxed_into_put(src: GoSource, found: Sequence[Finding]) -> list[Finding]:
    """The verdicts of one file that may be a Put's argument boxed: escaping, where a Put's
    argument may start, with a flow into a Put."""
    starts = src.derived(_argument_starts)
    if not starts:
        return []
    return [
        f
        for f in found
        if f.kind is Kind.ESCAPES_TO_HEAP
        # (a cheap test first: the flows of a large file's verdicts are long)
        and (f.span.start_line, f.span.start_col) in starts
        and any(map(_into_put, f.flow))
    ]


#: `Put(` and what may stand before its argument: blanks and comments.
_PUT_OPEN = re.compile(rb"Put\s*\((?:\s|/\*.*?\*/|//[^\n]*\n)*", re.DOTALL)


def _argument_starts(src: GoSource) -> frozenset[tuple[int, int]]:
    """Where the argument of a call to a method named Put can start (line, byte column): a
    text search, kept on the source, so that only the verdicts there are checked further."""
    return frozenset(src.lines.position(m.end()) for m in _PUT_OPEN.finditer(src.data))


def _into_put(step: FlowStep) -> bool:
    return step.reason == "call parameter" and step.subject.startswith("(*sync.Pool).Put(")


def _receiver(pools: PackagePools, file: str, call: Node) -> str:
    fn = call.child_by_field_name("function")
    operand = fn.child_by_field_name("operand") if fn is not None else None
    return pools.text(file, operand) if operand is not None else "pool"


def _put_argument(pools: PackagePools, file: str, leaf: Node | None) -> tuple[Node, Node] | None:
    """(the `X.Put(arg)` call, arg) when `leaf` lies in the one argument of a Put call."""
    node = leaf
    while node is not None and node.type not in ("argument_list", *FUNCTIONS, "block"):
        node = node.parent
    if node is None or node.type != "argument_list":
        return None
    args = [child for child in node.named_children if child.type != "comment"]
    if len(args) != 1:
        return None
    call = node.parent
    fn = call.child_by_field_name("function") if call is not None else None
    method = fn.child_by_field_name("field") if fn is not None else None
    if call is None or method is None or pools.text(file, method) != "Put":
        return None
    return call, args[0]
