"""One batch analysis for the CLI: patterns in, every finding and blocked package out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from escape_lsp.analysis.assertions import file_violations, package_targets, reasons_of
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import Blocked, PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.targets import matched_packages, select_packages, unlocated_matches
from escape_lsp.findings.model import SORT_ORDER, CompileError, Finding, Span
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.patterns import is_path_pattern, pattern_dir
from escape_lsp.gotool.toolchain import (
    ModuleContext,
    Toolchain,
    ToolchainError,
    directory_context,
    find_toolchain_async,
    go_executable,
)

if TYPE_CHECKING:
    from escape_lsp.analysis.gcassert import Violation


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    #: The parsed text of every file a finding is in (for positions in other encodings).
    sources: dict[str, GoSource] = field(default_factory=dict)
    #: gcassert directives the compiler's output contradicts.
    violations: list[Violation] = field(default_factory=list)
    #: The directory patterns and relative paths are read from.
    cwd: str = ""
    #: The (mtime_ns, size, inode) of what the results were read from (`Engine.input_stats`).
    inputs: dict[str, tuple[int, int, int]] = field(default_factory=dict)


async def module_groups(
    patterns: Sequence[str], toolchain_go: str | None, cwd: str
) -> tuple[Toolchain, dict[ModuleContext, list[str]]]:
    """The toolchain, and the patterns grouped by the module or workspace each is in. Go is
    asked about the toolchain and every pattern's directory at once (each `go env` ~10 ms);
    a toolchain problem is the one reported."""
    starts: dict[str, str] = {}
    for arg in patterns:
        is_path = is_path_pattern(arg, cwd)
        start = pattern_dir(arg, cwd) if is_path else cwd
        if is_path and not os.path.isdir(start):
            raise ToolchainError(f"{arg}: no such directory")
        starts[arg] = start
    directories = sorted(set(starts.values()))
    exe = go_executable(toolchain_go, None)
    checked = asyncio.ensure_future(find_toolchain_async(toolchain_go))
    lookups = [asyncio.ensure_future(directory_context(exe, d)) for d in directories]
    try:
        toolchain = await checked
        contexts = {d: await lookup for d, lookup in zip(directories, lookups, strict=True)}
    finally:
        for lookup in lookups:  # after a failure: stop the rest, read what ended anyway
            lookup.cancel()
            if lookup.done() and not lookup.cancelled():
                lookup.exception()
    groups: dict[ModuleContext, list[str]] = {}
    for arg in patterns:
        groups.setdefault(contexts[starts[arg]], []).append(arg)
    return toolchain, groups


class Progress(Protocol):
    """Hears how many packages a run builds and each one as the compiler finishes it."""

    def start(self, total: int) -> None: ...
    def advance(self, package: str) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class CheckRequest:
    """What to analyse: the packages `patterns` name, with `settings`, as the go command `go`
    (default: the one on PATH) would from `cwd` (default: the current directory)."""

    patterns: tuple[str, ...]
    settings: AnalysisSettings
    go: str | None = None
    cwd: str | None = None


async def run_check(request: CheckRequest, progress: Progress | None = None) -> CheckReport:
    """Analyse the packages the request's patterns name."""
    cwd = os.path.abspath(request.cwd or os.getcwd())
    toolchain, groups = await module_groups(request.patterns, request.go, cwd)
    report = CheckReport(cwd=cwd)
    for ctx, args in groups.items():
        engine = Engine(toolchain, ctx, request.settings)
        engine.one_shot = True
        on_package = progress.advance if progress else None
        try:
            graph = await engine.graph(while_listing=_start_early(engine, args, cwd, on_package))
            names = await matched_packages(engine, graph, args, cwd)
            unlocated = await unlocated_matches(engine, graph, args, cwd)
            for name, error in unlocated.items():  # `./...` over `my dir`: go's reason
                report.blocked.append(Blocked(name, (CompileError(None, 0, 0, error),)))
            if progress:
                progress.start(len(names))
            try:
                results = await engine.analyze(names, on_package=on_package)
            finally:
                if progress:
                    progress.close()
            seen: set[tuple[str, Span, str]] = set()
            for res in results.values():
                if res.blocked:
                    report.blocked.append(res.blocked)
                for f in res.findings:
                    if (f.file, f.at, f.message) not in seen:
                        seen.add((f.file, f.at, f.message))
                        report.findings.append(f)
            report.violations.extend(_violations(engine, results))
            for file in {f.file for f in report.findings} | {v.file for v in report.violations}:
                if file not in report.sources:
                    src = engine.source(file, {})
                    if src is not None:
                        report.sources[file] = src
            report.inputs.update(engine.input_stats())
        finally:
            engine.close()
    report.findings.sort(key=SORT_ORDER)
    report.violations.sort(key=lambda v: (v.file, v.span, v.message))
    report.blocked.sort(key=lambda b: b.package)
    return report


def _start_early(
    engine: Engine, args: Sequence[str], cwd: str, on_package: Callable[[str], None] | None
) -> Callable[[PackageGraph], None]:
    """While go lists: build what an earlier listing says the patterns name."""

    def start(hint: PackageGraph) -> None:
        early = {name for arg in args for name in select_packages(hint, arg, cwd)}
        engine.speculate(hint, early, on_package)

    return start


def _violations(engine: Engine, results: Mapping[str, PackageResult]) -> list[Violation]:
    """gcassert violations in the files of the packages that compiled."""
    graph = engine.current_graph
    if graph is None:
        return []
    everything = [f for res in results.values() for f in res.findings]
    reasons = reasons_of(everything)
    by_file: dict[str, list[Finding]] = {}
    for f in everything:
        by_file.setdefault(f.file, []).append(f)
    out: dict[tuple[str, Span, str], Violation] = {}
    for name, res in results.items():
        pkg = graph.packages.get(name)
        if pkg is None or res.blocked is not None:
            continue
        targets = package_targets(engine, graph, pkg, {})
        for path in pkg.all_files(engine.settings.tests):
            found = by_file.get(path, [])
            for v in file_violations(engine, pkg, path, {}, found, targets, reasons):
                out.setdefault((v.file, v.span, v.message), v)
    return list(out.values())
