"""Which packages a user means by `./...`, a directory, or an import-path pattern."""

from __future__ import annotations

import os
import re

from escape_lsp.gotool.packages import PackageGraph


def pattern_dir(arg: str, cwd: str) -> str:
    """The directory a path pattern starts at (`./x/...` -> `<cwd>/x`)."""
    base = arg[: -len("...")] if arg.endswith("...") else arg
    return os.path.normpath(os.path.join(cwd, base or "."))


def is_path_pattern(arg: str, cwd: str) -> bool:
    """`./x`, `/abs/x/...` and `dir/...` naming an existing directory are paths, not imports."""
    return arg.startswith((".", "/")) or os.path.isdir(pattern_dir(arg, cwd))


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
