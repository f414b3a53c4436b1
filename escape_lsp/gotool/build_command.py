"""The go build of a batch of packages, as a command line: what two builds share when they
are the same build (the engine's speculative build and the CLI's head start are taken over
by comparing these).

Light on purpose (no asyncio): the CLI's head start works a first run's command out with it
before anything else is imported (`first_build.py`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from escape_lsp.gotool.flags import pinned_flags
from escape_lsp.gotool.head_start import Command

ESCAPE_FLAGS = "-m=2"


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


def build_command(go: str, req: BuildRequest) -> Command:
    """The go invocation `req` is, with the go executable `go`: two requests with the same
    one build the same."""
    return Command(tuple(build_argv(go, req)), req.cwd, req.options.env)


def build_argv(go: str, req: BuildRequest) -> list[str]:
    extra = dict(req.package_gcflags)
    argv = [go, "test", "-c"] if req.options.tests else [go, "build"]
    argv += ["-json", "-o", os.devnull]
    for pkg in req.packages:
        flags = " ".join([ESCAPE_FLAGS, *req.options.gcflags, *extra.get(pkg, ())])
        argv.append(f"-gcflags={pkg}={flags}")
        if req.options.tests:
            argv.append(f"-gcflags={pkg}_test={flags}")
    if req.overlay:
        argv.append(f"-overlay={req.overlay}")
    argv += pinned_flags(req.cwd, req.options.build_flags, dict(req.options.env))
    argv += list(req.packages)
    return argv
