"""Running benchmarks as evidence: `go test -run '^$' -bench … -benchmem -memprofile`.

Unsaved buffers go in through `-overlay`; the test binary (`-o`) and the profile are written to
a directory the caller owns, never to the package directory (with a profile flag and no `-o`,
`go test` leaves `pkg.test` in the working directory). The run is one go process group, so
cancelling the awaiting task kills the go command and the benchmark binary it started.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from escape_lsp.gotool.flags import pinned_flags
from escape_lsp.gotool.process import run
from escape_lsp.gotool.toolchain import Toolchain


class BenchError(Exception):
    """The benchmark did not run (build failure, a failing benchmark, nothing matched)."""


@dataclass(frozen=True)
class BenchRequest:
    #: Import path (or `./dir`) of the one package to run; `-memprofile` takes one package.
    package: str
    #: The `-bench` regular expression, e.g. `^BenchmarkFormat$`.
    pattern: str
    #: Where the go command runs: the module root or go.work folder.
    cwd: str
    #: A private directory for the test binary and the profile.
    out_dir: str
    #: Extra `go test` flags for the run, e.g. `-benchtime=100x`, `-memprofilerate=1`.
    bench_flags: tuple[str, ...] = ()
    #: Extra go command flags, e.g. `-tags=integration`.
    build_flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    overlay: str | None = None
    profile: bool = True
    timeout: float = 900.0


@dataclass(frozen=True)
class BenchResult:
    """One result line: `BenchmarkFormat-2  3742702  436.6 ns/op  56 B/op  2 allocs/op`."""

    package: str
    #: Without the `-GOMAXPROCS` suffix, e.g. `BenchmarkFormat` or `BenchmarkX/size=10`.
    name: str
    procs: int
    iterations: int
    ns_per_op: float | None
    bytes_per_op: float | None
    allocs_per_op: float | None

    @property
    def function(self) -> str:
        """The top-level benchmark function (`BenchmarkX` for `BenchmarkX/sub`)."""
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class BenchRun:
    package: str
    results: tuple[BenchResult, ...]
    #: The memory profile written, None when not asked for.
    profile: str | None
    output: str
    seconds: float


_RESULT = re.compile(r"^(Benchmark\S*?)(?:-(\d+))?\s+(\d+)((?:\s+[-+\d.eE]+\s+\S+)+)\s*$")


def parse_results(package: str, output: str) -> list[BenchResult]:
    """Benchmark result lines of `go test -bench` output (other lines are skipped)."""
    results: list[BenchResult] = []
    for line in output.splitlines():
        m = _RESULT.match(line.strip())
        if m is None:
            continue
        words = m[4].split()
        metrics: dict[str, float] = {}
        for value, unit in zip(words[::2], words[1::2], strict=True):
            try:
                metrics[unit] = float(value)
            except ValueError:
                continue
        results.append(
            BenchResult(
                package,
                m[1],
                int(m[2] or 1),
                int(m[3]),
                metrics.get("ns/op"),
                metrics.get("B/op"),
                metrics.get("allocs/op"),
            )
        )
    return results


def _excerpt(text: str, lines: int = 20) -> str:
    """The first lines of what go said (compile errors and panics come first)."""
    said = [ln for ln in text.strip().splitlines() if ln.strip()]
    more = f"\n… ({len(said) - lines} more lines)" if len(said) > lines else ""
    return "\n".join(said[:lines]) + more


def bench_argv(toolchain: Toolchain, req: BenchRequest) -> tuple[list[str], str | None]:
    """The go command and the profile path it will write (None without a profile)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", req.package).strip("_") or "pkg"
    binary = os.path.join(req.out_dir, f"{stem}.test")
    profile = os.path.join(req.out_dir, f"{stem}.mem.pprof") if req.profile else None
    argv = [toolchain.go, "test", "-run", "^$", "-bench", req.pattern, "-benchmem", "-o", binary]
    if profile:
        argv += ["-memprofile", profile]
    if req.overlay:
        argv.append(f"-overlay={req.overlay}")
    # the user's flags, with -mod=readonly (or vendor) pinned: go.mod and go.sum never change
    argv += pinned_flags(req.cwd, [*req.build_flags, *req.bench_flags], dict(req.env))
    argv.append(req.package)
    return argv, profile


async def run_bench(
    toolchain: Toolchain, req: BenchRequest, on_line: Callable[[str], None] | None = None
) -> BenchRun:
    """Run the package's matching benchmarks; BenchError when none ran.

    Cancelling the caller kills the go command and the benchmark binary (one process group);
    `on_line` sees each output line as it comes (progress).
    """
    argv, profile = bench_argv(toolchain, req)
    started = time.monotonic()
    proc = await run(argv, req.cwd, dict(req.env), req.timeout, on_line)
    output = proc.stdout + ("\n" + proc.stderr if proc.stderr.strip() else "")
    results = parse_results(req.package, proc.stdout)
    if proc.returncode != 0:
        raise BenchError(f"go test -bench failed for {req.package}:\n{_excerpt(output)}")
    if not results:
        raise BenchError(f"no benchmark in {req.package} matched {req.pattern}")
    if profile is not None and not os.path.isfile(profile):
        profile = None
    return BenchRun(req.package, tuple(results), profile, output, time.monotonic() - started)
