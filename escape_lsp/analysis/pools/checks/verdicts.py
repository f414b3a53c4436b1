"""One package's compiler verdicts by file, with the lookups the pool checks make of them."""

from __future__ import annotations

from collections.abc import Sequence

from tree_sitter import Node

from escape_lsp.findings.model import Finding, FlowStep, Kind

#: The compiler's flow reasons that store a value where it outlives the statement.
_STORES = frozenset({"assign", "send", "return", "captured by a closure"})


class Verdicts:
    def __init__(self, findings: Sequence[Finding]) -> None:
        self._by_file: dict[str, list[Finding]] = {}
        for f in findings:
            self._by_file.setdefault(f.file, []).append(f)
        self._stores: dict[str, dict[str, list[tuple[Finding, FlowStep]]]] = {}

    def in_file(self, file: str) -> list[Finding]:
        return self._by_file.get(file, [])

    def at(self, file: str, node: Node, kinds: frozenset[Kind]) -> Finding | None:
        """The compiler's verdict of one of `kinds` that starts where `node` starts, if any."""
        line, col = node.start_point
        for f in self.in_file(file):
            if f.kind in kinds and (f.span.start_line, f.span.start_col) == (line, col):
                return f
        return None

    def stores_from(self, file: str, var: str) -> list[tuple[Finding, FlowStep]]:
        """Flow steps that store `var` where it outlives the statement: `{heap} ← var` or
        `~r0 ← var` by assignment, send, return or capture."""
        by_origin = self._stores.get(file)
        if by_origin is None:
            by_origin = self._stores[file] = {}
            for f in self.in_file(file):
                for step in f.flow:
                    if step.reason not in _STORES:
                        continue
                    dst, _, origin = step.edge.partition(" ← ")
                    if dst == "{heap}" or dst.startswith("~r"):
                        by_origin.setdefault(origin, []).append((f, step))
        return by_origin.get(var, [])
