"""A first `check`'s go build, worked out from the files alone, so that its head start does not
wait for the imports, `go env` and `go list` (~0.2 s before go starts on a large package).

Only the plain case is guessed: one package, named by its directory or its import path, in a
module (not a go.work workspace) with the default build settings. The guess is the command
`build_command` makes for that package from the module root, which is what the engine will
ask for when `go list` agrees; when it does not (a `//gcassert:bce` file adds a flag, the
directory holds no package, go resolves the module elsewhere), `head_start.claim` compares
the commands and kills the guess. So a wrong guess costs a killed go, never a wrong result.
"""

from __future__ import annotations

import os
import re
import shutil

from escape_lsp.gotool.build_argv import go_build_argv
from escape_lsp.gotool.head_start import Command
from escape_lsp.gotool.modfiles import MODULE_FILES, WORKSPACE_FILES
from escape_lsp.gotool.patterns import is_path_pattern, pattern_dir

#: The `module` directive's path, bare or in double quotes without escapes.
_MODULE = re.compile(rb'^[ \t]*module[ \t]+(?:"([^"\\\n]+)"|([^\s"`/][^\s"`]*))', re.MULTILINE)
#: Directory names `go list ./...` never enters (so the engine lists no package there).
_SKIPPED = ("testdata", "vendor")
_GO_MOD, _GO_WORK = MODULE_FILES[0], WORKSPACE_FILES[0]


def first_build(
    cwd: str, pattern: str, go: str | None = None, stream: bool = False
) -> Command | None:
    """The go build a `check` of `pattern` from `cwd` with default settings will run (its
    compiler output streamed as a one-shot engine's is: `stream`), or None when that cannot
    be told without go."""
    exe = shutil.which(go or "go")
    if exe is None or "..." in pattern or not _module_mode():
        return None
    is_path = is_path_pattern(pattern, cwd)
    # symlinks kept, as module contexts keep them (`toolchain._directory`)
    start = os.path.abspath(pattern_dir(pattern, cwd) if is_path else cwd)
    found = _module(start)
    if found is None:
        return None
    root, module = found
    if is_path:
        rel = os.path.relpath(start, root)
        directory = start
        import_path = module if rel == "." else f"{module}/{rel.replace(os.sep, '/')}"
    elif pattern == module or pattern.startswith(module + "/"):
        rel = pattern[len(module) + 1 :] or "."
        directory = os.path.normpath(os.path.join(root, rel))
        import_path = pattern
    else:
        return None
    parts = [] if rel == "." else rel.split(os.sep if is_path else "/")
    if any(p in _SKIPPED or p.startswith((".", "_")) for p in parts) or not _has_package(directory):
        return None
    return Command(tuple(go_build_argv(exe, (import_path,), root, stream=stream)), root, ())


def _module_mode() -> bool:
    """Not GOPATH mode, and no go.work named by GOWORK (a go.work found by walking up is
    refused in `_module`)."""
    return os.environ.get("GO111MODULE", "") != "off" and os.environ.get("GOWORK", "") in (
        "",
        "off",
    )


def _module(start: str) -> tuple[str, str] | None:
    """The root and path of the module holding `start`, if no go.work governs it."""
    root: str | None = None
    workspaces = os.environ.get("GOWORK", "") != "off"
    directory = start
    while True:
        if root is None and os.path.isfile(os.path.join(directory, _GO_MOD)):
            root = directory
        if workspaces and os.path.isfile(os.path.join(directory, _GO_WORK)):
            return None
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    if root is None:
        return None
    try:
        with open(os.path.join(root, _GO_MOD), "rb") as fh:
            m = _MODULE.search(fh.read())
    except OSError:
        return None
    if m is None:
        return None
    return root, (m[1] or m[2]).decode("utf-8", "replace")


def _has_package(directory: str) -> bool:
    """Whether the directory holds a Go file that is not a test."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(n.endswith(".go") and not n.endswith("_test.go") for n in names)
