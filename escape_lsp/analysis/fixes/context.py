"""What a fix builder may ask about the finding it looks at; facts are computed on first use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from escape_lsp.findings.model import Finding
from escape_lsp.findings.syntax import GoSource


@dataclass(frozen=True)
class FixContext:
    """One finding in one snapshot's text, with lazily computed facts about its package."""

    finding: Finding
    #: Every finding of the file, in the same snapshot.
    file_findings: Sequence[Finding]
    source: GoSource
    import_path: str
    #: The package's other files as the snapshot holds them (parsed only when asked for).
    load_siblings: Callable[[], list[GoSource]]

    @cached_property
    def siblings(self) -> list[GoSource]:
        return self.load_siblings()

    @cached_property
    def package_name(self) -> str:
        clause = self.source.package_clause()
        start = self.source.lines.offset(clause.start_line, clause.start_col)
        end = self.source.lines.offset(clause.end_line, clause.end_col)
        words = self.source.data[start:end].split()
        return words[-1].decode() if words else ""

    @cached_property
    def callers_are_local(self) -> bool:
        """Whether every caller of the package's functions is workspace code we recompile."""
        return self.package_name == "main" or "/internal/" in f"/{self.import_path}/"
