"""A code action is computed on one snapshot and never applied to another text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types as lsp

from escape_lsp.analysis.session import Session
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.positions import Encoding
from escape_lsp.gotool.toolchain import find_toolchain
from escape_lsp.lsp.code_actions import code_actions
from escape_lsp.lsp.publishing import lines_of
from tests.conftest import WriteModule
from tests.lsp_harness import (
    VSCODE,
    apply_text_edits,
    change_doc,
    has,
    lsp_session,
    open_doc,
    uri,
    wait_diagnostics,
)
from tests.samples import POINT

WHOLE = lsp.Range(lsp.Position(0, 0), lsp.Position(40, 0))


def _params(path: Path) -> lsp.CodeActionParams:
    return lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri(path)), WHOLE, lsp.CodeActionContext(diagnostics=[])
    )


def _moved_on_line(line: int) -> Callable[[Sequence[lsp.Diagnostic]], bool]:
    return lambda ds: any(
        d.message == "moved to heap: p" and d.range.start.line == line for d in ds
    )


async def _quiet(paths: set[str]) -> None:
    return None


async def test_edits_keep_the_version_of_the_text_they_were_computed_for(
    gomod: WriteModule,
) -> None:
    root = gomod({"main.go": POINT})
    path = root / "main.go"
    session = Session(find_toolchain(), AnalysisSettings(), _quiet)
    try:
        await session.open(str(path), path.read_bytes(), 1)
        await session.wait_idle()
        before = session.snapshot
        # The user types while the fix is being proven: the session moves on to version 2.
        edited = path.read_bytes().replace(b"package main\n", b"package main\n\n// typed\n")
        await session.edit(str(path), edited, 2)
        lines = lines_of(before)
        versioned = await code_actions(
            session, before, str(path), _params(path), lines, Encoding.UTF16, versioned=True
        )
        (action,) = versioned
        assert action.edit and action.edit.document_changes
        (change,) = action.edit.document_changes
        assert isinstance(change, lsp.TextDocumentEdit)
        assert change.text_document.version == 1  # the client rejects it: it holds version 2
        plain = await code_actions(
            session, before, str(path), _params(path), lines, Encoding.UTF16, versioned=False
        )
        assert plain == []  # no version to tell the client which text it is for: no edit
        await session.wait_idle()  # results for version 2: fixes computed on its text
        current = await code_actions(
            session,
            session.snapshot,
            str(path),
            _params(path),
            lines_of(session.snapshot),
            Encoding.UTF16,
            versioned=False,
        )
        assert [a.title for a in current] == ["Return Point instead of *Point"]
    finally:
        session.close_all()


async def test_request_racing_an_edit_over_stdio(gomod: WriteModule) -> None:
    """The change is sent right behind the request: edits always name the version they fit."""
    root = gomod({"main.go": POINT})
    path = root / "main.go"
    original = path.read_text()
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        await wait_diagnostics(lc, path, has("moved to heap: p"))
        request = asyncio.ensure_future(lc.text_document_code_action_async(_params(path)))
        change_doc(lc, path, 2, original.replace("package main\n", "package main\n\n// typed\n"))
        actions = [a for a in await request or [] if isinstance(a, lsp.CodeAction)]
        # The server may see the change before it takes the request's snapshot (then version 2
        # has no results yet and there is no fix) or after (then the fix is for version 1).
        for action in actions:
            assert action.edit and action.edit.document_changes
            for change in action.edit.document_changes:
                assert isinstance(change, lsp.TextDocumentEdit)
                assert change.text_document.version == 1
                edits = [e for e in change.edits if isinstance(e, lsp.TextEdit)]
                fixed = apply_text_edits(original, edits)
                assert "func newPoint(x, y int) Point {" in fixed and "\treturn p\n" in fixed
        await wait_diagnostics(
            lc, path, _moved_on_line(8)
        )  # version 2's results (two lines inserted)
        final = await lc.text_document_code_action_async(_params(path))
        (action,) = [a for a in final or [] if isinstance(a, lsp.CodeAction)]
        assert action.edit and action.edit.document_changes
        (change,) = action.edit.document_changes
        assert isinstance(change, lsp.TextDocumentEdit) and change.text_document.version == 2
