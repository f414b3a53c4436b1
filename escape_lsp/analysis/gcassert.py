"""`//gcassert:inline,bce,noescape` directives (compatible with jordanlewis/gcassert), checked
against what the compiler printed. Pure: source text and findings in, violations out.

A directive is a comment `//gcassert:` followed by a comma list, on the line above a statement
or trailing it. It covers the whole statement up to the first nested block (so an `if` or a
function declaration is checked on its header, not its body):

- `bce`: no bounds check remains (`Found IsInBounds` / `Found IsSliceInBounds` of
  `-d=ssa/check_bce/debug=1`);
- `noescape`: nothing is moved or escapes to the heap, and no parameter leaks to the heap;
- `inline`: a call in the statement is inlined (`inlining call to …`), as gcassert checks it;
  on a function declaration: the function can be inlined and every call to it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from escape_lsp.analysis.explain import describe_reason
from escape_lsp.analysis.gcassert_scan import has_directives
from escape_lsp.findings.model import HEAP_KINDS, LEAK_KINDS, Finding, Kind, Span
from escape_lsp.findings.syntax import GoSource

#: gcassert's own pattern: `//gcassert:` or `// gcassert:` and a comma list.
_DIRECTIVE = re.compile(r"// ?gcassert:([\w,]+)")
KNOWN = ("inline", "bce", "noescape")

#: Nodes whose children are statements or declarations.
_CONTAINERS = {
    "source_file",
    "block",
    "statement_list",
    "expression_case",
    "default_case",
    "type_case",
    "communication_case",
}
_DECLS = {"function_declaration", "method_declaration"}


@dataclass(frozen=True)
class Directive:
    """One name of a `//gcassert:` comment and the statement (or declaration) it covers."""

    name: str
    file: str
    #: The statement's range up to its first nested block (a header for `if`, `for`, `func`).
    span: Span
    #: The comment itself.
    comment: Span
    #: The compiler's name of the function when the directive is on its declaration.
    function: str | None = None


@dataclass(frozen=True)
class InlineTarget:
    """A function declared under `//gcassert:inline`: every call to it must be inlined."""

    name: str
    #: `F` or `(*T).M`, as the compiler names it in `cannot inline …`.
    compiler_name: str
    method: bool
    package: str
    package_name: str
    file: str
    span: Span


@dataclass(frozen=True)
class FileDirectives:
    """Every directive of one file; `targets` are the `inline` ones on declarations."""

    directives: tuple[Directive, ...] = ()
    targets: tuple[InlineTarget, ...] = ()


NO_DIRECTIVES = FileDirectives()


@dataclass(frozen=True)
class Violation:
    """A directive the compiler's output contradicts, with the compiler's reason."""

    directive: str
    file: str
    span: Span
    message: str


# -- parsing ---------------------------------------------------------------------------------


def parse_directives(source: GoSource, path: str, package: str) -> FileDirectives:
    """The directives of one file of package `package` (an import path)."""
    if not has_directives(source.data):
        return NO_DIRECTIVES
    directives: list[Directive] = []
    targets: list[InlineTarget] = []
    package_name = _package_name(source)
    for comment in _comments(source.tree.root_node):
        text = _text(source, comment)
        match = _DIRECTIVE.search(text)
        if match is None:
            continue
        found = _target(source, comment)
        if found is None:
            continue
        target, span = found
        decl = target if target.type in _DECLS else None
        function = _compiler_name(source, decl) if decl is not None else None
        for name in (n for n in match[1].split(",") if n):
            if name == "inline" and decl is not None and function is not None:
                ident = decl.child_by_field_name("name")
                targets.append(
                    InlineTarget(
                        name=_text(source, ident) if ident is not None else function,
                        compiler_name=function,
                        method=decl.type == "method_declaration",
                        package=package,
                        package_name=package_name,
                        file=path,
                        span=span,
                    )
                )
            directives.append(Directive(name, path, span, _span(source, comment), function))
    return FileDirectives(tuple(directives), tuple(targets))


def _comments(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type == "comment":
            yield cur
        else:
            stack.extend(reversed(cur.children))


def _text(source: GoSource, node: Node) -> str:
    return source.data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _span(source: GoSource, node: Node, end: int | None = None) -> Span:
    sl, sc = source.lines.position(node.start_byte)
    el, ec = source.lines.position(node.end_byte if end is None else end)
    return Span(sl, sc, el, ec)


def _statement_of(node: Node) -> Node | None:
    """The statement or top-level declaration `node` is part of."""
    cur: Node | None = node
    while cur is not None and cur.parent is not None:
        if cur.parent.type in _CONTAINERS and cur.is_named and cur.type != "comment":
            return cur
        cur = cur.parent
    return None


def _target(source: GoSource, comment: Node) -> tuple[Node, Span] | None:
    """What a directive comment covers, and the range checked.

    A trailing comment covers the statement holding the code before it (only that line when
    the statement began on an earlier line); a comment alone on its line covers the next one.
    """
    row = comment.start_point.row
    line_start = source.lines.starts[row]
    before = source.data[line_start : comment.start_byte]
    end = line_start + len(before.rstrip())
    leaf = source.tree.root_node.descendant_for_byte_range(end - 1, end) if before.strip() else None
    while leaf is not None and leaf.type == "comment":  # `x := s[i] /* … */ //gcassert:bce`
        end = line_start + len(source.data[line_start : leaf.start_byte].rstrip())
        leaf = source.tree.root_node.descendant_for_byte_range(end - 1, end)
        if end <= line_start:
            leaf = None
    if leaf is not None:
        stmt = _statement_of(leaf)
        if stmt is None:
            return None
        if stmt.start_point.row == row:
            return stmt, _header(source, stmt)
        indent = len(before) - len(before.lstrip())
        return stmt, Span(row, indent, row, end - line_start)
    nxt = comment.next_named_sibling
    while nxt is not None and nxt.type == "comment":
        nxt = nxt.next_named_sibling
    if nxt is not None and nxt.type == "statement_list":  # a block's first statement
        nxt = nxt.named_children[0] if nxt.named_children else None
    return (nxt, _header(source, nxt)) if nxt is not None else None


def _header(source: GoSource, node: Node) -> Span:
    """The node's range up to its first nested block: an `if`'s condition, a func signature."""
    stack = list(reversed(node.children))
    while stack:
        cur = stack.pop()
        if cur.type == "block":
            end = cur.start_byte
            while end > node.start_byte and source.data[end - 1 : end] in (b" ", b"\t"):
                end -= 1
            return _span(source, node, end)
        stack.extend(reversed(cur.children))
    return _span(source, node)


def _package_name(source: GoSource) -> str:
    for node in source.tree.root_node.named_children:
        if node.type == "package_clause":
            for child in node.named_children:
                return _text(source, child)
    return ""


def _compiler_name(source: GoSource, decl: Node) -> str | None:
    """`F`, or `(*T).M` / `T.M` for methods, as in the compiler's messages."""
    ident = decl.child_by_field_name("name")
    if ident is None:
        return None
    name = _text(source, ident)
    receiver = decl.child_by_field_name("receiver")
    if receiver is None:
        return name
    inner = _text(source, receiver).strip()[1:-1].strip()
    typ = inner.split()[-1] if inner else inner
    typ = typ.split("[")[0]
    return f"({typ}).{name}" if typ.startswith("*") else f"{typ}.{name}"


# -- checking --------------------------------------------------------------------------------


def _inside(span: Span, region: Span) -> bool:
    """Whether `span` starts within `region` (end exclusive)."""
    start = (span.start_line, span.start_col)
    return (region.start_line, region.start_col) <= start < (region.end_line, region.end_col)


def _leaks_to_heap(f: Finding) -> bool:
    return f.kind in LEAK_KINDS and f.leak_to in (None, "{heap}")


def _why(f: Finding) -> str:
    reasons: list[str] = []
    for step in f.flow:
        said = describe_reason(step.reason)
        if said not in reasons:
            reasons.append(said)
    return f"{f.message} ({'; '.join(reasons)})" if reasons else f.message


def _short_name(compiler_name: str) -> str:
    return compiler_name.rsplit(".", 1)[-1]


Reasons = Callable[[str], str | None]


def cannot_inline_reasons(findings: Iterable[Finding]) -> dict[str, str]:
    """Compiler name (`F`, `(*T).M`) -> its `cannot inline F: reason` message."""
    return {f.subject: f.message for f in findings if f.kind is Kind.CANNOT_INLINE}


@dataclass(frozen=True)
class CompiledFile:
    """One file as the compiler saw it, with what it said: what directives are checked against."""

    path: str
    source: GoSource
    #: Import path of the file's package.
    package: str
    #: All findings of the file (every kind).
    findings: Sequence[Finding]
    #: The `cannot inline` messages of the packages the callees belong to.
    reasons: Mapping[str, str]


def check_file(
    file: CompiledFile, own: FileDirectives, targets: Iterable[InlineTarget]
) -> list[Violation]:
    """Violations in one file: its own directives, and calls in it to `targets` not inlined."""
    out: list[Violation] = []
    for d in own.directives:
        out.extend(_check_directive(d, file))
    out.extend(_check_calls(file, list(targets)))
    return sorted(out, key=lambda v: (v.span, v.directive, v.message))


def _check_directive(d: Directive, file: CompiledFile) -> list[Violation]:
    source, reasons = file.source, file.reasons
    here = [f for f in file.findings if f.file == d.file and _inside(f.span, d.span)]
    tag = f"//gcassert:{d.name}"
    if d.name == "bce":
        return [
            Violation(
                d.name,
                d.file,
                d.span,
                f"{tag}: a bounds check remains at {_snippet(source, f.span)} ({f.message})",
            )
            for f in here
            if f.kind is Kind.BOUNDS_CHECK
        ]
    if d.name == "noescape":
        return [
            Violation(d.name, d.file, d.span, f"{tag}: {_why(f)}")
            for f in here
            if f.kind in HEAP_KINDS or _leaks_to_heap(f)
        ]
    if d.name == "inline":
        if d.function is not None:  # on a declaration: the function must be inlinable
            said = reasons.get(d.function)
            return [Violation(d.name, d.file, d.span, f"{tag}: {said}")] if said else []
        if any(f.kind is Kind.INLINED_CALL for f in here):
            return []
        calls = [c for c in _calls(source, d.span)]
        why = [reasons[n] for c in calls if (n := _reason_key(c, reasons)) is not None]
        detail = f" ({'; '.join(dict.fromkeys(why))})" if why else ""
        what = "no call here was inlined" if calls else "there is no call here to inline"
        return [Violation(d.name, d.file, d.span, f"{tag}: {what}{detail}")]
    known = ", ".join(KNOWN)
    return [Violation(d.name, d.file, d.comment, f"{tag}: unknown directive (known: {known})")]


def _snippet(source: GoSource, span: Span) -> str:
    start = source.lines.offset(span.start_line, span.start_col)
    end = source.lines.offset(span.end_line, span.end_col)
    text = source.data[start:end].decode("utf-8", "replace")
    return " ".join(text.split()) or "here"


def _reason_key(call: _Call, reasons: Mapping[str, str]) -> str | None:
    for name in reasons:
        if _short_name(name) == call.name:
            return name
    return None


@dataclass(frozen=True)
class _Call:
    name: str
    #: The qualifier of `x.F(…)`, None for `F(…)`.
    qualifier: str | None
    span: Span
    #: Position of the call's `(`, where the compiler reports `inlining call to …`.
    paren: tuple[int, int]


def _calls(source: GoSource, region: Span | None = None) -> list[_Call]:
    out: list[_Call] = []
    stack = [source.tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(reversed(node.children))
        if node.type != "call_expression":
            continue
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is None or args is None:
            continue
        if fn.type in ("index_expression", "generic_type"):  # F[int](…)
            fn = fn.named_children[0] if fn.named_children else fn
        if fn.type == "identifier":
            name, qualifier = _text(source, fn), None
        elif fn.type == "selector_expression":
            field = fn.child_by_field_name("field")
            operand = fn.child_by_field_name("operand")
            if field is None or operand is None:
                continue
            name, qualifier = _text(source, field), _text(source, operand)
        else:
            continue
        span = _span(source, node)
        if region is not None and not _inside(span, region):
            continue
        paren = source.lines.position(args.start_byte)
        out.append(_Call(name, qualifier, span, paren))
    return out


def _import_names(source: GoSource) -> dict[str, str]:
    """Import path -> the name this file uses for it (an alias, `.`, or the path's last part)."""
    names: dict[str, str] = {}
    stack = [source.tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "import_spec":
            path_node = node.child_by_field_name("path")
            alias = node.child_by_field_name("name")
            if path_node is not None:
                path = _text(source, path_node).strip('"`')
                names[path] = _text(source, alias) if alias is not None else ""
        elif node.type in ("source_file", "import_declaration", "import_spec_list"):
            stack.extend(node.children)
    return names


def _check_calls(file: CompiledFile, targets: list[InlineTarget]) -> list[Violation]:
    if not targets:
        return []
    path = file.path
    imports = _import_names(file.source)
    inlined = [f for f in file.findings if f.kind is Kind.INLINED_CALL and f.file == path]
    out: list[Violation] = []
    for call in _calls(file.source):
        target = _callee(call, file.package, imports, targets)
        if target is None:
            continue
        line, col = call.paren
        done = [f for f in inlined if f.span.contains(line, col)]
        if any(_short_name(f.subject) == target.name for f in done):
            continue
        if target.method and done:  # another type's method of that name, inlined: not ours
            continue
        said = file.reasons.get(target.compiler_name)
        detail = f" ({said})" if said else ""
        message = f"//gcassert:inline on {target.compiler_name}: this call was not inlined{detail}"
        out.append(Violation("inline", path, call.span, message))
    return out


def _callee(
    call: _Call, package: str, imports: Mapping[str, str], targets: list[InlineTarget]
) -> InlineTarget | None:
    for t in targets:
        if t.name != call.name:
            continue
        if t.method:
            # Without types, a method call is recognised by its name, in the package that
            # declares the method or one importing it.
            if call.qualifier is not None and (t.package == package or t.package in imports):
                return t
            continue
        if t.package == package:
            if call.qualifier is None:
                return t
            continue
        alias = imports.get(t.package)
        if alias is None:
            continue
        if alias == "." and call.qualifier is None:
            return t
        if call.qualifier == (alias or t.package_name):
            return t
    return None
