"""`escape-lsp pools`: measure the pools of the packages a user names, one package at a time."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.pools.measure import Measurement, MeasureRequest, measure
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.targets import is_path_pattern, pattern_dir, select_packages
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.toolchain import ToolchainError, find_toolchain, module_context

#: Why a package was skipped without running anything; not worth reporting.
QUIET = frozenset({"no sync.Pool"})


@dataclass
class PoolsReport:
    measurements: list[Measurement] = field(default_factory=list)
    #: The parsed text of every file a pool is declared in (for positions in other encodings).
    sources: dict[str, GoSource] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)


async def run_pools(
    patterns: Sequence[str],
    settings: AnalysisSettings,
    bench: str = ".",
    benchtime: str | None = None,
    go: str | None = None,
) -> PoolsReport:
    toolchain = find_toolchain(go)
    cwd = os.getcwd()
    report = PoolsReport()
    for arg in patterns:
        is_path = is_path_pattern(arg, cwd)
        start = pattern_dir(arg, cwd) if is_path else cwd
        if is_path and not os.path.isdir(start):
            raise ToolchainError(f"{arg}: no such directory")
        ctx = module_context(toolchain, start)
        engine = Engine(toolchain, ctx, settings)
        try:
            graph = await engine.graph()
            names = select_packages(graph, arg, cwd)
            if not names:
                report.unmatched.append(arg)
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
    return src is not None and b'"sync"' in src.data
