"""Running go commands: asynchronously, in their own process group, killed on cancel/timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass

#: Every live go process group, so a server that is told to exit can kill them all.
_LIVE: set[int] = set()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: str
    stderr: str


class GoTimeout(Exception):
    """The go command ran past its time limit and was killed."""


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def kill_all() -> None:
    """Kill every go process group still running (on exit, so none is orphaned)."""
    for pid in list(_LIVE):
        _kill_group(pid)
    _LIVE.clear()


async def run(
    argv: list[str], cwd: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> ProcessResult:
    """Run `argv`; cancelling the awaiting task kills the command's whole process group."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    _LIVE.add(proc.pid)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        raise GoTimeout(f"`{' '.join(argv[:3])} …` took longer than {timeout:.0f}s") from None
    except BaseException:
        _kill_group(proc.pid)
        with contextlib.suppress(BaseException):
            await asyncio.shield(proc.wait())
        raise
    finally:
        _LIVE.discard(proc.pid)
    return ProcessResult(
        proc.returncode if proc.returncode is not None else -1,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )
