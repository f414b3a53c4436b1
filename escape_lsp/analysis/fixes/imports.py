"""Adding and dropping imports with gofmt-clean, minimal edits."""

from __future__ import annotations

from tree_sitter import Node

from escape_lsp.analysis.fixes.model import FileEdit
from escape_lsp.analysis.fixes.syntax_util import span_of, text, walk
from escape_lsp.findings.model import Span
from escape_lsp.findings.syntax import GoSource


def _specs(src: GoSource) -> list[Node]:
    return [n for n in walk(src.tree.root_node) if n.type == "import_spec"]


def _path(src: GoSource, spec: Node) -> str:
    path = spec.child_by_field_name("path")
    return text(src, path).strip('"`') if path is not None else ""


def add_import(src: GoSource, path: str, file: str) -> list[FileEdit]:
    """Edits that import `path` (nothing if it is imported already), keeping sort order."""
    specs = _specs(src)
    if any(_path(src, s) == path for s in specs):
        return []
    grouped = [s for s in specs if s.parent is not None and s.parent.type == "import_spec_list"]
    if grouped:
        after = [s for s in grouped if _path(src, s) > path]
        anchor = after[0] if after else None
        if anchor is not None:
            at = span_of(src, anchor)
            return [FileEdit(file, Span.point(at.start_line, 0), f'\t"{path}"\n')]
        last = span_of(src, grouped[-1])
        return [FileEdit(file, Span.point(last.end_line + 1, 0), f'\t"{path}"\n')]
    decls = [n for n in src.tree.root_node.named_children if n.type == "import_declaration"]
    if decls:
        at = span_of(src, decls[-1])
        return [FileEdit(file, Span.point(at.end_line + 1, 0), f'import "{path}"\n')]
    clause = next(n for n in src.tree.root_node.named_children if n.type == "package_clause")
    at = span_of(src, clause)
    return [FileEdit(file, Span.point(at.end_line + 1, 0), f'\nimport "{path}"\n')]


def drop_import_if_unused(
    src: GoSource, path: str, name: str, file: str, removed_uses: int
) -> list[FileEdit]:
    """Remove `import path` when the fix removes the last `name.` use in the file."""
    uses = sum(
        1
        for n in walk(src.tree.root_node)
        if n.type == "selector_expression"
        and (operand := n.child_by_field_name("operand")) is not None
        and operand.type == "identifier"
        and text(src, operand) == name
    )
    if uses > removed_uses:
        return []
    spec = next((s for s in _specs(src) if _path(src, s) == path), None)
    if spec is None or spec.parent is None:
        return []
    if spec.parent.type == "import_spec_list":
        at = span_of(src, spec)
        return [FileEdit(file, Span(at.start_line, 0, at.start_line + 1, 0), "")]
    decl = spec.parent
    at = span_of(src, decl)
    return [FileEdit(file, Span(at.start_line, 0, at.end_line + 1, 0), "")]
