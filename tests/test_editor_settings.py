"""The editors' settings mirror the server's: same names, same defaults."""

from __future__ import annotations

import json
from pathlib import Path

from escape_lsp.lsp.config import ServerSettings, parse_settings

ROOT = Path(__file__).resolve().parent.parent


def test_vscode_configuration_defaults_are_the_server_defaults() -> None:
    pkg = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
    props = pkg["contributes"]["configuration"]["properties"]
    defaults = {
        k.removeprefix("escapeLsp."): v["default"]
        for k, v in props.items()
        if not k.startswith("escapeLsp.server.")
    }
    parsed, problems = parse_settings({"escapeLsp": {k: v for k, v in defaults.items() if v != ""}})
    assert problems == []
    assert parsed == ServerSettings()
    documented = (ROOT / "README.md").read_text()
    for name in defaults:
        assert f"| `{name}` |" in documented, name


def test_neovim_doc_lists_every_setting() -> None:
    pkg = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
    names = [
        k.removeprefix("escapeLsp.")
        for k in pkg["contributes"]["configuration"]["properties"]
        if not k.startswith("escapeLsp.server.")
    ]
    doc = (ROOT / "editors" / "nvim" / "doc" / "escape_lsp.txt").read_text()
    for name in names:
        if name != "go":
            assert name in doc, name
