"""Running go commands: asynchronously, in their own process group, killed on cancel/timeout.

Each command gets a fresh GOTMPDIR inside the private temp dir, removed when it ends, so a
killed `go build` leaves no `go-build*` dir behind in the system temp dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from escape_lsp.gotool.tempdir import private_subdir

#: Every live go process group, so a server that is told to exit can kill them all.
_LIVE: set[int] = set()
#: Go commands between "about to start" and "ended" (status: busy).
_active = 0
#: Tasks draining commands whose caller was cancelled while they were being started.
_draining: set[asyncio.Future[Any]] = set()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: str
    stderr: str


class GoTimeout(Exception):
    """The go command ran past its time limit and was killed."""


def running() -> int:
    """How many go commands run or are starting (status: never "idle" while one does)."""
    return _active


def _kill_when_started(starting: asyncio.Task[asyncio.subprocess.Process]) -> None:
    """The caller gave up while the command was starting: kill its group once it exists."""
    if starting.cancelled() or starting.exception() is not None:
        return
    proc = starting.result()
    _kill_group(proc.pid)
    drain = asyncio.ensure_future(proc.communicate())
    _draining.add(drain)
    drain.add_done_callback(_draining.discard)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def kill_all() -> None:
    """Kill every go process group still running (on exit, so none is orphaned)."""
    for pid in list(_LIVE):
        _kill_group(pid)
    _LIVE.clear()


def excerpt(text: str, limit: int = 600) -> str:
    """What a command printed, trimmed for a one-paragraph message."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _describe(argv: list[str]) -> str:
    return " ".join([os.path.basename(argv[0]), *argv[1:3]])


@contextlib.contextmanager
def _spawn_options(env: dict[str, str] | None) -> Iterator[dict[str, Any]]:
    """Options for one go command: its own process group and a fresh GOTMPDIR, removed after."""
    gotmp = private_subdir("gotmp-")
    try:
        yield {
            "env": {**os.environ, **(env or {}), "GOTMPDIR": gotmp},
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.PIPE,
            "stderr": subprocess.PIPE,
            "start_new_session": True,
        }
    finally:
        shutil.rmtree(gotmp, ignore_errors=True)


def _timed_out(argv: list[str], timeout: float | None) -> GoTimeout:
    return GoTimeout(f"`{_describe(argv)} …` took longer than {timeout:.0f}s")


async def run(
    argv: list[str],
    cwd: str | None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> ProcessResult:
    """Run `argv`; cancelling the awaiting task kills the command's whole process group.

    Raises GoTimeout (group killed) past `timeout`, OSError when the command cannot start.
    """
    global _active
    _active += 1
    try:
        return await _run(argv, cwd, env, timeout)
    finally:
        _active -= 1


async def _run(
    argv: list[str], cwd: str | None, env: dict[str, str] | None, timeout: float | None
) -> ProcessResult:
    with _spawn_options(env) as options:
        # Shielded: cancelled mid-start, asyncio would kill only the leader, not its group.
        starting = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, cwd=cwd, **options))
        try:
            proc = await asyncio.shield(starting)
        except asyncio.CancelledError:
            starting.add_done_callback(_kill_when_started)
            raise
        _LIVE.add(proc.pid)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            raise _timed_out(argv, timeout) from None
        except BaseException:
            _kill_group(proc.pid)
            with contextlib.suppress(BaseException):
                await asyncio.shield(proc.wait())
            raise
        finally:
            _LIVE.discard(proc.pid)
    code = proc.returncode if proc.returncode is not None else -1
    return ProcessResult(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def run_sync(
    argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None, timeout: float = 30
) -> ProcessResult:
    """`run` for callers without an event loop (the CLI's start-up checks)."""
    with _spawn_options(env) as options, subprocess.Popen(argv, cwd=cwd, **options) as proc:
        _LIVE.add(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            raise _timed_out(argv, timeout) from None
        except BaseException:
            _kill_group(proc.pid)
            raise
        finally:
            _LIVE.discard(proc.pid)
    return ProcessResult(
        proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )
