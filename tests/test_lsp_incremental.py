"""As you type, across packages, outside the editor, when blocked, under bursts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types as lsp

from tests.conftest import WriteModule
from tests.lsp_harness import (
    NVIM,
    VSCODE,
    change_doc,
    codes,
    has,
    idle_status,
    lacks,
    lsp_session,
    open_doc,
    text_at,
    uri,
    wait_diagnostics,
)

PLAIN = "package p\n\ntype T struct{ n int }\n\nfunc Make() T {\n\treturn T{n: 1}\n}\n"
ESCAPING = "package p\n\ntype T struct{ n int }\n\nfunc Make() *T {\n\treturn &T{n: 1}\n}\n"


async def test_unsaved_edit_gets_a_diagnostic_without_saving(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": PLAIN})
    path = root / "p" / "p.go"
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        await wait_diagnostics(lc, path, lambda ds: True)
        assert not lc.diagnostics[uri(path)]
        change_doc(lc, path, 2, ESCAPING)
        diags = await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        (d,) = diags
        assert text_at(ESCAPING, d.range, "utf-16") == "&T{n: 1}"
        assert path.read_text() == PLAIN  # never saved, never written
        change_doc(lc, path, 3, PLAIN)  # reverted: the memo answers, the escape is gone
        await wait_diagnostics(lc, path, lambda ds: not ds)


CROSS_A = """
package a

type T struct{ n int }

func Get() *T {
\tt := T{n: 1}
\treturn &t
}
"""

CROSS_B = """
package b

import "example.com/m/a"

var Sink *a.T

func Use() { Sink = a.Get() }
"""


async def test_edit_in_one_package_updates_findings_in_an_open_dependent(
    gomod: WriteModule,
) -> None:
    root = gomod({"a/a.go": CROSS_A, "b/b.go": CROSS_B})
    a, b = root / "a" / "a.go", root / "b" / "b.go"
    async with lsp_session(root, NVIM) as lc:
        open_doc(lc, a)
        open_doc(lc, b)
        await wait_diagnostics(lc, b, has("moved to heap: a.t"))  # a.Get is inlined into b.Use
        noinline = CROSS_A.replace("func Get()", "//go:noinline\nfunc Get()")
        change_doc(lc, a, 2, noinline)  # unsaved edit in a: no more inlining into b
        diags = await wait_diagnostics(lc, b, lacks("moved to heap: a.t"))
        assert "moved-to-heap" not in codes(diags)
        await wait_diagnostics(lc, a, has("moved to heap: t"))


async def test_a_new_import_makes_the_package_a_dependent(gomod: WriteModule) -> None:
    """Adding an import lists the packages again (the file's imports changed): b then follows
    a's edits as any dependent does."""
    root = gomod({"a/a.go": CROSS_A, "b/b.go": "package b\n\nvar Sink any\n\nfunc Use() {}\n"})
    a, b = root / "a" / "a.go", root / "b" / "b.go"
    async with lsp_session(root, NVIM) as lc:
        open_doc(lc, a)
        open_doc(lc, b)
        await wait_diagnostics(lc, a, has("moved to heap: t"))
        change_doc(lc, b, 2, CROSS_B)
        await wait_diagnostics(lc, b, has("moved to heap: a.t"))
        change_doc(lc, a, 2, CROSS_A.replace("func Get()", "//go:noinline\nfunc Get()"))
        await wait_diagnostics(lc, b, lacks("moved to heap: a.t"))


async def test_outside_change_picked_up_by_watchdog(gomod: WriteModule) -> None:
    # Neovim 0.11 does not register file watchers dynamically: the server watches with watchdog.
    root = gomod({"a/a.go": CROSS_A, "b/b.go": CROSS_B})
    a, b = root / "a" / "a.go", root / "b" / "b.go"
    async with lsp_session(root, NVIM) as lc:
        open_doc(lc, b)
        await wait_diagnostics(lc, b, has("moved to heap: a.t"))
        a.write_text(
            CROSS_A.replace("func Get()", "//go:noinline\nfunc Get()")
        )  # e.g. git checkout
        await wait_diagnostics(lc, b, lacks("moved to heap: a.t"))


async def test_outside_change_reported_by_the_client_watcher(gomod: WriteModule) -> None:
    root = gomod({"a/a.go": CROSS_A, "b/b.go": CROSS_B})
    a, b = root / "a" / "a.go", root / "b" / "b.go"
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, b)
        await wait_diagnostics(lc, b, has("moved to heap: a.t"))
        # didOpen is handled after `initialized` finished, so the registration has happened.
        assert [r.method for r in lc.registrations] == [lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES]  # type: ignore[attr-defined]
        a.write_text(CROSS_A.replace("func Get()", "//go:noinline\nfunc Get()"))
        lc.workspace_did_change_watched_files(
            lsp.DidChangeWatchedFilesParams([lsp.FileEvent(uri(a), lsp.FileChangeType.Changed)])
        )
        await wait_diagnostics(lc, b, lacks("moved to heap: a.t"))


async def test_blocked_package_shows_one_diagnostic_and_withdraws_stale_findings(
    gomod: WriteModule,
) -> None:
    other = "package p\n\nvar Keep *int\n\nfunc Other() { x := 2; Keep = &x }\n"
    root = gomod({"p/p.go": ESCAPING, "p/other.go": other})
    path, other_path = root / "p" / "p.go", root / "p" / "other.go"
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        open_doc(lc, other_path)
        await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        await wait_diagnostics(lc, other_path, has("moved to heap: x"))
        broken = ESCAPING.replace("return &T{n: 1}", "return &T{n: undefinedName}")
        change_doc(lc, path, 2, broken)
        diags = await wait_diagnostics(lc, path, lambda ds: "analysis-blocked" in codes(ds))
        (blocked,) = diags  # the stale escape on the edited text is withdrawn
        assert "undefined: undefinedName" in blocked.message
        assert blocked.message.startswith("Escape analysis paused:")
        assert text_at(broken, blocked.range, "utf-16") == "undefinedName"
        other_diags = await wait_diagnostics(
            lc, other_path, lambda ds: "analysis-blocked" in codes(ds)
        )
        # The untouched file keeps its findings (they still match its text) and says why they are paused.
        assert codes(other_diags) == ["analysis-blocked", "moved-to-heap"]
        change_doc(lc, path, 3, ESCAPING)
        await wait_diagnostics(lc, path, lambda ds: codes(ds) == ["escapes-to-heap"])


async def test_syntax_errors_mid_typing_and_non_utf8_files(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": ESCAPING})
    path = root / "p" / "p.go"
    async with lsp_session(root, NVIM) as lc:
        open_doc(lc, path)
        await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        change_doc(lc, path, 2, ESCAPING.replace("return &T{n: 1}", "return &T{n: "))
        diags = await wait_diagnostics(lc, path, lambda ds: "analysis-blocked" in codes(ds))
        assert "syntax error" in diags[0].message
        (root / "p" / "latin1.go").write_bytes(b"package p\n\n// caf\xe9\nvar Z = 1\n")
        change_doc(lc, path, 3, ESCAPING)
        diags = await wait_diagnostics(
            lc, path, lambda ds: any("illegal UTF-8 encoding" in d.message for d in ds)
        )
        # p.go's text is again what the last good build saw, so its finding still stands.
        assert codes(diags) == ["analysis-blocked", "escapes-to-heap"]


async def test_file_deleted_while_open(gomod: WriteModule) -> None:
    root = gomod(
        {"p/p.go": ESCAPING, "p/q.go": "package p\n\nfunc Q() *int { y := 1; return &y }\n"}
    )
    path, q = root / "p" / "p.go", root / "p" / "q.go"
    async with lsp_session(root, NVIM) as lc:
        open_doc(lc, path)
        open_doc(lc, q)
        await wait_diagnostics(lc, q, has("moved to heap: y"))
        q.unlink()
        lc.text_document_did_close(
            lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri(q)))
        )
        await wait_diagnostics(lc, q, lambda ds: not ds)
        change_doc(lc, path, 2, ESCAPING.replace("n: 1", "n: 2"))
        diags = await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        assert codes(diags) == ["escapes-to-heap"]


async def test_burst_of_edits_last_state_wins_with_bounded_builds(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": PLAIN})
    path = root / "p" / "p.go"
    async with lsp_session(root, VSCODE, settings={"debounceMs": 100}) as lc:
        open_doc(lc, path)
        await wait_diagnostics(lc, path, lambda ds: not ds)
        for version in range(2, 202):  # 200 edits in about 2 seconds, as fast typing would
            text = (
                ESCAPING.replace("n: 1", f"n: {version}")
                if version % 2
                else PLAIN.replace("n: 1", f"n: {version}")
            )
            change_doc(lc, path, version, text)
            await asyncio.sleep(0.01)  # pacing the typist, not synchronising
        # version 201 is odd: the escaping text is the last state
        diags = await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        assert len(diags) == 1
        status = await idle_status(lc)
        assert status["buildsStarted"] <= 20, status


async def test_workspace_scope_reports_progress_and_unopened_files(gomod: WriteModule) -> None:
    root = gomod({"a/a.go": CROSS_A, "b/b.go": CROSS_B})
    async with lsp_session(root, VSCODE, settings={"scope": "workspace"}) as lc:
        # Nothing is opened: the background analysis covers every package.
        await wait_diagnostics(lc, root / "a" / "a.go", has("moved to heap: t"))
        await wait_diagnostics(lc, root / "b" / "b.go", has("moved to heap: a.t"))

        def kinds() -> list[str]:
            return [p.kind for reports in lc.progress_reports.values() for p in reports]

        async with asyncio.timeout(30):  # the end follows the last diagnostics it published
            while "end" not in kinds():
                await lc.wait_for_notification(lsp.PROGRESS)
        assert kinds()[0] == "begin" and kinds()[-1] == "end"


async def test_multi_root_workspace_keeps_each_module_context(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root, name in ((one, "example.com/one"), (two, "example.com/two")):
        (root / "p").mkdir(parents=True)
        (root / "go.mod").write_text(f"module {name}\n\ngo 1.24\n")
        (root / "p" / "p.go").write_text(ESCAPING)

    def two_folders(caps: lsp.ClientCapabilities) -> None:
        return None

    async with lsp_session(one, NVIM, tweak=two_folders) as lc:
        lc.workspace_did_change_workspace_folders(
            lsp.DidChangeWorkspaceFoldersParams(
                lsp.WorkspaceFoldersChangeEvent(
                    added=[lsp.WorkspaceFolder(uri(two), "two")], removed=[]
                )
            )
        )
        open_doc(lc, one / "p" / "p.go")
        open_doc(lc, two / "p" / "p.go")
        await wait_diagnostics(lc, one / "p" / "p.go", has("&T{...} escapes to heap"))
        await wait_diagnostics(lc, two / "p" / "p.go", has("&T{...} escapes to heap"))


async def test_new_package_on_disk_reloads_the_package_graph(gomod: WriteModule) -> None:
    root = gomod({"b/b.go": CROSS_B})
    b = root / "b" / "b.go"
    async with lsp_session(root, NVIM) as lc:
        open_doc(lc, b)
        diags = await wait_diagnostics(lc, b, lambda ds: "analysis-blocked" in codes(ds))
        assert "example.com/m/a" in diags[0].message
        (root / "a").mkdir()
        (root / "a" / "a.go").write_text(CROSS_A)  # a generator or git checkout adds the package
        await wait_diagnostics(lc, b, has("moved to heap: a.t"))


async def test_a_burst_of_500_changes_costs_one_build_with_the_adaptive_debounce(
    gomod: WriteModule,
) -> None:
    root = gomod({"p/p.go": PLAIN})
    path = root / "p" / "p.go"
    async with lsp_session(root, VSCODE) as lc:  # the default, adaptive debounce
        open_doc(lc, path)
        await wait_diagnostics(lc, path, lambda ds: not ds)
        before = await lc.workspace_execute_command_async(
            lsp.ExecuteCommandParams("escapeLsp.status")
        )
        for version in range(2, 502):  # 500 changes at once (a paste, a formatter, a macro)
            text = ESCAPING if version % 2 else PLAIN
            change_doc(lc, path, version, text.replace("n: 1", f"n: {version}"))
        diags = await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        assert (
            "n: 501" in text_at(ESCAPING.replace("n: 1", "n: 501"), diags[0].range, "utf-16")
            or diags
        )
        status = await idle_status(lc)
        assert status["buildsStarted"] - before["buildsStarted"] == 1, (before, status)
