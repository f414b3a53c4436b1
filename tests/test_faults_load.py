"""Fault injection under load: a long churn of edits must leave no temp files behind, and a
large file edited many times must keep the server's memory bounded."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import WriteModule
from tests.fakego import RawServer, did_change, peak_rss_mib, request, rss_mib

ESCAPING = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"


def _files_under(tmp: Path) -> list[Path]:
    """Files under `tmp` now (dirs vanishing during the walk are skipped, not errors)."""
    return [Path(d, f) for d, _, names in os.walk(tmp) for f in names]


async def test_a_thousand_edits_leave_no_temp_files(gomod: WriteModule, tmp_path: Path) -> None:
    root = gomod({"p/p.go": ESCAPING, "q/q.go": "package q\n\nfunc G() any { return 1 }\n"})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    path = root / "p" / "p.go"
    srv = await RawServer.start(env={"TMPDIR": str(tmp)})
    try:
        await srv.initialize(root, {"debounceMs": 0})
        srv.open(path)
        await srv.diagnostics(path, lambda ds: any(d["message"] == "moved to heap: x" for d in ds))
        most = 0
        for version in range(2, 1002):
            text = ESCAPING.replace("x", f"v{version}") + f"\n// {'#' * (version % 97)}\n"
            srv.send(did_change(path, version, {"text": text}))
            if version % 10 == 0:  # pace the client by round trips, as typing would
                srv.send(
                    request(version, "workspace/executeCommand", {"command": "escapeLsp.status"})
                )
                await srv.response(version)
                most = max(most, len(_files_under(tmp)))
        await srv.diagnostics(
            path, lambda ds: any(d["message"] == "moved to heap: v1001" for d in ds)
        )
        status = await srv.idle(5000)  # killed builds may still be winding down until then
        assert status["buildsStarted"] > 20, status  # builds really were started and killed
        leftovers = _files_under(tmp)
        assert leftovers == [], leftovers  # no overlay, no go-build dir, nothing
        assert [p.name.split("-")[:3] for p in tmp.iterdir()] == [
            ["escape", "lsp", str(srv.proc.pid)]
        ]
        assert most <= 12, most  # during the churn: only what running go commands use
    finally:
        await srv.stop()
    assert list(tmp.iterdir()) == []


async def test_a_large_file_edited_thirty_times_keeps_memory_bounded(
    gomod: WriteModule, tmp_path: Path
) -> None:
    funcs = "".join(f"func F{i}(n int) int {{ return n * {i} }}\n" for i in range(12000))
    padding = "".join(f"// {'-' * 70} {i}\n" for i in range(7000))
    # A type error keeps the one build short; the file is still parsed for every version.
    text = f'package big\n\n{funcs}{padding}var _ int = "not an int"\n'
    assert len(text) >= 2**20
    root = gomod({"big/big.go": text})
    path = root / "big" / "big.go"
    srv = await RawServer.start()
    try:
        await srv.initialize(root, {"debounceMs": 60000})  # edits start no build
        srv.open(path)
        await srv.diagnostics(path, lambda ds: any(d["code"] == "analysis-blocked" for d in ds))
        base = rss_mib(srv.proc.pid)
        for version in range(2, 32):
            edited = text.replace("n * 1 }", f"n * {version} }}")
            srv.send(did_change(path, version, {"text": edited}))
            # Code lenses need this version's syntax tree (about 30 MB for this file).
            srv.send(
                request(version, "textDocument/codeLens", {"textDocument": {"uri": path.as_uri()}})
            )
            assert (await srv.response(version, timeout=60))["result"] == []  # no findings
        now, peak = rss_mib(srv.proc.pid), peak_rss_mib(srv.proc.pid)
        print(f"RSS MiB: after open {base:.0f}, after 30 edits {now:.0f}, peak {peak:.0f}")
        assert now <= 300 and peak <= 300, (base, now, peak)
    finally:
        await srv.stop()
