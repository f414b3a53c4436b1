"""Mapping a large output on two cores. The compiled mapping's second thread maps exactly
what one thread would, and an error on either thread is the caller's. The Python mapping's
forked child's share comes back exactly as the parent would have mapped it, and a child that
fails leaves its share to the parent.

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

import threading
from escape_lsp.findings import native

root, pkg, mode = sys.argv[1:4]
threaded = []
on_threads = two_cores._on_two_threads
def counted_threads(*args):
    threaded.append(1)
    return on_threads(*args)
two_cores._on_two_threads = counted_threads
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
    widen = package_results.widen_findings
    def widen_failing(*args):
        if (os.getpid() == parent) == (mode == "failing-parent"):
            raise RuntimeError(mode)
        return widen(*args)
    package_results.widen_findings = widen_failing

if mode == "failing-helper":
    from escape_lsp.analysis import package_results
    widen = package_results.widen_findings
    def widen_failing(*args):
        if threading.current_thread().name == "escape-lsp-mapping":
            raise RuntimeError(mode)
        return widen(*args)
    package_results.widen_findings = widen_failing

async def findings(min_chars):
    two_cores.MIN_CHARS = two_cores.MIN_THREAD_CHARS = min_chars
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, root), AnalysisSettings())
    try:
        result = (await engine.analyze([pkg]))[pkg]
    finally:
        engine.close()
    return [repr(f) for f in result.findings]

if mode == "failing-helper":  # the helper thread's error is the caller's
    try:
        asyncio.run(findings(0))
        error = ""
    except RuntimeError as exc:
        error = str(exc)
    print(json.dumps({"error": error, "threads": threading.active_count()}))
    sys.exit(0)
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
print(json.dumps({
    "same": serial == parallel, "count": len(serial), "forks": forked,
    "threaded": len(threaded), "compiled": native.compiled is not None,
}))
"""


def _run(
    root: Path, pkg: str, mode: str, memo: str = "", compiled: bool = False
) -> dict[str, object]:
    """The script in a fresh interpreter; `compiled`: with the compiled mapping (threads),
    else the Python one (a forked child)."""
    env = {
        **os.environ,
        "ESCAPE_LSP_CACHE": "off",
        "ESCAPE_LSP_NATIVE": "on" if compiled else "off",
    }
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


needs_compiled = pytest.mark.skipif(
    __import__("escape_lsp.findings.native", fromlist=["compiled"]).compiled is None,
    reason="the compiled mapping is not built here",
)


@needs_compiled
def test_the_compiled_mapping_maps_on_two_threads_as_on_one(csv_copy: tuple[Path, str]) -> None:
    result = _run(*csv_copy, "normal", compiled=True)
    assert result["compiled"] and result["threaded"] == 1 and result["forks"] == 0
    assert result["same"] and result["count"]


@needs_compiled
def test_an_error_on_the_helper_thread_is_the_callers(csv_copy: tuple[Path, str]) -> None:
    assert _run(*csv_copy, "failing-helper", compiled=True) == {
        "error": "failing-helper",
        "threads": 1,
    }
