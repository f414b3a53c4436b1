"""Pool findings: why a `sync.Pool` does not save allocations, from verdicts and exact syntax.

Each finding rests on a compiler verdict (the argument of a Put escapes at that call; a
pooled object's flow ends in `{heap}` or a result) or on an exact syntax fact (a pool declared
in a function body; `New` returning a composite literal or `make` of a value type; a use after
the Put in straight-line code). Nothing here says a pool "never works": whether Gets hit depends
on the run (the runtime empties pools at every GC), which `measure.py` measures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from tree_sitter import Node

from escape_lsp.analysis.pools.syntax import (
    FUNCTIONS,
    PackagePools,
    PoolCall,
    PoolDecl,
    Scope,
    Shape,
    enclosing,
    index_packages,
    unparen,
    walk,
)
from escape_lsp.findings.model import Finding, FlowStep, Kind, Span
from escape_lsp.findings.syntax import GoSource

#: The likely fix, with the why that does not fit in a diagnostic's one line.
FIXES = {
    Kind.POOL_PUT_NON_POINTER: (
        "Put takes an interface: a slice, string or struct is copied into a new heap box on "
        "every call (staticcheck SA6002). Pool pointers (*[]byte, *T); the quick fix rewrites "
        "New, Get and Put when every use of the pool is in this file."
    ),
    Kind.POOL_NEW_NON_POINTER: (
        "New's value is what Get hands out and callers Put back: return a pointer "
        "(`v := make([]byte, 0, n); return &v`, or `new(T)`) and Get/Put that pointer."
    ),
    Kind.POOL_LOCAL: (
        "Pooled objects are reused only through a pool that outlives the call: declare it "
        "once at package level (or in a long-lived struct); the quick fix hoists it. Even "
        "then a Get misses after GCs: the runtime empties pools at every GC (keeping one "
        "GC's worth as a victim cache since Go 1.13), so measure the hit rate "
        "(`escape-lsp pools`)."
    ),
    Kind.POOL_OBJECT_RETAINED: (
        "After Put, another Get (in any goroutine) may receive this object while it is still "
        "referenced here (a data race), and it stays reachable, so nothing is saved. Keep a "
        "copy instead (`bytes.Clone(buf)`, `string(buf)`), or do not put it back."
    ),
    Kind.POOL_GET_VALUE: (
        "An interface holds a struct or array as a boxed copy: Get copies it out and each "
        "Put boxes a new copy (an allocation). Pool *T: New returns new(T), Get asserts .(*T)."
    ),
    Kind.POOL_USE_AFTER_PUT: (
        "Finish with the object before Put (or Put it with defer): once Put, another Get may "
        "hand it to other code, which then changes it under you."
    ),
    Kind.POOL_MISSING_PUT: (
        "Put the object back on every path, e.g. `defer pool.Put(x)` right after the Get; a "
        "dropped object is left to the GC and the pool refills through New."
    ),
}

#: What a syntax-only check found at one call: where to report, the message, the subject.
_Hit = tuple[Node, str, str]

#: The compiler's flow reasons that store a value where it outlives the statement.
_STORES = frozenset({"assign", "send", "return", "captured by a closure"})


def pool_findings(findings: Sequence[Finding], sources: Mapping[str, GoSource]) -> list[Finding]:
    """Pool findings for one package: `findings` are its compiler verdicts (widened), `sources`
    every file of the package as the build saw them."""
    if not any(b'"sync"' in src.data for src in sources.values()):
        return []
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    out: list[Finding] = []
    for pools in index_packages(sources):
        checks = _Checks(pools, by_file)
        out += checks.put_non_pointer()
        out += checks.new_non_pointer()
        out += checks.local()
        out += checks.retained()
        out += checks.get_value()
        out += checks.use_after_put()
        out += checks.missing_put()
    unique = {(f.file, f.span, f.kind, f.message): f for f in out}
    return sorted(unique.values(), key=Finding.sort_key)


def _finding(
    kind: Kind,
    file: str,
    span: Span,
    message: str,
    subject: str,
    function: str | None,
    pool: str,
    flow: Iterable[FlowStep] = (),
    because: str | None = None,
) -> Finding:
    detail = {"pool": pool, "fix": FIXES[kind]}
    if because:
        detail["because"] = because
    return Finding(kind, file, span, message, subject, function, tuple(flow), detail=detail)


def _line(node: Node) -> int:
    return node.start_point[0] + 1


class _Checks:
    def __init__(self, pools: PackagePools, verdicts: Mapping[str, list[Finding]]) -> None:
        self.p = pools
        self.verdicts = verdicts
        self._flows: dict[str, dict[str, list[tuple[Finding, FlowStep]]]] = {}

    def stores_from(self, file: str, var: str) -> list[tuple[Finding, FlowStep]]:
        """Flow steps that store `var` where it outlives the statement: `{heap} ← var` or
        `~r0 ← var` by assignment, send, return or capture."""
        by_origin = self._flows.get(file)
        if by_origin is None:
            by_origin = self._flows[file] = {}
            for f in self.verdicts.get(file, []):
                for step in f.flow:
                    dst, _, origin = step.edge.partition(" ← ")
                    if step.reason in _STORES and (dst == "{heap}" or dst.startswith("~r")):
                        by_origin.setdefault(origin, []).append((f, step))
        return by_origin.get(var, [])

    def _at(self, kind: Kind, call: PoolCall, node: Node, message: str, subject: str) -> Finding:
        """A finding resting on syntax alone, at `node`, about the pool of `call`."""
        file = call.file
        span, function = self.p.span(file, node), self.p.function_name(file, node)
        return _finding(kind, file, span, message, subject, function, call.receiver)

    def _calls(self, method: str) -> list[PoolCall]:
        """Every `Get` or every `Put` call of the package's pools."""
        return [c for c in self.p.calls if c.method == method]

    def _verdict_at(self, file: str, node: Node, kinds: frozenset[Kind]) -> Finding | None:
        """The compiler's verdict that starts where `node` starts, if any."""
        line, col = node.start_point
        for f in self.verdicts.get(file, []):
            if f.kind in kinds and (f.span.start_line, f.span.start_col) == (line, col):
                return f
        return None

    # -- pool-put-non-pointer -----------------------------------------------------------------

    def put_non_pointer(self) -> list[Finding]:
        """The compiler says a Put's argument escapes at that call: it is boxed there."""
        out: list[Finding] = []
        for file in self.p.files:
            src = self.p.files[file].src
            for f in self.verdicts.get(file, []):
                if f.kind is not Kind.ESCAPES_TO_HEAP:
                    continue
                step = next(
                    (
                        s
                        for s in f.flow
                        if s.reason == "call parameter"
                        and s.subject.startswith("(*sync.Pool).Put(")
                    ),
                    None,
                )
                if step is None:
                    continue
                offset = src.lines.offset(f.span.start_line, f.span.start_col)
                leaf = src.tree.root_node.descendant_for_byte_range(offset, offset + 1)
                found = _put_argument(self.p, file, leaf)
                if found is None:
                    continue
                call, arg = found
                if arg.start_point != (f.span.start_line, f.span.start_col):
                    continue  # something inside the argument escapes, not the argument
                if self.p.value_shape(file, arg, None) is Shape.POINTER:
                    continue  # `&T{}`, `new(T)`: a new object, not a box
                receiver = _receiver(self.p, file, call)
                text = self.p.text(file, arg)
                out.append(
                    _finding(
                        Kind.POOL_PUT_NON_POINTER,
                        file,
                        self.p.span(file, arg),
                        f"{receiver}.Put({text}): a non-pointer is boxed on every Put (SA6002)",
                        text,
                        f.function or self.p.function_name(file, call),
                        receiver,
                        f.flow,
                        f.message,
                    )
                )
        return out

    # -- pool-new-non-pointer -----------------------------------------------------------------

    def new_non_pointer(self) -> list[Finding]:
        out: list[Finding] = []
        for decl, news in self.p.news.items():
            for file, value in news:
                for rfile, expr, scope in self._new_results(file, value):
                    if self.p.value_shape(rfile, expr, scope) is not Shape.VALUE:
                        continue
                    verdict = self._verdict_at(
                        rfile, expr, frozenset({Kind.ESCAPES_TO_HEAP, Kind.MOVED_TO_HEAP})
                    )
                    out.append(
                        _finding(
                            Kind.POOL_NEW_NON_POINTER,
                            rfile,
                            self.p.span(rfile, expr),
                            f"{decl.name}.New returns a non-pointer: each Put of it "
                            "allocates (SA6002)",
                            decl.name,
                            self.p.function_name(rfile, expr),
                            decl.name,
                            verdict.flow if verdict else (),
                            verdict.message if verdict else None,
                        )
                    )
        return out

    def _new_results(self, file: str, value: Node) -> list[tuple[str, Node, Node]]:
        """(file, returned expression, function body) for a New func literal or function."""
        value = unparen(value)
        fn: Node | None = None
        if value.type == "func_literal":
            fn = value
        elif value.type == "identifier" and self.p.is_global(file, value):
            found = self.p.functions.get(self.p.text(file, value))
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

    # -- pool-local ---------------------------------------------------------------------------

    def local(self) -> list[Finding]:
        out: list[Finding] = []
        for decl in self.p.decls:
            if decl.scope is not Scope.LOCAL:
                continue
            facts = self.p.files[decl.file]
            name_node = facts.src.tree.root_node.descendant_for_byte_range(
                decl.start_byte, decl.start_byte + 1
            )
            if name_node is None:
                continue
            fn = enclosing(name_node, FUNCTIONS)
            if fn is None or not local_uses_only(self.p, decl, fn):
                continue
            if not self.p.calls_of(decl, "Get"):
                continue
            where = self._per_what(name_node, fn, decl)
            verdict = self._verdict_at(
                decl.file, name_node, frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP})
            )
            out.append(
                _finding(
                    Kind.POOL_LOCAL,
                    decl.file,
                    decl.span,
                    f"{decl.name} is a new, empty sync.Pool {where}: declare it at package level",
                    decl.name,
                    decl.function,
                    decl.name,
                    verdict.flow if verdict else (),
                    verdict.message if verdict else None,
                )
            )
        return out

    def _per_what(self, name: Node, fn: Node, decl: PoolDecl) -> str:
        loop = enclosing(name, ("for_statement", *FUNCTIONS))
        if loop is not None and loop.type == "for_statement":
            return f"on every iteration of the loop on line {_line(loop)}"
        if fn.type == "func_literal":
            return f"on every call of the function literal on line {_line(fn)}"
        return f"on every call of {decl.function}"

    # -- pool-object-retained -----------------------------------------------------------------

    def retained(self) -> list[Finding]:
        out: dict[tuple[str, int], Finding] = {}
        for put in self._calls("Put"):
            var = _put_variable(self.p, put)
            fn = enclosing(put.call, FUNCTIONS)
            if var is None or fn is None or not _declared_once(self.p, put.file, fn, var):
                continue  # one name, one variable: no shadowing to get wrong
            if not self._shares_memory(put, var, fn):
                continue
            put_line = _line(put.call)
            for stmt, dest, verdict in self._stores(put.file, var, fn, put):
                key = (put.file, stmt.start_byte)
                if key in out or not _put_follows(self.p, put, stmt):
                    continue
                out[key] = _finding(
                    Kind.POOL_OBJECT_RETAINED,
                    put.file,
                    self.p.span(put.file, stmt),
                    f"{var} is {dest} and also put back into {put.receiver} (line {put_line}): "
                    "the pool may hand out memory still in use",
                    var,
                    self.p.function_name(put.file, stmt),
                    put.receiver,
                    verdict.flow if verdict else (),
                    verdict.message if verdict else None,
                )
        return list(out.values())

    def _shares_memory(self, put: PoolCall, var: str, fn: Node) -> bool:
        """Whether `var` refers to the pooled memory (a pointer, a slice…), not a copy of it."""
        for node in walk(fn, into_literals=False):
            if node.start_byte >= put.call.start_byte:
                break
            if node.type == "short_var_declaration":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                names = [self.p.text(put.file, n) for n in left.named_children] if left else []
                if var in names and right is not None and right.named_children:
                    typ = _asserted_type(unparen(right.named_children[0]))
                    if typ is not None:
                        return not self.p.is_copy(put.file, typ)
            elif node.type == "parameter_declaration":
                names = [self.p.text(put.file, n) for n in node.children_by_field_name("name")]
                if var in names:
                    return not self.p.is_copy(put.file, node.child_by_field_name("type"))
        return True

    def _stores(
        self, file: str, var: str, fn: Node, put: PoolCall
    ) -> list[tuple[Node, str, Finding | None]]:
        """Statements that keep `var` somewhere that outlives the call: the compiler's flows
        first, then exact syntax (a global, a field of a parameter, a send, a return)."""
        out: list[tuple[Node, str, Finding | None]] = []
        src = self.p.files[file].src
        for f, step in self.stores_from(file, var):
            if step.file != file:
                continue
            offset = src.lines.offset(step.span.start_line, step.span.start_col)
            if not fn.start_byte <= offset < fn.end_byte:
                continue
            leaf = src.tree.root_node.descendant_for_byte_range(offset, offset + 1)
            stmt = _statement(leaf)
            if stmt is not None and enclosing(stmt, FUNCTIONS) == fn:
                out.append((stmt, self._destination(file, stmt, var), f))
        for node in walk(fn, into_literals=False):
            dest = self._syntax_store(file, node, var, fn, put)
            if dest is not None:
                out.append((node, dest, None))
        return out

    def _destination(self, file: str, stmt: Node, var: str) -> str:
        if stmt.type == "send_statement":
            return "sent on a channel"
        if stmt.type == "return_statement":
            return "returned"
        if stmt.type == "assignment_statement":
            left = stmt.child_by_field_name("left")
            if left is not None and left.named_children:
                target = left.named_children[0]
                if target.type == "identifier":
                    return f"stored in the package-level {self.p.text(file, target)}"
                return f"stored in {self.p.text(file, target)}"
        return "stored where the heap can reach it"

    def _syntax_store(self, file: str, node: Node, var: str, fn: Node, put: PoolCall) -> str | None:
        t = node.type
        if t == "send_statement":
            value = node.child_by_field_name("value")
            if value is not None and _names(self.p, file, value, var):
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
            if any(_names(self.p, file, e, var) for e in exprs):
                return "returned"
        elif t == "assignment_statement" and _operator(self.p, file, node) == "=":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None:
                return None
            if len(left.named_children) != len(right.named_children):
                return None
            for target, value in zip(left.named_children, right.named_children, strict=True):
                if not _names(self.p, file, value, var):
                    continue
                root = _root_operand(target)
                if root is None or root.type != "identifier":
                    continue
                if target.type == "identifier" and self.p.is_global(file, target):
                    return f"stored in the package-level {self.p.text(file, target)}"
                if target.type != "identifier" and (
                    self.p.is_global(file, root) or _is_parameter(self.p, file, root, fn)
                ):
                    return f"stored in {self.p.text(file, target)}"
        elif t == "func_literal" and self._escaping_closure_uses(file, node, var, put):
            return "captured by a closure that outlives the call"
        return None

    def _escaping_closure_uses(self, file: str, lit: Node, var: str, put: PoolCall) -> bool:
        verdict = self._verdict_at(file, lit, frozenset({Kind.ESCAPES_TO_HEAP}))
        if verdict is None or verdict.subject != "func literal":
            return False
        if var in self.p.declared_in(file, lit):
            return False  # its own `var`, not the pooled one
        for ident in walk(lit):
            if ident.type == "identifier" and self.p.text(file, ident) == var:
                call = enclosing(ident, ("call_expression",))
                if call is not None and any(c.call == call for c in self.p.calls_of(put.decl)):
                    continue
                return True
        return False

    # -- syntax-only checks, at most one finding per call ---------------------------------------

    def _per_call(
        self, method: str, kind: Kind, check: Callable[[PoolCall], _Hit | None]
    ) -> list[Finding]:
        """`kind` findings at the `method` calls where `check` finds one."""
        out: list[Finding] = []
        for call in self._calls(method):
            hit = check(call)
            if hit is not None:
                out.append(self._at(kind, call, *hit))
        return out

    # -- pool-get-value -----------------------------------------------------------------------

    def get_value(self) -> list[Finding]:
        return self._per_call("Get", Kind.POOL_GET_VALUE, self._copied_out)

    def _copied_out(self, get: PoolCall) -> _Hit | None:
        assertion = get.call.parent
        if assertion is None or assertion.type != "type_assertion_expression":
            return None
        typ = assertion.child_by_field_name("type")
        under = self.p.underlying(get.file, typ)
        if typ is None or under is None or under.type not in ("struct_type", "array_type"):
            return None  # slices: pool-put-non-pointer says so where they are put back
        name = self.p.text(get.file, typ)
        message = f"{get.receiver}.Get().({name}) copies a {name} out of the pool: pool *{name}"
        return assertion, message, name

    # -- pool-use-after-put -------------------------------------------------------------------

    def use_after_put(self) -> list[Finding]:
        return self._per_call("Put", Kind.POOL_USE_AFTER_PUT, self._used_after)

    def _used_after(self, put: PoolCall) -> _Hit | None:
        var = _put_variable(self.p, put)
        stmt = put.call.parent
        if var is None or stmt is None or stmt.type != "expression_statement":
            return None  # `defer p.Put(x)` runs last: later uses are fine
        fn = enclosing(stmt, FUNCTIONS)
        if fn is None or not _declared_once(self.p, put.file, fn, var):
            return None
        use = _first_use_after(self.p, put.file, stmt, var)
        if use is None:
            return None
        message = (
            f"{var} is used after {put.receiver}.Put({var}) on line {_line(stmt)}: the "
            "pool may have handed it out again"
        )
        return use, message, var

    # -- pool-missing-put (opt-in) ------------------------------------------------------------

    def missing_put(self) -> list[Finding]:
        return self._per_call("Get", Kind.POOL_MISSING_PUT, self._not_put_back)

    def _not_put_back(self, get: PoolCall) -> _Hit | None:
        found = _bound_variable(self.p, get)
        if found is None:
            return None
        decl_stmt, var = found
        fn = enclosing(decl_stmt, FUNCTIONS)
        block = decl_stmt.parent
        if fn is None or block is None or block.type != "statement_list":
            return None
        if not _declared_once(self.p, get.file, fn, var):
            return None
        if _handed_off(self.p, get.file, fn, var, decl_stmt):
            return None
        walker = _PathWalker(self.p, get, var)
        rest = [s for s in block.named_children if s.start_byte > decl_stmt.start_byte]
        leak, put, falls = walker.run(rest, False)
        if leak is not None:
            where = f"the return on line {_line(leak)}"
        elif falls and not put:
            end = block.parent if block.parent is not None else block
            where = f"the end of the block on line {end.end_point[0] + 1}"
        else:
            return None
        return get.call, f"{var} from {get.receiver}.Get() is not put back before {where}", var


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
        and _declared_once(pools, file, fn, decl.name)
    )


def _declared_once(pools: PackagePools, file: str, fn: Node, name: str) -> bool:
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


def _operator(pools: PackagePools, file: str, node: Node) -> str:
    op = node.child_by_field_name("operator")
    return pools.text(file, op) if op is not None else ""


def _receiver(pools: PackagePools, file: str, call: Node) -> str:
    fn = call.child_by_field_name("function")
    operand = fn.child_by_field_name("operand") if fn is not None else None
    return pools.text(file, operand) if operand is not None else "pool"


def _put_argument(pools: PackagePools, file: str, leaf: Node | None) -> tuple[Node, Node] | None:
    """(the `X.Put(arg)` call, arg) when `leaf` lies in the one argument of a Put call."""
    node = leaf
    while node is not None and node.type not in ("argument_list", *FUNCTIONS, "block"):
        node = node.parent
    if node is None or node.type != "argument_list" or len(node.named_children) != 1:
        return None
    call = node.parent
    fn = call.child_by_field_name("function") if call is not None else None
    method = fn.child_by_field_name("field") if fn is not None else None
    if call is None or method is None or pools.text(file, method) != "Put":
        return None
    return call, node.named_children[0]


def _put_variable(pools: PackagePools, put: PoolCall) -> str | None:
    args = put.call.child_by_field_name("arguments")
    if args is None or len(args.named_children) != 1:
        return None
    arg = unparen(args.named_children[0])
    return pools.text(put.file, arg) if arg.type == "identifier" else None


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


def _names(pools: PackagePools, file: str, expr: Node, var: str) -> bool:
    """`expr` is `var`, a slice of it, or a conversion-free reference to it."""
    expr = unparen(expr)
    if expr.type == "identifier":
        return pools.text(file, expr) == var
    if expr.type == "slice_expression":
        operand = expr.child_by_field_name("operand")
        return operand is not None and _names(pools, file, operand, var)
    return False


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
                copied = pools.is_copy(file, decl.child_by_field_name("type"))
                return not copied and name not in _locals(pools, file, fn)
    return False


def _locals(pools: PackagePools, file: str, fn: Node) -> set[str]:
    body = fn.child_by_field_name("body")
    return pools.declared_in(file, body) if body is not None else set()


_TERMINATORS = ("return_statement", "break_statement", "continue_statement", "goto_statement")


def _forward(
    pools: PackagePools, file: str, stmt: Node, visit: Callable[[Node], Node | bool | None]
) -> Node | None:
    """Visit the statements executed after `stmt` in straight-line order — later statements of
    its block, then of the enclosing blocks, within its function — until `visit` returns a node
    (found) or True (stop), or control leaves the block (return, break, continue, panic)."""
    current = stmt
    while True:
        block = current.parent
        if block is None or block.type != "statement_list":
            return None
        for sibling in block.named_children:
            if sibling.start_byte <= current.start_byte:
                continue
            seen = visit(sibling)
            if isinstance(seen, Node):
                return seen
            if seen is True or sibling.type in _TERMINATORS or _panics(pools, file, sibling):
                return None
        node: Node | None = block.parent
        while node is not None and (node.parent is None or node.parent.type != "statement_list"):
            if node.type in FUNCTIONS:
                return None
            node = node.parent
        if node is None or node.type in FUNCTIONS:
            return None
        current = node


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

    return _forward(pools, file, stmt, visit)


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

    return _forward(pools, put.file, store, visit) is not None


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


def _panics(pools: PackagePools, file: str, stmt: Node) -> bool:
    if stmt.type != "expression_statement" or not stmt.named_children:
        return False
    call = stmt.named_children[0]
    fn = call.child_by_field_name("function") if call.type == "call_expression" else None
    return fn is not None and pools.text(file, fn) == "panic"


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
            if right is not None and any(_names(pools, file, e, var) for e in right.named_children):
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
            c.call == call and _put_variable(self.p, c) == self.var
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
            elif t in ("break_statement", "continue_statement", "goto_statement") or _panics(
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
