"""The server under hostile conditions: no go, a client that vanishes mid-build."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from tests.conftest import WriteModule
from tests.lsp_harness import NVIM, lsp_session, open_doc, uri, wait_diagnostics


async def test_missing_go_is_one_clear_message_and_the_server_stays_up(
    gomod: WriteModule, tmp_path: Path
) -> None:
    root = gomod({"p/p.go": "package p\n\nfunc F() *int { x := 1; return &x }\n"}, sub="mod")
    env = {"PATH": str(tmp_path / "empty-bin")}  # no go here
    async with lsp_session(root, NVIM, env=env) as lc:
        async with asyncio.timeout(30):
            while not lc.messages:
                await lc.wait_for_notification(lsp.WINDOW_SHOW_MESSAGE)
        (msg,) = lc.messages
        assert msg.type == lsp.MessageType.Error and "`go` was not found on PATH" in msg.message
        path = root / "p" / "p.go"
        open_doc(lc, path)
        hover = await lc.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri(path)), lsp.Position(2, 16))
        )
        assert hover is None  # still answering
        status = await lc.workspace_execute_command_async(
            lsp.ExecuteCommandParams("escapeLsp.status")
        )
        assert status["state"] == "unavailable" and "not found" in status["reason"]


def _frame(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _go_processes_of(tmpdir: Path, argument: bytes = b"") -> list[int]:
    """Live go/compile processes whose environment points at this test's TMPDIR."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended while we looked
            continue
        ours = f"TMPDIR={tmpdir}".encode() in environ and state not in ("Z", "X")
        if ours and b"python" not in argv[0] and (not argument or argument in b" ".join(argv)):
            found.append(int(entry.name))
    return found


async def test_client_vanishing_mid_build_leaves_no_go_process_or_temp_dir(
    gomod: WriteModule, tmp_path: Path
) -> None:
    funcs = "\n".join(
        f"func F{i}(n int) []int {{ s := make([]int, n); s[0] = {i}; return s }}"
        for i in range(6000)
    )
    root = gomod({"big/big.go": f"package big\n\n// {os.urandom(8).hex()}\n{funcs}\n"}, sub="mod")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "escape_lsp",
        "serve",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(private_tmp)},
    )
    assert proc.stdin is not None
    path = root / "big" / "big.go"
    proc.stdin.write(
        _frame(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": uri(root), "capabilities": {}},
            }
        )
        + _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        + _frame(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": uri(path),
                        "languageId": "go",
                        "version": 1,
                        "text": path.read_text() + "\n// unsaved\n",
                    }
                },
            }
        )
    )
    await proc.stdin.drain()
    async with asyncio.timeout(60):
        while not _go_processes_of(private_tmp, b"-overlay="):  # the build of the unsaved buffer
            await asyncio.sleep(0.02)
    assert any(p.name.startswith("escape-lsp-") for p in private_tmp.iterdir())
    proc.stdin.close()  # the editor is gone: no shutdown, no exit
    async with asyncio.timeout(30):
        await proc.wait()
        while _go_processes_of(private_tmp):
            await asyncio.sleep(0.02)
    assert not [p for p in private_tmp.iterdir() if p.name.startswith("escape-lsp-")]


async def test_go_mod_init_after_opening_starts_the_analysis(tmp_path: Path) -> None:
    root = tmp_path / "nomod"
    (root / "p").mkdir(parents=True)
    path = root / "p" / "p.go"
    path.write_text("package p\n\nfunc F() *int { x := 1; return &x }\n")
    env = {"GOWORK": "off", "GOFLAGS": ""}
    async with lsp_session(root, NVIM, env=env) as lc:
        open_doc(lc, path)
        diags = await wait_diagnostics(lc, path, lambda ds: any(d.code == "no-module" for d in ds))
        assert "not inside a Go module" in diags[0].message
        (root / "go.mod").write_text(
            "module example.com/late\n\ngo 1.24\n"
        )  # the user runs go mod init
        diags = await wait_diagnostics(
            lc, path, lambda ds: any(d.message == "moved to heap: x" for d in ds)
        )
        assert [d.code for d in diags] == ["moved-to-heap"]


async def test_a_file_in_no_package_shows_go_s_reason(gomod: WriteModule) -> None:
    """A file go lists in no package shows go's reason on its package clause instead of
    nothing: a directory no import path can name (`bad dir`), and a package whose files build
    constraints all exclude (in no listing). A file its tags exclude from a package that has
    other files shows nothing; the module's other packages are analysed as usual."""
    root = gomod(
        {
            "good/g.go": "package good\n\nfunc F() *int { x := 1; return &x }\n",
            "bad dir/b.go": "package bad\n\nfunc G() *int { x := 1; return &x }\n",
            "tool/gen.go": "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
            "good/other.go": "//go:build never\n\npackage good\n\nfunc H() int { return 1 }\n",
        }
    )
    said = {
        "bad dir/b.go": ("malformed import path", "invalid char ' '", 0),
        "tool/gen.go": ("build constraints exclude all Go files", "", 2),
    }
    async with lsp_session(root, NVIM) as lc:
        for rel, (reason, detail, line) in said.items():
            path = root / rel
            open_doc(lc, path)
            (d,) = await wait_diagnostics(lc, path, lambda ds: len(ds) > 0)
            assert d.code == "no-module", d
            assert d.message.startswith("Escape analysis unavailable: go lists no package"), d
            assert reason in d.message and detail in d.message, d
            assert d.range.start == lsp.Position(line, 0)  # the package clause
        other, good = root / "good" / "other.go", root / "good" / "g.go"
        open_doc(lc, other)
        assert not await wait_diagnostics(lc, other, lambda ds: True)
        open_doc(lc, good)
        diags = await wait_diagnostics(lc, good, lambda ds: len(ds) > 0)
        assert [d.message for d in diags] == ["moved to heap: x"]
