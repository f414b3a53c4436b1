"""Running go commands: asynchronously, in their own process group, killed on cancel/timeout.

Each command gets a fresh GOTMPDIR inside the private temp dir, removed when it ends, so a
killed `go build` leaves no `go-build*` dir behind in the system temp dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from escape_lsp.gotool.head_start import Started
from escape_lsp.gotool.spawning import kill_group, spawn_options
from escape_lsp.gotool.tempdir import existing_root, private_subdir

#: Every live go process group, so a server that is told to exit can kill them all.
_LIVE: set[int] = set()
#: Go commands between "about to start" and "ended" (status: busy).
_active = 0
#: Tasks draining commands whose caller was cancelled while they were being started.
_draining: set[asyncio.Future[Any]] = set()
#: GOTMPDIRs a dying command wrote into while they were being removed; retried later.
_leftovers: set[str] = set()


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


def expect(task: asyncio.Future[Any]) -> None:
    """Count `task`, which will run go commands later, in `running` until it is done."""
    global _active
    _active += 1
    task.add_done_callback(_expected)


def _expected(_: asyncio.Future[Any]) -> None:
    global _active
    _active -= 1


def _kill_when_started(gotmp: str, starting: asyncio.Task[asyncio.subprocess.Process]) -> None:
    """The caller gave up while the command was starting: kill its group once it exists,
    and remove its GOTMPDIR once it has ended."""
    if starting.cancelled() or starting.exception() is not None:
        _remove(gotmp)
        return
    proc = starting.result()
    kill_group(proc.pid)

    async def drain() -> None:
        await proc.communicate()
        _remove(gotmp)

    task = asyncio.ensure_future(drain())
    _draining.add(task)
    task.add_done_callback(_draining.discard)


def kill_all() -> None:
    """Kill every go process group still running (on exit, so none is orphaned).

    Besides the groups this module knows, any process whose GOTMPDIR lies in the private dir
    is ours: a command cancelled while it was starting, or a tool its go left behind.
    """
    for pid in list(_LIVE):
        kill_group(pid)
    _LIVE.clear()
    root = existing_root()
    if root is not None:
        for pid in _processes_with_env(f"GOTMPDIR={root}{os.sep}".encode()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)  # never our own group: see below
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _processes_with_env(needle: bytes) -> list[int]:
    """PIDs (not this process's group) whose environment contains `needle`; Linux /proc."""
    found: list[int] = []
    own_group = os.getpgrp()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if needle in fh.read() and os.getpgid(int(name)) != own_group:
                    found.append(int(name))
        except OSError:
            continue
    return found


def excerpt(text: str, limit: int = 600) -> str:
    """What a command printed, trimmed for a one-paragraph message."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _describe(argv: list[str]) -> str:
    return " ".join([os.path.basename(argv[0]), *argv[1:3]])


def _remove(gotmp: str) -> None:
    """Remove a command's GOTMPDIR, and those earlier removals missed: a killed go or compile
    can still write for a moment after its leader was reaped."""
    _leftovers.add(gotmp)
    for path in list(_leftovers):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            _leftovers.discard(path)


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """Wait for a killed command's leader to exit, even if cancelled again meanwhile."""
    await _settle(asyncio.ensure_future(proc.wait()))


def _timed_out(argv: list[str], timeout: float | None) -> GoTimeout:
    return GoTimeout(f"`{_describe(argv)} …` took longer than {timeout:.0f}s")


async def _communicate(
    stdout: asyncio.StreamReader,
    stderr: asyncio.StreamReader,
    ended: Callable[[], Awaitable[object]],
    on_line: Callable[[str], None] | None,
) -> tuple[bytes, bytes]:
    """Both pipes read to their end, then the leader's exit awaited; each complete stdout
    line also goes to `on_line` as it comes, when given."""

    async def read_stdout() -> bytes:
        if on_line is None:
            return await stdout.read()
        data = bytearray()
        done = 0  # data[:done] has been split into lines
        while chunk := await stdout.read(1 << 16):
            data += chunk
            end = chunk.rfind(b"\n")  # not data's: a line of megabytes made that quadratic
            if end >= 0:
                end += len(data) - len(chunk)
                for line in bytes(data[done:end]).split(b"\n"):
                    on_line(line.decode("utf-8", "replace"))
                done = end + 1
        return bytes(data)

    out, err = await asyncio.gather(read_stdout(), stderr.read())
    await ended()
    return out, err


async def run(
    argv: list[str],
    cwd: str | None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    *,
    gotmp: str | None = None,
) -> ProcessResult:
    """Run `argv`; cancelling the awaiting task kills the command's whole process group.

    Raises GoTimeout (group killed) past `timeout`, OSError when the command cannot start.
    `on_line`, when given, sees each stdout line while the command runs (progress reports);
    `on_start` is called once the command runs (work to overlap with it), with its GOTMPDIR.
    `gotmp`: a private dir made for the command to be its GOTMPDIR (files it reads, files it
    writes), removed as a GOTMPDIR is: once the command has ended.
    """
    global _active
    _active += 1
    try:
        return await _run(argv, cwd, env, timeout, on_line, on_start, gotmp)
    finally:
        _active -= 1


async def _run(
    argv: list[str],
    cwd: str | None,
    env: dict[str, str] | None,
    timeout: float | None,
    on_line: Callable[[str], None] | None,
    on_start: Callable[[str], None] | None = None,
    gotmp: str | None = None,
) -> ProcessResult:
    # The GOTMPDIR goes only once go has ended: a dying go recreates its work dir (MkdirAll).
    gotmp = gotmp if gotmp is not None else private_subdir("gotmp-")
    # Shielded: cancelled mid-start, asyncio would kill only the leader, not its group.
    starting = asyncio.ensure_future(
        asyncio.create_subprocess_exec(*argv, cwd=cwd, **spawn_options(env, gotmp, cwd))
    )
    try:
        proc = await asyncio.shield(starting)
    except asyncio.CancelledError:
        starting.add_done_callback(functools.partial(_kill_when_started, gotmp))
        raise
    except BaseException:
        _remove(gotmp)
        raise

    async def talk() -> tuple[bytes, bytes]:
        if on_start is not None:
            on_start(gotmp)
        if on_line is None:
            return await proc.communicate()
        assert proc.stdout is not None and proc.stderr is not None
        return await _communicate(proc.stdout, proc.stderr, proc.wait, on_line)

    return await _outcome(
        proc.pid, argv, talk(), timeout, lambda: _reap(proc), gotmp, lambda: proc.returncode
    )


async def _outcome(
    pid: int,
    argv: Sequence[str],
    talk: Awaitable[tuple[bytes, bytes]],
    timeout: float | None,
    reap: Callable[[], Awaitable[None]],
    gotmp: str,
    returncode: Callable[[], int | None],
) -> ProcessResult:
    """What the command `pid` printed (`talk`), within `timeout`; timed out or cancelled, its
    group is killed and its leader reaped. Its GOTMPDIR goes once it has ended."""
    _LIVE.add(pid)
    try:
        out, err = await asyncio.wait_for(talk, timeout)
    except TimeoutError:
        kill_group(pid)
        await reap()
        raise _timed_out(list(argv), timeout) from None
    except BaseException:
        kill_group(pid)
        await reap()
        raise
    finally:
        _LIVE.discard(pid)
        _remove(gotmp)
    code = returncode()
    return ProcessResult(
        -1 if code is None else code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


async def adopt(
    started: Started, timeout: float | None, on_line: Callable[[str], None] | None = None
) -> ProcessResult:
    """`run` for a command `head_start` started before there was an event loop: its pipes
    are read here and its end awaited; cancelling the awaiting task kills its group."""
    global _active
    _active += 1
    popen = started.popen
    loop = asyncio.get_running_loop()
    ended, waiter = _leader_exit(loop, popen)

    async def talk() -> tuple[bytes, bytes]:
        assert popen.stdout is not None and popen.stderr is not None
        stdout, stderr = asyncio.StreamReader(), asyncio.StreamReader()
        for reader, pipe in ((stdout, popen.stdout), (stderr, popen.stderr)):
            await loop.connect_read_pipe(
                functools.partial(asyncio.StreamReaderProtocol, reader), pipe
            )
        # shielded: a timeout or a cancel must not cancel `ended`, which `_settle` waits for
        printed = await _communicate(stdout, stderr, lambda: asyncio.shield(ended), on_line)
        waiter.join()  # ending now: a process with other threads does not fork (two_cores)
        return printed

    try:
        return await _outcome(
            popen.pid,
            started.command.argv,
            talk(),
            timeout,
            lambda: _settle(ended),
            started.gotmp,
            lambda: popen.returncode,
        )
    finally:
        _active -= 1


def _leader_exit(
    loop: asyncio.AbstractEventLoop, popen: subprocess.Popen[bytes]
) -> tuple[asyncio.Future[int], threading.Thread]:
    """The exit code of `popen`'s leader, from a thread that waits for it (and then ends)."""
    ended: asyncio.Future[int] = loop.create_future()

    def settle(code: int) -> None:
        if not ended.done():
            ended.set_result(code)

    def wait() -> None:
        code = popen.wait()
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(settle, code)

    waiter = threading.Thread(target=wait, name="escape-lsp-go-wait", daemon=True)
    waiter.start()
    return ended, waiter


async def _settle(ended: asyncio.Future[int]) -> None:
    """Wait for `ended` (a killed command's leader exiting), even if cancelled meanwhile."""
    while not ended.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(ended)


async def run_in_thread(
    argv: list[str], cwd: str | None, env: dict[str, str] | None, timeout: float
) -> ProcessResult:
    """`run_sync` in a thread, for work in the background that nothing awaits to the end: a
    loop that ends while asyncio starts a subprocess can hang in its shutdown (cancelled
    mid-start, the transport waits for pipes that never connect). A cancelled caller leaves
    the command to end by itself. Counted in `running` like `run`."""
    global _active
    _active += 1
    try:
        return await asyncio.to_thread(run_sync, argv, cwd, env, timeout)
    finally:
        _active -= 1


def run_sync(
    argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None, timeout: float = 30
) -> ProcessResult:
    """`run` for callers without an event loop (the CLI's start-up checks)."""
    gotmp = private_subdir("gotmp-")
    try:
        with subprocess.Popen(argv, cwd=cwd, **spawn_options(env, gotmp, cwd)) as proc:
            _LIVE.add(proc.pid)
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                raise _timed_out(argv, timeout) from None
            except BaseException:
                kill_group(proc.pid)
                raise
            finally:
                _LIVE.discard(proc.pid)
    finally:
        _remove(gotmp)  # after Popen's exit waited for the leader
    return ProcessResult(
        proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )
