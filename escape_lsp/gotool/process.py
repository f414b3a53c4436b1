"""Running go commands: asynchronously, in their own process group, killed on cancel/timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
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


async def _communicate(
    proc: asyncio.subprocess.Process, on_line: Callable[[str], None]
) -> tuple[bytes, bytes]:
    """`proc.communicate()`, also handing each complete stdout line to `on_line` as it comes."""
    assert proc.stdout is not None and proc.stderr is not None
    stdout = proc.stdout

    async def read_stdout() -> bytes:
        data = bytearray()
        done = 0  # data[:done] has been split into lines
        while chunk := await stdout.read(1 << 16):
            data += chunk
            end = data.rfind(b"\n")
            if end >= done:
                for line in bytes(data[done:end]).split(b"\n"):
                    on_line(line.decode("utf-8", "replace"))
                done = end + 1
        return bytes(data)

    out, err = await asyncio.gather(read_stdout(), proc.stderr.read())
    await proc.wait()
    return out, err


async def run(
    argv: list[str],
    cwd: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> ProcessResult:
    """Run `argv`; cancelling the awaiting task kills the command's whole process group.

    `on_line`, when given, sees each stdout line while the command runs (progress reports).
    """
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
        talk = proc.communicate() if on_line is None else _communicate(proc, on_line)
        out, err = await asyncio.wait_for(talk, timeout)
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
