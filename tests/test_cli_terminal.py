"""The CLI at a terminal (a real pty) and in pipes: notices, progress, Ctrl-C, exit codes."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from escape_lsp.gotool.process import run
from escape_lsp.terminal import EXIT_INTERRUPTED, SERVE_NOTICE
from tests.conftest import WriteModule

CLI = [sys.executable, "-m", "escape_lsp"]
MODULE = {
    "a/a.go": "package a\n\nfunc A() *int { x := 1; return &x }\n",
    "b/b.go": "package b\n\nvar Sink any\n\nfunc B(n int) { Sink = n }\n",
    "c/c.go": "package c\n\nfunc C() []int { return make([]int, 8) }\n",
}


class Terminal:
    """A child process on a pseudo-terminal: what a person sees, and keys they press."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            os.chdir(cwd)
            os.execv(argv[0], argv)
        self.output = b""
        self.exited = False

    def read_until(self, wanted: bytes | None, timeout: float = 60) -> bytes:
        """Read until `wanted` shows (None: until the child closes the terminal)."""
        deadline = time.monotonic() + timeout
        while wanted is None or wanted not in self.output:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"waited {timeout}s for {wanted!r}; saw {self.output!r}")
            try:
                data = os.read(self.fd, 4096)
            except OSError:  # EIO: the child's side is closed
                data = b""
            if not data:
                if wanted is None:
                    break
                raise EOFError(f"terminal closed before {wanted!r}; saw {self.output!r}")
            self.output += data
        return self.output

    def press(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exit_status(self, timeout: float = 30) -> int:
        pidfd = os.pidfd_open(self.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout)
            assert ready, f"still running after {timeout}s: {self.output!r}"
        finally:
            os.close(pidfd)
        _, status = os.waitpid(self.pid, 0)
        self.exited = True
        return os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        if not self.exited:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal() -> Iterator[Callable[[list[str], Path], Terminal]]:
    """Start processes on terminals; whatever still runs at the end is killed."""
    started: list[Terminal] = []

    def start(argv: list[str], cwd: Path) -> Terminal:
        started.append(Terminal(argv, cwd))
        return started[-1]

    yield start
    for term in started:
        term.close()


def test_serve_in_a_terminal_says_what_it_is_and_stops_on_the_first_ctrl_c(
    terminal: Callable[[list[str], Path], Terminal], tmp_path: Path
) -> None:
    term = terminal([*CLI, "serve"], tmp_path)
    term.read_until(SERVE_NOTICE.encode())
    term.press(b"\x03")
    term.read_until(None)
    status = term.exit_status()
    assert status == EXIT_INTERRUPTED, term.output
    assert term.output.count(SERVE_NOTICE.encode()) == 1
    assert b"Traceback" not in term.output


def test_serve_in_a_terminal_also_stops_at_end_of_input(
    terminal: Callable[[list[str], Path], Terminal], tmp_path: Path
) -> None:
    term = terminal([*CLI, "serve"], tmp_path)
    term.read_until(SERVE_NOTICE.encode())
    term.press(b"\x04")  # Ctrl-D
    assert b"Traceback" not in term.read_until(None)
    assert term.exit_status() == 0


def test_serve_for_an_editor_prints_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "serve"], cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


def test_check_draws_progress_on_a_terminal_and_nothing_when_piped(
    terminal: Callable[[list[str], Path], Terminal], gomod: WriteModule
) -> None:
    root = gomod(MODULE)
    term = terminal([*CLI, "check", "--kinds", "all", "./..."], root)
    out = term.read_until(None)
    assert term.exit_status() == 0
    assert b"\r\x1b[Kescape-lsp: 0/3 packages analysed" in out
    assert b"\r\x1b[Kescape-lsp: 3/3 packages analysed\r\x1b[K" in out
    assert b"a/a.go:3:17: moved-to-heap: moved to heap: x" in out

    piped = subprocess.run(
        [*CLI, "check", "--kinds", "all", "./..."], cwd=root, capture_output=True, text=True
    )
    assert piped.returncode == 0 and piped.stderr == ""
    assert "a/a.go:3:17: moved-to-heap: moved to heap: x" in piped.stdout


def test_gcflags_value_may_follow_with_a_space(gomod: WriteModule) -> None:
    root = gomod(MODULE)

    def check(*args: str) -> str:
        proc = subprocess.run(
            [*CLI, "check", "--kinds", "all", *args, "./..."],
            cwd=root, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return proc.stdout

    assert "can-inline: can inline A" in check()
    spaced = check("--gcflags", "-l")
    assert spaced == check("--gcflags=-l")
    assert "can-inline" not in spaced and "moved to heap: x" in spaced
    assert "can-inline" not in check("--gcflags", "-l -m")


@pytest.mark.parametrize(
    ("args", "status", "stderr"),
    [
        (["check", "./..."], 0, ""),
        (["check", "--gcflags"], 2, "expected one argument"),
        (["check", "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
        (["check", "--kinds", "nope"], 2, "unknown kind 'nope'"),
        (["check", "./missing/..."], 2, "no such directory"),
        ([], 2, "the following arguments are required: command"),
    ],
)
def test_exit_codes(gomod: WriteModule, args: list[str], status: int, stderr: str) -> None:
    root = gomod(MODULE)
    proc = subprocess.run([*CLI, *args], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == status, proc.stderr
    assert stderr in proc.stderr and "Traceback" not in proc.stderr


async def test_command_output_reaches_the_line_handler_while_it_runs() -> None:
    """What progress lines stand on: whole lines, also those longer than one read."""
    seen: list[str] = []
    script = "import sys; print('x' * 200_000); print('é'); sys.stdout.write('tail')"
    res = await run([sys.executable, "-c", script], ".", on_line=seen.append)
    assert seen == ["x" * 200_000, "é"]
    assert res.returncode == 0 and res.stdout == "x" * 200_000 + "\né\ntail"
