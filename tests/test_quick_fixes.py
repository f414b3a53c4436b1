"""Quick fixes over stdio: the protocol shape (versioned edits, attached diagnostics, selected
ranges). What each fix does and when it is refused lives in the marker tests (tests/markers/)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.conftest import WriteModule
from tests.lsp_harness import (
    VSCODE,
    apply_text_edits,
    change_doc,
    has,
    lacks,
    lsp_session,
    open_doc,
    uri,
    wait_diagnostics,
)
from tests.samples import POINT


async def actions_for(lc: LanguageClient, path: Path, diag: lsp.Diagnostic) -> list[lsp.CodeAction]:
    result = await lc.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri(path)),
            diag.range,
            lsp.CodeActionContext(diagnostics=[diag]),
        )
    )
    return [a for a in result or [] if isinstance(a, lsp.CodeAction)]


def edits_for(action: lsp.CodeAction, path: Path, version: int) -> Sequence[lsp.TextEdit]:
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.uri == uri(path) and change.text_document.version == version
    return [e for e in change.edits if isinstance(e, lsp.TextEdit)]


def go_ok(root: Path) -> None:
    """The edited module builds, vets and is gofmt-clean."""
    for cmd in (["go", "build", "./..."], ["go", "vet", "./..."]):
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    unformatted = subprocess.run(
        ["gofmt", "-l", "."], cwd=root, capture_output=True, text=True
    ).stdout
    assert unformatted == ""


async def opened_with(lc: LanguageClient, path: Path, message: str) -> lsp.Diagnostic:
    """Open `path` and wait for its one diagnostic with `message`."""
    open_doc(lc, path)
    diags = await wait_diagnostics(lc, path, has(message))
    (diag,) = [d for d in diags if d.message == message]
    return diag


async def apply_fix(
    gomod: WriteModule, files: dict[str, str], target: str, message: str, title_start: str
) -> tuple[Path, str]:
    """Open `target`, take the fix for `message`, apply it, check the finding is gone."""
    root = gomod(files)
    path = root / target
    async with lsp_session(root, VSCODE) as lc:
        diag = await opened_with(lc, path, message)
        actions = await actions_for(lc, path, diag)
        (action,) = [a for a in actions if a.title.startswith(title_start)]
        assert action.kind == lsp.CodeActionKind.QuickFix and list(action.diagnostics or []) == [
            diag
        ]
        new_text = apply_text_edits(path.read_text(), edits_for(action, path, 1))
        change_doc(lc, path, 2, new_text)
        await wait_diagnostics(lc, path, lacks(message))
    path.write_text(new_text)
    go_ok(root)
    return root, new_text


async def test_return_value_instead_of_pointer(gomod: WriteModule) -> None:
    _, text = await apply_fix(
        gomod, {"main.go": POINT}, "main.go", "moved to heap: p", "Return Point instead of *Point"
    )
    assert "func newPoint(x, y int) Point {" in text and "\treturn p\n" in text


POOL = """
package render

import "sync"

var bufPool = sync.Pool{New: func() any { return make([]byte, 0, 64) }}

func Render(s string) int {
\tbuf := bufPool.Get().([]byte)[:0]
\tbuf = append(buf, s...)
\tn := len(buf)
\tbufPool.Put(buf)
\treturn n
}
"""


async def test_fix_offered_for_a_selected_range_without_diagnostics(gomod: WriteModule) -> None:
    root = gomod({"render/render.go": POOL})
    path = root / "render" / "render.go"
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        await wait_diagnostics(lc, path, has("buf escapes to heap"))
        selection = lsp.Range(lsp.Position(6, 0), lsp.Position(12, 0))  # the whole of Render
        result = await lc.text_document_code_action_async(
            lsp.CodeActionParams(
                lsp.TextDocumentIdentifier(uri(path)),
                selection,
                lsp.CodeActionContext(diagnostics=[]),
            )
        )
        titles = [a.title for a in result or [] if isinstance(a, lsp.CodeAction)]
        assert titles == ["Store *[]byte in bufPool (SA6002: Put of a non-pointer allocates)"]
