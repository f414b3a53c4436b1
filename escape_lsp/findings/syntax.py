"""Go syntax (tree-sitter-go) to turn the compiler's points into the ranges users read.

The compiler points at one byte: an identifier's start, a call's `(`, a binary operator, the
`func` keyword of a literal. A diagnostic should cover what the message is about — all of
`&T{...}`, all of `make([]byte, n)`, the parameter's name — so we climb the syntax tree from
that byte to the node the message's subject names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Tree

from escape_lsp.findings.model import Finding, FlowStep, Kind, Span
from escape_lsp.findings.positions import LineIndex

_LANGUAGE = Language(tree_sitter_go.language())
_IDENTIFIERS = {"identifier", "field_identifier", "type_identifier", "package_identifier"}
_STOP = {"source_file", "block", "statement_list", "function_declaration", "method_declaration"}
_CALLS = {"call_expression", "type_conversion_expression"}


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(_LANGUAGE)


def _norm(text: str) -> str:
    return "".join(text.split())


@dataclass(frozen=True)
class Declaration:
    """A top-level function or method: the unit code lenses summarise."""

    name: str
    name_span: Span
    span: Span


class GoSource:
    """One Go file's bytes with its syntax tree and line index, parsed once."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.lines = LineIndex(data)
        self._tree: Tree | None = None
        self._widened: dict[tuple[Span, str, Kind | None], Span] = {}

    @property
    def tree(self) -> Tree:
        if self._tree is None:
            self._tree = _parser().parse(self.data)
        return self._tree

    def _span(self, start: int, end: int) -> Span:
        sl, sc = self.lines.position(start)
        el, ec = self.lines.position(end)
        return Span(sl, sc, el, ec)

    def _text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def widen(self, span: Span, subject: str, kind: Kind | None = None) -> Span:
        """The range of the node at `span`'s start that `subject` names (or the token there)."""
        key = (span, subject, kind)
        hit = self._widened.get(key)
        if hit is None:
            hit = self._widened[key] = self._widen(span, subject, kind)
        return hit

    def _widen(self, span: Span, subject: str, kind: Kind | None) -> Span:
        if not span.start_line < self.lines.line_count:
            return span
        offset = self.lines.offset(span.start_line, span.start_col)
        leaf = self.tree.root_node.descendant_for_byte_range(offset, offset + 1)
        if leaf is None:
            return span
        node = self._pick(leaf, subject, kind)
        return self._clip(node)

    def _pick(self, leaf: Node, subject: str, kind: Kind | None) -> Node:
        if kind in (Kind.CAN_INLINE, Kind.CANNOT_INLINE):
            method = leaf.parent if leaf.type == "(" else None
            if method is not None and method.parent is not None:
                method = method.parent if method.type == "parameter_list" else method
            name = method.child_by_field_name("name") if method is not None else None
            return (
                name
                if method is not None and method.type == "method_declaration" and name
                else leaf
            )
        chain: list[Node] = []
        node: Node | None = leaf
        while node is not None and node.type not in _STOP:
            chain.append(node)
            node = node.parent
        if not chain:
            return leaf
        if leaf.type in _IDENTIFIERS and _norm(self._text(leaf)) == _norm(subject):
            return leaf
        wanted = _norm(subject)
        for candidate in chain:
            size = candidate.end_byte - candidate.start_byte
            if size < len(wanted) or size > 4 * len(wanted) + 64:
                continue  # whitespace removal cannot bridge that gap
            if candidate.is_named and _norm(self._text(candidate)) == wanted:
                return candidate
        shapes = [_CALLS] if kind in (Kind.INLINED_CALL, Kind.DEVIRTUALIZED) else _shape_of(subject)
        for types in shapes:
            for candidate in chain:
                if candidate.type in types:
                    return candidate
        if leaf.type in _IDENTIFIERS:
            return leaf
        named = next((c for c in chain if c.is_named), None)
        return named or leaf

    def _clip(self, node: Node) -> Span:
        """Keep multi-line nodes to their head: a func literal's signature, else the first line."""
        start, end = node.start_byte, node.end_byte
        if node.type == "func_literal":
            body = node.child_by_field_name("body")
            if body is not None:
                end = body.start_byte
        sl, _ = self.lines.position(start)
        el, _ = self.lines.position(end)
        if el != sl:
            line_end = self.lines.offset(sl, len(self.lines.line_bytes(sl)))
            end = min(end, line_end)
        while end > start and self.data[end - 1 : end] in (b" ", b"\t"):
            end -= 1
        return self._span(start, end)

    def declarations(self) -> list[Declaration]:
        """Top-level functions and methods, with compiler-style names (`(*S).Get`, `S.M`)."""
        out: list[Declaration] = []
        for node in self.tree.root_node.named_children:
            if node.type not in ("function_declaration", "method_declaration"):
                continue
            name_node = node.child_by_field_name("name")
            if name_node is None:
                continue
            name = self._text(name_node)
            receiver = node.child_by_field_name("receiver")
            if receiver is not None:
                name = f"{_receiver_type(self._text(receiver))}.{name}"
            out.append(
                Declaration(
                    name,
                    self._span(name_node.start_byte, name_node.end_byte),
                    self._span(node.start_byte, node.end_byte),
                )
            )
        return out

    def package_clause(self) -> Span:
        for node in self.tree.root_node.named_children:
            if node.type == "package_clause":
                return self._clip(node)
        return Span.point(0, 0)


def _receiver_type(receiver: str) -> str:
    """`(s *S[T])` -> `(*S)`; `(S)` -> `S`, as the compiler names methods."""
    inner = receiver.strip()[1:-1].strip()
    typ = inner.split()[-1] if inner else inner
    typ = typ.split("[")[0]
    return f"({typ})" if typ.startswith("*") else typ


def _shape_of(subject: str) -> list[set[str]]:
    """Node types a compiler subject is likely to be, most specific first."""
    if subject.startswith("return ") or subject == "return":
        return [{"return_statement"}]
    if " := " in subject:
        return [{"short_var_declaration"}, {"range_clause"}]
    if " <- " in subject:
        return [{"send_statement"}]
    if re.search(r"\s[-+*/%|&^<>]?= ", subject):
        return [{"assignment_statement"}]
    if subject == "func literal":
        return [{"func_literal"}]
    if subject.startswith("... argument"):
        return [{"argument_list"}]
    if subject.startswith("&"):
        return [{"unary_expression"}]
    if "{" in subject:
        return [{"composite_literal"}]
    if subject.endswith(")"):
        return [_CALLS]
    if re.search(r"\s[-+*/%|&^<>=!]+\s", subject):
        return [{"binary_expression"}]
    return []


def widen_finding(finding: Finding, sources: Callable[[str], GoSource | None]) -> Finding:
    """The finding with its range, and its flow steps' ranges, widened where sources exist."""
    own = sources(finding.file)
    span = own.widen(finding.span, finding.subject, finding.kind) if own else finding.span
    steps = tuple(_widen_step(step, sources(step.file)) for step in finding.flow)
    return replace(finding, span=span, flow=steps)


def _widen_step(step: FlowStep, source: GoSource | None) -> FlowStep:
    return step._replace(span=source.widen(step.span, step.subject)) if source else step
