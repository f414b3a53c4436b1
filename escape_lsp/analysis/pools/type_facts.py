"""What the syntax says exactly about a type or a value: a `sync.Pool`, pointer-shaped or not.

Only the package's own declarations are followed; a type declared elsewhere is unknown, so
nothing built on these facts guesses.
"""

from __future__ import annotations

from enum import StrEnum

from tree_sitter import Node

from escape_lsp.analysis.pools.source import PackageSource
from escape_lsp.analysis.pools.tree import unparen, walk

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


class Shape(StrEnum):
    """What a type is, as far as boxing it in an interface is concerned."""

    VALUE = "value"  # struct, array, slice, string, number: boxing copies it to the heap
    POINTER = "pointer"  # pointer, map, chan, func, interface: stored in the interface as is
    UNKNOWN = "unknown"


class TypeFacts:
    """Type facts over one package's source (its named types, looked up by name)."""

    def __init__(self, source: PackageSource) -> None:
        self.source = source

    def is_pool_type(self, file: str, node: Node | None) -> tuple[bool, bool]:
        """(is `sync.Pool` or `*sync.Pool`, is the pointer)."""
        if node is None:
            return False, False
        text = self.source.text
        pointer = node.type == "pointer_type"
        if pointer and node.named_children:
            node = node.named_children[0]
        names = self.source.files[file].sync_names
        if node.type == "qualified_type":
            pkg, name = node.child_by_field_name("package"), node.child_by_field_name("name")
            ok = (
                pkg is not None
                and name is not None
                and text(file, pkg) in names
                and text(file, name) == "Pool"
            )
            return ok, pointer and ok
        if node.type == "type_identifier" and "." in names and text(file, node) == "Pool":
            return self.source.type_named("Pool") is None, pointer
        return False, False

    def pool_creation(self, file: str, node: Node) -> tuple[bool, bool]:
        """(is `sync.Pool{…}`, `&sync.Pool{…}` or `new(sync.Pool)`, gives a pointer)."""
        node = unparen(node)
        text = self.source.text
        if node.type == "composite_literal":
            return self.is_pool_type(file, node.child_by_field_name("type"))[0], False
        if node.type == "unary_expression" and text(file, node).startswith("&"):
            operand = node.child_by_field_name("operand")
            if operand is not None and unparen(operand).type == "composite_literal":
                return self.pool_creation(file, operand)[0], True
        if node.type == "call_expression":
            fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
            if fn is not None and args is not None and text(file, fn) == "new":
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
            name = self.source.text(file, node)
            declared = self.source.type_named(name)
            if declared is not None:
                return self.underlying(declared[0], declared[1], depth + 1)
            return node if name in _BASIC | {"any", "error"} else None
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
        if t == "unary_expression" and self.source.text(file, expr).startswith("&"):
            return Shape.POINTER
        if t == "func_literal":
            return Shape.POINTER
        if t == "type_conversion_expression":
            return self.shape(file, expr.child_by_field_name("type"))
        if t == "call_expression":
            fn, args = expr.child_by_field_name("function"), expr.child_by_field_name("arguments")
            name = self.source.text(file, fn) if fn is not None else ""
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
        text = self.source.text
        name = text(file, ident)
        found: list[Shape] = []
        for node in walk(scope, into_literals=False):
            if node.start_byte >= ident.start_byte:
                break
            if node.type == "short_var_declaration":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if left is None or right is None:
                    continue
                names = [text(file, n) for n in left.named_children]
                values = right.named_children
                if name in names:
                    i = names.index(name)
                    if len(values) != len(names):
                        return Shape.UNKNOWN
                    found.append(self.value_shape(file, values[i], scope, depth + 1))
            elif node.type == "var_spec":
                names = [text(file, n) for n in node.children_by_field_name("name")]
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
