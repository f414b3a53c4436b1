"""The resident zygote: the server imported and warmed once, one fork per editor.

It listens on a Unix socket in the private runtime dir. Each connection brings an editor's
stdio fds, environment, cwd and arguments; a forked child adopts them and runs the normal stdio
server, so every editor still has its own process. The zygote reaps its children and reports
each one's wait status on the connection it came from. It has no threads and no event loop
(plain `selectors` and a signal wake-up pipe), so forking it is safe.

It ends after `idle` seconds without children, when its socket file is removed or replaced,
and on SIGTERM/SIGINT/SIGHUP; a zygote that is told to end stops accepting and exits once the
servers it forked have ended (an editor's session is never cut short).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, NoReturn

from escape_lsp.lsp.resident import wire
from escape_lsp.lsp.resident.install import import_path, install_key

#: How often the zygote looks at its socket file and its idle time.
TICK = 1.0
#: How long a connecting client may take to send its request.
REQUEST_TIMEOUT = 5.0


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} escape-lsp zygote {os.getpid()}: {message}", file=sys.stderr, flush=True)


def _bind(path: str) -> socket.socket | None:
    """A listening socket at `path`; None if a live zygote already listens there."""
    for _ in range(2):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
        except OSError as exc:
            listener.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                return None
            except OSError:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # left by a zygote that died
            finally:
                probe.close()
            continue
        os.chmod(path, 0o600)
        listener.listen(64)
        return listener
    raise OSError(errno.EADDRINUSE, f"cannot bind {path}")


@dataclass
class _Child:
    conn: socket.socket | None
    started: float = field(default_factory=time.monotonic)


class Zygote:
    def __init__(
        self, listener: socket.socket, path: str, inode: int, key: str, idle: float
    ) -> None:
        self.listener: socket.socket | None = listener
        self.key = key
        self.path = path
        self.inode = inode
        self.idle = idle
        self.children: dict[int, _Child] = {}
        self.last_busy = time.monotonic()
        self.stopping = False
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_stop)
        assert self.listener is not None
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        _log(f"listening on {self.path} (idle timeout {self.idle:.0f} s)")
        while True:
            self._reap()
            if self.stopping:
                self._stop_listening()
                if not self.children:
                    return 0
            elif not self._socket_is_ours():
                _log("socket removed or replaced: ending once its servers have ended")
                self.stopping = True
                continue
            elif not self.children and time.monotonic() - self.last_busy > self.idle:
                _log("idle: ending")
                self.stopping = True
                continue
            for key, _ in self.selector.select(TICK):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self.wake_r, 512):
                            pass
                else:
                    self._client_gone(key.data)

    def _on_stop(self, signum: int, _frame: Any) -> None:
        self.stopping = True

    def _socket_is_ours(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self.inode
        except OSError:
            return False

    def _stop_listening(self) -> None:
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        self.listener.close()
        self.listener = None
        if self._socket_is_ours():
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    # -- connections ------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            uid = wire.peer_uid(conn)
            if uid is not None and uid != os.getuid():
                _log(f"refused a connection from uid {uid}")
                conn.close()
                return
            conn.settimeout(REQUEST_TIMEOUT)
            request, fds = wire.receive_request(conn)
        except (OSError, wire.WireError) as exc:
            _log(f"a bad request: {exc}")
            conn.close()
            return
        if request.get("key") != self.key:  # a client of another install: never serve it
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                wire.send(conn, {"error": "the install changed"})
            conn.close()
            return
        try:
            pid = self._fork(conn, request, fds)
        finally:
            for fd in fds:
                os.close(fd)
        if pid is None:
            conn.close()
            return
        self.children[pid] = _Child(conn)
        self.last_busy = time.monotonic()
        with contextlib.suppress(OSError):  # a client gone: its server ends with its pipes
            wire.send(conn, {"pid": pid})
        conn.setblocking(False)
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def _fork(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int | None:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            _log(f"fork failed: {exc}")
            with contextlib.suppress(OSError):
                wire.send(conn, {"error": f"fork failed: {exc}"})
            return None
        if pid == 0:
            conn.close()
            self._become_server(request, fds)
        _log(f"forked server {pid} for {request.get('cwd')}")
        return pid

    def _client_gone(self, pid: int) -> None:
        """A thin client closed its connection (it was killed): its server goes on until its
        editor's pipes close; only the status report is dropped."""
        child = self.children.get(pid)
        if child is not None and child.conn is not None:
            self.selector.unregister(child.conn)
            child.conn.close()
            child.conn = None

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            self.last_busy = time.monotonic()
            if child is None or child.conn is None:
                continue
            self.selector.unregister(child.conn)
            with contextlib.suppress(OSError):
                child.conn.setblocking(True)
                child.conn.settimeout(REQUEST_TIMEOUT)
                wire.send(child.conn, {"status": status})
            child.conn.close()

    # -- the forked child -------------------------------------------------------------------

    def _become_server(self, request: dict[str, Any], fds: list[int]) -> NoReturn:
        """In the child: adopt the client's stdio, environment and cwd, then serve."""
        code = 1
        try:
            os.setsid()
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            if self.listener is not None:
                self.listener.close()
            for child in self.children.values():
                if child.conn is not None:
                    child.conn.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            tempfile.tempdir = None  # computed again from the client's TMPDIR
            sys.argv = ["escape-lsp", *request["argv"]]
            _reopen_stdio()
            from escape_lsp.lsp.resident import warm

            code = warm.serve_forked()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def _reopen_stdio() -> None:
    """Python's stdio objects again, now on the client's fds (the zygote's were /dev/null and
    its log): stderr line-buffered, as Python makes it."""
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(  # noqa: SIM115
        2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="escape-lsp-zygote")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--idle", type=float, required=True)
    ns = parser.parse_args(argv)

    def ready(word: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(ns.ready_fd, word)
            os.close(ns.ready_fd)

    listener = _bind(ns.socket)
    if listener is None:
        ready(b"exists")
        return 0
    inode = os.stat(ns.socket).st_ino
    try:
        started = time.monotonic()
        from escape_lsp.lsp import codegen_cache, heap
        from escape_lsp.lsp.resident import warm

        heap.give_back_large_blocks()  # inherited by every server forked from here
        cache = codegen_cache.for_this_user()  # before warm imports lsprotocol
        warm.prepare()
        if cache is not None:
            cache.save()
        key = install_key(import_path())
        if key != ns.key:
            _log(f"the install changed while starting ({key} != {ns.key}): not serving")
            ready(b"stale")
            return 3
        zygote = Zygote(listener, ns.socket, inode, key, ns.idle)
        kept = f"; generated code: {cache.hits} kept, {cache.misses} compiled" if cache else ""
        _log(f"ready in {time.monotonic() - started:.2f} s{kept}")
        ready(b"ready")
        return zygote.run()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            if os.stat(ns.socket).st_ino == inode:
                os.unlink(ns.socket)
