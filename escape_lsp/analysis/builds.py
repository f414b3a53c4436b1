"""Running the engine's go commands: at most `max_processes` at a time, and one speculative
build started from an earlier package listing that the real request may take over. A build
whose command the CLI started before its imports (`gotool.head_start`) is taken over too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from escape_lsp.analysis.compiler_flags import BOUNDS_FLAG
from escape_lsp.analysis.gcassert_scan import needs_bounds_report
from escape_lsp.analysis.hashing import read_contents
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool import head_start
from escape_lsp.gotool.build import BuildOutput, run_build
from escape_lsp.gotool.build_command import BuildRequest, build_command
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.process import GoTimeout
from escape_lsp.gotool.toolchain import Toolchain


def build_request(
    settings: AnalysisSettings,
    cwd: str,
    graph: PackageGraph,
    names: list[str],
    contents: Mapping[str, bytes],
    overlay: str | None,
    stream: bool = False,
) -> BuildRequest:
    """The go command for `names`, with the bounds-check report where a file asserts it (and
    the compiler's output `stream`ed, see `BuildRequest.stream`)."""
    s = settings
    return BuildRequest(
        packages=tuple(names),
        cwd=cwd,
        options=s,
        overlay=overlay,
        package_gcflags=tuple(
            (name, (BOUNDS_FLAG,))
            for name in names
            if BOUNDS_FLAG not in s.gcflags and asserts_bce(graph, name, contents, s.tests)
        ),
        stream=stream,
    )


def asserts_bce(graph: PackageGraph, name: str, contents: Mapping[str, bytes], tests: bool) -> bool:
    """Whether a file of the package has a `//gcassert:bce` directive, which needs the
    compiler's bounds-check report. A function of the files' contents, so memo keys (which
    hash the contents) cover it."""
    for path in graph.packages[name].all_files(tests):
        data = read_contents(path, contents)
        if data is not None and needs_bounds_report(data):
            return True
    return False


class BuildRunner:
    """The go commands of one engine: a semaphore of `max_processes` slots and the speculative
    build, if any."""

    def __init__(self, toolchain: Toolchain, max_processes: int) -> None:
        self.toolchain = toolchain
        self._slots = asyncio.Semaphore(max_processes)
        self._speculation: tuple[BuildRequest, asyncio.Future[BuildOutput]] | None = None

    def resize(self, max_processes: int) -> None:
        self._slots = asyncio.Semaphore(max_processes)

    def speculate(self, req: BuildRequest, on_package: Callable[[str], None] | None) -> None:
        """Start `req` now; `run` takes it over when asked for exactly the same command."""
        self.cancel_speculation()
        started = head_start.claim(build_command(self.toolchain.go, req))

        async def build() -> BuildOutput:
            async with self._slots:
                return await run_build(self.toolchain, req, on_package, started=started)

        self._speculation = (req, asyncio.ensure_future(build()))

    def cancel_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation[1].cancel()  # kills its go
            self._speculation = None

    def _speculated(self, req: BuildRequest) -> asyncio.Future[BuildOutput] | None:
        """The speculative build if it runs exactly `req`; any other one is killed."""
        spec, self._speculation = self._speculation, None
        if spec is not None and spec[0] == req:
            return spec[1]
        if spec is not None:
            spec[1].cancel()
        return None

    async def run(
        self,
        req: BuildRequest,
        on_package: Callable[[str], None] | None,
        prepare: Callable[[str | None], None],
    ) -> BuildOutput:
        """The output of `req` (the speculative build's if it is the same command); a timeout
        or a go that cannot start is an interrupted output, not an exception. `prepare` is
        called once go runs, with its GOTMPDIR (None: the speculative build's, already
        running)."""
        command = build_command(self.toolchain.go, req)
        try:
            running = self._speculated(req)
            if running is not None:
                prepare(None)  # the speculative build runs already
                out = await running
            else:
                started = head_start.claim(command)
                async with self._slots:
                    out = await run_build(self.toolchain, req, on_package, prepare, started)
        except (GoTimeout, OSError) as exc:
            return BuildOutput(-1, stderr=f"go build: {exc}", interrupted=True)
        head_start.note_used(command)
        return out
