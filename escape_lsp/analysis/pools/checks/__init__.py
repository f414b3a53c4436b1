"""Pool findings: why a `sync.Pool` does not save allocations, from verdicts and exact syntax.

Each finding rests on a compiler verdict (the argument of a Put escapes at that call; a
pooled object's flow ends in `{heap}` or a result) or on an exact syntax fact (a pool declared
in a function body; `New` returning a composite literal or `make` of a value type; a use after
the Put in straight-line code). Nothing here says a pool "never works": whether Gets hit depends
on the run (the runtime empties pools at every GC), which `measure.py` measures.

One module per kind; `finding.py` makes the findings, `verdicts.py` looks verdicts up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from escape_lsp.analysis.pools.checks.get_value import get_value
from escape_lsp.analysis.pools.checks.local import local
from escape_lsp.analysis.pools.checks.missing_put import missing_put
from escape_lsp.analysis.pools.checks.new_non_pointer import new_non_pointer
from escape_lsp.analysis.pools.checks.put_non_pointer import put_non_pointer
from escape_lsp.analysis.pools.checks.retained import candidates, retained
from escape_lsp.analysis.pools.checks.use_after_put import use_after_put
from escape_lsp.analysis.pools.checks.verdicts import Verdicts
from escape_lsp.analysis.pools.syntax import PackagePools, index_packages
from escape_lsp.findings.model import Finding
from escape_lsp.findings.syntax import GoSource


def pool_findings(
    by_file: Mapping[str, Sequence[Finding]],
    sources: Mapping[str, GoSource],
    indexes: list[PackagePools] | None = None,
) -> list[Finding]:
    """Pool findings for one package: `by_file` are its compiler verdicts (widened) by the
    file they are about, `sources` every file of the package as the build saw them,
    `indexes` those files' pool indexes when already built (`index_packages`). Its caller
    asks only for a package a file of which may import `sync` (`pools.tree.may_import_sync`,
    tested before this module is imported); for any other the index is empty."""
    verdicts = Verdicts(by_file, sources)
    out: list[Finding] = []
    for pools in index_packages(sources) if indexes is None else indexes:
        # these read the compiler's verdicts (resting on one, or carrying the one found there)
        out += put_non_pointer(pools, verdicts)
        out += new_non_pointer(pools, verdicts)
        out += local(pools, verdicts)
        out += retained(pools, verdicts)
        out += syntax_findings(pools)
    unique = {(f.file, f.span, f.kind, f.message): f for f in out}
    return sorted(unique.values(), key=Finding.sort_key)


def prepare_checks(indexes: list[PackagePools]) -> None:
    """Work out what the checks read of the syntax alone, on the indexes built while go
    compiles (`analysis.package_results.prepare_pools`): after go only the parts that read
    verdicts run (the checks after one edit of a copy of net/http: ~14 → ~7 ms)."""
    for pools in indexes:
        syntax_findings(pools)
        pools.derived(candidates)


def syntax_findings(pools: PackagePools) -> list[Finding]:
    """The findings of the checks that read the syntax alone, once per index."""
    return pools.derived(_syntax_findings)


def _syntax_findings(pools: PackagePools) -> list[Finding]:
    return [*get_value(pools), *use_after_put(pools), *missing_put(pools)]
