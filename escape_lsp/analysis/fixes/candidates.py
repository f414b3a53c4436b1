"""Which fixes a finding could take, before the compiler has its say (see verify.py)."""

from __future__ import annotations

from escape_lsp.analysis.fixes.boxing import boxing_fix
from escape_lsp.analysis.fixes.model import Fix
from escape_lsp.analysis.fixes.pool_pointer import pool_pointer_fix
from escape_lsp.analysis.fixes.return_value import return_value_fix
from escape_lsp.findings.model import Finding
from escape_lsp.findings.syntax import GoSource


def callers_are_local(import_path: str, src: GoSource) -> bool:
    """Whether every caller of the package's functions is workspace code we can recompile."""
    clause = src.package_clause()
    name = src.data[
        src.lines.offset(clause.start_line, clause.start_col) : src.lines.offset(
            clause.end_line, clause.end_col
        )
    ]
    return name.split()[-1:] == [b"main"] or "/internal/" in f"/{import_path}/"


def candidate_fixes(
    finding: Finding,
    file_findings: list[Finding],
    src: GoSource,
    import_path: str,
    other_files: list[GoSource],
) -> list[Fix]:
    found = [
        return_value_fix(finding, src, callers_are_local(import_path, src)),
        pool_pointer_fix(finding, src, other_files),
        boxing_fix(finding, src),
    ]
    return [f for f in found if f is not None]
