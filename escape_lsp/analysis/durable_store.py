"""The engine's view of the on-disk memo: salted keys, whether a workspace may use it at all,
and writes deferred until the current step is done."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from escape_lsp.analysis.disk_memo import DiskMemo, binary_identity, environment_salt
from escape_lsp.analysis.hashing import digest
from escape_lsp.gotool.modfiles import graph_files
from escape_lsp.gotool.packages import PackageGraph
from escape_lsp.gotool.toolchain import ModuleContext, Toolchain

#: A go.mod/go.work `replace` to a directory: code outside the workspace that content hashes
#: do not cover, so such workspaces keep nothing on disk.
_LOCAL_REPLACE = re.compile(rb"=>\s*(?:\.{1,2}[/\\]|/|[A-Za-z]:)")


class DurableStore:
    """One workspace's entries in the on-disk memo (none when the memo is off)."""

    def __init__(self, toolchain: Toolchain, context: ModuleContext) -> None:
        self.toolchain = toolchain
        self.context = context
        self.disk = DiskMemo.for_workspace(context.root)
        self._salt: str | None = None
        self._durable_for: tuple[PackageGraph, bool] | None = None
        self._pending: list[tuple[str, Callable[[], Any]]] = []
        self._flush_scheduled = False

    def key(self, kind: str, key: str) -> str:
        """`key` of `kind` salted with the go binary and the go environment."""
        if self._salt is None:
            self._salt = environment_salt(
                binary_identity(self.toolchain.go), self.toolchain.goroot, self.context
            )
        return digest(f"{self._salt}\0{kind}\0{key}".encode())

    def get(self, kind: str, key: str) -> Any:
        assert self.disk is not None
        return self.disk.get(self.key(kind, key))

    def durable(self, graph: PackageGraph) -> bool:
        """Whether results may be kept on disk: a memo dir exists, and content hashes cover
        all the workspace's code (no `replace` to a local directory). Once per graph: a change
        of a module file lists a new one."""
        if self.disk is None:
            return False
        if self._durable_for is not None and self._durable_for[0] is graph:
            return self._durable_for[1]
        answer = True
        for path in graph_files(graph.modules, self.context.gowork):
            try:
                with open(path, "rb") as fh:
                    if _LOCAL_REPLACE.search(fh.read()):
                        answer = False
            except OSError:
                continue
        self._durable_for = (graph, answer)
        return answer

    def durable_package(self, graph: PackageGraph, name: str) -> bool:
        """Whether `name`'s results may be kept on disk: `durable`, and not a cgo package (its
        C inputs are not hashed)."""
        return self.durable(graph) and not graph.packages[name].cgo

    def put_later(self, kind: str, key: str, value: Callable[[], Any]) -> None:
        """Store on disk once the current step is done (after the diagnostics went out);
        `flush` writes what is left."""
        self._pending.append((self.key(kind, key), value))
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, []
        if self.disk is not None:
            for key, value in pending:
                self.disk.put(key, value())
            self.disk.write_ledger()
