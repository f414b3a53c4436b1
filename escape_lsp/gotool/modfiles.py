"""The files that define a module or workspace: a change to one means list packages again."""

from __future__ import annotations

import os
from collections.abc import Iterable

MODULE_FILES = ("go.mod", "go.sum")
WORKSPACE_FILES = ("go.work", "go.work.sum")
GRAPH_FILES = MODULE_FILES + WORKSPACE_FILES


def is_graph_file(path: str) -> bool:
    return os.path.basename(path) in GRAPH_FILES


def graph_files(module_dirs: Iterable[str], gowork: str | None) -> list[str]:
    """Every go.mod/go.sum of the modules, plus the go.work file and its sums when there is one."""
    files = [os.path.join(m, name) for m in module_dirs for name in MODULE_FILES]
    if gowork:  # GOWORK may name any file; its checksums sit beside it as `<name>.sum`
        files += [gowork, gowork + ".sum"]
    return files
