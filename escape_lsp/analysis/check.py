"""One batch analysis for the CLI: patterns in, every finding and blocked package out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import Blocked
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.targets import is_path_pattern, pattern_dir, select_packages, unmatched
from escape_lsp.findings.model import Finding, Span
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.toolchain import (
    ModuleContext,
    Toolchain,
    ToolchainError,
    find_toolchain,
    module_context,
)


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    #: The parsed text of every file a finding is in (for positions in other encodings).
    sources: dict[str, GoSource] = field(default_factory=dict)


def module_groups(
    patterns: Sequence[str], toolchain_go: str | None
) -> tuple[Toolchain, dict[ModuleContext, list[str]]]:
    toolchain = find_toolchain(toolchain_go)
    cwd = os.getcwd()
    groups: dict[ModuleContext, list[str]] = {}
    for arg in patterns:
        is_path = is_path_pattern(arg, cwd)
        start = pattern_dir(arg, cwd) if is_path else cwd
        if is_path and not os.path.isdir(start):
            raise ToolchainError(f"{arg}: no such directory")
        ctx = module_context(toolchain, start)
        groups.setdefault(ctx, []).append(arg)
    return toolchain, groups


class Progress(Protocol):
    """Hears how many packages a run builds and each one as the compiler finishes it."""

    def start(self, total: int) -> None: ...
    def advance(self, package: str) -> None: ...
    def close(self) -> None: ...


async def run_check(
    patterns: Sequence[str],
    settings: AnalysisSettings,
    go: str | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    toolchain, groups = module_groups(patterns, go)
    cwd = os.getcwd()
    report = CheckReport()
    for ctx, args in groups.items():
        engine = Engine(toolchain, ctx, settings)
        try:
            graph = await engine.graph()
            names: set[str] = set()
            for arg in args:
                matched = select_packages(graph, arg, cwd)
                if not matched:
                    raise await unmatched(engine, arg)
                names.update(matched)
            if progress:
                progress.start(len(names))
            try:
                on_package = progress.advance if progress else None
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
            for f in report.findings:
                if f.file not in report.sources:
                    src = engine.source(f.file, {})
                    if src is not None:
                        report.sources[f.file] = src
        finally:
            engine.close()
    report.findings.sort(key=Finding.sort_key)
    report.blocked.sort(key=lambda b: b.package)
    return report
