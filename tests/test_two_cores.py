"""Mapping a large output on two cores: the forked child's share comes back exactly as the
parent would have mapped it, and a child that fails leaves its share to the parent.

Run in a fresh interpreter: the fork happens only in a process without other threads, which
a test process that ran server tests before may not be."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import WriteModule

SCRIPT = r"""
import asyncio, json, os, sys
from escape_lsp.analysis import two_cores
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool.toolchain import find_toolchain, module_context

root, pkg, mode = sys.argv[1:4]
forks = []
fork = os.fork
def counted():
    pid = fork()
    if pid:
        forks.append(pid)
    return pid
os.fork = counted
parent = os.getpid()
if mode in ("failing-child", "failing-parent"):
    from escape_lsp.analysis import package_results
    def failing(mapping):  # the compiled mapping, or the Python one without it
        def fail(*args):
            if (os.getpid() == parent) == (mode == "failing-parent"):
                raise RuntimeError(mode)
            return mapping(*args)
        return fail
    package_results.widen_findings = failing(package_results.widen_findings)
    package_results.mapped_rows = failing(package_results.mapped_rows)
    package_results.mapped_findings = failing(package_results.mapped_findings)

async def findings(min_chars):
    two_cores.MIN_CHARS = min_chars
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, root), AnalysisSettings())
    try:
        result = (await engine.analyze([pkg]))[pkg]
    finally:
        engine.close()
    return [repr(f) for f in result.findings]

if mode == "failing-parent":  # the error comes out, and no child is left behind
    try:
        asyncio.run(findings(0))
    except RuntimeError as exc:
        error = str(exc)
    try:
        os.waitpid(-1, os.WNOHANG)
        left = True
    except ChildProcessError:
        left = False
    print(json.dumps({"error": error, "forks": len(forks), "left": left}))
    sys.exit(0)
serial = asyncio.run(findings(10**12))
before = len(forks)
if mode == "memo":  # the child's rows go to the disk memo; a new engine reads them back
    os.environ["ESCAPE_LSP_CACHE"] = sys.argv[4]
    asyncio.run(findings(0))
    forked = len(forks) - before
    parallel = asyncio.run(findings(10**12))
else:
    parallel = asyncio.run(findings(0))
    forked = len(forks) - before
print(json.dumps({"same": serial == parallel, "count": len(serial), "forks": forked}))
"""


def _run(root: Path, pkg: str, mode: str, memo: str = "") -> dict[str, object]:
    env = {**os.environ, "ESCAPE_LSP_CACHE": "off"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), pkg, mode, memo],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def csv_copy(gomod: WriteModule) -> tuple[Path, str]:
    """A copy of encoding/csv: several files, real compiler output."""
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True).stdout
    src = Path(goroot.strip()) / "src" / "encoding" / "csv"
    root = gomod({})
    (root / "csv").mkdir()
    for f in src.glob("*.go"):
        if not f.name.endswith("_test.go"):
            shutil.copy(f, root / "csv" / f.name)
    return root, "example.com/m/csv"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_the_childs_share_comes_back_as_the_parent_would_map_it(
    csv_copy: tuple[Path, str],
) -> None:
    result = _run(*csv_copy, "normal")
    assert result["forks"] == 1
    assert result["same"] and result["count"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_failing_child_leaves_its_share_to_the_parent(csv_copy: tuple[Path, str]) -> None:
    result = _run(*csv_copy, "failing-child")
    assert result["forks"] == 1
    assert result["same"] and result["count"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_the_disk_memo_keeps_what_the_child_sent(
    csv_copy: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The child's encoded findings are stored as they came; read back, they are the ones
    the parent would have mapped."""
    memo = tmp_path_factory.mktemp("memo")
    result = _run(*csv_copy, "memo", str(memo))
    assert result["forks"] == 1
    assert result["same"] and result["count"]
    assert any(memo.rglob("*"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_failing_parent_takes_its_child_down(csv_copy: tuple[Path, str]) -> None:
    assert _run(*csv_copy, "failing-parent") == {
        "error": "failing-parent",
        "forks": 1,
        "left": False,
    }


def test_the_child_takes_its_share_of_the_work_by_size() -> None:
    """The parent also makes the findings of the child's rows, so the child takes more than
    half (`CHILD_SHARE`); largest items first, each to the side furthest below its share."""
    from escape_lsp.analysis.two_cores import CHILD_SHARE, _shares

    mine, theirs = _shares([10] * 10, CHILD_SHARE)
    assert (len(mine), len(theirs)) == (4, 6)
    assert sorted(mine + theirs) == list(range(10))
    mine, theirs = _shares([50, 10, 10, 10, 10, 10], 0.5)
    assert (mine, theirs) == ([0], [1, 2, 3, 4, 5])
