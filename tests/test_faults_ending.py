"""Fault injection for abrupt ends: signals with stdin still open, `exit` without `shutdown`,
a go that hangs while the editor waits. No go process and no private dir may outlive the
server."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import WriteModule
from tests.fakego import RawServer, appears, fake_go, group_ends, notification, request

ESCAPING = "package p\n\nfunc F() *int { x := 1; return &x }\n"


def _private_dirs(tmp: Path) -> list[Path]:
    return [p for p in tmp.iterdir() if p.name.startswith("escape-lsp-")]


async def _status(srv: RawServer, msg_id: int) -> dict[str, object]:
    srv.send(request(msg_id, "workspace/executeCommand", {"command": "escapeLsp.status"}))
    result = (await srv.response(msg_id))["result"]
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_ends_the_server_within_two_seconds_with_stdin_open(
    gomod: WriteModule, tmp_path: Path, signum: int
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    pid_file = tmp_path / "go.pid"
    # Every `go build` hangs, so a go process group is alive when the signal comes.
    go = fake_go(
        tmp_path / "bin",
        f'case "$1" in build) echo $$ > \'{pid_file}\'; sleep 600 & wait;; esac\nexec "$REAL_GO" "$@"',
    )
    srv = await RawServer.start(env={"TMPDIR": str(tmp)})
    try:
        await srv.initialize(root, {"go": str(go)})
        srv.open(root / "p" / "p.go")
        await appears(pid_file)
        assert _private_dirs(tmp)
        srv.proc.send_signal(signum)
        started = time.monotonic()
        async with asyncio.timeout(5):
            code = await srv.proc.wait()
        elapsed = time.monotonic() - started
        print(f"ended {elapsed:.2f}s after the signal")
        assert elapsed < 2.0
        assert code == 0, await srv.stderr_tail()
        assert _private_dirs(tmp) == []
        await group_ends(int(pid_file.read_text()))  # SIGKILLed; the kernel may take a moment
    finally:
        await srv.stop()


async def test_exit_without_shutdown_is_code_1_and_after_shutdown_0(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    rude = await RawServer.start()
    await rude.initialize(root)
    rude.send(notification("exit", None))
    async with asyncio.timeout(10):
        assert await rude.proc.wait() == 1
    polite = await RawServer.start()
    await polite.initialize(root)
    assert await polite.stop() == 0


async def test_a_hanging_go_env_never_hangs_the_server(gomod: WriteModule, tmp_path: Path) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    pid_file = tmp_path / "go.pid"
    go = fake_go(tmp_path / "bin", f"echo $$ > '{pid_file}'\nsleep 600 & wait")
    srv = await RawServer.start()
    try:
        await srv.initialize(root, {"go": str(go)})
        path = root / "p" / "p.go"
        srv.open(path)
        status = await _status(srv, 2)  # answered while `go env` hangs
        assert status == {"state": "unavailable", "reason": "starting"}
        srv.send(
            request(
                3,
                "textDocument/hover",
                {"textDocument": {"uri": path.as_uri()}, "position": {"line": 2, "character": 17}},
            )
        )
        assert (await srv.response(3))["result"] is None
        await appears(pid_file)
        started = time.monotonic()
        assert await srv.stop() == 0
        assert time.monotonic() - started < 3
        await group_ends(int(pid_file.read_text()))
    finally:
        await srv.stop()


async def test_status_is_never_idle_while_go_list_runs(gomod: WriteModule, tmp_path: Path) -> None:
    root = gomod({"p/p.go": ESCAPING}, sub="mod")
    release = tmp_path / "release"
    listing = tmp_path / "listing"
    go = fake_go(
        tmp_path / "bin",
        f"""case "$1" in list) touch '{listing}'; while [ ! -e '{release}' ]; do sleep 0.02; done;; esac
exec "$REAL_GO" "$@\"""",
    )
    srv = await RawServer.start()
    try:
        await srv.initialize(root, {"go": str(go)})
        path = root / "p" / "p.go"
        srv.open(path)
        await appears(listing)
        assert (await _status(srv, 2))["state"] == "analysing"
        release.touch()
        await srv.diagnostics(path, lambda ds: any(d["message"] == "moved to heap: x" for d in ds))
        await srv.idle(3)
    finally:
        await srv.stop()
