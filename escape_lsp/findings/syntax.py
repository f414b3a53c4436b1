"""Go syntax (tree-sitter-go) to turn the compiler's points into the ranges users read.

The compiler points at one byte: an identifier's start, a call's `(`, a binary operator, the
`func` keyword of a literal. A diagnostic should cover what the message is about — all of
`&T{...}`, all of `make([]byte, n)`, the parameter's name — so we climb the syntax tree from
that byte to the node the message's subject names.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any, TypeVar

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Tree

from escape_lsp.findings import native
from escape_lsp.findings.model import DERIVED_KINDS, Finding, FlowStep, Kind, Span, shared_flow
from escape_lsp.findings.positions import LineIndex
from escape_lsp.gotool.file_header import header_end

_LANGUAGE = Language(tree_sitter_go.language())
_IDENTIFIERS = {"identifier", "field_identifier", "type_identifier", "package_identifier"}
_STOP = {"source_file", "block", "statement_list", "function_declaration", "method_declaration"}
_CALLS = {"call_expression", "type_conversion_expression"}
#: Space and tab: trimmed off the ends of a clipped range.
_BLANKS = (0x20, 0x09)
#: Nodes up to this many bytes keep their whitespace-free text cached.
_NORM_CACHE_NODE = 2048

T = TypeVar("T")
V = TypeVar("V")


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
        self._head: Tree | None = None
        self._declarations: list[Declaration] | None = None
        self._located: dict[tuple[Span, str, Kind | None], tuple[Span, str | None]] = {}
        #: What an earlier text of the same file located inside top-level declarations, keyed
        #: by the declaration's index there and the point's line in it and column, ranges
        #: relative to its first line (see `carry_from`); dropped once this text is mapped.
        self._prior: dict[tuple[int, int, int, str, Kind | None], tuple[Span, str | None]] | None
        self._prior = None
        #: The earlier text's declarations by their bytes, and this text's matches by index.
        self._prior_tops: dict[bytes, int] = {}
        self._same_top: dict[int, int | None] = {}
        self._tops: tuple[list[int], list[tuple[int, int]], list[int], list[int]] | None = None
        self._norms: dict[tuple[int, int], str] = {}
        #: Per byte offset the compiler pointed at: the token there and the nodes around it
        #: (several verdicts and flow steps share a point; tree-sitter builds a new Node
        #: object for every `parent` asked).
        self._at: dict[int, _Point] = {}
        self._root: Node | None = None
        #: The compiled mapping's own tree of this text (`native.py`), when it is built.
        self._native: Any = None
        self._derived: dict[tuple[Hashable, ...], Any] = {}
        self._derived_from: dict[Callable[..., Any], tuple[Any, Any]] = {}

    @property
    def tree(self) -> Tree:
        if self._tree is None:
            self._tree = _parser().parse(self.data)
        return self._tree

    def head_tree(self) -> Tree:
        """A tree of the file's package clause and imports alone (`file_header.header_end`),
        or the whole file's once that is parsed or where the header is unclear: what the pool
        index reads of every file of a package, most of which it reads no further."""
        if self._tree is not None:
            return self._tree
        if self._head is None:
            end = header_end(self.data)
            if end is None:
                return self.tree
            self._head = _parser().parse(self.data[:end])
        return self._head

    def prepare(self) -> None:
        """Parse now the tree mapping the compiler's points will read: the compiled
        mapping's own where it is built (the Python tree waits for the features that read
        it: the pool index, code lenses, fixes), else the syntax tree. The engine calls it
        while go compiles."""
        if self.compiled_tree() is None:
            self.tree  # noqa: B018 - parsed now

    def release_native(self) -> None:
        """Drop the compiled mapping's tree (parsed again if a point is located later),
        keeping the top-level ranges a next text's `carry_from` reads."""
        if self._native is not None:
            self._tops_index()
            self._native = None

    def compiled_tree(self) -> Any:
        """The compiled mapping's tree, parsed now if need be; None without the compiled
        mapping, or if tree-sitter gave it no tree (the Python mapping answers then)."""
        if self._native is None and native.compiled is not None:
            try:
                self._native = native.compiled.NativeSource(self.data)
            except ValueError:
                return None
        return self._native

    def derived(self, compute: Callable[..., T], *args: Hashable) -> T:
        """`compute(self, *args)`, computed once for this text: the per-file parts of indexes
        that layers above build over many files (the sync.Pool index's names and mentions),
        so a package's other files cost nothing when one of them changes."""
        key = (compute, *args)
        if key in self._derived:
            result: T = self._derived[key]
            return result
        result = self._derived[key] = compute(self, *args)
        return result

    def derived_from(self, compute: Callable[[GoSource, V], T], value: V) -> T:
        """`compute(self, value)` for a `value` that cannot be a key (this file's findings),
        kept while `value` is the very same object: the last one per `compute` (the findings
        of an unchanged file are the memo's same tuple from one build to the next)."""
        held = self._derived_from.get(compute)
        if held is not None and held[0] is value:
            result: T = held[1]
            return result
        result = compute(self, value)
        self._derived_from[compute] = (value, result)
        return result

    def byte_span(self, start: int, end: int) -> Span:
        """The span of bytes `start`..`end` of this file."""
        sl, sc = self.lines.position(start)
        el, ec = self.lines.position(end)
        return Span(sl, sc, el, ec)

    def node_span(self, node: Node) -> Span:
        return self.byte_span(node.start_byte, node.end_byte)

    def text(self, node: Node) -> str:
        """The source text of `node`."""
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def widen(self, span: Span, subject: str, kind: Kind | None = None) -> Span:
        """The range of the node at `span`'s start that `subject` names (or the token there)."""
        return self.locate(span, subject, kind)[0]

    def locate(self, span: Span, subject: str, kind: Kind | None = None) -> tuple[Span, str | None]:
        """The range `subject` covers around the compiler's point, and the inlined call, if any.

        The range always contains the point. When the point is the `(` of a call and the
        subject is not written there, the verdict is about the body the compiler inlined at
        that call: the range is the whole call, and the second value names it as written.
        """
        key = (span, subject, kind)
        hit = self._located.get(key)
        if hit is None:
            hit = self._located[key] = self._locate_anew(span, subject, kind)
        return hit

    def locate_all(self, keys: Iterable[tuple[Span, str, Kind | None]]) -> None:
        """Locate now, in one call to the compiled mapping (when it is built), the points
        (`locate`'s arguments) not located yet: the calls, not the rules, were most of the
        time per point. A text that carries an earlier one's answers locates one by one."""
        compiled = self.compiled_tree()
        if compiled is None or self._prior is not None:
            return
        located = self._located
        todo = [key for key in dict.fromkeys(keys) if key not in located]
        if todo:
            located.update(zip(todo, self._locate_many(compiled, todo), strict=True))

    def _locate_many(
        self, compiled: Any, keys: list[tuple[Span, str, Kind | None]]
    ) -> list[tuple[Span, str | None]]:
        """`_locate_anew` of each key, by the compiled mapping in one call."""
        points = [(span.start_line, span.start_col, subject, kind) for span, subject, kind in keys]
        out: list[tuple[Span, str | None]] = []
        for key, hit in zip(keys, compiled.locate_many(points), strict=True):
            out.append((key[0], None) if hit is None else _compiled_answer(hit))
        return out

    @property
    def has_answers(self) -> bool:
        """Whether any point of this text was located (or seeded) here."""
        return bool(self._located)

    def seed(self, findings: Iterable[Finding], path: str) -> None:
        """Take as located what `findings` (of this very text, at `path`, from a memo: never
        mapped in this process) say each compiler point maps to, so that the next text of
        the file carries them (`carry_from`) instead of locating every point anew (the first
        edit after a server started from the memo: all of server.go's points again). Derived
        findings are not the compiler's points and stay out. A flow step's answer has no
        inlined-call label (steps read only the range; `widen_finding` reads the label of a
        finding's own answer, which is seeded with it)."""
        located = self._located
        for f in findings:
            if f.file != path or f.kind in DERIVED_KINDS:
                continue
            if f.point is not None:
                located.setdefault((f.point, f.subject, f.kind), (f.span, f.inlined_from))
            for step in f.flow:
                if step.point is not None and step.file == path:
                    located.setdefault((step.point, step.subject, None), (step.span, None))

    def carry_from(self, earlier: GoSource) -> None:
        """Reuse what `earlier` (a previous text of the same file) located inside top-level
        declarations this text still has byte for byte: after an edit only the edited ones
        are mapped. Inside a declaration the answer depends on its bytes alone (the climb
        stops at it), and it starts a line, so only the line numbers move."""
        if not earlier._located:
            self._prior, self._prior_tops = earlier._prior, earlier._prior_tops
            return
        prior = {}
        for (span, subject, kind), (found, inlined) in earlier._located.items():
            line, col = span.start_line, span.start_col
            index = earlier._top_at(line, col)
            if index is not None:
                first = earlier._tops_index()[0][index]
                rel = Span(found[0] - first, found[1], found[2] - first, found[3])
                prior[(index, line - first, col, subject, kind)] = (rel, inlined)
        self._prior = prior
        _, _, starts, ends = earlier._tops_index()
        data = earlier.data
        self._prior_tops = {data[starts[i] : ends[i]]: i for i in {key[0] for key in prior}}

    def settle_carried(self) -> None:
        """Turn what `carry_from` kept into this text's own answers, all at once: the engine
        does it while go compiles, so that after go a carried point costs one lookup instead
        of finding its declaration (~12 → ~5 ms for net/http's server.go after an edit).
        Points outside the unchanged declarations are located anew, as before."""
        prior = self._prior
        if not prior:
            return
        first_lines, _, starts, ends = self._tops_index()
        data, tops = self.data, self._prior_tops
        moved: dict[int, list[int]] = {}  # an earlier declaration -> first lines of its copies
        for i, first in enumerate(first_lines):
            same = tops.get(data[starts[i] : ends[i]])
            if same is not None:
                moved.setdefault(same, []).append(first)
        located = self._located
        for (index, line, col, subject, kind), (r, inlined) in prior.items():
            for first in moved.get(index, ()):
                at = line + first
                key = (Span(at, col, at, col), subject, kind)
                if key not in located:
                    located[key] = (Span(r[0] + first, r[1], r[2] + first, r[3]), inlined)
        self._prior, self._prior_tops = None, {}
        self._same_top.clear()

    def forget_points(self) -> None:
        """Drop the per-offset nodes kept while mapping one output: they speed up the points
        that output shares, and would otherwise stay for as long as the source is cached
        (a large package's files hold tens of thousands of node objects). An earlier text's
        answers go too: this text has located what its output needed."""
        self.release_native()
        self._at.clear()
        self._root = None
        self._prior = None
        self._prior_tops = {}
        self._same_top.clear()

    def _locate_anew(self, span: Span, subject: str, kind: Kind | None) -> tuple[Span, str | None]:
        lines = self.lines
        line, col = span.start_line, span.start_col
        if not line < lines.line_count:
            return span, None
        prior = self._prior
        if prior is not None:
            index = self._top_at(line, col)
            if index is not None:
                first_lines, _, starts, ends = self._tops_index()
                same = self._same_top.get(index, -1)
                if same == -1:  # compared once per declaration: its bytes, not a hash
                    same = self._prior_tops.get(self.data[starts[index] : ends[index]])
                    self._same_top[index] = same
                first = first_lines[index]
                hit = None if same is None else prior.get((same, line - first, col, subject, kind))
                if hit is not None:
                    r = hit[0]
                    return Span(r[0] + first, r[1], r[2] + first, r[3]), hit[1]
        return self._locate(span, lines.offset(line, col), subject, kind)

    def _top_at(self, line: int, col: int) -> int | None:
        """The index of the top-level node holding the position, if that node starts a line."""
        first_lines, end_points, _, _ = self._tops_index()
        at = bisect_right(first_lines, line) - 1
        if at < 0 or (line, col) >= end_points[at]:
            return None
        return at

    def _tops_index(self) -> tuple[list[int], list[tuple[int, int]], list[int], list[int]]:
        """Top-level nodes that start a line: first lines, end positions, start and end
        offsets."""
        if self._tops is None:
            first_lines: list[int] = []
            end_points: list[tuple[int, int]] = []
            starts: list[int] = []
            ends: list[int] = []
            line_starts = self.lines.starts
            for start, end in self._top_level():
                line = bisect_right(line_starts, start) - 1
                if line_starts[line] == start:
                    first_lines.append(line)
                    end_points.append(self.lines.position(end))
                    starts.append(start)
                    ends.append(end)
            self._tops = (first_lines, end_points, starts, ends)
        return self._tops

    def _top_level(self) -> list[tuple[int, int]]:
        """The byte ranges of the root's named children, from whichever tree is parsed."""
        compiled = self.compiled_tree() if self._tree is None else None
        if compiled is not None:
            ranges: list[tuple[int, int]] = compiled.top_level()
            return ranges
        return [(node.start_byte, node.end_byte) for node in self.tree.root_node.named_children]

    def _locate(
        self, span: Span, offset: int, subject: str, kind: Kind | None
    ) -> tuple[Span, str | None]:
        compiled = self.compiled_tree()
        if compiled is not None:  # the same rules, compiled (`native/src/syntax.rs`)
            return _compiled_answer(compiled.locate(offset, subject, kind))
        at = self._at.get(offset)
        if at is None:
            if self._root is None:
                self._root = self.tree.root_node
            at = self._at[offset] = _Point(self._root, offset)
        leaf = at.leaf
        if leaf is None:
            return span, None
        node, inlined = self._pick(at, leaf, subject, kind)
        return self._clip(node, offset, leaf), inlined

    def _pick(
        self, at: _Point, leaf: Node, subject: str, kind: Kind | None
    ) -> tuple[Node, str | None]:
        if kind in (Kind.CAN_INLINE, Kind.CANNOT_INLINE):
            method = leaf.parent if leaf.type == "(" else None
            if method is not None and method.parent is not None:
                method = method.parent if method.type == "parameter_list" else method
            name = method.child_by_field_name("name") if method is not None else None
            if method is not None and method.type == "method_declaration" and name:
                return name, None
            return leaf, None
        call = at.call()
        if call is not None and kind in (Kind.INLINED_CALL, Kind.DEVIRTUALIZED):
            return call, None  # the usual point of these: no need to climb
        chain = at.chain()
        if not chain:
            return leaf, None
        if kind in (Kind.INLINED_CALL, Kind.DEVIRTUALIZED):
            return _first(chain, _CALLS) or leaf, None
        if subject:
            found = self._named_by(chain, subject)
            if found is not None:
                return found, None
        special = self._special(leaf, chain, call, subject, kind)
        if special is not None:
            return special, None
        if call is not None and _may_be_inlined(subject, kind):
            return call, self._callee(call)
        owner = _owner(leaf)
        if owner is not None:
            for types in _shape_of(subject):
                if owner.type in types:
                    return self._whole_concatenation(owner, subject), None
        if leaf.type in _IDENTIFIERS:
            return leaf, None
        named = next((c for c in chain if c.is_named), None)
        return named or leaf, None

    def _named_by(self, chain: list[Node], subject: str) -> Node | None:
        """The smallest node around the point whose text is the subject (as the compiler
        prints it: no spaces, `T{...}` for literals, extra parentheses around types)."""
        wanted, elided, parts = _subject_forms(subject)
        head = parts[0]
        limit = 4 * len(wanted) + 64
        # Removing spaces and parentheses only shortens a text, and what is left starts with
        # the node's first byte or a `(`: cheap tests before reading a node's text.
        shortest = len(head)
        starts = _starts(wanted, head)
        data = self.data
        for candidate in chain:
            start, end = candidate.start_byte, candidate.end_byte
            if not elided and end - start > limit:
                break  # ancestors only grow: whitespace removal cannot bridge that gap
            if end - start < shortest or (starts and data[start] not in starts):
                continue
            if not candidate.is_named and candidate.type not in _IDENTIFIERS:
                continue
            if elided:  # `&T{...}`: cheap test of the start before reading a big literal
                lead = data[start : start + 4 * len(head) + 64]
                if not _unparen(_norm(lead.decode("utf-8", "replace"))).startswith(head):
                    continue
            text = self._normalised(candidate)
            if text == wanted or _loosely(_unparen(text), parts):
                return candidate
        return None

    def _normalised(self, node: Node) -> str:
        """The node's text without whitespace; cached for small nodes (findings share their
        ancestors; big ones would cost memory)."""
        key = (node.start_byte, node.end_byte)
        text = self._norms.get(key)
        if text is None:
            text = _norm(self.text(node))
            if key[1] - key[0] <= _NORM_CACHE_NODE:
                self._norms[key] = text
        return text

    def _special(
        self, leaf: Node, chain: list[Node], call: Node | None, subject: str, kind: Kind | None
    ) -> Node | None:
        """Subjects that are not source text but name the construct at the point."""
        if subject == "append" and call is not None:
            fn = call.child_by_field_name("function")
            return call if fn is not None and self.text(fn) == "append" else None
        if subject.startswith("... argument") and call is not None:
            return leaf.parent
        if subject == "func literal" and leaf.type == "func" and leaf.parent is not None:
            return leaf.parent if leaf.parent.type == "func_literal" else None
        if kind is Kind.ZERO_COPY:
            return _first(chain, _CALLS)
        if kind is Kind.BOUNDS_CHECK_ELIDED and call is None:
            return _first(chain, {"index_expression", "slice_expression"})
        return None

    def _callee(self, call: Node) -> str:
        """The inlined call as written: `zapcore.Lock`, `l.emit`, `func literal`."""
        fn = call.child_by_field_name("function")
        if fn is None:
            return " ".join(self.text(call).split())[:80]
        if fn.type == "func_literal":
            return "func literal"
        text = " ".join(self.text(fn).split())
        return text if len(text) <= 80 else text[:79] + "…"

    def _whole_concatenation(self, node: Node, subject: str) -> Node:
        """`a + b + c` is one node for the compiler, nested binary nodes for tree-sitter."""
        if node.type != "binary_expression":
            return node
        wanted = subject.count(" + ")
        have = self.text(node).count("+")
        while have < wanted and node.parent is not None and node.parent.type == node.type:
            operator = node.parent.child_by_field_name("operator")
            if operator is None or operator.type != "+":
                break
            node = node.parent
            have = self.text(node).count("+")
        return node

    def _clip(self, node: Node, offset: int, leaf: Node) -> Span:
        """Keep multi-line nodes to one line: the head (a func literal's signature, else the
        first line) when the point is there, else the line holding the point."""
        start, end = node.start_byte, node.end_byte
        if node.type == "func_literal":
            body = node.child_by_field_name("body")
            if body is not None and offset < body.start_byte:
                end = body.start_byte
        lines = self.lines
        starts = lines.starts
        data = self.data
        sl = bisect_right(starts, start) - 1
        el = bisect_right(starts, end) - 1
        if el != sl:
            pl = bisect_right(starts, offset) - 1
            line_start = starts[pl]
            start = max(start, line_start)
            end = min(end, line_start + lines.line_length(pl))
            while start < offset and data[start] in _BLANKS:
                start += 1
            sl = el = pl
        while end > start and end > offset + 1 and data[end - 1] in _BLANKS:
            end -= 1
        if not start <= offset < end and not start == offset == end:
            return self.byte_span(leaf.start_byte, max(leaf.end_byte, leaf.start_byte))
        return Span(sl, start - starts[sl], el, end - starts[el])

    def declarations(self) -> list[Declaration]:
        """Top-level functions and methods, with compiler-style names (`(*S).Get`, `S.M`);
        computed once per source, in file order."""
        if self._declarations is None:
            self._declarations = self._find_declarations()
        return list(self._declarations)

    def declaration_at(self, line: int, col: int) -> Declaration | None:
        """The top-level function or method whose span holds the position (a binary search:
        declarations do not overlap)."""
        decls = self._declarations
        if decls is None:
            decls = self._declarations = self._find_declarations()
        at = bisect_right(decls, (line, col), key=lambda d: (d.span.start_line, d.span.start_col))
        if at and decls[at - 1].span.contains(line, col):
            return decls[at - 1]
        return None

    def _find_declarations(self) -> list[Declaration]:
        out: list[Declaration] = []
        for node in self.tree.root_node.named_children:
            if node.type not in ("function_declaration", "method_declaration"):
                continue
            name_node = node.child_by_field_name("name")
            if name_node is None:
                continue
            name = self.text(name_node)
            receiver = node.child_by_field_name("receiver")
            if receiver is not None:
                name = f"{_receiver_type(self.text(receiver))}.{name}"
            out.append(
                Declaration(
                    name,
                    self.byte_span(name_node.start_byte, name_node.end_byte),
                    self.byte_span(node.start_byte, node.end_byte),
                )
            )
        return out

    def package_clause(self) -> Span:
        for node in self.tree.root_node.named_children:
            if node.type == "package_clause":
                return self._clip(node, node.start_byte, node)
        return Span.point(0, 0)


def _compiled_answer(hit: tuple[int, int, int, int, str | None]) -> tuple[Span, str | None]:
    """The compiled mapping's `(start_line, start_col, end_line, end_col, inlined)`."""
    sl, sc, el, ec, inlined = hit
    return Span(sl, sc, el, ec), inlined


class _Point:
    """The token at one byte offset and, when asked, the nodes up to its statement."""

    __slots__ = ("_call", "_call_known", "_chain", "leaf")

    def __init__(self, root: Node, offset: int) -> None:
        self.leaf = root.descendant_for_byte_range(offset, offset + 1)
        self._chain: list[Node] | None = None
        self._call: Node | None = None
        self._call_known = False

    def chain(self) -> list[Node]:
        """The token and its ancestors, smallest first, up to the enclosing block."""
        if self._chain is None:
            chain: list[Node] = []
            node = self.leaf
            while node is not None and node.type not in _STOP:
                chain.append(node)
                node = node.parent
            self._chain = chain
        return self._chain

    def call(self) -> Node | None:
        """The call whose argument list opens at the token (see `_call_at_paren`)."""
        if not self._call_known:
            self._call = _call_at_paren(self.leaf) if self.leaf is not None else None
            self._call_known = True
        return self._call


def _receiver_type(receiver: str) -> str:
    """`(s *S[T])` -> `(*S)`; `(S)` -> `S`, as the compiler names methods."""
    inner = receiver.strip()[1:-1].strip()
    typ = inner.split()[-1] if inner else inner
    typ = typ.split("[")[0]
    return f"({typ})" if typ.startswith("*") else typ


def _first(chain: list[Node], types: set[str]) -> Node | None:
    return next((c for c in chain if c.type in types), None)


def _call_at_paren(leaf: Node) -> Node | None:
    """The call whose argument list opens at `leaf`, when `leaf` is that `(`."""
    args = leaf.parent
    if leaf.type != "(" or args is None or args.type != "argument_list":
        return None
    call = args.parent
    if call is None or call.type != "call_expression" or args.start_byte != leaf.start_byte:
        return None
    return call


def _may_be_inlined(subject: str, kind: Kind | None) -> bool:
    """Whether a verdict at a call's `(` whose subject is not written there can come from the
    inlined body. Compiler temporaries (`.autotmp_3`, `~r0`) name no source text anywhere."""
    if kind in (Kind.BOUNDS_CHECK_ELIDED, Kind.ZERO_COPY):
        return True
    return bool(subject) and not subject.startswith((".", "~"))


def _owner(leaf: Node) -> Node | None:
    """The node an operator or keyword token at the point belongs to (`{` -> its literal)."""
    if leaf.is_named and leaf.type not in _IDENTIFIERS:
        return leaf
    parent = leaf.parent
    if parent is not None and parent.type == "literal_value" and parent.parent is not None:
        # `T{…}` is the literal; an elided `{…}` inside another literal is its own value.
        return parent.parent if parent.parent.type == "composite_literal" else parent
    return parent if leaf.type not in _IDENTIFIERS else None


@lru_cache(maxsize=4096)
def _subject_forms(subject: str) -> tuple[str, bool, tuple[str, ...]]:
    """The subject without spaces; whether it elides a literal (`{...}`); its parts around
    the elisions, without parentheses (subjects repeat across verdicts and flow steps; the
    answer is shared, so immutable)."""
    wanted = _norm(subject)
    return wanted, "{...}" in subject, tuple(_unparen(wanted).split("{...}"))


@lru_cache(maxsize=4096)
def _starts(wanted: str, head: str) -> frozenset[int]:
    """The first bytes a node's text can have and still be the subject (empty: any)."""
    if not head:
        return frozenset()
    return frozenset({0x28, *wanted.encode()[:1], *head.encode()[:1]})


def _unparen(text: str) -> str:
    return text.replace("(", "").replace(")", "")


def _loosely(text: str, parts: tuple[str, ...]) -> bool:
    """Whether `text` is the subject split at its `{...}` (any literal body there), both
    without spaces and parentheses: `&T{...}` is any literal of T."""
    if len(parts) == 1:
        return text == parts[0]
    if not text.startswith(parts[0] + "{") or not text.endswith("}" + parts[-1]):
        return False
    at = len(parts[0]) + 1
    for part in parts[1:-1]:
        found = text.find("}" + part + "{", at)
        if found < 0:
            return False
        at = found + len(part) + 2
    return at <= len(text) - len(parts[-1]) - 1


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
        return [{"composite_literal", "literal_value"}]
    if subject.endswith(")"):
        return [_CALLS]
    if re.search(r"\s[-+*/%|&^<>=!]+\s", subject):
        return [{"binary_expression"}]
    return []


#: `Finding.sort_key`'s order for findings `widen_findings` made, whose compiler's point is
#: always set (a point is a zero-width span: comparing it whole compares its start): a key
#: read in C instead of a Python method per finding.
MAPPED_ORDER = attrgetter("file", "span", "kind", "message", "point")


def widen_findings(
    findings: Iterable[Finding], sources: Callable[[str], GoSource | None]
) -> list[Finding]:
    """`widen_finding` of each, each file's points located first all at once
    (`GoSource.locate_all`), and each flow step the parse shares between findings (the
    output repeats whole blocks) widened once."""
    findings = list(findings)
    if native.compiled is None:
        return [widen_finding(f, sources) for f in findings]
    by_path: dict[str, GoSource | None] = {}  # `sources` once per file, not per finding

    def source(path: str) -> GoSource | None:
        if path not in by_path:
            by_path[path] = sources(path)
        return by_path[path]

    wanted: dict[GoSource, list[tuple[Span, str, Kind | None]]] = {}
    for f in findings:
        own = source(f.file)
        if own is not None:
            wanted.setdefault(own, []).append((f.at, f.subject, f.kind))
        for step in f.flow:
            src = own if step.file == f.file else source(step.file)
            if src is not None:
                wanted.setdefault(src, []).append((step.span, step.subject, None))
    for src, keys in wanted.items():
        src.locate_all(keys)
    widened: dict[int, FlowStep] = {}  # by the step object: `findings` keeps each alive

    def widen(step: FlowStep) -> FlowStep:
        return _widen_step(step, source(step.file))

    out: list[Finding] = []
    for f in findings:
        file = f.file
        own = source(file)
        point = f.at
        subject, kind = f.subject, f.kind
        if own is None:
            span, inlined = point, None
        else:  # located above: a lookup (`locate` locates what was not)
            hit = own._located.get((point, subject, kind))
            span, inlined = hit if hit is not None else own.locate(point, subject, kind)
        flow = f.flow
        if flow:
            flow = shared_flow(flow, widened, widen)
        widened_finding = Finding(
            f.kind, file, span, f.message, subject, f.function, flow, f.cost, f.leak_to,
            f.detail, inlined, point,
        )  # fmt: skip
        out.append(widened_finding)
    return out


def widen_finding(finding: Finding, sources: Callable[[str], GoSource | None]) -> Finding:
    """The finding with its range, and its flow steps' ranges, widened where sources exist."""
    file = finding.file
    own = sources(file)
    point = finding.at
    span, inlined = own.locate(point, finding.subject, finding.kind) if own else (point, None)
    flow = finding.flow
    steps = (
        tuple(_widen_step(step, own if step.file == file else sources(step.file)) for step in flow)
        if flow
        else flow
    )
    f = finding  # every field, positionally: dataclasses.replace is several times slower
    return Finding(
        f.kind, f.file, span, f.message, f.subject, f.function, steps, f.cost, f.leak_to,
        f.detail, inlined, point,
    )  # fmt: skip


def unwiden_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The parse `widen_findings` mapped to `findings`: each finding and flow step at its
    compiler's point again, without an inlined-call label (`build_findings`' own form)."""
    out: list[Finding] = []
    steps: dict[int, FlowStep] = {}  # by the widened step object: findings share them
    for f in findings:
        flow = f.flow
        if flow:
            flow = shared_flow(flow, steps, _unwiden_step)
        parse = Finding(
            f.kind, f.file, f.at, f.message, f.subject, f.function, flow, f.cost, f.leak_to,
            f.detail,
        )  # fmt: skip
        out.append(parse)
    return out


def _unwiden_step(step: FlowStep) -> FlowStep:
    file, _, subject, reason, edge, _ = step
    return FlowStep(file, step.at, subject, reason, edge)


def _widen_step(step: FlowStep, source: GoSource | None) -> FlowStep:
    if source is None:
        return step
    file, span, subject, reason, edge, _ = step
    return FlowStep(file, source.locate(span, subject, None)[0], subject, reason, edge, span)
