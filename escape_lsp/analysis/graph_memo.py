"""The package graph of a module, kept on disk for the next process while its tree lists the same.

`go list` of a module depends on its Go files (names, and what `file_header.listing_part` says
go reads of them: build constraints, package clauses, imports), its module files and the
environment. The signature of a tree is the name and listing part of every `.go` file under the
module root (the directories `./...` covers, and more) plus the size, mtime and inode of the
module files and vendor/modules.txt. An edit below a file's imports keeps the signature, so the
next process builds at once instead of listing again; a file is read only when its stat
changed since the last signature (`Parts`).
"""

from __future__ import annotations

import os
from typing import Any

from escape_lsp.analysis.hashing import digest
from escape_lsp.gotool.file_header import listing_part
from escape_lsp.gotool.packages import Package, PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext

#: Per file: its path and the digest of its listing part (a module file: of its stat data).
Signature = tuple[tuple[str, str], ...]
#: Per `.go` file: (size, mtime, inode, digest of its listing part) when last read.
Parts = dict[str, tuple[int, int, int, str]]

_SKIP_DIRS = ("vendor", "testdata")
_MODULE_FILES = ("go.mod", "go.sum")


def tree_signature(root: str, known: Parts) -> tuple[Signature, Parts]:
    """What `go list root/...` reads from disk (symlinked dirs are not walked, as `...` does
    not follow them; of vendor/, modules.txt), and the parts of the `.go` files; a file whose
    stat is as in `known` is not read again."""
    found: list[tuple[str, str]] = []
    parts: Parts = {}

    def add(path: str, go_file: bool) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        stat = (st.st_size, st.st_mtime_ns, st.st_ino)
        if not go_file:
            found.append((path, repr(stat)))
            return
        seen = known.get(path)
        if seen is not None and seen[:3] == stat:
            part = seen[3]
        else:
            try:
                with open(path, "rb") as fh:
                    part = part_digest(fh.read())
            except OSError:
                return
        parts[path] = (*stat, part)
        found.append((path, part))

    add(os.path.join(root, "vendor", "modules.txt"), False)
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
                    add(entry.path, name.endswith(".go"))
            except OSError:
                continue
    return tuple(sorted(found)), parts


def part_digest(data: bytes) -> str:
    """What a signature holds of a `.go` file: the digest of its listing part."""
    return digest(listing_part(data))


def decode_parts(data: Any) -> Parts:
    """What `tree_signature` returned as parts, read back from disk (empty if not that)."""
    if not isinstance(data, dict):
        return {}
    return {
        path: (size, mtime, inode, part)
        for path, value in data.items()
        if isinstance(path, str) and isinstance(value, tuple) and len(value) == 4
        for size, mtime, inode, part in (value,)
    }


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
        tuple(sorted(graph.unlocated.items())),
    )


def decode_graph(context: ModuleContext, data: Any) -> PackageGraph:
    """The graph `encode_graph` saw; TypeError/ValueError for anything else."""
    modules, packages, unlocated = data
    graph = PackageGraph(context, tuple(str(m) for m in modules))
    graph.unlocated = {str(name): str(error) for name, error in unlocated}
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
