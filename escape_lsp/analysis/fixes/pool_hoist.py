"""Fix: hoist a function-local `sync.Pool` to package level, so every call shares one pool.

`p := sync.Pool{New: …}` (or `&sync.Pool{…}`, `new(sync.Pool)`, `var p sync.Pool` with one
`p.New = …`) moves in front of its function as `var <name> = …`; the function's uses are
renamed when the local name is too generic for package level. Offered only when the moved code
refers to nothing local to the function; the compiler proves the rest (it builds, the finding is
gone, no new allocation outside the hoisted declaration, which runs once).
"""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.fixes.context import FixContext
from escape_lsp.analysis.fixes.model import FileEdit, Fix
from escape_lsp.analysis.fixes.syntax_util import FUNCTIONS, enclosing, node_at, text, walk
from escape_lsp.analysis.pools.syntax import PackagePools, index_packages
from escape_lsp.analysis.pools.tree import top_level
from escape_lsp.findings.model import Kind, Span
from escape_lsp.findings.syntax import GoSource


def _top_names(src: GoSource) -> set[str]:
    """Package-level names a file declares, and the names it imports packages as."""
    names: set[str] = set()
    for node in src.tree.root_node.named_children:
        if node.type in ("function_declaration", "type_declaration"):
            for spec in (node, *node.named_children):
                name = spec.child_by_field_name("name")
                if name is not None and spec.type in ("function_declaration", "type_spec"):
                    names.add(text(src, name))
        elif node.type in ("var_declaration", "const_declaration", "import_declaration"):
            for spec in walk(node):
                if spec.type in ("var_spec", "const_spec"):
                    names.update(text(src, n) for n in spec.children_by_field_name("name"))
                elif spec.type == "import_spec":
                    name, path = spec.child_by_field_name("name"), spec.child_by_field_name("path")
                    if name is not None:
                        names.add(text(src, name))
                    elif path is not None:
                        names.add(text(src, path).strip('"`').rsplit("/", 1)[-1])
    return names


def _line_span(src: GoSource, node: Node) -> Span | None:
    """Whole lines of `node` when nothing but blanks and a trailing comment share them."""
    first, last = node.start_point[0], node.end_point[0]
    before = src.lines.line_bytes(first)[: node.start_point[1]]
    after = src.lines.line_bytes(last)[node.end_point[1] :].strip()
    if before.strip() or (after and not after.startswith(b"//")):
        return None
    return Span(first, 0, last + 1, 0)


def _insertion_line(src: GoSource, decl: Node) -> int:
    """The first line of a top-level declaration, including its doc comment."""
    line = decl.start_point[0]
    sibling = decl.prev_named_sibling
    while sibling is not None and sibling.type == "comment" and sibling.end_point[0] == line - 1:
        line = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    return line


def _dedent(value: str, indent: str) -> str:
    lines = value.split("\n")
    return "\n".join(
        [lines[0], *(ln[len(indent) :] if ln.startswith(indent) else ln for ln in lines[1:])]
    )


def _package_name(function: str | None, taken: set[str]) -> str:
    base = (function or "local").split(".")[-1].strip("()*") or "local"
    stem = base[:1].lower() + base[1:] + "Pool"
    name, n = stem, 2
    while name in taken:
        name, n = f"{stem}{n}", n + 1
    return name


def _refers_to_locals(pools: PackagePools, file: str, fn: Node, moved: list[Node]) -> bool:
    """Whether the moved code names a parameter, local or type parameter of `fn`."""
    local = pools.declared_in(file, fn)
    tparams = fn.child_by_field_name("type_parameters")
    if tparams is not None:
        local |= {text(pools.files[file].src, n) for n in walk(tparams) if n.type == "identifier"}
    inner: set[str] = set()
    for node in moved:
        inner |= pools.declared_in(file, node)
    for node in moved:
        for n in (node, *walk(node)):
            if n.type in ("identifier", "type_identifier"):
                name = pools.text(file, n)
                if name in local and name not in inner:
                    return True
    return False


def pool_hoist_fix(ctx: FixContext) -> Fix | None:
    finding, src = ctx.finding, ctx.source
    if finding.kind is not Kind.POOL_LOCAL:
        return None
    file = finding.file
    groups = [p for p in index_packages({file: src}) if file in p.files]
    if not groups:
        return None
    pools = groups[0]
    decl = next((d for d in pools.decls if d.span == finding.span), None)
    ident = node_at(src, finding.span)
    if decl is None or ident is None:
        return None
    fn = enclosing(ident, FUNCTIONS)
    top = top_level(ident)
    if fn is None or top is None:
        return None
    found = _statement(pools, file, ident)
    if found is None:
        return None
    stmt, value, typ = found
    assignments = [
        a
        for a in walk(fn)
        if a.type == "assignment_statement"
        and (left := a.child_by_field_name("left")) is not None
        and text(src, left) == f"{decl.name}.New"
    ]
    indent = src.lines.line_bytes(stmt.start_point[0])[: stmt.start_point[1]].decode()
    new_value: Node | None = None
    if assignments:
        right = assignments[0].child_by_field_name("right")
        if (
            len(assignments) != 1
            or value is not None
            or right is None
            or len(right.named_children) != 1
            or assignments[0].parent != stmt.parent
        ):
            return None  # New set per call on a shared pool would race with other calls' Gets
        new_value = right.named_children[0]
    moved = [n for n in (value, typ, new_value) if n is not None]
    if _refers_to_locals(pools, file, fn, moved):
        return None
    taken = _top_names(src).union(*(_top_names(s) for s in ctx.siblings))
    lower = decl.name.lower()
    keep = "pool" in lower and lower != "pool" and decl.name not in taken
    name = decl.name if keep else _package_name(decl.function, taken | pools.declared_in(file, fn))
    if typ is not None and new_value is not None:
        if text(src, typ).startswith("*"):
            return None
        declaration = (
            f"var {name} = {text(src, typ)}{{New: {_dedent(text(src, new_value), indent)}}}"
        )
    elif value is not None:
        typed = f" {text(src, typ)}" if typ is not None else ""
        declaration = f"var {name}{typed} = {_dedent(text(src, value), indent)}"
    elif typ is not None:
        declaration = f"var {name} {text(src, typ)}"
    else:
        return None
    edits: list[FileEdit] = []
    for node in (stmt, *assignments):
        span = _line_span(src, node)
        if span is None:
            return None
        edits.append(FileEdit(file, span, ""))
    if name != decl.name:
        for n in walk(fn):
            if n.type == "identifier" and text(src, n) == decl.name and n != ident:
                if any(e.span.contains(*n.start_point) for e in edits):
                    continue
                edits.append(FileEdit(file, Span(*n.start_point, *n.end_point), name))
    line = _insertion_line(src, top)
    hoisted = FileEdit(file, Span.point(line, 0), f"{declaration}\n\n")
    edits.append(hoisted)
    where = f"as {name} " if name != decl.name else ""
    title = f"Hoist the sync.Pool {decl.name} to package level {where}(one pool for all calls)"
    return Fix(title, finding, tuple(edits), preferred=True, amortised=hoisted)


def _statement(
    pools: PackagePools, file: str, ident: Node
) -> tuple[Node, Node | None, Node | None] | None:
    """(the declaring statement, its value, its type) for a pool declared by `ident` alone."""
    parent = ident.parent
    if parent is None:
        return None
    if parent.type == "expression_list" and parent.parent is not None:
        stmt = parent.parent
        right = stmt.child_by_field_name("right")
        if stmt.type != "short_var_declaration" or len(parent.named_children) != 1 or right is None:
            return None
        if stmt.parent is None or stmt.parent.type != "statement_list":
            return None
        return stmt, right.named_children[0], None
    if parent.type == "var_spec" and parent.parent is not None:
        stmt = parent.parent
        if stmt.type != "var_declaration" or len(parent.children_by_field_name("name")) != 1:
            return None
        if stmt.parent is None or stmt.parent.type != "statement_list":
            return None
        value = parent.child_by_field_name("value")
        if value is not None and len(value.named_children) != 1:
            return None
        return (
            stmt,
            value.named_children[0] if value is not None else None,
            parent.child_by_field_name("type"),
        )
    return None
