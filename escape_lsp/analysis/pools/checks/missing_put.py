"""pool-missing-put (opt-in): a variable bound to `p.Get()` reaches a return or the end of its
block without being put back on some structured path, and is not handed to anyone who could
put it back (deferred, returned, stored, sent, captured). Exact syntax."""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.pools.checks.finding import Hit, line, per_call
from escape_lsp.analysis.pools.checks.straight_line import panics
from escape_lsp.analysis.pools.checks.variables import declared_once, names, put_variable
from escape_lsp.analysis.pools.syntax import PackagePools, PoolCall
from escape_lsp.analysis.pools.tree import FUNCTIONS, enclosing, walk
from escape_lsp.findings.model import Finding, Kind


def missing_put(pools: PackagePools) -> list[Finding]:
    def not_put_back(get: PoolCall) -> Hit | None:
        found = _bound_variable(pools, get)
        if found is None:
            return None
        decl_stmt, var = found
        fn = enclosing(decl_stmt, FUNCTIONS)
        block = decl_stmt.parent
        if fn is None or block is None or block.type != "statement_list":
            return None
        if not declared_once(pools, get.file, fn, var):
            return None
        if _handed_off(pools, get.file, fn, var, decl_stmt):
            return None
        walker = _PathWalker(pools, get, var)
        rest = [s for s in block.named_children if s.start_byte > decl_stmt.start_byte]
        leak, put, falls = walker.run(rest, False)
        if leak is not None:
            where = f"the return on line {line(leak)}"
        elif falls and not put:
            end = block.parent if block.parent is not None else block
            where = f"the end of the block on line {end.end_point[0] + 1}"
        else:
            return None
        return get.call, f"{var} from {get.receiver}.Get() is not put back before {where}", var

    return per_call(pools, "Get", Kind.POOL_MISSING_PUT, not_put_back)


def _bound_variable(pools: PackagePools, get: PoolCall) -> tuple[Node, str] | None:
    """(`v := p.Get()…` statement, v) for a Get whose result is bound to a new variable."""
    node: Node | None = get.call.parent
    while node is not None and node.type in (
        "type_assertion_expression",
        "slice_expression",
        "parenthesized_expression",
    ):
        node = node.parent
    if node is None or node.type != "expression_list":
        return None
    stmt = node.parent
    if stmt is None or stmt.type != "short_var_declaration" or len(node.named_children) != 1:
        return None
    left = stmt.child_by_field_name("left")
    if left is None or not left.named_children:
        return None
    return stmt, pools.text(get.file, left.named_children[0])


def _handed_off(pools: PackagePools, file: str, fn: Node, var: str, after: Node) -> bool:
    """`var` is deferred, returned, stored, sent or captured: someone else may put it back."""
    for node in walk(fn):
        if node.start_byte <= after.start_byte:
            continue
        if node.type == "defer_statement" and any(
            n.type == "identifier" and pools.text(file, n) == var for n in walk(node)
        ):
            return True
        if node.type in ("return_statement", "send_statement") and any(
            n.type == "identifier" and pools.text(file, n) == var for n in walk(node)
        ):
            return True
        if node.type == "assignment_statement":
            right = node.child_by_field_name("right")
            if right is not None and any(names(pools, file, e, var) for e in right.named_children):
                left = node.child_by_field_name("left")
                if left is None or not all(
                    n.type == "identifier" and pools.text(file, n) == var
                    for n in left.named_children
                ):
                    return True
        if node.type == "func_literal" and any(
            n.type == "identifier" and pools.text(file, n) == var for n in walk(node)
        ):
            return True
        if node.type == "composite_literal" and any(
            n.type == "identifier" and pools.text(file, n) == var for n in walk(node)
        ):
            return True
    return False


#: Statements an unlabelled `break` inside them leaves (instead of an enclosing loop).
_BREAK_SCOPES = (
    "for_statement",
    "expression_switch_statement",
    "type_switch_statement",
    "select_statement",
)


def _endless(loop: Node, body: Node) -> bool:
    """`for { … }`: no condition, no clause, and nothing in the body that may leave it but a
    return (or a panic): control never falls through to the statement after it."""
    return all(c == body for c in loop.named_children) and not _may_leave(body, labelled=False)


def _may_leave(node: Node, labelled: bool) -> bool:
    """Whether a `break` or `goto` under `node` may leave the loop; below a nested loop, switch
    or select only labelled breaks (which may name the outer loop) still count."""
    for child in node.named_children:
        if child.type == "func_literal":
            continue  # its statements cannot leave our loop
        if child.type == "goto_statement":
            return True
        if child.type == "break_statement" and (child.named_children or not labelled):
            return True
        nested = labelled or child.type in _BREAK_SCOPES
        if _may_leave(child, nested):
            return True
    return False


class _PathWalker:
    """Structured paths through a function body: is `var` put back before each return?"""

    def __init__(self, pools: PackagePools, get: PoolCall, var: str) -> None:
        self.p = pools
        self.get = get
        self.var = var

    def _is_put(self, stmt: Node) -> bool:
        if stmt.type != "expression_statement" or not stmt.named_children:
            return False
        call = stmt.named_children[0]
        return any(
            c.call == call and put_variable(self.p, c) == self.var
            for c in self.p.calls_of(self.get.decl, "Put")
        )

    def run(self, stmts: list[Node], put: bool) -> tuple[Node | None, bool, bool]:
        """(a return reached without a Put, put at the end, control falls through)."""
        file = self.get.file
        for stmt in stmts:
            t = stmt.type
            if self._is_put(stmt):
                put = True
            elif t == "return_statement":
                return (None if put else stmt), put, False
            elif t in ("break_statement", "continue_statement", "goto_statement") or panics(
                self.p, file, stmt
            ):
                return None, put, False
            elif t == "block":
                leak, put, falls = self.run(_statements(stmt), put)
                if leak is not None or not falls:
                    return leak, put, falls
            elif t == "if_statement":
                leak, put, falls = self._if(stmt, put)
                if leak is not None or not falls:
                    return leak, put, falls
            elif t in ("for_statement",):
                body = stmt.child_by_field_name("body")
                leak = self.run(_statements(body), put)[0] if body is not None else None
                if leak is not None:
                    return leak, put, True
                if body is not None and _endless(stmt, body):
                    return None, put, False  # `for { … }` without a break: left by returns only
            elif t in (
                "expression_switch_statement",
                "type_switch_statement",
                "select_statement",
            ):
                leak, put = self._cases(stmt, put)
                if leak is not None:
                    return leak, put, True
            elif t == "labeled_statement" and stmt.named_children:
                leak, put, falls = self.run(stmt.named_children[1:], put)
                if leak is not None or not falls:
                    return leak, put, falls
        return None, put, True

    def _if(self, stmt: Node, put: bool) -> tuple[Node | None, bool, bool]:
        cons = stmt.child_by_field_name("consequence")
        alt = stmt.child_by_field_name("alternative")
        leak, put_a, falls_a = self.run(_statements(cons), put) if cons else (None, put, True)
        if leak is not None:
            return leak, put, True
        if alt is None:
            return None, put, True
        if alt.type == "if_statement":
            leak, put_b, falls_b = self._if(alt, put)
        else:
            leak, put_b, falls_b = self.run(_statements(alt), put)
        if leak is not None:
            return leak, put, True
        if not falls_a and not falls_b:
            return None, put, False
        falling = [p for p, f in ((put_a, falls_a), (put_b, falls_b)) if f]
        return None, all(falling), True

    def _cases(self, stmt: Node, put: bool) -> tuple[Node | None, bool]:
        results: list[tuple[bool, bool]] = []
        has_default = False
        for case in stmt.named_children:
            if case.type not in (
                "expression_case",
                "type_case",
                "communication_case",
                "default_case",
            ):
                continue
            has_default = has_default or case.type == "default_case"
            body = [c for c in case.named_children if c.type == "statement_list"]
            stmts = body[0].named_children if body else []
            leak, put_c, falls = self.run(stmts, put)
            if leak is not None:
                return leak, put
            results.append((put_c, falls))
        falling = [p for p, f in results if f]
        if has_default and falling and all(falling):
            return None, True
        return None, put


def _statements(block: Node | None) -> list[Node]:
    if block is None:
        return []
    lists = [c for c in block.named_children if c.type == "statement_list"]
    return lists[0].named_children if lists else []
