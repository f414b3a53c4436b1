"""`escape-lsp pools`: measure the pools of the packages a user names, one package at a time."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from escape_lsp.analysis.check import module_groups
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.pools.measure import Measurement, MeasureRequest, measure
from escape_lsp.analysis.pools.tree import may_import_sync
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.targets import matched_packages, unlocated_matches
from escape_lsp.findings.syntax import GoSource

#: Why a package was skipped without running anything; not worth reporting.
QUIET = frozenset({"no sync.Pool"})


@dataclass
class PoolsReport:
    measurements: list[Measurement] = field(default_factory=list)
    #: The parsed text of every file a pool is declared in (for positions in other encodings).
    sources: dict[str, GoSource] = field(default_factory=dict)


async def run_pools(
    patterns: Sequence[str],
    settings: AnalysisSettings,
    bench: str = ".",
    benchtime: str | None = None,
    go: str | None = None,
) -> PoolsReport:
    cwd = os.getcwd()
    toolchain, groups = await module_groups(patterns, go, cwd)
    report = PoolsReport()
    for ctx, args in groups.items():
        engine = Engine(toolchain, ctx, settings)
        try:
            graph = await engine.graph()
            names = await matched_packages(engine, graph, args, cwd)
            unlocated = await unlocated_matches(engine, graph, args, cwd)
            for name, error in unlocated.items():  # `./...` over `my dir`: go's reason
                report.measurements.append(Measurement(name, "", error=f"not measured: {error}"))
            for name in names:
                pkg = graph.packages[name]
                if not any(_imports_sync(engine, f) for f in pkg.all_files(True)):
                    continue
                req = MeasureRequest(
                    toolchain,
                    ctx,
                    pkg,
                    functools.partial(engine.source, overlays={}),
                    bench=bench,
                    benchtime=benchtime,
                    build_flags=settings.build_flags,
                    env=settings.env,
                )
                result = await measure(req)
                if result.error in QUIET:
                    continue
                report.measurements.append(result)
                for hit in result.hits:
                    src = engine.source(hit.site.file, {})
                    if src is not None:
                        report.sources[hit.site.file] = src
        finally:
            engine.close()
    return report


def _imports_sync(engine: Engine, path: str) -> bool:
    src = engine.source(path, {})
    return src is not None and may_import_sync(src)
