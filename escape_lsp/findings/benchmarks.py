"""Benchmark functions in a test file, as `go test -bench` finds them (pure: syntax only)."""

from __future__ import annotations

import re

from escape_lsp.findings.syntax import Declaration, GoSource

#: `go test` runs `BenchmarkXxx` where Xxx does not start with a lower-case letter.
_NAME = re.compile(r"^Benchmark(?:$|[^a-z])")
#: One parameter of type `*testing.B` (named or not).
_PARAMS = re.compile(r"^\((?:\w+\s*)?\*\s*testing\s*\.\s*B\s*,?\s*\)$")


def is_test_file(path: str) -> bool:
    return path.endswith("_test.go")


def benchmarks(source: GoSource) -> list[Declaration]:
    """Top-level `func BenchmarkX(b *testing.B)` declarations, in file order."""
    names: set[str] = set()
    for node in source.tree.root_node.named_children:
        if node.type != "function_declaration" or node.child_by_field_name("type_parameters"):
            continue
        name = node.child_by_field_name("name")
        params = node.child_by_field_name("parameters")
        if name is None or params is None or node.child_by_field_name("result") is not None:
            continue
        text = source.text(name)
        if _NAME.match(text) and _PARAMS.match(" ".join(source.text(params).split())):
            names.add(text)
    return [d for d in source.declarations() if d.name in names]
