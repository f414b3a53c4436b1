"""A minimal stdio LSP client for benchmarks: timestamps every message it receives."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from typing import Any


class Client:
    def __init__(self, proc: asyncio.subprocess.Process, settings: dict[str, Any]) -> None:
        self.proc = proc
        self.settings = settings
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.diagnostics: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls,
        settings: dict[str, Any],
        repo: str | None = None,
        python: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Client:
        """Start the server; `repo` runs another checkout's escape_lsp (e.g. an older commit),
        `python` another interpreter (e.g. a venv with an older release installed). In-process
        unless `env` asks for the resident server (peak RSS is read from the spawned process)."""
        env = {**os.environ, "ESCAPE_LSP_RESIDENT": "off", **(env or {})}
        if repo:
            env["PYTHONPATH"] = repo
        proc = await asyncio.create_subprocess_exec(
            python or sys.executable, "-m", "escape_lsp", "serve",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=env, cwd=repo,
        )  # fmt: skip
        return cls(proc, settings)

    def _send(self, msg: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> Any:
        rid = next(self.ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        self._send({"id": rid, "method": method, "params": params})
        return await fut

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            header = await out.readuntil(b"\r\n\r\n")
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            msg = json.loads(await out.readexactly(length))
            now = time.perf_counter()
            if "method" in msg and "id" in msg:  # a request from the server
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [self.settings for _ in msg["params"]["items"]]
                self._send({"id": msg["id"], "result": result})
            elif "method" in msg:
                if msg["method"] == "textDocument/publishDiagnostics":
                    self.diagnostics.put_nowait((now, msg["params"]))
            elif msg.get("id") in self.pending:
                self.pending.pop(msg["id"]).set_result(msg.get("result"))

    async def initialize(self, root_uri: str) -> None:
        caps = {
            "workspace": {"configuration": True},
            "textDocument": {"publishDiagnostics": {"versionSupport": True}},
            "workspaceEdit": {"documentChanges": True},
            "general": {"positionEncodings": ["utf-16"]},
        }
        await self.request(
            "initialize", {"processId": None, "rootUri": root_uri, "capabilities": caps,
                           "workspaceFolders": [{"uri": root_uri, "name": "bench"}]},
        )  # fmt: skip
        self.notify("initialized", {})

    async def published(self, uri: str, version: int, timeout: float = 120) -> float:
        """Time at which diagnostics for `uri` at `version` arrived."""
        async with asyncio.timeout(timeout):
            while True:
                when, params = await self.diagnostics.get()
                if params["uri"] == uri and params.get("version") == version:
                    return when

    def peak_rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    async def close(self) -> None:
        await self.request("shutdown", None)
        self.notify("exit", None)
        await self.proc.wait()
        self.reader.cancel()
