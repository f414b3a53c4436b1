"""The package graph of a module, kept on disk for the next process while its tree is unchanged.

`go list` of a module depends on its Go files (names, package clauses, imports, build
constraints), its module files and the environment. The signature of a tree is the name, size,
mtime and inode of every `.go` file under the module root (the directories `./...` covers, and
more) plus the module files and vendor/modules.txt; any change lists again.
"""

from __future__ import annotations

import os
from typing import Any

from escape_lsp.gotool.packages import Package, PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext

Signature = tuple[tuple[str, int, int, int], ...]

_SKIP_DIRS = ("vendor", "testdata")
_MODULE_FILES = ("go.mod", "go.sum")


def tree_signature(root: str) -> Signature:
    """What `go list root/...` reads from disk, as stat data: `.go` files and module files
    (symlinked dirs are not walked, as `...` does not follow them; of vendor/, modules.txt)."""
    found: list[tuple[str, int, int, int]] = []

    def add(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        found.append((path, st.st_size, st.st_mtime_ns, st.st_ino))

    add(os.path.join(root, "vendor", "modules.txt"))
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name[:1] not in "._" and name not in _SKIP_DIRS:
                        stack.append(entry.path)
                elif name.endswith(".go") or name in _MODULE_FILES:
                    add(entry.path)
            except OSError:
                continue
    return tuple(sorted(found))


def encode_graph(graph: PackageGraph) -> tuple[Any, ...]:
    return (
        graph.modules,
        tuple(
            (
                p.import_path,
                p.dir,
                p.files,
                p.test_files,
                p.xtest_files,
                tuple(sorted(p.imports)),
                tuple(sorted(p.test_imports)),
                p.module_dir,
                p.error,
                p.cgo,
            )
            for p in graph.packages.values()
        ),
    )


def decode_graph(context: ModuleContext, data: Any) -> PackageGraph:
    """The graph `encode_graph` saw; TypeError/ValueError for anything else."""
    modules, packages = data
    graph = PackageGraph(context, tuple(str(m) for m in modules))
    for name, d, files, tests, xtests, imports, test_imports, module_dir, error, cgo in packages:
        graph.add(
            Package(
                str(name),
                str(d),
                tuple(files),
                tuple(tests),
                tuple(xtests),
                frozenset(imports),
                frozenset(test_imports),
                str(module_dir),
                error,
                bool(cgo),
            )
        )
    graph.finish()
    return graph
