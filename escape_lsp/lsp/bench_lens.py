"""Benchmarks as evidence in the editor: a code lens on each `func BenchmarkX(b *testing.B)`.

"measure allocations" runs it (`go test -run '^$' -bench '^BenchmarkX$' -benchmem -memprofile`,
unsaved buffers through -overlay) with work-done progress the user can cancel (the go process
group is killed). Afterwards the lens reads `2 allocs/op · 56 B/op · 310 ns/op` and the
findings gain measured weight (hovers, inlay hints, `severityByWeight`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp

from escape_lsp.analysis.errors import EXPECTED_FAILURES, MeasureError
from escape_lsp.analysis.measure import measure_benchmark
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.views import FileView
from escape_lsp.findings.benchmarks import benchmarks, is_test_file
from escape_lsp.findings.positions import Encoding
from escape_lsp.gotool.bench import BenchResult
from escape_lsp.lsp import publishing
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.convert import path_to_uri, to_range, uri_to_path
from escape_lsp.lsp.state import EscapeServer
from escape_lsp.report.weights import bench_figures

log = logging.getLogger("escape_lsp")

MEASURE = "escapeLsp.measureBenchmark"
IDLE_TITLE = "measure allocations"
_FAILURES: tuple[type[Exception], ...] = (MeasureError, *EXPECTED_FAILURES)
RUNNING_TITLE = "measuring allocations…"


@dataclass
class Measurements:
    """Measurements in flight, by (test file, benchmark): a second click supersedes the first."""

    running: dict[tuple[str, str], asyncio.Task[Any]] = field(default_factory=dict)
    #: The profile file last loaded from the `profile` setting.
    profile: str | None = None


def _package_of(snapshot: Snapshot, path: str) -> str | None:
    root = snapshot.root_of(path)
    graph = root.engine.current_graph if root else None
    pkg = graph.package_of(path) if graph else None
    return pkg.import_path if pkg else None


def _title(results: list[BenchResult], running: bool, stale: bool) -> str:
    if running:
        return RUNNING_TITLE
    if not results:
        return IDLE_TITLE
    title = bench_figures(results[0])
    if len(results) > 1:
        title = f"{len(results)} sub-benchmarks · first: {title}"
    return title + (" (before your edits; click to measure again)" if stale else "")


def bench_lenses(
    snapshot: Snapshot,
    view: FileView,
    encoding: Encoding,
    settings: ServerSettings,
    measurements: Measurements,
) -> list[lsp.CodeLens]:
    if not settings.code_lens or view.source is None or not is_test_file(view.path):
        return []
    package = _package_of(snapshot, view.path)
    measured = snapshot.evidence.benchmarks if snapshot.evidence else ()
    stale = view.evidence is not None and not view.evidence.measured(view.path)
    uri = path_to_uri(view.path)
    lenses = []
    for decl in benchmarks(view.source):
        results = [b for b in measured if b.package == package and b.function == decl.name]
        running = (view.path, decl.name) in measurements.running
        rng = to_range(view.source.lines, decl.name_span, encoding)
        title = _title(results, running, stale and bool(results))
        lenses.append(
            lsp.CodeLens(rng, lsp.Command(title=title, command=MEASURE, arguments=[uri, decl.name]))
        )
    return lenses


class _Progress:
    """Work-done progress for one measurement, cancellable from the client."""

    def __init__(self, ls: EscapeServer, title: str) -> None:
        self.ls = ls
        self.title = title
        self.token = f"escape-lsp/measure/{uuid.uuid4().hex}"
        window = ls.caps().window
        self.enabled = bool(window and window.work_done_progress)
        self.cancelled = False

    async def begin(self, task: asyncio.Task[Any]) -> None:
        if not self.enabled:
            return
        await self.ls.work_done_progress.create_async(self.token)
        self.ls.work_done_progress.begin(
            self.token,
            lsp.WorkDoneProgressBegin(self.title, cancellable=True, message="building"),
        )
        loop = asyncio.get_running_loop()

        def on_cancel(fut: Future[Any]) -> None:
            if fut.cancelled():
                self.cancelled = True
                loop.call_soon_threadsafe(task.cancel)

        self.ls.work_done_progress.tokens[self.token].add_done_callback(on_cancel)

    def line(self, text: str) -> None:
        """go test's output as it comes: say which benchmark finished."""
        if self.enabled and text.startswith("Benchmark"):
            message = text.split()[0]
            self.ls.work_done_progress.report(
                self.token, lsp.WorkDoneProgressReport(message=f"{message} done")
            )

    def end(self, message: str) -> None:
        if not self.enabled:
            return
        self.ls.work_done_progress.end(self.token, lsp.WorkDoneProgressEnd(message=message))
        self.ls.work_done_progress.tokens.pop(self.token, None)


def _refresh_lenses(ls: EscapeServer) -> None:
    ws = ls.caps().workspace
    if ws and ws.code_lens and ws.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)


def _result_json(results: list[BenchResult]) -> dict[str, Any]:
    first = results[0]
    return {
        "benchmark": first.name,
        "package": first.package,
        "iterations": first.iterations,
        "allocsPerOp": first.allocs_per_op,
        "bytesPerOp": first.bytes_per_op,
        "nsPerOp": first.ns_per_op,
        "title": bench_figures(first),
    }


async def measure(ls: EscapeServer, measurements: Measurements, *args: Any) -> dict[str, Any]:
    """The lens's command: `[uri, benchmark name]` -> the benchmark's figures (or why not)."""
    if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
        return {"error": f"{MEASURE} takes a test file URI and a benchmark name"}
    path, name = uri_to_path(args[0]), args[1]
    session = ls.session
    if session is None or path is None:
        return {"error": ls.toolchain_error or "escape-lsp is not ready"}
    key = (path, name)
    task = asyncio.current_task()
    assert task is not None
    previous = measurements.running.get(key)
    if previous is not None:
        previous.cancel()
    measurements.running[key] = task
    progress = _Progress(ls, f"Measuring {name}")
    _refresh_lenses(ls)
    try:
        await progress.begin(task)
        engine = await session.workspace.engine_for(path)
        if engine is None:
            raise MeasureError(session.snapshot.problem_for(path) or f"{path}: not in a module")
        evidence = await measure_benchmark(
            engine, path, name, session.snapshot.overlays, ls.settings.bench_flags, progress.line
        )
    except _FAILURES as exc:
        progress.end("failed")
        log.warning("measuring %s failed: %s", name, exc)
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, str(exc)))
        return {"error": str(exc)}
    except asyncio.CancelledError:
        progress.end("cancelled")
        if progress.cancelled:
            return {"cancelled": True}
        raise
    finally:
        if measurements.running.get(key) is task:
            del measurements.running[key]
        _refresh_lenses(ls)
    earlier = session.snapshot.evidence
    session.workspace.set_evidence(evidence.with_benchmarks(earlier.benchmarks if earlier else ()))
    results = [b for b in evidence.benchmarks if b.function == name]
    progress.end(bench_figures(results[0]) if results else "done")
    await publishing.publish(ls, set(session.snapshot.buffers))
    return _result_json(results) if results else {"error": f"{name} reported no result"}
