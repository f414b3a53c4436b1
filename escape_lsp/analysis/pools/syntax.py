"""The `sync.Pool`s of one package as the syntax tree shows them: declarations, Get/Put, New.

Pure: tree-sitter over the package's files, no verdicts. A use counts only when its pool
resolves exactly (a package-level pool not shadowed in the function, a local pool of the same
function, or a uniquely named pool field); anything else is left alone, so the checks built on
this never guess. The files and their names are `source.py`'s, type facts `type_facts.py`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

from tree_sitter import Node

from escape_lsp.analysis.pools.source import FileFacts, PackageSource
from escape_lsp.analysis.pools.tree import (
    FUNCTIONS,
    enclosing,
    method_selections,
    nodes_at,
    package_name,
    sync_names,
    top_level,
    unparen,
    word_matches,
)
from escape_lsp.analysis.pools.type_facts import TypeFacts
from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import GoSource

T = TypeVar("T")


class Scope(StrEnum):
    PACKAGE = "package"
    LOCAL = "local"
    FIELD = "field"


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
class PackagePools(PackageSource):
    """A package's source with every pool of it and every resolved use of one."""

    decls: list[PoolDecl] = field(default_factory=list)
    calls: list[PoolCall] = field(default_factory=list)
    #: `New` values per pool: (file, value node) from `New: …` keys and `p.New = …` assignments.
    news: dict[PoolDecl, list[tuple[str, Node]]] = field(default_factory=dict)

    #: What functions of this index alone computed (`derived`).
    _derived: dict[Callable[[PackagePools], Any], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def type_facts(self) -> TypeFacts:
        return TypeFacts(self)

    def derived(self, compute: Callable[[PackagePools], T]) -> T:
        """`compute(self)`, computed once for this index: what the checks read of the syntax
        alone, worked out while go compiles (`checks.prepare_checks`) and read after it."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        result: T = self._derived[compute]
        return result

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

    def calls_of(self, decl: PoolDecl, method: str | None = None) -> list[PoolCall]:
        return [c for c in self.calls if c.decl == decl and (method is None or c.method == method)]


def index_packages(sources: Mapping[str, GoSource]) -> list[PackagePools]:
    """One index per package clause (a package and its external test package are apart)."""
    groups: dict[str, PackagePools] = {}
    if not any(b"Pool" in src.data for src in sources.values()):
        return []
    for path in sorted(sources):
        src = sources[path]
        facts = FileFacts(path, src, src.derived(package_name), src.derived(sync_names))
        groups.setdefault(facts.package, PackagePools()).files[path] = facts
    for pools in groups.values():
        _declarations(pools)
        if pools.decls:
            _uses(pools)
    return [g for g in groups.values() if g.decls]


_DECLARING = ("var_spec", "short_var_declaration", "field_declaration")


def _declarations(pools: PackagePools) -> None:
    type_facts = pools.type_facts
    for file, facts in pools.files.items():
        if not facts.sync_names or b"Pool" not in facts.src.data:
            continue
        words = facts.src.derived(_pool_words)
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
                    is_pool, pointer = type_facts.pool_creation(file, value)
                    if is_pool:
                        _add(pools, file, name, Scope.LOCAL, pointer, value)
            else:
                is_pool, pointer = type_facts.is_pool_type(file, node.child_by_field_name("type"))
                if is_pool:
                    for name in node.children_by_field_name("name"):
                        _add(pools, file, name, Scope.FIELD, pointer, None)


def _var_spec(pools: PackagePools, file: str, spec: Node) -> None:
    names = spec.children_by_field_name("name")
    value = spec.child_by_field_name("value")
    values = value.named_children if value is not None else []
    type_facts = pools.type_facts
    is_type, pointer = type_facts.is_pool_type(file, spec.child_by_field_name("type"))
    scope = Scope.LOCAL if top_level(spec) is not None else Scope.PACKAGE
    for i, name in enumerate(names):
        init = values[i] if len(values) == len(names) else None
        created, ptr = type_facts.pool_creation(file, init) if init is not None else (False, False)
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
    names = frozenset(d.name.encode() for d in pools.decls)
    for file, facts in pools.files.items():
        for node in facts.src.derived(_selections, names):
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


def _pool_words(src: GoSource) -> tuple[Node, ...]:
    """Every `Pool` type name in a file (qualified or not)."""
    words = nodes_at(src, word_matches(src.data, b"Pool"))
    return tuple(n for n in words if n.type == "type_identifier")


def _selections(src: GoSource, receivers: frozenset[bytes]) -> tuple[Node, ...]:
    """The method names of `r.Get`, `r.Put`, `r.New` in a file, `r` one of `receivers`."""
    return tuple(nodes_at(src, method_selections(src.data, receivers)))


def _new_assignment(pools: PackagePools, file: str, stmt: Node | None, receiver: Node) -> None:
    """`receiver.New = value` as a statement of its own."""
    if stmt is None or stmt.type != "assignment_statement" or pools.operator(file, stmt) != "=":
        return
    left, right = stmt.child_by_field_name("left"), stmt.child_by_field_name("right")
    if left is None or right is None:
        return
    if len(left.named_children) != 1 or len(right.named_children) != 1:
        return
    decl = pools.resolve(file, receiver)
    if decl is not None:
        pools.news.setdefault(decl, []).append((file, right.named_children[0]))
