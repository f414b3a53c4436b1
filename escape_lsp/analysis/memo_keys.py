"""Memo keys of packages: everything that changes what the compiler says about them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from escape_lsp.analysis.hashing import FileHasher, digest
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool.modfiles import graph_files
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain


def package_keys(
    toolchain: Toolchain,
    context: ModuleContext,
    settings: AnalysisSettings,
    hasher: FileHasher,
    graph: PackageGraph,
    names: Iterable[str],
    overlays: Mapping[str, bytes],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Memo key of each package (its files, its workspace deps' keys, settings, go version,
    module files) and the content hashes of its files."""
    keys: dict[str, str] = {}
    hashes: dict[str, dict[str, str]] = {}
    base = key_base(toolchain, context, settings, hasher, graph)
    tests = settings.tests

    def key_of(name: str, stack: frozenset[str]) -> str:
        if name in keys:
            return keys[name]
        pkg = graph.packages[name]
        files = {f: hasher.content_hash(f, overlays) for f in pkg.all_files(tests)}
        extra = [f for f in overlays if os.path.dirname(f) == pkg.dir and f not in files]
        files.update({f: hasher.content_hash(f, overlays) for f in extra})
        deps = pkg.imports | (pkg.test_imports if tests else frozenset())
        dep_keys = sorted(
            (d, key_of(d, stack | {name}))
            for d in deps
            if d in graph.packages and d not in stack and d != name
        )
        hashes[name] = files
        keys[name] = digest(repr((base, name, sorted(files.items()), dep_keys)).encode())
        return keys[name]

    for n in names:
        if n in graph.packages:
            key_of(n, frozenset())
    return keys, hashes


def key_base(
    toolchain: Toolchain,
    context: ModuleContext,
    settings: AnalysisSettings,
    hasher: FileHasher,
    graph: PackageGraph,
) -> str:
    """What every package's key shares: the go version, the settings, the module files."""
    mod_files = graph_files(graph.modules, context.gowork)
    return repr((toolchain.version_text, settings, [hasher.hash(f) for f in mod_files]))
