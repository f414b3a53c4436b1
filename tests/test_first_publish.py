"""A spawned server publishes its first diagnostics before pygls is imported
(`lsp/first_publish.py`), and then the server takes over as if it had read everything itself.

Driven over stdio with a plain client, so the order of what the server writes is seen exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp

from escape_lsp.lsp import first_answer
from tests.conftest import WriteModule
from tests.fakego import fake_go

CLIENTS = Path(pytest_lsp.__file__).parent / "clients"
#: A push client that answers the settings request (as VS Code does).
PUSH_CAPS = {
    "workspace": {"configuration": True},
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
    "general": {"positionEncodings": ["utf-8", "utf-16"]},
}
#: A client that pulls diagnostics and can be told to pull again (as VS Code's does).
PULL_CAPS = {
    **PUSH_CAPS,
    "workspace": {"configuration": True, "diagnostics": {"refreshSupport": True}},
    "textDocument": {"diagnostic": {"dynamicRegistration": False}},
}
SRC = """
package p

type T struct{ n int }

func Leak() *T {
	t := T{n: 1}
	return &t
}

func Sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
"""


@pytest.mark.parametrize(
    "params",
    [
        json.loads((CLIENTS / "visual_studio_code_v1.65.2.json").read_text()),
        json.loads((CLIENTS / "neovim_v0.11.0.json").read_text()),
        json.loads((CLIENTS / "emacs_v29.1.json").read_text()),
        {"processId": None, "rootUri": None, "capabilities": PUSH_CAPS},
        {"processId": None, "rootUri": None, "capabilities": {}},
    ],
    ids=["vscode", "neovim", "emacs", "utf-8", "no-capabilities"],
)
def test_the_kept_answer_is_the_servers(params: dict[str, Any]) -> None:
    """`initialize_answer.json` is what pygls answers now (regenerate it with
    `python -m escape_lsp.lsp.first_answer` after adding a feature)."""
    assert first_answer.answer(params) == first_answer.ask_server(params)


class RawClient:
    """Messages as the server writes them, in order, each with the time it arrived."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[tuple[float, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, root: Path, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> RawClient:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "escape_lsp", "serve",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=cwd or root,
            env={**os.environ, first_answer.FIRST_PUBLISH_ENV: "on", **(env or {})},
        )  # fmt: skip
        return cls(proc)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            header = await out.readuntil(b"\r\n\r\n")
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            message = json.loads(await out.readexactly(length))
            self.log.append((time.time(), message))
            self.arrived.set()
            if message.get("method") == "workspace/configuration":
                self.send({"id": message["id"], "result": [{"escapeLsp": {}}]})
            elif "id" in message and "method" in message:
                self.send({"id": message["id"], "result": None})

    async def wait_for(self, predicate: Any, count: int = 1, timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while sum(1 for _, m in self.log if predicate(m)) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def start_session(
        self, root: Path, target: Path, caps: dict[str, Any] = PUSH_CAPS, settings: Any = None
    ) -> None:
        """As editors start: VS Code and Neovim send `didChangeConfiguration` at once (VS Code
        with null settings, Neovim with the plugin's)."""
        uri = target.as_uri()
        params = {"processId": None, "rootUri": root.as_uri(), "capabilities": caps}
        self.send({"id": 1, "method": "initialize", "params": params})
        self.send({"method": "initialized", "params": {}})
        changed = {"settings": settings}
        self.send({"method": "workspace/didChangeConfiguration", "params": changed})
        doc = {"uri": uri, "languageId": "go", "version": 1, "text": target.read_text()}
        self.send({"method": "textDocument/didOpen", "params": {"textDocument": doc}})

    async def end(self) -> str:
        self.send({"id": 99, "method": "shutdown"})
        await self.wait_for(lambda m: m.get("id") == 99 and "method" not in m)
        self.send({"method": "exit"})
        assert self.proc.stderr is not None
        err = await self.proc.stderr.read()
        assert await self.proc.wait() == 0
        self.reader.cancel()
        return err.decode()


def _published(m: dict[str, Any]) -> bool:
    return m.get("method") == "textDocument/publishDiagnostics"


def _server_settings_request(m: dict[str, Any]) -> bool:
    """The server's own request (pygls numbers its requests), not the first publish's."""
    return (
        m.get("method") == "workspace/configuration"
        and m["id"] != "escape-lsp/first-publish/configuration"
    )


async def test_first_diagnostics_come_before_the_server_and_equal_its_own(
    gomod: WriteModule,
) -> None:
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    client = await RawClient.start(root)
    client.start_session(root, target, settings={"escapeLsp": {"kinds": ["heap"]}})
    await client.wait_for(_published)
    # At once, over a diagnostic the editor shows: the server answers once it has caught up.
    first_diag = next(m for _, m in client.log if _published(m))["params"]["diagnostics"][0]
    hover = {"textDocument": {"uri": target.as_uri()}, "position": first_diag["range"]["start"]}
    client.send({"id": 7, "method": "textDocument/hover", "params": hover})
    await client.wait_for(lambda m: m.get("id") == 7 and "method" not in m)
    await client.wait_for(_published, count=2)
    err = await client.end()
    (hovered,) = [m["result"] for _, m in client.log if m.get("id") == 7]
    assert hovered is not None and first_diag["message"] in json.dumps(hovered)

    messages = [m for _, m in client.log]
    answers = [m for m in messages if m.get("id") == 1 and "method" not in m]
    assert len(answers) == 1, "initialize is answered once"
    assert answers[0]["result"]["capabilities"]["positionEncoding"] == "utf-8"
    first = next(i for i, m in enumerate(messages) if _published(m))
    server = next(i for i, m in enumerate(messages) if _server_settings_request(m))
    assert first < server, "the first diagnostics come before the server reads its messages"
    published = [m["params"] for m in messages if _published(m)]
    assert published[0]["diagnostics"], "moved to heap: t"
    assert all(p == published[0] for p in published), "the server publishes the same again"
    assert published[0]["version"] == 1
    assert "before the server" in err


async def test_a_pull_client_gets_its_first_pull_answered_before_the_server(
    gomod: WriteModule,
) -> None:
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    client = await RawClient.start(root)
    client.start_session(root, target, PULL_CAPS)
    pull = {"textDocument": {"uri": target.as_uri()}}
    client.send({"id": 5, "method": "textDocument/diagnostic", "params": pull})
    await client.wait_for(lambda m: m.get("method") == "workspace/diagnostic/refresh")
    client.send({"id": 6, "method": "textDocument/diagnostic", "params": pull})
    await client.wait_for(lambda m: m.get("id") == 6 and "method" not in m)
    err = await client.end()

    messages = [m for _, m in client.log]
    first = next(i for i, m in enumerate(messages) if m.get("id") == 5)
    server = next(i for i, m in enumerate(messages) if _server_settings_request(m))
    assert first < server, "the first pull is answered before the server reads its messages"
    (answer,) = [m["result"] for m in messages if m.get("id") == 5]
    (again,) = [m["result"] for m in messages if m.get("id") == 6]
    assert answer["kind"] == "full" and answer["items"]
    assert answer == again
    assert not any(_published(m) for m in messages), "a pull client gets nothing pushed"
    assert "before the server" in err


async def test_a_request_before_the_first_diagnostics_is_answered_by_the_caught_up_server(
    gomod: WriteModule,
) -> None:
    """Editors ask for hints, lenses and code actions as a file opens: the request waits,
    and the server answers it once it has what the first publish showed."""
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    client = await RawClient.start(root)
    client.start_session(root, target)
    hover = {"textDocument": {"uri": target.as_uri()}, "position": {"line": 5, "character": 1}}
    client.send({"id": 7, "method": "textDocument/hover", "params": hover})
    await client.wait_for(lambda m: m.get("id") == 7 and "method" not in m)
    err = await client.end()

    messages = [m for _, m in client.log]
    assert sum(1 for m in messages if m.get("id") == 1 and "method" not in m) == 1
    published = next(i for i, m in enumerate(messages) if _published(m))
    answered = next(i for i, m in enumerate(messages) if m.get("id") == 7)
    assert published < answered
    assert "moved to heap: t" in json.dumps(messages[answered]["result"])
    assert "before the server" in err


async def test_an_edit_before_the_first_diagnostics_hands_over(gomod: WriteModule) -> None:
    """The first publish steps aside; nothing read is lost: the server sees the edit."""
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    client = await RawClient.start(root)
    client.start_session(root, target)
    edited = SRC.replace("return &t", "return nil")
    change = {
        "textDocument": {"uri": target.as_uri(), "version": 2},
        "contentChanges": [{"text": edited}],
    }
    client.send({"method": "textDocument/didChange", "params": change})
    await client.wait_for(lambda m: _published(m) and m["params"].get("version") == 2)
    err = await client.end()

    messages = [m for _, m in client.log]
    assert sum(1 for m in messages if m.get("id") == 1 and "method" not in m) == 1
    last = [m["params"] for m in messages if _published(m)][-1]
    assert not any("moved to heap: t" in d["message"] for d in last["diagnostics"])
    assert "before the server" not in err


async def test_off_means_the_server_answers_everything(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": SRC})
    target = root / "p" / "p.go"
    client = await RawClient.start(root, {first_answer.FIRST_PUBLISH_ENV: "off"})
    client.start_session(root, target)
    await client.wait_for(_published)
    err = await client.end()
    messages = [m for _, m in client.log]
    assert not any(m.get("id") == "escape-lsp/first-publish/configuration" for m in messages)
    assert "before the server" not in err


async def test_a_spawn_starts_the_build_the_last_one_used_before_it_reads_initialize(
    gomod: WriteModule, tmp_path: Path
) -> None:
    """As `check`'s head start: the build the last first publish from this directory used
    starts before the analysis is imported, when what it read has changed."""
    root = gomod({"p/p.go": SRC}, sub="mod")
    target = root / "p" / "p.go"
    log = tmp_path / "go.log"
    bin_dir = tmp_path / "bin"
    fake_go(bin_dir, f'echo "$(date +%s.%N) $1" >> \'{log}\'\nexec "$REAL_GO" "$@"')
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ESCAPE_LSP_CACHE": str(tmp_path / "cache"),
        "ESCAPE_LSP_RUNTIME_DIR": str(runtime),
    }

    async def spawn() -> tuple[float, list[float]]:
        log.unlink(missing_ok=True)
        client = await RawClient.start(root, env, cwd=tmp_path)  # started outside the module
        client.start_session(root, target)
        await client.wait_for(_published)
        await client.end()
        answered = next(t for t, m in client.log if m.get("id") == 1 and "method" not in m)
        lines = [line.split() for line in log.read_text().splitlines()]
        return answered, [float(when) for when, verb in lines if verb == "build"]

    answered, builds = await spawn()  # no record yet
    assert builds and builds[0] > answered
    (root / "p" / "more.go").write_text("package p\n\nfunc More() *int { m := 1; return &m }\n")
    answered, builds = await spawn()
    assert builds and builds[0] < answered, "the recorded build starts before initialize"
