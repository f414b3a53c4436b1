"""Measurements as evidence: run benchmarks with a memory profile, read profiles, and reduce
them to `Evidence` — for `escape-lsp check --bench/--profile` and the editor's benchmark lens.

Benchmarks run one package at a time (`-memprofile` takes one package) and one after the other
(timings of two benchmarks sharing two cores mean little); their profiles are merged by pprof.
Everything written (test binaries, profiles, overlays) lives in a private temp dir.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

from escape_lsp.analysis.check import module_groups
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.errors import MeasureError
from escape_lsp.analysis.evidence import Evidence, evidence_from_profile, import_dirs
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.targets import matched_packages
from escape_lsp.findings.benchmarks import benchmarks
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.bench import BenchError, BenchRequest, BenchResult, BenchRun, run_bench
from escape_lsp.gotool.packages import Package, PackageGraph
from escape_lsp.gotool.pprof import ProfileError, read_profiles
from escape_lsp.gotool.process import GoTimeout
from escape_lsp.gotool.tempdir import private_subdir
from escape_lsp.gotool.toolchain import Toolchain

OnLine = Callable[[str], None]


@contextlib.asynccontextmanager
async def private_dir() -> AsyncIterator[str]:
    """A temp dir for test binaries and profiles, removed afterwards whatever happens."""
    path = private_subdir("bench-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def label_for(results: Sequence[BenchResult], profiles: Sequence[str]) -> str:
    """`BenchmarkFormat`, `BenchmarkA, BenchmarkB`, `5 benchmarks`, `+ mem.pprof`."""
    names = list(dict.fromkeys(r.name for r in results))
    parts = [", ".join(names) if len(names) <= 3 else f"{len(names)} benchmarks"] if names else []
    parts += [os.path.basename(p) for p in profiles]
    return " + ".join(parts) or "profile"


def has_benchmark(pkg: Package, pattern: str, source: Callable[[str], GoSource | None]) -> bool:
    """Whether a test file of `pkg` declares a benchmark the pattern's first level may match.

    Python's regex dialect stands in for Go's here; a pattern it cannot read runs anyway.
    """
    try:
        top = re.compile(pattern.split("/", 1)[0])
    except re.error:
        top = re.compile("")
    for path in (*pkg.test_files, *pkg.xtest_files):
        src = source(path)
        if src is not None and any(top.search(d.name) for d in benchmarks(src)):
            return True
    return False


async def run_benchmarks(
    toolchain: Toolchain,
    requests: Sequence[BenchRequest],
    on_line: OnLine | None = None,
) -> list[BenchRun]:
    """Run each request in turn (BenchError from the first that fails)."""
    return [await run_bench(toolchain, req, on_line) for req in requests]


async def evidence_of(
    toolchain: Toolchain,
    runs: Sequence[BenchRun],
    profiles: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    file_hashes: Mapping[str, str] | None = None,
) -> Evidence:
    """One `Evidence` from the runs' profiles and any profile files, merged by pprof."""
    paths = [r.profile for r in runs if r.profile] + list(profiles)
    if not paths:
        raise MeasureError("nothing to measure: no benchmark ran and no profile was given")
    results = tuple(b for r in runs for b in r.results)
    raw = await read_profiles(toolchain, paths, env)
    return evidence_from_profile(raw, label_for(results, profiles), results, file_hashes)


@dataclass(frozen=True)
class CheckEvidence:
    evidence: Evidence
    #: Import path -> directory of the workspace packages (resolves `-trimpath` names).
    import_dirs: Mapping[str, str]


async def evidence_for_check(
    patterns: Sequence[str],
    settings: AnalysisSettings,
    go: str | None,
    bench: str | None,
    profiles: Sequence[str],
    bench_flags: Sequence[str] = (),
    on_line: OnLine | None = None,
) -> CheckEvidence:
    """`check --bench REGEX --profile F`: the named packages' benchmarks, then pprof."""
    cwd = os.getcwd()
    toolchain, groups = await module_groups(patterns, go, cwd)
    graphs: list[PackageGraph] = []
    requests: list[tuple[str, str]] = []  # (module root, package)
    for ctx, args in groups.items():
        engine = Engine(toolchain, ctx, settings)
        try:
            graph = await engine.graph()
            graphs.append(graph)
            names = await matched_packages(engine, graph, args, cwd) if bench is not None else []
            source = functools.partial(engine.source, overlays={})
            for name in sorted(names):
                if has_benchmark(graph.packages[name], bench or "", source):
                    requests.append((ctx.root, name))
        finally:
            engine.close()
    if bench is not None and not requests:
        raise MeasureError(f"no benchmark matching {bench!r} in the packages named")
    async with private_dir() as out:
        reqs = [
            BenchRequest(
                package=name,
                pattern=bench or "",
                cwd=root,
                out_dir=os.path.join(out, str(i)),
                bench_flags=tuple(bench_flags),
                build_flags=settings.build_flags,
                env=settings.env,
            )
            for i, (root, name) in enumerate(requests)
        ]
        for req in reqs:
            os.makedirs(req.out_dir)
        try:
            runs = await run_benchmarks(toolchain, reqs, on_line)
            evidence = await evidence_of(toolchain, runs, profiles, dict(settings.env))
        except (BenchError, ProfileError, GoTimeout) as exc:
            raise MeasureError(str(exc)) from exc
    return CheckEvidence(evidence, import_dirs(graphs))


async def measure_benchmark(
    engine: Engine,
    path: str,
    name: str,
    overlays: Mapping[str, bytes],
    bench_flags: Sequence[str],
    on_line: OnLine | None = None,
) -> Evidence:
    """Run `name` (a benchmark function in the test file `path`) on the buffers as they are.

    The evidence remembers the content hash of every workspace file it ran with, so weights
    are withdrawn from a file once its text changes.
    """
    graph = await engine.graph()
    pkg = graph.package_of(path)
    if pkg is None:
        raise MeasureError(f"{path} is in no package of the workspace at {engine.context.root}")
    hashes = {f: engine.file_hash(f, overlays) for f in graph.by_file}
    changed = {p: d for p, d in overlays.items() if engine.hasher.hash(p) != hashes.get(p)}
    s = engine.settings
    with engine.overlays.lease(changed) as (overlay, _):
        async with private_dir() as out:
            req = BenchRequest(
                package=pkg.import_path,
                pattern=f"^{re.escape(name)}$",
                cwd=engine.context.root,
                out_dir=out,
                bench_flags=tuple(bench_flags),
                build_flags=s.build_flags,
                env=s.env,
                overlay=overlay,
            )
            try:
                runs = await run_benchmarks(engine.toolchain, [req], on_line)
                return await evidence_of(engine.toolchain, runs, (), dict(s.env), hashes)
            except (BenchError, ProfileError, GoTimeout) as exc:
                raise MeasureError(str(exc)) from exc
