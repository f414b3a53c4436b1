"""Opening a file when go must list the module again: the build starts from the last listing
on disk while go lists, and the scheduled build takes it over (one go build, not two)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from escape_lsp.analysis.session import Session
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool import build, packages
from escape_lsp.gotool.toolchain import find_toolchain
from tests.conftest import WriteModule

FILES = {"p/a.go": "package p\n\nfunc A() *int { x := 1; return &x }\n"}

Events = list[tuple[str, str, float]]


def _record(monkeypatch: pytest.MonkeyPatch, module: Any, events: Events) -> None:
    """Log when each go command `module` runs starts and ends (its second word: build, list)."""
    run: Callable[..., Awaitable[Any]] = module.run

    async def recorded(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        events.append((argv[1], "start", time.monotonic()))
        try:
            return await run(argv, *args, **kwargs)
        finally:
            events.append((argv[1], "end", time.monotonic()))

    monkeypatch.setattr(module, "run", recorded)


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An on-disk memo outside the module (one inside the workspace is never used)."""
    directory = tmp_path_factory.mktemp("memo-cache")
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(directory))
    return directory


async def _open(path: Path) -> Session:
    async def quiet(_paths: set[str]) -> None:
        return None

    session = Session(find_toolchain(), AnalysisSettings(), quiet)
    await session.open(str(path), path.read_bytes(), 1)
    await session.wait_idle()
    return session


async def test_an_open_builds_while_go_lists_and_the_build_is_taken_over(
    gomod: WriteModule, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gomod(FILES)
    target = root / "p" / "a.go"
    (await _open(target)).close_all()  # the listing is now on disk
    # A new file: the module's tree changed, so go lists again (and the package recompiles).
    (root / "p" / "b.go").write_text("package p\n\nfunc B(s []byte) any { return string(s) }\n")
    events: Events = []
    _record(monkeypatch, build, events)
    _record(monkeypatch, packages, events)
    session = await _open(target)
    try:
        when = {(cmd, edge): t for cmd, edge, t in events}
        assert [cmd for cmd, edge, _ in events if edge == "start"].count("build") == 1, events
        assert when[("build", "start")] < when[("list", "end")], events
        res = session.snapshot.roots[next(iter(session.snapshot.roots))].results["example.com/m/p"]
        assert {f.file for f in res.findings} == {str(target), str(root / "p" / "b.go")}
    finally:
        session.close_all()


async def test_without_an_earlier_listing_go_lists_first(
    gomod: WriteModule, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gomod(FILES)
    events: Events = []
    _record(monkeypatch, build, events)
    _record(monkeypatch, packages, events)
    (await _open(root / "p" / "a.go")).close_all()
    order = [(cmd, edge) for cmd, edge, _ in events]
    assert order == [("list", "start"), ("list", "end"), ("build", "start"), ("build", "end")]
