"""The editor snippets say what works: Helix keeps its Go servers, no dead install hints."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Helix's own `language-servers` for Go (its languages.toml); a user list replaces it.
HELIX_GO_DEFAULTS = ["gopls", "golangci-lint-lsp"]


def readme_block(heading: str, lang: str) -> str:
    section = (ROOT / "README.md").read_text().split(heading, 1)[1]
    match = re.search(rf"```{lang}\n(.*?)```", section, re.S)
    assert match, heading
    return match.group(1)


def test_helix_snippet_keeps_the_default_go_servers_and_matches_the_readme() -> None:
    config = tomllib.loads((ROOT / "editors" / "helix" / "languages.toml").read_text())
    (go,) = [lang for lang in config["language"] if lang["name"] == "go"]
    assert go["language-servers"] == [*HELIX_GO_DEFAULTS, "escape-lsp"]
    assert config["language-server"]["escape-lsp"]["args"] == ["serve"]
    assert tomllib.loads(readme_block("### Helix", "toml")) == config


def test_no_install_hint_names_a_package_that_is_not_published() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    dead = re.compile(r"pip install (-U )?" + "escape-lsp")
    offenders = [
        f
        for f in files
        if not f.startswith("tests/data/") and dead.search((ROOT / f).read_text(errors="replace"))
    ]
    assert offenders == []
