"""Which packages a user means by `./...`, a directory, or an import-path pattern."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from escape_lsp.analysis.engine import Engine
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.patterns import is_path_pattern, pattern_dir
from escape_lsp.gotool.process import run
from escape_lsp.gotool.toolchain import ToolchainError


async def matched_packages(
    engine: Engine, graph: PackageGraph, args: Sequence[str], cwd: str
) -> list[str]:
    """The workspace packages `args` match, in order, each once; a `PatternError` saying why
    for the first argument that matches none."""
    names: dict[str, None] = {}
    for arg in args:
        matched = select_packages(graph, arg, cwd)
        if not matched:
            raise await unmatched(engine, arg, cwd)
        names.update(dict.fromkeys(matched))
    return list(names)


def select_packages(graph: PackageGraph, arg: str, cwd: str) -> list[str]:
    """Workspace packages matched by one CLI argument, like the go command's patterns."""
    if is_path_pattern(arg, cwd):
        root = pattern_dir(arg, cwd)
        if arg.endswith("..."):
            prefix = root.rstrip(os.sep) + os.sep
            return sorted(
                p.import_path
                for p in graph.packages.values()
                if (p.dir + os.sep).startswith(prefix)
            )
        return sorted(p.import_path for p in graph.packages.values() if p.dir == root)
    regex = re.compile("^" + re.escape(arg).replace(r"\.\.\.", ".*") + "$")
    return sorted(name for name in graph.packages if regex.match(name))


class PatternError(ToolchainError):
    """A CLI pattern that names no package escape-lsp can analyse; the message says why."""


#: A listed package's error, if it has one.
_ERROR_FORMAT = "{{if .Error}}{{.Error}}{{end}}"
_LIST_FORMAT = "{{.ImportPath}}\t{{.Standard}}\t{{with .Module}}{{.Path}}@{{.Version}}{{end}}"


async def unmatched(engine: Engine, arg: str, cwd: str) -> PatternError:
    """Why `arg` (relative to `cwd`) matched no workspace package, asking the go command what
    it does name.

    escape-lsp reports on workspace code only: findings in the standard library or the module
    cache would point at files the user does not edit (verdicts about std or dependency code
    inlined into the workspace already show up at the call sites).
    """
    root = engine.context.root
    if is_path_pattern(arg, cwd):
        # go's own reason, when it has one: no Go files, an import path it cannot be
        # (`malformed import path "…/my dir": invalid char ' '`), outside the module
        said = await _listed(engine, _ERROR_FORMAT, _go_pattern(arg, cwd))
        reasons = sorted({line.strip() for line in said.splitlines() if line.strip()})
        why = f": go says {'; '.join(reasons[:3])}" if reasons else ""
        return PatternError(f"{arg}: no Go package there (in the workspace at {root}){why}")
    listed = await _listed(engine, _LIST_FORMAT, arg)
    rows = [line.split("\t") for line in listed.splitlines() if line.strip()]
    std = [r[0] for r in rows if len(r) > 1 and r[1] == "true"]
    deps = sorted({r[2].rstrip("@") for r in rows if len(r) > 2 and r[2] and r[1] != "true"})
    command = f"go build -gcflags='{arg}=-m=2' {arg}"
    if std:
        return PatternError(
            f"{arg} is in the standard library, not in the workspace at {root}; escape-lsp "
            f"analyses workspace packages only (for the compiler's own view: {command})"
        )
    if deps:
        return PatternError(
            f"{arg} is in the dependency {', '.join(deps)}, not in the workspace "
            f"at {root}; escape-lsp analyses workspace packages only: check out that module and "
            f"run escape-lsp there (for the compiler's own view: {command})"
        )
    return PatternError(f"{arg} matches no package in the workspace at {root}")


async def unlocated_matches(
    engine: Engine, graph: PackageGraph, args: Sequence[str], cwd: str
) -> dict[str, str]:
    """The packages `args` name that go listed with an error and no directory (see
    `PackageGraph.unlocated`), with go's error: asked of go (one `go list` for all of them),
    which alone knows how its patterns match an import path it cannot place. Only asked
    when there are such packages."""
    if not graph.unlocated:
        return {}
    listed = await _listed(engine, "{{.ImportPath}}", *(_go_pattern(a, cwd) for a in args))
    names = {line.strip() for line in listed.splitlines()}
    return {name: error for name, error in graph.unlocated.items() if name in names}


async def directory_error(engine: Engine, directory: str) -> str:
    """go's error for the package in `directory` as the files on disk have it (`go list -e`;
    e.g. `build constraints exclude all Go files in …`), or "" when it lists one without."""
    said = await _listed(engine, _ERROR_FORMAT, directory)
    return " ".join(said.split())


def _go_pattern(arg: str, cwd: str) -> str:
    """`arg` as go reads it from the module root: a path pattern made absolute (`./x/...`
    from `cwd` -> `<cwd>/x/...`), an import-path pattern as it is."""
    if not is_path_pattern(arg, cwd):
        return arg
    directory = pattern_dir(arg, cwd)
    return os.path.join(directory, "...") if arg.endswith("...") else directory


async def _listed(engine: Engine, fmt: str, *patterns: str) -> str:
    """What `go list -e -f fmt patterns…` prints, run as the engine runs go."""
    settings = engine.settings
    argv = [engine.toolchain.go, "list", "-e", "-f", fmt, *settings.build_flags, *patterns]
    proc = await run(argv, engine.context.root, dict(settings.env), timeout=120)
    return proc.stdout
