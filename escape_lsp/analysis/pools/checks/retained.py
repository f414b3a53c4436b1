"""pool-object-retained: a variable put back into a pool is also kept where it outlives the
call (a global, a field of a parameter, a channel, a result, an escaping closure), and the Put
runs after that on a straight-line path (or is deferred). The store is the compiler's flow to
`{heap}` or a result where there is one, else exact syntax."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from escape_lsp.analysis.pools.checks.finding import line, pool_finding
from escape_lsp.analysis.pools.checks.straight_line import forward
from escape_lsp.analysis.pools.checks.variables import declared_once, names, put_variable
from escape_lsp.analysis.pools.checks.verdicts import Verdicts
from escape_lsp.analysis.pools.syntax import PackagePools, PoolCall
from escape_lsp.analysis.pools.tree import FUNCTIONS, enclosing, unparen, walk
from escape_lsp.findings.model import Finding, Kind

#: Where a store keeps the variable, with the verdict it rests on (None: syntax alone).
_Store = tuple[Node, str, Finding | None]


@dataclass(frozen=True)
class _Candidate:
    """A Put of a plain variable that holds the pooled memory, with what the syntax alone
    says of it (`candidates`, worked out while go compiles)."""

    put: PoolCall
    var: str
    fn: Node
    #: Statements keeping `var` by syntax (a global, a field of a parameter, a send, a
    #: return) that the Put follows on a straight-line path, and where each keeps it.
    stores: tuple[tuple[Node, str], ...]
    #: The function's literals: they keep `var` when the compiler says they escape.
    closures: tuple[Node, ...]


def candidates(pools: PackagePools) -> list[_Candidate]:
    """The syntax-only part of the check, once per index (`PackagePools.derived`)."""
    out: list[_Candidate] = []
    for put in pools.calls:
        if put.method != "Put":
            continue
        var = put_variable(pools, put)
        fn = enclosing(put.call, FUNCTIONS)
        if var is None or fn is None or not declared_once(pools, put.file, fn, var):
            continue  # one name, one variable: no shadowing to get wrong
        if not _shares_memory(pools, put, var, fn):
            continue
        stores: list[tuple[Node, str]] = []
        closures: list[Node] = []
        for node in walk(fn, into_literals=False):
            if node.type == "func_literal":
                closures.append(node)
                continue
            dest = _syntax_store(pools, put.file, node, var, fn)
            if dest is not None and _put_follows(pools, put, node):
                stores.append((node, dest))
        out.append(_Candidate(put, var, fn, tuple(stores), tuple(closures)))
    return out


def retained(pools: PackagePools, verdicts: Verdicts) -> list[Finding]:
    out: dict[tuple[str, int], Finding] = {}
    for c in pools.derived(candidates):
        put, var = c.put, c.var
        put_line = line(put.call)
        # the compiler's flows first, then exact syntax; one finding per statement
        stores = [
            *(
                s
                for s in _flow_stores(pools, verdicts, put, var, c.fn)
                if _put_follows(pools, put, s[0])
            ),
            *((node, dest, None) for node, dest in c.stores),
            *(
                (lit, "captured by a closure that outlives the call", None)
                for lit in c.closures
                if _escaping_closure_uses(pools, verdicts, lit, var, put)
                and _put_follows(pools, put, lit)
            ),
        ]
        for stmt, dest, verdict in stores:
            key = (put.file, stmt.start_byte)
            if key in out:
                continue
            out[key] = pool_finding(
                Kind.POOL_OBJECT_RETAINED,
                put.file,
                pools.span(put.file, stmt),
                f"{var} is {dest} and also put back into {put.receiver} (line {put_line}): "
                "the pool may hand out memory still in use",
                var,
                pools.function_name(put.file, stmt),
                put.receiver,
                verdict,
            )
    return list(out.values())


def _shares_memory(pools: PackagePools, put: PoolCall, var: str, fn: Node) -> bool:
    """Whether `var` refers to the pooled memory (a pointer, a slice…), not a copy of it."""
    for node in walk(fn, into_literals=False):
        if node.start_byte >= put.call.start_byte:
            break
        if node.type == "short_var_declaration":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            declared = [pools.text(put.file, n) for n in left.named_children] if left else []
            if var in declared and right is not None and right.named_children:
                typ = _asserted_type(unparen(right.named_children[0]))
                if typ is not None:
                    return not pools.type_facts.is_copy(put.file, typ)
        elif node.type == "parameter_declaration":
            declared = [pools.text(put.file, n) for n in node.children_by_field_name("name")]
            if var in declared:
                return not pools.type_facts.is_copy(put.file, node.child_by_field_name("type"))
    return True


def _flow_stores(
    pools: PackagePools, verdicts: Verdicts, put: PoolCall, var: str, fn: Node
) -> list[_Store]:
    """Statements of `fn` where the compiler's flows keep `var` somewhere that outlives the
    call (`{heap} ← var`, `~r0 ← var`)."""
    file = put.file
    out: list[_Store] = []
    src = pools.files[file].src
    for f, step in verdicts.stores_from(file, var):
        if step.file != file:
            continue
        offset = src.lines.offset(step.span.start_line, step.span.start_col)
        if not fn.start_byte <= offset < fn.end_byte:
            continue
        leaf = src.tree.root_node.descendant_for_byte_range(offset, offset + 1)
        stmt = _statement(leaf)
        if stmt is not None and enclosing(stmt, FUNCTIONS) == fn:
            out.append((stmt, _destination(pools, file, stmt), f))
    return out


def _destination(pools: PackagePools, file: str, stmt: Node) -> str:
    if stmt.type == "send_statement":
        return "sent on a channel"
    if stmt.type == "return_statement":
        return "returned"
    if stmt.type == "assignment_statement":
        left = stmt.child_by_field_name("left")
        if left is not None and left.named_children:
            target = left.named_children[0]
            if target.type == "identifier":
                return f"stored in the package-level {pools.text(file, target)}"
            return f"stored in {pools.text(file, target)}"
    return "stored where the heap can reach it"


def _syntax_store(pools: PackagePools, file: str, node: Node, var: str, fn: Node) -> str | None:
    """Where `node` (in `fn` of `file`) keeps `var` by syntax alone, if it does."""
    t = node.type
    if t == "send_statement":
        value = node.child_by_field_name("value")
        if value is not None and names(pools, file, value, var):
            return "sent on a channel"
    elif t == "return_statement":
        results = node.named_children[0] if node.named_children else None
        exprs = (
            results.named_children
            if results is not None and results.type == "expression_list"
            else [results]
            if results is not None
            else []
        )
        if any(names(pools, file, e, var) for e in exprs):
            return "returned"
    elif t == "assignment_statement" and pools.operator(file, node) == "=":
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None:
            return None
        if len(left.named_children) != len(right.named_children):
            return None
        for target, value in zip(left.named_children, right.named_children, strict=True):
            if not names(pools, file, value, var):
                continue
            root = _root_operand(target)
            if root is None or root.type != "identifier":
                continue
            if target.type == "identifier" and pools.is_global(file, target):
                return f"stored in the package-level {pools.text(file, target)}"
            if target.type != "identifier" and (
                pools.is_global(file, root) or _is_parameter(pools, file, root, fn)
            ):
                return f"stored in {pools.text(file, target)}"
    return None


def _escaping_closure_uses(
    pools: PackagePools, verdicts: Verdicts, lit: Node, var: str, put: PoolCall
) -> bool:
    file = put.file
    verdict = verdicts.at(file, lit, frozenset({Kind.ESCAPES_TO_HEAP}))
    if verdict is None or verdict.subject != "func literal":
        return False
    if var in pools.declared_in(file, lit):
        return False  # its own `var`, not the pooled one
    for ident in walk(lit):
        if ident.type == "identifier" and pools.text(file, ident) == var:
            call = enclosing(ident, ("call_expression",))
            if call is not None and any(c.call == call for c in pools.calls_of(put.decl)):
                continue
            return True
    return False


def _asserted_type(value: Node) -> Node | None:
    """`T` in `p.Get().(T)` or `p.Get().(T)[:0]`."""
    if value.type == "slice_expression":
        operand = value.child_by_field_name("operand")
        value = unparen(operand) if operand is not None else value
    if value.type == "type_assertion_expression":
        return value.child_by_field_name("type")
    return None


def _statement(node: Node | None) -> Node | None:
    while node is not None and node.type not in (
        "assignment_statement",
        "send_statement",
        "return_statement",
        "short_var_declaration",
        *FUNCTIONS,
    ):
        node = node.parent
    return node if node is not None and node.type not in FUNCTIONS else None


def _root_operand(target: Node) -> Node | None:
    node: Node | None = target
    while node is not None and node.type in ("selector_expression", "index_expression"):
        node = node.child_by_field_name("operand")
    return node


def _is_parameter(pools: PackagePools, file: str, ident: Node, fn: Node) -> bool:
    """`ident` is a parameter (or receiver) that refers to memory the caller keeps: a pointer,
    map, slice… — not a struct or array copied in."""
    name = pools.text(file, ident)
    for field in ("receiver", "parameters"):
        params = fn.child_by_field_name(field)
        for decl in params.named_children if params is not None else []:
            if name in (pools.text(file, n) for n in decl.children_by_field_name("name")):
                copied = pools.type_facts.is_copy(file, decl.child_by_field_name("type"))
                return not copied and name not in _locals(pools, file, fn)
    return False


def _locals(pools: PackagePools, file: str, fn: Node) -> set[str]:
    body = fn.child_by_field_name("body")
    return pools.declared_in(file, body) if body is not None else set()


def _put_follows(pools: PackagePools, put: PoolCall, store: Node) -> bool:
    """The Put runs after `store` on some straight-line path, or is deferred before it."""
    defer = enclosing(put.call, ("defer_statement", *FUNCTIONS))
    if defer is not None and defer.type == "defer_statement":
        return defer.start_byte < store.start_byte
    if store.type == "func_literal":
        stmt = store
        while stmt.parent is not None and stmt.parent.type != "statement_list":
            stmt = stmt.parent
        store = stmt
    call = put.call

    def visit(sibling: Node) -> Node | bool | None:
        if sibling.start_byte <= call.start_byte < sibling.end_byte:
            return sibling
        return None

    return forward(pools, put.file, store, visit) is not None
