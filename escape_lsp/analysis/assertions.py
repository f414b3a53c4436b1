"""gcassert directives of workspace files, read through an engine and checked against its
results; shared by the editor's views and the CLI's batch run.

Directives are cached by path, package and content hash (the engine's stat-cached hash), so a
view re-reads nothing for files that did not change. The checker (`gcassert.py`) is imported
only once a file may hold a directive (`gcassert_scan.py`): most packages have none, and the
editor's first diagnostics pass through here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from escape_lsp.analysis.gcassert_scan import has_directives
from escape_lsp.findings.model import Finding
from escape_lsp.gotool.packages import Package, PackageGraph

if TYPE_CHECKING:
    from escape_lsp.analysis.engine import Engine
    from escape_lsp.analysis.gcassert import FileDirectives, InlineTarget, Violation

#: None: the file holds no directive (or is unreadable).
_CACHE: OrderedDict[tuple[str, str, str], FileDirectives | None] = OrderedDict()
_CACHE_SIZE = 4096


def file_directives(
    engine: Engine, path: str, package: str, overlays: Mapping[str, bytes]
) -> FileDirectives | None:
    """The file's directives; None when it has none."""
    key = (path, package, engine.file_hash(path, overlays))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    src = engine.source(path, overlays)
    found = None
    if src is not None and has_directives(src.data):
        from escape_lsp.analysis.gcassert import parse_directives

        found = parse_directives(src, path, package)
    _CACHE[key] = found
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return found


def package_targets(
    engine: Engine, graph: PackageGraph, pkg: Package, overlays: Mapping[str, bytes]
) -> list[InlineTarget]:
    """Functions under `//gcassert:inline` that `pkg` may call: declared in it or in the
    workspace packages it imports."""
    tests = engine.settings.tests
    imports = pkg.imports | (pkg.test_imports if tests else frozenset())
    out: list[InlineTarget] = []
    for name in [pkg.import_path, *sorted(i for i in imports if i in graph.packages)]:
        for path in graph.packages[name].all_files(tests):
            found = file_directives(engine, path, name, overlays)
            if found is not None:
                out.extend(found.targets)
    return out


def file_violations(
    engine: Engine,
    pkg: Package,
    path: str,
    overlays: Mapping[str, bytes],
    findings: Sequence[Finding],
    targets: Sequence[InlineTarget],
    reasons: Callable[[], Mapping[str, str]],
) -> tuple[Violation, ...]:
    """Violations in one file of `pkg`: its directives, and its calls to `targets` that were
    not inlined. `findings` are the file's findings (all kinds); `reasons` gives the callees'
    `cannot inline` messages (computed only when needed)."""
    own = file_directives(engine, path, pkg.import_path, overlays)
    if (own is None or not own.directives) and not targets:
        return ()
    src = engine.source(path, overlays)
    if src is None:
        return ()
    from escape_lsp.analysis.gcassert import NO_DIRECTIVES, CompiledFile, check_file

    file = CompiledFile(path, src, pkg.import_path, findings, reasons())
    return tuple(check_file(file, own or NO_DIRECTIVES, targets))


def reasons_of(findings: Iterable[Finding]) -> Callable[[], Mapping[str, str]]:
    """`cannot inline` messages by function, computed once on first use."""
    memo: list[Mapping[str, str]] = []

    def get() -> Mapping[str, str]:
        if not memo:
            from escape_lsp.analysis.gcassert import cannot_inline_reasons

            memo.append(cannot_inline_reasons(findings))
        return memo[0]

    return get
