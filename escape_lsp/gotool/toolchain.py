"""Finding the `go` command and the module context of a directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: `go build -json` (structured per-package output) arrived in Go 1.24.
MIN_GO = (1, 24)


class ToolchainError(Exception):
    """A problem the user must fix (no go, old go, no module); the message is one clear line."""


@dataclass(frozen=True)
class Toolchain:
    go: str
    version: tuple[int, int, int]
    version_text: str
    goroot: str

    def in_goroot(self, path: str) -> bool:
        return bool(self.goroot) and path.startswith(self.goroot.rstrip(os.sep) + os.sep)


def _version(text: str) -> tuple[int, int, int] | None:
    m = re.search(r"go(\d+)\.(\d+)(?:\.(\d+))?", text)
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3] or 0)


def find_toolchain(go: str | None = None, env: dict[str, str] | None = None) -> Toolchain:
    """The configured `go` (a path or a name on PATH), checked to be recent enough."""
    name = go or "go"
    exe = shutil.which(name, path=(env or os.environ).get("PATH"))
    if exe is None:
        where = f"the configured path {go!r}" if go else "PATH"
        raise ToolchainError(
            f"escape-lsp needs the Go toolchain, but `go` was not found on {where}. "
            "Install Go 1.24 or newer (https://go.dev/dl/) or set the `go` setting."
        )
    try:
        proc = subprocess.run(
            [exe, "env", "-json", "GOVERSION", "GOROOT"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"could not run {exe}: {exc}") from exc
    if proc.returncode != 0:
        raise ToolchainError(f"`{exe} env` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    data = json.loads(proc.stdout)
    version = _version(data.get("GOVERSION", ""))
    if version is None or version[:2] < MIN_GO:
        found = data.get("GOVERSION") or "an unknown version"
        raise ToolchainError(
            f"escape-lsp needs Go {MIN_GO[0]}.{MIN_GO[1]} or newer, but {exe} is {found}."
        )
    return Toolchain(exe, version, data["GOVERSION"], data.get("GOROOT", ""))


@dataclass(frozen=True)
class ModuleContext:
    """Where go commands for a directory must run: its module root, or its go.work's folder."""

    root: str
    gomod: str | None
    gowork: str | None


def module_context(
    toolchain: Toolchain, directory: str, env: dict[str, str] | None = None
) -> ModuleContext:
    """The module or workspace `directory` belongs to; ToolchainError when it has none."""
    path = Path(directory).resolve()
    if not path.is_dir():
        raise ToolchainError(f"{directory}: not a directory")
    proc = subprocess.run(
        [toolchain.go, "env", "-json", "GOMOD", "GOWORK"],
        cwd=path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise ToolchainError(f"{directory}: `go env` failed: {proc.stderr.strip()}")
    data = json.loads(proc.stdout)
    gowork = data.get("GOWORK") or None
    if gowork == "off":
        gowork = None
    gomod = data.get("GOMOD") or None
    if gomod in (os.devnull, "NUL"):
        gomod = None
    if gowork:
        return ModuleContext(str(Path(gowork).parent), gomod, gowork)
    if gomod:
        return ModuleContext(str(Path(gomod).parent), gomod, None)
    raise ToolchainError(
        f"{directory} is not inside a Go module or go.work workspace "
        "(run `go mod init` there, or open the folder that holds go.mod)."
    )
