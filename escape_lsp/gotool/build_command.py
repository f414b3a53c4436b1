"""The go build of a batch of packages, as a command line: what two builds share when they
are the same build (the engine's speculative build and the CLI's head start are taken over
by comparing these).

No asyncio: the CLI's head start compares commands with it. The argv itself comes from
`build_argv.py`, which a first run's head start uses alone (`first_build.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from escape_lsp.gotool.build_argv import go_build_argv
from escape_lsp.gotool.head_start import Command


@dataclass(frozen=True)
class BuildOptions:
    """How every build runs, whatever it builds (the analysis settings extend this)."""

    tests: bool = False
    #: Extra compiler flags for the named packages, e.g. `-l` (the article's `-gcflags="-m -l"`).
    gcflags: tuple[str, ...] = ()
    #: Extra go command flags, e.g. `-tags=integration`.
    build_flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 300.0


@dataclass(frozen=True)
class BuildRequest:
    packages: tuple[str, ...]
    cwd: str
    options: BuildOptions = BuildOptions()
    #: Compiler flags for some packages only: (import path, flags) pairs.
    package_gcflags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    overlay: str | None = None
    #: The compiler's output copied as it prints it (`compile_stream`): a one-shot run maps
    #: it while go still runs.
    stream: bool = False


def build_command(go: str, req: BuildRequest) -> Command:
    """The go invocation `req` is, with the go executable `go`: two requests with the same
    one build the same."""
    return Command(tuple(build_argv(go, req)), req.cwd, req.options.env)


def build_argv(go: str, req: BuildRequest) -> list[str]:
    opts = req.options
    return go_build_argv(
        go,
        req.packages,
        req.cwd,
        tests=opts.tests,
        gcflags=opts.gcflags,
        build_flags=opts.build_flags,
        env=dict(opts.env),
        package_gcflags=dict(req.package_gcflags),
        overlay=req.overlay,
        stream=req.stream,
    )
