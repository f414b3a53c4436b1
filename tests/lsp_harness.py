"""Drive the real server over stdio with pytest-lsp's client, as an editor would."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "escape_lsp", "serve"]
NVIM = "neovim@v0.11.0"  # negotiates utf-8, pushes diagnostics, no dynamic file watching
VSCODE = "visual-studio-code@v1.65.2"  # utf-16, registers file watchers dynamically


def uri(path: Path) -> str:
    return path.resolve().as_uri()


@asynccontextmanager
async def lsp_session(
    root: Path,
    client: str = NVIM,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    tweak: Callable[[lsp.ClientCapabilities], None] | None = None,
) -> AsyncIterator[LanguageClient]:
    # `env` adds to (or overrides) this process's environment for the server.
    config = ClientServerConfig(
        server_command=SERVER, server_env={**os.environ, **env} if env else None
    )
    lc = await config.start()
    assert isinstance(lc, LanguageClient)
    caps = client_capabilities(client)
    if tweak is not None:
        tweak(caps)
    lc.set_configuration({"escapeLsp": {"debounceMs": 50, **(settings or {})}})
    lc.registrations = []  # type: ignore[attr-defined]

    @lc.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: lsp.RegistrationParams) -> None:
        lc.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    @lc.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(params: None) -> None:
        return None

    @lc.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
    def on_hint_refresh(params: None) -> None:
        return None

    await lc.initialize_session(
        lsp.InitializeParams(
            capabilities=caps,
            root_uri=uri(root),
            workspace_folders=[lsp.WorkspaceFolder(uri(root), root.name)],
            initialization_options={"escapeLsp": {"debounceMs": 50, **(settings or {})}},
        )
    )
    try:
        yield lc
    finally:
        await lc.shutdown_session()
        await lc.stop()


def open_doc(lc: LanguageClient, path: Path, version: int = 1, text: str | None = None) -> None:
    lc.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(
                uri(path), "go", version, text if text is not None else path.read_text()
            )
        )
    )


def change_doc(lc: LanguageClient, path: Path, version: int, text: str) -> None:
    lc.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version=version, uri=uri(path)),
            [lsp.TextDocumentContentChangeWholeDocument(text)],
        )
    )


async def wait_diagnostics(
    lc: LanguageClient,
    path: Path,
    predicate: Callable[[Sequence[lsp.Diagnostic]], bool],
    timeout: float = 60,
) -> Sequence[lsp.Diagnostic]:
    """Wait for the published diagnostics of `path` to satisfy `predicate`."""
    key = uri(path)
    async with asyncio.timeout(timeout):
        while key not in lc.diagnostics or not predicate(lc.diagnostics[key]):
            await lc.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return lc.diagnostics[key]


async def idle_status(lc: LanguageClient, timeout: float = 30) -> Any:
    """`escapeLsp.status`, asked again until it says idle (no build and no go command: a
    compile recipe may still be planned after the last diagnostics); its answer."""
    async with asyncio.timeout(timeout):
        while True:
            status = await lc.workspace_execute_command_async(
                lsp.ExecuteCommandParams("escapeLsp.status")
            )
            if status["state"] == "idle":
                return status


def codes(diags: Sequence[lsp.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diags)


def has(message: str) -> Callable[[Sequence[lsp.Diagnostic]], bool]:
    return lambda diags: any(d.message == message for d in diags)


def lacks(message: str) -> Callable[[Sequence[lsp.Diagnostic]], bool]:
    return lambda diags: all(d.message != message for d in diags)


def text_at(text: str, rng: lsp.Range, encoding: str) -> str:
    """The text a range covers, counting columns in `encoding` code units."""
    line = text.splitlines()[rng.start.line]
    codec = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}[encoding]
    width = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding]
    raw = line.encode(codec)
    return raw[rng.start.character * width : rng.end.character * width].decode(codec)


def apply_text_edits(text: str, edits: Sequence[lsp.TextEdit], encoding: str = "utf-16") -> str:
    """Apply LSP edits (columns in `encoding` code units) as a client would."""
    lines = text.split("\n")

    def offset(pos: lsp.Position) -> int:
        line = lines[pos.line] if pos.line < len(lines) else ""
        codec = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}[encoding]
        width = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding]
        prefix = line.encode(codec)[: pos.character * width].decode(codec)
        return sum(len(ln) + 1 for ln in lines[: pos.line]) + len(prefix)

    spans = sorted(
        ((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text
