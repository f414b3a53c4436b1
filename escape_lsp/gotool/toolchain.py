"""Finding the `go` command and the module context of a directory.

Both ask `go env -json`, asynchronously for the server (`*_async`) and blocking for the CLI.
Whatever goes wrong — no go, a hang, a crash, something that is not go at all — becomes a
`ToolchainError` that quotes what the command printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from escape_lsp.gotool.process import GoTimeout, ProcessResult, excerpt, run, run_sync

#: `go build -json` (structured per-package output) arrived in Go 1.24.
MIN_GO = (1, 24)

#: `go env` answers in milliseconds, unless GOTOOLCHAIN makes it download a toolchain first.
QUERY_TIMEOUT = 30.0


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


def go_executable(go: str | None, env: dict[str, str] | None) -> str:
    """The path of the configured `go` (a path or a name on PATH); ToolchainError if none."""
    name = go or "go"
    exe = shutil.which(name, path=(env or os.environ).get("PATH"))
    if exe is None:
        where = f"the configured path {go!r}" if go else "PATH"
        raise ToolchainError(
            f"escape-lsp needs the Go toolchain, but `go` was not found on {where}. "
            "Install Go 1.24 or newer (https://go.dev/dl/) or set the `go` setting."
        )
    return exe


def _env_argv(exe: str, *names: str) -> list[str]:
    return [exe, "env", "-json", *names]


def env_json(exe: str, proc: ProcessResult, names: tuple[str, ...]) -> dict[str, str]:
    """`go env -json NAMES` output as a dict; ToolchainError quoting go when it is not that."""
    printed = excerpt(proc.stderr or proc.stdout) or "nothing"
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"status {proc.returncode}"
        raise ToolchainError(f"`{exe} env` failed ({how}): {printed}")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(data.get(n, ""), str) for n in names):
        shown = repr(excerpt(proc.stdout)) if proc.stdout.strip() else "nothing"
        raise ToolchainError(
            f"{exe} is not a go command: `go env -json` printed {shown} instead of JSON."
        )
    return {n: str(data.get(n, "")) for n in names}


_TOOLCHAIN_VARS = ("GOVERSION", "GOROOT")
_CONTEXT_VARS = ("GOMOD", "GOWORK")


def _toolchain(exe: str, data: dict[str, str]) -> Toolchain:
    version = _version(data["GOVERSION"])
    if version is None and not data["GOVERSION"]:
        raise ToolchainError(f"{exe} is not a go command: `go env` reports no GOVERSION.")
    if version is None or version[:2] < MIN_GO:
        found = data["GOVERSION"] or "an unknown version"
        raise ToolchainError(
            f"escape-lsp needs Go {MIN_GO[0]}.{MIN_GO[1]} or newer, but {exe} is {found}."
        )
    return Toolchain(exe, version, data["GOVERSION"], data["GOROOT"])


def find_toolchain(go: str | None = None, env: dict[str, str] | None = None) -> Toolchain:
    """The configured `go` (a path or a name on PATH), checked to be recent enough."""
    exe = go_executable(go, env)
    try:
        proc = run_sync(_env_argv(exe, *_TOOLCHAIN_VARS), None, env, QUERY_TIMEOUT)
    except (OSError, GoTimeout) as exc:
        raise ToolchainError(f"could not run {exe}: {exc}") from exc
    return _toolchain(exe, env_json(exe, proc, _TOOLCHAIN_VARS))


async def find_toolchain_async(
    go: str | None = None, env: dict[str, str] | None = None, timeout: float = QUERY_TIMEOUT
) -> Toolchain:
    """`find_toolchain` without blocking; cancelling it kills the go command."""
    exe = go_executable(go, env)
    try:
        proc = await run(_env_argv(exe, *_TOOLCHAIN_VARS), None, env, timeout)
    except (OSError, GoTimeout) as exc:
        raise ToolchainError(f"could not run {exe}: {exc}") from exc
    return _toolchain(exe, env_json(exe, proc, _TOOLCHAIN_VARS))


@dataclass(frozen=True)
class ModuleContext:
    """Where go commands for a directory must run: its module root, or its go.work's folder."""

    root: str
    gomod: str | None
    gowork: str | None


def _directory(directory: str) -> Path:
    """`directory` made absolute, with its symlinks kept: go runs there with PWD naming it
    (`spawning.spawn_options`), so the paths it prints are under the directory as the
    editor or the shell names it (a workspace opened through a link keeps its findings)."""
    path = Path(os.path.abspath(directory))
    if not path.is_dir():
        raise ToolchainError(f"{directory}: not a directory")
    return path


def _context(directory: str, data: dict[str, str]) -> ModuleContext:
    gowork: str | None = data["GOWORK"] or None
    if gowork == "off":
        gowork = None
    gomod: str | None = data["GOMOD"] or None
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


def module_context(
    toolchain: Toolchain, directory: str, env: dict[str, str] | None = None
) -> ModuleContext:
    """The module or workspace `directory` belongs to; ToolchainError when it has none."""
    path = _directory(directory)
    try:
        proc = run_sync(_env_argv(toolchain.go, *_CONTEXT_VARS), str(path), env, QUERY_TIMEOUT)
    except (OSError, GoTimeout) as exc:
        raise ToolchainError(f"{directory}: `go env` failed: {exc}") from exc
    return _context(directory, env_json(toolchain.go, proc, _CONTEXT_VARS))


async def module_context_async(
    toolchain: Toolchain,
    directory: str,
    env: dict[str, str] | None = None,
    timeout: float = QUERY_TIMEOUT,
) -> ModuleContext:
    """`module_context` without blocking; cancelling it kills the go command."""
    return await directory_context(toolchain.go, directory, env, timeout)


async def directory_context(
    go: str, directory: str, env: dict[str, str] | None = None, timeout: float = QUERY_TIMEOUT
) -> ModuleContext:
    """`module_context_async` with the go executable alone, so it can run while the
    toolchain itself is still being checked."""
    path = _directory(directory)
    try:
        proc = await run(_env_argv(go, *_CONTEXT_VARS), str(path), env, timeout)
    except (OSError, GoTimeout) as exc:
        raise ToolchainError(f"{directory}: `go env` failed: {exc}") from exc
    return _context(directory, env_json(go, proc, _CONTEXT_VARS))


def early_contexts(
    go: str | None, env: dict[str, str], roots: list[str]
) -> dict[str, asyncio.Future[ModuleContext]]:
    """The workspace folders' module contexts, asked of go while it is itself being checked:
    the first file opened usually sits in or under one of them."""
    try:
        exe = go_executable(go, env or None)
    except ToolchainError:
        return {}
    lookups: dict[str, asyncio.Future[ModuleContext]] = {}
    for root in roots:
        if os.path.isdir(root):
            lookup = lookups[root] = asyncio.ensure_future(
                directory_context(exe, root, env or None)
            )
            lookup.add_done_callback(_retrieved)
    return lookups


def _retrieved(lookup: asyncio.Future[ModuleContext]) -> None:
    """A lookup nobody awaits (no file opened there) still has its outcome read."""
    if not lookup.cancelled():
        lookup.exception()
