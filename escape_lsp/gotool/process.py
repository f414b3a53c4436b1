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
from dataclasses import dataclass

from escape_lsp.gotool.tempdir import private_subdir

#: Every live go process group, so a server that is told to exit can kill them all.
_LIVE: set[int] = set()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: str
    stderr: str


class GoTimeout(Exception):
    """The go command ran past its time limit and was killed."""


def running() -> int:
    """How many go commands run right now (status: never "idle" while one does)."""
    return len(_LIVE)


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


def _env(extra: dict[str, str] | None, gotmp: str) -> dict[str, str]:
    return {**os.environ, **(extra or {}), "GOTMPDIR": gotmp}


async def run(
    argv: list[str],
    cwd: str | None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> ProcessResult:
    """Run `argv`; cancelling the awaiting task kills the command's whole process group.

    Raises GoTimeout (group killed) past `timeout`, OSError when the command cannot start.
    """
    gotmp = private_subdir("gotmp-")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=_env(env, gotmp),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except BaseException:
        shutil.rmtree(gotmp, ignore_errors=True)
        raise
    _LIVE.add(proc.pid)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        raise GoTimeout(f"`{_describe(argv)} …` took longer than {timeout:.0f}s") from None
    except BaseException:
        _kill_group(proc.pid)
        with contextlib.suppress(BaseException):
            await asyncio.shield(proc.wait())
        raise
    finally:
        _LIVE.discard(proc.pid)
        shutil.rmtree(gotmp, ignore_errors=True)
    return ProcessResult(
        proc.returncode if proc.returncode is not None else -1,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def run_sync(
    argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None, timeout: float = 30
) -> ProcessResult:
    """`run` for callers without an event loop (the CLI's start-up checks)."""
    gotmp = private_subdir("gotmp-")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_env(env, gotmp),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except BaseException:
        shutil.rmtree(gotmp, ignore_errors=True)
        raise
    _LIVE.add(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait()
        raise GoTimeout(f"`{_describe(argv)} …` took longer than {timeout:.0f}s") from None
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        _LIVE.discard(proc.pid)
        shutil.rmtree(gotmp, ignore_errors=True)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return ProcessResult(
        proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )
