"""Fault injection helpers: `go` commands that misbehave, and a raw-frame LSP client.

A fake go is a small sh script in a temp dir. `passthrough` fakes hand every command they do
not intercept to the real go, so they behave exactly like it except where a test says not to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import live_processes_in_group

REAL_GO = shutil.which("go") or "go"

SERVER = [sys.executable, "-m", "escape_lsp", "serve"]


def fake_go(directory: Path, body: str, name: str = "go") -> Path:
    """An executable sh script `directory/name` running `body` ($REAL_GO is the real go)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\nREAL_GO='{REAL_GO}'\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def logging_go(directory: Path, log: Path, intercept: str = "") -> Path:
    """A go that appends each invocation's argv to `log`, runs `intercept` (sh `case` arms on
    "$1"), then execs the real go."""
    return fake_go(
        directory,
        f"""echo "$*" >> '{log}'
case "$1" in
{intercept}
esac
exec "$REAL_GO" "$@\"""",
    )


def invocations(log: Path, verb: str) -> list[str]:
    """Logged argv lines of `go <verb> …`."""
    if not log.exists():
        return []
    return [line for line in log.read_text().splitlines() if line.split(" ", 1)[0] == verb]


async def appears(path: Path, timeout: float = 30) -> None:
    """Until a fake go signals progress by creating `path` (it cannot send us a message)."""
    async with asyncio.timeout(timeout):
        while not path.exists():
            await asyncio.sleep(0.02)


async def shows_env(pid: int, needle: bytes, timeout: float = 30) -> None:
    """Until process `pid`'s environment (as /proc shows it) contains `needle`."""

    def environ() -> bytes:
        try:
            return Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return b""

    async with asyncio.timeout(timeout):
        while needle not in environ():
            await asyncio.sleep(0.02)


async def group_ends(pgid: int, timeout: float = 5) -> None:
    """Until no live process is left in the process group (killed ones may take a moment)."""
    async with asyncio.timeout(timeout):
        while live_processes_in_group(pgid):
            await asyncio.sleep(0.02)


def tree_digest(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (to prove nothing was written)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def frame(obj: Any) -> bytes:
    body = json.dumps(obj).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def request(msg_id: int, method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def did_change(path: Path, version: int, *changes: dict[str, Any]) -> dict[str, Any]:
    """A didChange notification; a change without "range" is the full text."""
    ident = {"uri": path.as_uri(), "version": version}
    return notification(
        "textDocument/didChange", {"textDocument": ident, "contentChanges": list(changes)}
    )


class RawServer:
    """The real server over stdio, spoken to frame by frame (to send what no client would)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.messages: list[dict[str, Any]] = []
        #: When each message arrived (wall clock, to compare with other processes' logs).
        self.arrived_at: list[float] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, env: dict[str, str] | None = None, cwd: Path | None = None, args: tuple[str, ...] = ()
    ) -> RawServer:
        proc = await asyncio.create_subprocess_exec(
            *SERVER,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        return cls(proc)

    async def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            try:
                header = await out.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            length = next(
                int(line.split(b":")[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            self.messages.append(json.loads(await out.readexactly(length)))
            self.arrived_at.append(time.time())
            self._arrived.set()

    def send(self, *objs: Any) -> None:
        self.send_raw(b"".join(frame(o) for o in objs))

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    async def expect(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """The first message (seen or to come) satisfying `predicate`."""
        async with asyncio.timeout(timeout):
            seen = 0
            while True:
                for msg in self.messages[seen:]:
                    if predicate(msg):
                        return msg
                seen = len(self.messages)
                self._arrived.clear()
                await self._arrived.wait()

    async def response(self, msg_id: int, timeout: float = 30) -> dict[str, Any]:
        return await self.expect(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    async def answer_requests(self) -> None:
        """Answer the server's own requests (configuration, registrations) with nothing."""
        answered: set[Any] = set()
        while True:
            msg = await self.expect(
                lambda m: "method" in m and "id" in m and m["id"] not in answered
            )
            answered.add(msg["id"])
            result: Any = [None] if msg["method"] == "workspace/configuration" else None
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})

    async def idle(self, first_id: int, timeout: float = 30) -> dict[str, Any]:
        """Ask `escapeLsp.status` until it says idle (no build, no go command); its answer."""
        async with asyncio.timeout(timeout):
            msg_id = first_id
            while True:
                self.send(
                    request(msg_id, "workspace/executeCommand", {"command": "escapeLsp.status"})
                )
                status: dict[str, Any] = (await self.response(msg_id))["result"]
                if status["state"] == "idle":
                    return status
                msg_id += 1

    async def stderr_tail(self, size: int = 3000) -> str:
        """What the server wrote to stderr (once it has exited), for failure messages."""
        assert self.proc.stderr is not None
        return (await self.proc.stderr.read()).decode("utf-8", "replace")[-size:]

    def logs(self) -> list[str]:
        return [
            m["params"]["message"]
            for m in self.messages
            if m.get("method") in ("window/logMessage", "window/showMessage")
        ]

    async def initialize(self, root: Path, settings: dict[str, Any] | None = None) -> None:
        self.send(
            request(
                1,
                "initialize",
                {
                    "processId": os.getpid(),
                    "rootUri": root.as_uri(),
                    "capabilities": {},
                    "initializationOptions": {"escapeLsp": {"debounceMs": 50, **(settings or {})}},
                },
            ),
            notification("initialized", {}),
        )
        await self.response(1)

    def open(self, path: Path, text: str | None = None, version: int = 1) -> None:
        doc = {
            "uri": path.as_uri(),
            "languageId": "go",
            "version": version,
            "text": path.read_text() if text is None else text,
        }
        self.send(notification("textDocument/didOpen", {"textDocument": doc}))

    async def diagnostics(
        self, path: Path, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60
    ) -> list[dict[str, Any]]:
        msg = await self.expect(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == path.as_uri()
                and predicate(m["params"]["diagnostics"])
            ),
            timeout,
        )
        return list(msg["params"]["diagnostics"])

    async def end_by(self, how: str, timeout: float = 10) -> int:
        """End the server as an editor does without `shutdown`: `sigterm`, or `stdin-closed`
        (the editor is gone); its exit code."""
        if how == "sigterm":
            self.proc.send_signal(signal.SIGTERM)
        else:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        async with asyncio.timeout(timeout):
            return await self.proc.wait()

    async def stop(self) -> int:
        """Shutdown and exit politely, or kill; the exit code."""
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                self.send(request(999_999, "shutdown", None))
                await self.response(999_999, timeout=10)
                self.send(notification("exit", None))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self.proc.wait()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        self._reader.cancel()
        return self.proc.returncode if self.proc.returncode is not None else -1


def rss_mib(pid: int) -> float:
    """Resident memory of a live process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")
