"""Quick fixes end to end: request through LSP, apply, then the real compiler must agree."""

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


async def no_fix(gomod: WriteModule, files: dict[str, str], target: str, message: str) -> None:
    root = gomod(files)
    path = root / target
    async with lsp_session(root, VSCODE) as lc:
        diag = await opened_with(lc, path, message)
        assert await actions_for(lc, path, diag) == []


async def test_return_value_instead_of_pointer(gomod: WriteModule) -> None:
    _, text = await apply_fix(
        gomod, {"main.go": POINT}, "main.go", "moved to heap: p", "Return Point instead of *Point"
    )
    assert "func newPoint(x, y int) Point {" in text and "\treturn p\n" in text


async def test_return_value_composite_literal(gomod: WriteModule) -> None:
    src = POINT.replace("\tp := Point{X: x, Y: y}\n\treturn &p\n", "\treturn &Point{X: x, Y: y}\n")
    _, text = await apply_fix(
        gomod, {"main.go": src}, "main.go", "&Point{...} escapes to heap", "Return Point"
    )
    assert "\treturn Point{X: x, Y: y}\n" in text


async def test_no_return_value_fix_when_a_caller_needs_the_pointer(gomod: WriteModule) -> None:
    src = (
        POINT.replace("\tprintln(pt.X + pt.Y)\n", "\tprintln(pt.X + pt.Y)\n\tuse(pt)\n")
        + "\nfunc use(p *Point) { println(p.Y) }\n"
    )
    await no_fix(gomod, {"main.go": src}, "main.go", "moved to heap: p")


async def test_no_return_value_fix_for_exported_library_functions(gomod: WriteModule) -> None:
    lib = (
        POINT.replace("package main", "package lib")
        .replace("newPoint", "NewPoint")
        .replace("func main()", "func Use()")
    )
    await no_fix(gomod, {"lib/lib.go": lib}, "lib/lib.go", "moved to heap: p")


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


async def test_sync_pool_stores_a_pointer(gomod: WriteModule) -> None:
    _, text = await apply_fix(
        gomod,
        {"render/render.go": POOL},
        "render/render.go",
        "buf escapes to heap",
        "Store *[]byte in bufPool",
    )
    assert "v := make([]byte, 0, 64); return &v" in text
    assert "\tbufPtr := bufPool.Get().(*[]byte)\n\tbuf := (*bufPtr)[:0]\n" in text
    assert "\t*bufPtr = buf\n\tbufPool.Put(bufPtr)\n" in text


async def test_no_pool_fix_when_the_pool_is_used_in_another_file(gomod: WriteModule) -> None:
    other = "package render\n\nfunc Drain() { bufPool.Put(make([]byte, 0, 64)) }\n"
    await no_fix(
        gomod,
        {"render/render.go": POOL, "render/drain.go": other},
        "render/render.go",
        "buf escapes to heap",
    )


LABEL = """
package label

import (
\t"fmt"
\t"strings"
)

func Label(n int) string {
\treturn strings.ToUpper(fmt.Sprintf("%d", n))
}
"""


async def test_formatting_without_boxing(gomod: WriteModule) -> None:
    _, text = await apply_fix(
        gomod,
        {"label/label.go": LABEL},
        "label/label.go",
        "n escapes to heap",
        "Use strconv.Itoa(n)",
    )
    assert "strings.ToUpper(strconv.Itoa(n))" in text
    assert '"fmt"' not in text and '\t"strconv"\n\t"strings"\n' in text


async def test_no_itoa_for_an_int64(gomod: WriteModule) -> None:
    src = LABEL.replace("n int", "n int64")
    await no_fix(gomod, {"label/label.go": src}, "label/label.go", "n escapes to heap")


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
