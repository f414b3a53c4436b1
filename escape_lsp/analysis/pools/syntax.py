"""The `sync.Pool`s of one package as the syntax tree shows them: declarations, Get/Put, New.

Pure: tree-sitter over the package's files, no verdicts. A use counts only when its pool
resolves exactly (a package-level pool not shadowed in the function, a local pool of the same
function, or a uniquely named pool field); anything else is left alone, so the checks built on
this never guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tree_sitter import Node

from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import Declaration, GoSource

FUNCTIONS = ("function_declaration", "method_declaration", "func_literal")
_LOOPS = ("for_statement",)
_LITERALS = (
    "interpreted_string_literal",
    "raw_string_literal",
    "int_literal",
    "float_literal",
    "rune_literal",
    "imaginary_literal",
)
#: Universe types that are not pointer-shaped: an interface holding one needs a box.
_BASIC = frozenset(
    [
        "bool",
        "string",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
        "byte",
        "rune",
        "float32",
        "float64",
        "complex64",
        "complex128",
    ]
)
_NAMED_DECLS = ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec")


class Scope(StrEnum):
    PACKAGE = "package"
    LOCAL = "local"
    FIELD = "field"


class Shape(StrEnum):
    """What a type is, as far as boxing it in an interface is concerned."""

    VALUE = "value"  # struct, array, slice, string, number: boxing copies it to the heap
    POINTER = "pointer"  # pointer, map, chan, func, interface: stored in the interface as is
    UNKNOWN = "unknown"


def walk(node: Node, into_literals: bool = True) -> Iterator[Node]:
    """Named descendants in source order; optionally not entering nested function literals."""
    for child in node.named_children:
        yield child
        if into_literals or child.type != "func_literal":
            yield from walk(child, into_literals)


def enclosing(node: Node | None, types: tuple[str, ...]) -> Node | None:
    node = node.parent if node is not None else None
    while node is not None and node.type not in types:
        node = node.parent
    return node


def top_level(node: Node) -> Node | None:
    """The top-level function or method declaration containing `node`."""
    cur: Node | None = node
    while cur is not None and cur.type not in ("function_declaration", "method_declaration"):
        cur = cur.parent
    return cur


def unparen(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


@dataclass(frozen=True)
class PoolDecl:
    """One pool: a package-level variable, a variable local to a function, or a struct field."""

    name: str
    file: str
    #: The declared name.
    span: Span
    scope: Scope
    #: The compiler-style name of the function declaring a local pool.
    function: str | None
    start_byte: int
    #: Declared as `*sync.Pool`, `&sync.Pool{…}` or `new(sync.Pool)`.
    pointer: bool = False


@dataclass
class PoolCall:
    """`pool.Get()` or `pool.Put(x)` whose receiver resolves to `decl`."""

    decl: PoolDecl
    method: str
    file: str
    call: Node
    #: The receiver as written (`bufPool`, `s.pool`).
    receiver: str


@dataclass
class FileFacts:
    path: str
    src: GoSource
    package: str
    #: Names `sync` is imported as in this file (`.` for a dot import).
    sync_names: frozenset[str]
    declarations: list[Declaration] | None = None


@dataclass
class PackagePools:
    """Every pool of one package (one package clause) and every resolved use of one."""

    files: dict[str, FileFacts] = field(default_factory=dict)
    decls: list[PoolDecl] = field(default_factory=list)
    calls: list[PoolCall] = field(default_factory=list)
    #: `New` values per pool: (file, value node) from `New: …` keys and `p.New = …` assignments.
    news: dict[PoolDecl, list[tuple[str, Node]]] = field(default_factory=dict)
    #: Top-level names: types (name -> type node), and everything declared (vars, funcs, …).
    types: dict[str, tuple[str, Node]] = field(default_factory=dict)
    package_names: set[str] = field(default_factory=set)
    functions: dict[str, tuple[str, Node]] = field(default_factory=dict)
    #: Statement-level `X.New = value` assignments, by file.
    _new_assignments: list[tuple[str, Node, Node]] = field(default_factory=list)
    _declared: dict[tuple[str, int, int], frozenset[str]] = field(default_factory=dict)

    def text(self, file: str, node: Node) -> str:
        data = self.files[file].src.data
        return data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def span(self, file: str, node: Node, clip: bool = True) -> Span:
        """`node`'s range; multi-line nodes are kept to their first line (trailing blanks cut)."""
        src = self.files[file].src
        start, end = node.start_byte, node.end_byte
        if clip and node.end_point[0] != node.start_point[0]:
            line = node.start_point[0]
            end = src.lines.offset(line, len(src.lines.line_bytes(line)))
            while end > start and src.data[end - 1 : end] in (b" ", b"\t", b"\r", b"\n"):
                end -= 1
        sl, sc = src.lines.position(start)
        el, ec = src.lines.position(end)
        return Span(sl, sc, el, ec)

    # -- types --------------------------------------------------------------------------------

    def is_pool_type(self, file: str, node: Node | None) -> tuple[bool, bool]:
        """(is `sync.Pool` or `*sync.Pool`, is the pointer)."""
        if node is None:
            return False, False
        pointer = node.type == "pointer_type"
        if pointer and node.named_children:
            node = node.named_children[0]
        names = self.files[file].sync_names
        if node.type == "qualified_type":
            pkg, name = node.child_by_field_name("package"), node.child_by_field_name("name")
            ok = (
                pkg is not None
                and name is not None
                and self.text(file, pkg) in names
                and self.text(file, name) == "Pool"
            )
            return ok, pointer and ok
        if node.type == "type_identifier" and "." in names and self.text(file, node) == "Pool":
            return "Pool" not in self.types, pointer
        return False, False

    def pool_creation(self, file: str, node: Node) -> tuple[bool, bool]:
        """(is `sync.Pool{…}`, `&sync.Pool{…}` or `new(sync.Pool)`, gives a pointer)."""
        node = unparen(node)
        if node.type == "composite_literal":
            return self.is_pool_type(file, node.child_by_field_name("type"))[0], False
        if node.type == "unary_expression" and self.text(file, node).startswith("&"):
            operand = node.child_by_field_name("operand")
            if operand is not None and unparen(operand).type == "composite_literal":
                return self.pool_creation(file, operand)[0], True
        if node.type == "call_expression":
            fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
            if fn is not None and args is not None and self.text(file, fn) == "new":
                typ = args.named_children[0] if len(args.named_children) == 1 else None
                return self.is_pool_type(file, typ)[0], True
        return False, False

    def underlying(self, file: str, node: Node | None, depth: int = 0) -> Node | None:
        """The type literal a type expression stands for, following the package's named types;
        a universe type's identifier; None when it is declared elsewhere."""
        if node is None or depth > 8:
            return None
        t = node.type
        if t == "parenthesized_type" and node.named_children:
            return self.underlying(file, node.named_children[0], depth + 1)
        if t == "generic_type":
            return self.underlying(file, node.child_by_field_name("type"), depth + 1)
        if t == "type_identifier":
            declared = self.types.get(self.text(file, node))
            if declared is not None:
                return self.underlying(declared[0], declared[1], depth + 1)
            return node if self.text(file, node) in _BASIC | {"any", "error"} else None
        if t == "qualified_type":
            return None
        return node

    def shape(self, file: str, node: Node | None) -> Shape:
        """Whether a type is pointer-shaped, when the syntax says so exactly."""
        under = self.underlying(file, node)
        if under is None:
            return Shape.UNKNOWN
        t = under.type
        if t in ("struct_type", "array_type", "slice_type", "implicit_length_array_type"):
            return Shape.VALUE
        if t in ("pointer_type", "map_type", "channel_type", "function_type", "interface_type"):
            return Shape.POINTER
        if t == "type_identifier":
            name = under.text.decode() if under.text is not None else ""
            return Shape.POINTER if name in ("any", "error") else Shape.VALUE
        return Shape.UNKNOWN

    def is_copy(self, file: str, node: Node | None) -> bool:
        """A struct, array or basic type: assigning it copies, sharing no pooled memory."""
        under = self.underlying(file, node)
        if under is None:
            return False
        if under.type == "type_identifier":
            return self.shape(file, node) is Shape.VALUE
        return under.type in ("struct_type", "array_type")

    def value_shape(self, file: str, expr: Node, scope: Node | None, depth: int = 0) -> Shape:
        """Whether the value of `expr` is pointer-shaped, from its syntax alone.

        Composite literals, `make`, conversions and constants say so exactly; an identifier is
        followed to its one declaration in `scope` (a function body).
        """
        expr = unparen(expr)
        if depth > 4:
            return Shape.UNKNOWN
        t = expr.type
        if t in _LITERALS:
            return Shape.VALUE
        if t == "composite_literal":
            return self.shape(file, expr.child_by_field_name("type"))
        if t == "unary_expression" and self.text(file, expr).startswith("&"):
            return Shape.POINTER
        if t == "func_literal":
            return Shape.POINTER
        if t == "type_conversion_expression":
            return self.shape(file, expr.child_by_field_name("type"))
        if t == "call_expression":
            fn, args = expr.child_by_field_name("function"), expr.child_by_field_name("arguments")
            name = self.text(file, fn) if fn is not None else ""
            first = args.named_children[0] if args is not None and args.named_children else None
            if name == "new":
                return Shape.POINTER
            if name == "make" and first is not None:
                return self.shape(file, first)
            return Shape.UNKNOWN
        if t == "identifier" and scope is not None:
            return self._identifier_shape(file, expr, scope, depth)
        return Shape.UNKNOWN

    def _identifier_shape(self, file: str, ident: Node, scope: Node, depth: int) -> Shape:
        name = self.text(file, ident)
        found: list[Shape] = []
        for node in walk(scope, into_literals=False):
            if node.start_byte >= ident.start_byte:
                break
            if node.type == "short_var_declaration":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if left is None or right is None:
                    continue
                names = [self.text(file, n) for n in left.named_children]
                values = right.named_children
                if name in names:
                    i = names.index(name)
                    if len(values) != len(names):
                        return Shape.UNKNOWN
                    found.append(self.value_shape(file, values[i], scope, depth + 1))
            elif node.type == "var_spec":
                names = [self.text(file, n) for n in node.children_by_field_name("name")]
                if name in names:
                    typ = node.child_by_field_name("type")
                    value = node.child_by_field_name("value")
                    if typ is not None:
                        found.append(self.shape(file, typ))
                    elif value is not None and len(value.named_children) == len(names):
                        i = names.index(name)
                        found.append(self.value_shape(file, value.named_children[i], scope, depth))
                    else:
                        return Shape.UNKNOWN
        if len(found) == 1:
            return found[0]
        return Shape.UNKNOWN

    # -- names and resolution -----------------------------------------------------------------

    def declared_in(self, file: str, fn: Node) -> set[str]:
        """Every name a function declares anywhere (parameters, results, locals, literals')."""
        key = (file, fn.start_byte, fn.end_byte)
        hit = self._declared.get(key)
        if hit is None:
            hit = self._declared[key] = frozenset(self._declared_in(file, fn))
        return set(hit)

    def _declared_in(self, file: str, fn: Node) -> set[str]:
        out: set[str] = set()
        for node in (fn, *walk(fn)):
            if node.type in _NAMED_DECLS:
                out.update(self.text(file, n) for n in node.children_by_field_name("name"))
            elif node.type in ("short_var_declaration", "range_clause"):
                left = node.child_by_field_name("left")
                if left is not None and (
                    node.type == "short_var_declaration" or _declares(self.text(file, node))
                ):
                    out.update(self.text(file, n) for n in left.named_children)
            elif node.type == "type_spec":
                name = node.child_by_field_name("name")
                if name is not None:
                    out.add(self.text(file, name))
            elif node.type in ("receive_statement",) and ":=" in self.text(file, node):
                left = node.child_by_field_name("left")
                if left is not None:
                    out.update(self.text(file, n) for n in left.named_children)
            elif node.type == "type_switch_statement":
                alias = node.child_by_field_name("alias")
                if alias is not None:
                    out.update(self.text(file, n) for n in alias.named_children or [alias])
        return out

    def is_global(self, file: str, ident: Node) -> bool:
        """`ident` names a package-level declaration (not shadowed anywhere in its function)."""
        name = self.text(file, ident)
        if name not in self.package_names:
            return False
        fn = top_level(ident)
        return fn is None or name not in self.declared_in(file, fn)

    def resolve(self, file: str, expr: Node) -> PoolDecl | None:
        """The pool an expression names, when the syntax says so exactly."""
        expr = unparen(expr)
        if expr.type == "identifier":
            name = self.text(file, expr)
            fn = top_level(expr)
            if fn is not None and name in self.declared_in(file, fn):
                locals_ = [
                    d
                    for d in self.decls
                    if d.scope is Scope.LOCAL
                    and d.file == file
                    and d.name == name
                    and fn.start_byte <= d.start_byte < fn.end_byte
                    and d.start_byte < expr.start_byte
                ]
                return locals_[-1] if locals_ else None
            globals_ = [d for d in self.decls if d.scope is Scope.PACKAGE and d.name == name]
            return globals_[0] if len(globals_) == 1 else None
        if expr.type == "selector_expression":
            fld = expr.child_by_field_name("field")
            operand = expr.child_by_field_name("operand")
            if fld is None or operand is None:
                return None
            if operand.type == "identifier" and self.text(file, operand) in self.imports(file):
                return None  # a package-qualified name: another package's pool
            name = self.text(file, fld)
            fields = [d for d in self.decls if d.scope is Scope.FIELD and d.name == name]
            return fields[0] if len(fields) == 1 else None
        return None

    def imports(self, file: str) -> set[str]:
        facts = self.files[file]
        out: set[str] = set()
        for spec in _import_specs(facts.src):
            name, path = spec.child_by_field_name("name"), spec.child_by_field_name("path")
            if name is not None:
                out.add(self.text(file, name))
            elif path is not None:
                out.add(self.text(file, path).strip('"`').rsplit("/", 1)[-1])
        return out

    def calls_of(self, decl: PoolDecl, method: str | None = None) -> list[PoolCall]:
        return [c for c in self.calls if c.decl == decl and (method is None or c.method == method)]

    def function_name(self, file: str, node: Node) -> str | None:
        """The compiler-style name (`F`, `(*S).M`) of the top-level function holding `node`."""
        facts = self.files[file]
        if facts.declarations is None:
            facts.declarations = facts.src.declarations()
        line = node.start_point[0]
        for decl in facts.declarations:
            if decl.span.start_line <= line <= decl.span.end_line:
                return decl.name
        return None


def _operator(pools: PackagePools, file: str, node: Node) -> str:
    op = node.child_by_field_name("operator")
    return pools.text(file, op) if op is not None else ""


def _declares(text: str) -> bool:
    head = text.split("range", 1)[0]
    return ":=" in head


def _import_specs(src: GoSource) -> Iterator[Node]:
    """Import specs: they are all at the top level."""
    for decl in src.tree.root_node.named_children:
        if decl.type == "import_declaration":
            for node in decl.named_children:
                specs = node.named_children if node.type == "import_spec_list" else [node]
                yield from (spec for spec in specs if spec.type == "import_spec")


def _sync_names(src: GoSource) -> frozenset[str]:
    names: set[str] = set()
    for spec in _import_specs(src):
        path = spec.child_by_field_name("path")
        if path is None or src.data[path.start_byte : path.end_byte].strip(b'"`') != b"sync":
            continue
        name = spec.child_by_field_name("name")
        names.add(src.data[name.start_byte : name.end_byte].decode() if name else "sync")
    names.discard("_")
    return frozenset(names)


def package_name(src: GoSource) -> str:
    for node in src.tree.root_node.named_children:
        if node.type == "package_clause" and node.named_children:
            ident = node.named_children[0]
            return src.data[ident.start_byte : ident.end_byte].decode()
    return ""


_POOL_WORD = re.compile(rb"\bPool\b")


def _nodes_at(src: GoSource, pattern: re.Pattern[bytes], group: int = 0) -> list[Node]:
    """The smallest named node at each match of `pattern` (a cheap text search first: a Python
    walk over every node of a large file costs tens of milliseconds)."""
    out = []
    for m in pattern.finditer(src.data):
        node = src.tree.root_node.named_descendant_for_byte_range(m.start(group), m.end(group))
        if node is not None:
            out.append(node)
    return out


def index_packages(sources: Mapping[str, GoSource]) -> list[PackagePools]:
    """One index per package clause (a package and its external test package are apart)."""
    groups: dict[str, PackagePools] = {}
    if not any(b"Pool" in src.data for src in sources.values()):
        return []
    for path in sorted(sources):
        src = sources[path]
        facts = FileFacts(path, src, package_name(src), _sync_names(src))
        groups.setdefault(facts.package, PackagePools()).files[path] = facts
    for pools in groups.values():
        _declarations(pools)
        if pools.decls:
            _top_level(pools)
            _uses(pools)
    return [g for g in groups.values() if g.decls]


def _top_level(pools: PackagePools) -> None:
    for file, facts in pools.files.items():
        for node in facts.src.tree.root_node.named_children:
            if node.type in ("function_declaration",):
                name = node.child_by_field_name("name")
                if name is not None:
                    pools.package_names.add(pools.text(file, name))
                    pools.functions[pools.text(file, name)] = (file, node)
            elif node.type in ("var_declaration", "const_declaration"):
                for child in node.named_children:
                    specs = child.named_children if child.type.endswith("_list") else [child]
                    for spec in specs:
                        pools.package_names.update(
                            pools.text(file, n) for n in spec.children_by_field_name("name")
                        )
            elif node.type == "type_declaration":
                for spec in node.named_children:
                    name, typ = spec.child_by_field_name("name"), spec.child_by_field_name("type")
                    if name is not None and typ is not None:
                        pools.types[pools.text(file, name)] = (file, typ)
                        pools.package_names.add(pools.text(file, name))


_DECLARING = ("var_spec", "short_var_declaration", "field_declaration")


def _declarations(pools: PackagePools) -> None:
    for file, facts in pools.files.items():
        if not facts.sync_names or b"Pool" not in facts.src.data:
            continue
        words = [n for n in _nodes_at(facts.src, _POOL_WORD) if n.type == "type_identifier"]
        mentions = [n.parent for n in words if n.parent and n.parent.type == "qualified_type"]
        if "." in facts.sync_names:
            mentions += [n for n in words if n.parent is None or n.parent.type != "qualified_type"]
        seen: set[tuple[int, int]] = set()
        for mention in sorted(mentions, key=lambda n: n.start_byte):
            node = enclosing(mention, (*_DECLARING, *FUNCTIONS, "type_declaration"))
            if node is None or node.type not in _DECLARING:
                continue
            key = (node.start_byte, node.end_byte)
            if key in seen:
                continue
            seen.add(key)
            if node.type == "var_spec":
                _var_spec(pools, file, node)
            elif node.type == "short_var_declaration":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if left is None or right is None:
                    continue
                if len(left.named_children) != len(right.named_children):
                    continue
                for name, value in zip(left.named_children, right.named_children, strict=True):
                    is_pool, pointer = pools.pool_creation(file, value)
                    if is_pool:
                        _add(pools, file, name, Scope.LOCAL, pointer, value)
            else:
                is_pool, pointer = pools.is_pool_type(file, node.child_by_field_name("type"))
                if is_pool:
                    for name in node.children_by_field_name("name"):
                        _add(pools, file, name, Scope.FIELD, pointer, None)


def _var_spec(pools: PackagePools, file: str, spec: Node) -> None:
    names = spec.children_by_field_name("name")
    value = spec.child_by_field_name("value")
    values = value.named_children if value is not None else []
    is_type, pointer = pools.is_pool_type(file, spec.child_by_field_name("type"))
    scope = Scope.LOCAL if top_level(spec) is not None else Scope.PACKAGE
    for i, name in enumerate(names):
        init = values[i] if len(values) == len(names) else None
        created, ptr = pools.pool_creation(file, init) if init is not None else (False, False)
        if is_type or created:
            _add(pools, file, name, scope, pointer or ptr, init)


def _add(
    pools: PackagePools, file: str, name: Node, scope: Scope, pointer: bool, init: Node | None
) -> None:
    fn = top_level(name) if scope is Scope.LOCAL else None
    decl = PoolDecl(
        pools.text(file, name),
        file,
        pools.span(file, name),
        scope,
        pools.function_name(file, fn) if fn is not None else None,
        name.start_byte,
        pointer,
    )
    pools.decls.append(decl)
    news = pools.news.setdefault(decl, [])
    literal = unparen(init) if init is not None else None
    if literal is not None and literal.type == "unary_expression":
        operand = literal.child_by_field_name("operand")
        literal = unparen(operand) if operand is not None else None
    if literal is not None and literal.type == "composite_literal":
        body = literal.child_by_field_name("body")
        for elem in body.named_children if body is not None else []:
            parts = elem.named_children
            if (
                elem.type == "keyed_element"
                and len(parts) == 2
                and pools.text(file, parts[0]) == "New"
                and parts[1].named_children
            ):
                news.append((file, parts[1].named_children[0]))


def _uses(pools: PackagePools) -> None:
    names = sorted({re.escape(d.name.encode()) for d in pools.decls})
    calls = re.compile(rb"\b(?:" + b"|".join(names) + rb")\s*\.\s*(Get|Put|New)\b")
    for file, facts in pools.files.items():
        for node in _nodes_at(facts.src, calls, 1):
            sel = node.parent
            if node.type != "field_identifier" or sel is None or sel.type != "selector_expression":
                continue
            receiver = sel.child_by_field_name("operand")
            parent = sel.parent
            if receiver is None or parent is None:
                continue
            method = pools.text(file, node)
            if method in ("Get", "Put") and parent.type == "call_expression":
                decl = pools.resolve(file, receiver)
                if decl is not None and parent.child_by_field_name("function") == sel:
                    call = PoolCall(decl, method, file, parent, pools.text(file, receiver))
                    pools.calls.append(call)
            elif method == "New" and parent.type == "expression_list":
                _new_assignment(pools, file, parent.parent, receiver)


def _new_assignment(pools: PackagePools, file: str, stmt: Node | None, receiver: Node) -> None:
    """`receiver.New = value` as a statement of its own."""
    if stmt is None or stmt.type != "assignment_statement" or _operator(pools, file, stmt) != "=":
        return
    left, right = stmt.child_by_field_name("left"), stmt.child_by_field_name("right")
    if left is None or right is None:
        return
    if len(left.named_children) != 1 or len(right.named_children) != 1:
        return
    decl = pools.resolve(file, receiver)
    if decl is not None:
        pools.news.setdefault(decl, []).append((file, right.named_children[0]))
        pools._new_assignments.append((file, stmt, receiver))


def new_assignments(pools: PackagePools, decl: PoolDecl) -> list[tuple[str, Node]]:
    """Statements `p.New = …` for `decl`."""
    return [
        (file, stmt)
        for file, stmt, operand in pools._new_assignments
        if pools.resolve(file, operand) == decl
    ]
