"""The files of one package clause as the pool syntax reads them: text, ranges and names.

Nothing here knows pools; `syntax.py` builds the pools of a package on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from tree_sitter import Node

from escape_lsp.analysis.pools.tree import import_specs, top_level, walk, word_matches
from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import Declaration, GoSource

_NAMED_DECLS = ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec")


@dataclass
class FileFacts:
    path: str
    src: GoSource
    package: str
    #: Names `sync` is imported as in this file (`.` for a dot import).
    sync_names: frozenset[str]
    declarations: list[Declaration] | None = None


@dataclass
class PackageSource:
    """One package's files (one package clause) and the names they declare."""

    files: dict[str, FileFacts] = field(default_factory=dict)
    #: What the package declares at the top level under a name, looked up on first use.
    _top_level: dict[str, _Named] = field(default_factory=dict)
    _declared: dict[tuple[str, int, int], frozenset[str]] = field(default_factory=dict)

    def text(self, file: str, node: Node) -> str:
        data = self.files[file].src.data
        return data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def operator(self, file: str, node: Node) -> str:
        """The operator of an assignment (`=`, `+=`…), "" when it has none."""
        op = node.child_by_field_name("operator")
        return self.text(file, op) if op is not None else ""

    def span(self, file: str, node: Node, clip: bool = True) -> Span:
        """`node`'s range; multi-line nodes are kept to their first line (trailing blanks cut)."""
        src = self.files[file].src
        start, end = node.start_byte, node.end_byte
        if clip and node.end_point[0] != node.start_point[0]:
            line = node.start_point[0]
            end = src.lines.offset(line, src.lines.line_length(line))
            while end > start and src.data[end - 1 : end] in (b" ", b"\t", b"\r", b"\n"):
                end -= 1
        sl, sc = src.lines.position(start)
        el, ec = src.lines.position(end)
        return Span(sl, sc, el, ec)

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

    def declares(self, name: str) -> bool:
        """Whether the package declares `name` at the top level (a function, variable,
        constant or type)."""
        return self._named(name).declared

    def type_named(self, name: str) -> tuple[str, Node] | None:
        """(file, type node) of the package-level type `name`."""
        return self._named(name).type

    def function_named(self, name: str) -> tuple[str, Node] | None:
        """(file, declaration) of the package-level function `name`."""
        return self._named(name).function

    def _named(self, name: str) -> _Named:
        """Only the files whose text holds `name` as a word are parsed: a name a file
        declares stands in it (the pool index thus parses few files of a large package)."""
        hit = self._top_level.get(name)
        if hit is None:
            word = name.encode()
            declared, function, type_ = False, None, None
            for file, facts in self.files.items():
                if next(word_matches(facts.src.data, word), None) is None:
                    continue
                names = facts.src.derived(_top_level_names)
                declared = declared or name in names.declared
                for found, node in names.functions:  # (a name declared twice: the last)
                    function = (file, node) if found == name else function
                for found, node in names.types:
                    type_ = (file, node) if found == name else type_
            hit = self._top_level[name] = _Named(declared, function, type_)
        return hit

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
        if not self.declares(name):
            return False
        fn = top_level(ident)
        return fn is None or name not in self.declared_in(file, fn)

    def imports(self, file: str) -> frozenset[str]:
        """The names this file's imports are known by."""
        return self.files[file].src.derived(_import_names)


@dataclass(frozen=True)
class TopLevelNames:
    """What one file declares at the package level."""

    #: Every name: functions, variables, constants, types.
    declared: tuple[str, ...]
    functions: tuple[tuple[str, Node], ...]
    #: Type names and their type nodes.
    types: tuple[tuple[str, Node], ...]


class _Named(NamedTuple):
    declared: bool
    function: tuple[str, Node] | None
    type: tuple[str, Node] | None


def _top_level_names(src: GoSource) -> TopLevelNames:
    declared: list[str] = []
    functions: list[tuple[str, Node]] = []
    types: list[tuple[str, Node]] = []
    text = src.text
    for node in src.tree.root_node.named_children:
        if node.type == "function_declaration":
            name = node.child_by_field_name("name")
            if name is not None:
                declared.append(text(name))
                functions.append((text(name), node))
        elif node.type in ("var_declaration", "const_declaration"):
            for child in node.named_children:
                specs = child.named_children if child.type.endswith("_list") else [child]
                for spec in specs:
                    declared.extend(text(n) for n in spec.children_by_field_name("name"))
        elif node.type == "type_declaration":
            for spec in node.named_children:
                name = spec.child_by_field_name("name")
                typ = spec.child_by_field_name("type")
                if name is not None and typ is not None:
                    types.append((text(name), typ))
                    declared.append(text(name))
    return TopLevelNames(tuple(declared), tuple(functions), tuple(types))


def _import_names(src: GoSource) -> frozenset[str]:
    out: set[str] = set()
    for spec in import_specs(src):
        name, path = spec.child_by_field_name("name"), spec.child_by_field_name("path")
        if name is not None:
            out.add(src.text(name))
        elif path is not None:
            out.add(src.text(path).strip('"`').rsplit("/", 1)[-1])
    return frozenset(out)


def _declares(text: str) -> bool:
    head = text.split("range", 1)[0]
    return ":=" in head
