"""Hit rates, measured: run a package's benchmarks (or tests) with counting copies of its files.

The article's technique — count how often New runs — automated. The instrumented copies
(`instrument.py`) reach `go test` only through `-overlay`, written in a private temp dir; the
user's files are never written. Per pool and benchmark: gets, puts, news (Gets the pool could
not serve: New calls, or nil results for a pool without New) and hit rate = 1 − news/gets.

A hit rate is a fact about one run: the runtime empties every pool at each GC (`poolCleanup`;
since Go 1.13 one GC's worth survives as a victim cache), so it depends on GC pressure, and
`testing` itself runs a GC before each benchmark round.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from escape_lsp.analysis.hashing import digest
from escape_lsp.analysis.pools.instrument import (
    COUNTS_ENV,
    GETS,
    NEWS,
    NILS,
    PUTS,
    PoolSite,
    has_functions,
    instrument,
)
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.flags import pinned_flags
from escape_lsp.gotool.packages import Package
from escape_lsp.gotool.process import run
from escape_lsp.gotool.tempdir import private_root
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain

GC_NOTE = (
    "The runtime empties pools at every GC (one GC's worth survives as a victim cache since "
    "Go 1.13): a hit rate depends on GC pressure during the run."
)


@dataclass(frozen=True)
class PoolHits:
    """One pool's counts during one benchmark (or test); `benchmark` None: never exercised."""

    site: PoolSite
    benchmark: str | None
    gets: int
    puts: int
    news: int

    @property
    def hit_rate(self) -> float | None:
        if not self.gets:
            return None
        return max(0.0, 1.0 - self.news / self.gets)


@dataclass(frozen=True)
class Measurement:
    package: str
    #: `benchmarks`, `tests`, or "" when nothing ran.
    ran: str
    command: tuple[str, ...] = ()
    hits: tuple[PoolHits, ...] = ()
    #: Why there are no (or incomplete) counts: no pool, no benchmark, build or test failure.
    error: str | None = None
    #: Content hash of every file the measured package had (for matching editor texts).
    file_hashes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureRequest:
    toolchain: Toolchain
    context: ModuleContext
    package: Package
    #: Path -> parsed text as measured (editor buffer or disk).
    source: Callable[[str], GoSource | None]
    #: Unsaved editor buffers of the module, passed through the overlay as they are.
    buffers: Mapping[str, bytes] = field(default_factory=dict)
    bench: str = "."
    benchtime: str | None = None
    build_flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 900.0


def go_test_argv(req: MeasureRequest, overlay: str, benchmarks: bool) -> list[str]:
    argv = [req.toolchain.go, "test", f"-overlay={overlay}", "-vet=off", "-count=1"]
    if benchmarks:
        argv += ["-run", "^$", "-bench", req.bench]
    else:
        argv += ["-run", req.bench if req.bench != "." else "."]
    if req.benchtime and benchmarks:
        argv.append(f"-benchtime={req.benchtime}")
    # -mod=readonly (or vendor) pinned: never rewrite go.mod or go.sum
    argv += [*pinned_flags(req.context.root, req.build_flags, dict(req.env))]
    argv.append(req.package.import_path)
    return argv


async def measure(req: MeasureRequest) -> Measurement:
    """Instrument, run, read the counts back. Failures are data (`Measurement.error`)."""
    pkg = req.package
    sources = {p: s for p in pkg.all_files(True) if (s := req.source(p)) is not None}
    hashes = {p: digest(s.data) for p, s in sources.items()}  # as the engine hashes
    benchmarks = has_functions(sources, "Benchmark")
    mode = "Benchmark" if benchmarks else "Test"
    if not benchmarks and not has_functions(sources, "Test"):
        return Measurement(pkg.import_path, "", error="no benchmarks or tests", file_hashes=hashes)
    copies = instrument(sources, pkg.import_path, pkg.dir, mode)
    if copies is None or not copies.sites:
        return Measurement(pkg.import_path, "", error="no sync.Pool", file_hashes=hashes)
    ran = "benchmarks" if benchmarks else "tests"
    with tempfile.TemporaryDirectory(prefix="pools-", dir=private_root()) as tmp:
        replace: dict[str, str] = {}
        contents = {**{p: d for p, d in req.buffers.items()}, **copies.files}
        for i, (real, data) in enumerate(sorted(contents.items())):
            copy = os.path.join(tmp, str(i), os.path.basename(real))
            os.makedirs(os.path.dirname(copy))
            with open(copy, "wb") as fh:
                fh.write(data)
            replace[real] = copy
        overlay = os.path.join(tmp, "overlay.json")
        with open(overlay, "w", encoding="utf-8") as fh:
            json.dump({"Replace": replace}, fh)
        counts = os.path.join(tmp, "counts.jsonl")
        argv = go_test_argv(req, overlay, benchmarks)
        env = {**dict(req.env), COUNTS_ENV: counts}
        proc = await run(argv, req.context.root, env, timeout=req.timeout)
        lines = _read(counts)
    hits = _hits(copies.sites, lines)
    error = None
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().splitlines()
        error = "go test failed: " + " | ".join(output[-6:])
    elif not lines:
        error = f"no {ran} matched {req.bench!r}"
    return Measurement(pkg.import_path, ran, tuple(argv), hits, error, hashes)


def _read(path: str) -> list[dict[str, object]]:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = fh.read().splitlines()
    except OSError:
        return []
    out = []
    for line in raw:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def _hits(sites: Sequence[PoolSite], lines: list[dict[str, object]]) -> tuple[PoolHits, ...]:
    """Per site and benchmark, the counts of its final run (the last line with its name)."""
    last: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
    for item in lines:
        name, before, after = item.get("name"), item.get("before"), item.get("after")
        if isinstance(name, str) and isinstance(before, list) and isinstance(after, list):
            last.pop(name, None)  # the order in which the final runs ended
            last[name] = (before, after)
    out: list[PoolHits] = []
    for site in sites:
        seen = False
        for name, (before, after) in last.items():
            if site.id >= min(len(before), len(after)):
                continue
            delta = [a - b for a, b in zip(after[site.id], before[site.id], strict=False)]
            if not any(delta):
                continue
            seen = True
            misses = max(delta[NEWS], delta[NILS])
            out.append(PoolHits(site, name, delta[GETS], delta[PUTS], misses))
        if not seen:
            out.append(PoolHits(site, None, 0, 0, 0))
    return tuple(out)
