"""The engine's view of the on-disk memo: salted keys, whether a workspace may use it at all,
and writes deferred until the current step is done."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from typing import Any

from escape_lsp.analysis.disk_memo import DiskMemo, binary_identity, environment_salt
from escape_lsp.analysis.hashing import digest
from escape_lsp.analysis.two_cores import may_fork
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
        if self.disk is None or not pending:
            return
        if _deferred is not None:
            _deferred.append((self.disk, pending))
        else:
            _write(self.disk, pending)


#: Writes `flush` handed over for `finish_writes`, while `defer_writes` is in force.
_deferred: list[tuple[DiskMemo, list[tuple[str, Callable[[], Any]]]]] | None = None


def defer_writes() -> None:
    """From now on `flush` keeps its writes for `finish_writes` (the CLI: after its report)."""
    global _deferred
    if _deferred is None:
        _deferred = []


def finish_writes(background: bool) -> None:
    """Write what was deferred, and stop deferring. `background`: in a forked child, so that
    the caller, about to exit, need not wait (a copy of net/http's first run stores ~3 MB:
    ~0.1 s); the child holds each memo's writer lock until it is done, and a process reading
    the memo waits for that (`DiskMemo.get`). Without fork, or when a lock is held by another
    writer still, the writes happen here and now."""
    global _deferred
    batches, _deferred = _deferred or [], None
    if not batches:
        return
    directories = {disk.dir: disk for disk, _ in batches}  # one lock each (flock: per open)
    locks = [disk.lock_for_writing() for disk in directories.values()] if background else []
    if background and all(fd is not None for fd in locks) and may_fork():
        try:
            pid = os.fork()
        except OSError:
            pid = -1
        if pid == 0:  # the child: no output, no exit handlers of the parent's
            status = 1
            try:
                quiet = os.open(os.devnull, os.O_RDWR)
                for stdio in (0, 1, 2):  # the caller's pipes close when the parent ends
                    os.dup2(quiet, stdio)
                for disk, pending in batches:
                    _write(disk, pending)
                status = 0
            finally:
                os._exit(status)
        if pid > 0:
            return  # the locks go with the child: the parent's copies close as it exits
    for fd in locks:
        if fd is not None:
            os.close(fd)
    for disk, pending in batches:
        _write(disk, pending)


def _write(disk: DiskMemo, pending: list[tuple[str, Callable[[], Any]]]) -> None:
    for key, value in pending:
        disk.put(key, value())
    disk.write_ledger()
