"""`escape-lsp serve` as a thin client of the resident zygote (stdlib only: this module and
what it imports must stay cheap, since its import time is the editor's wait).

It hands the zygote its stdin/stdout/stderr, environment, cwd and arguments, forwards
SIGTERM/SIGINT/SIGHUP to the server forked for it, and exits with that server's status. No
zygote yet: `serve` returns None, the caller serves in-process (its first diagnostics before
the server is imported: `lsp/first_publish.py`) and then calls `start_later`, which starts
one (detached, its output in the runtime dir's log) for the editors that come next. With no
zygote's socket in the runtime dir at all (a first spawn, after a reboot), the install key
(a walk of escape_lsp's files) and the socket modules wait for `start_later` (~10 ms).
Whatever fails before a server was forked, `serve` returns None and the caller serves
in-process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from escape_lsp.lsp.resident.install import (
    RuntimeDirError,
    import_path,
    install_key,
    interpreter_flags,
    log_path,
    runtime_dir,
    socket_path,
)

if TYPE_CHECKING:
    import socket

#: `off` serves in-process (as `serve --no-resident` does).
RESIDENT_ENV = "ESCAPE_LSP_RESIDENT"
#: Seconds a zygote without servers stays (read when a zygote is started).
IDLE_ENV = "ESCAPE_LSP_RESIDENT_IDLE"
DEFAULT_IDLE = 45 * 60.0
#: How long a zygote may take to answer a connection with the forked server's pid.
FORK_TIMEOUT = 10.0
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: The zygotes' shared log starts again when a new zygote finds it larger than this.
MAX_LOG = 1 << 20


class Unavailable(Exception):
    """No forked server: the reason, for the warning before serving in-process."""


class NotRunning(Exception):
    """No zygote listens: this `serve` serves in-process and starts one for the next."""


#: Set by `serve` when no zygote listened: starts one (detached, not waited for), for the
#: editors after this one. `cli.py` calls it once this in-process server has published its
#: first diagnostics (`lsp/first_publish.py`), so the two do not share the cores before that.
start_later: Callable[[], None] | None = None


def wanted(no_resident: bool, tcp: str | None) -> bool:
    """Whether to serve through a zygote: not asked off, stdio, a platform with fork and fd
    passing, and not a person at a terminal (who gets the in-process server's Ctrl-C)."""
    if no_resident or tcp is not None or os.environ.get(RESIDENT_ENV, "").lower() == "off":
        return False
    import _socket  # what `socket.AF_UNIX` and `socket.send_fds` need, without socket.py

    if not (hasattr(_socket, "AF_UNIX") and hasattr(_socket.socket, "sendmsg")):
        return False
    if not hasattr(os, "fork"):
        return False
    try:
        return not os.isatty(0)
    except OSError:
        return False


class _Forwarder:
    """SIGTERM/SIGINT/SIGHUP go to the forked server; before it exists they are kept."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in FORWARDED:
            self.previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.pid is None:
            self.pending.append(signum)
            return
        try:  # noqa: SIM105 - contextlib is an import this module avoids
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def attach(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self._on_signal(signum, None)


def _connect(path: str) -> socket.socket:
    import socket

    from escape_lsp.lsp.resident import wire

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(FORK_TIMEOUT)
        sock.connect(path)
        uid = wire.peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise Unavailable(f"{path} is served by uid {uid}")
    except BaseException:
        sock.close()
        raise
    return sock


def _launch_zygote(directory: str, path: str, key: str, search: list[str]) -> None:
    """Start a detached zygote for `path` and leave it to start (~1 s): it binds the socket
    first, so a `serve` meanwhile connects and waits for it. Forked twice, so it is nobody's
    child here and leaves no zombie; its failures are in the runtime dir's log."""
    code = (
        f"import sys; sys.path[:] = {search!r}; "
        "from escape_lsp.lsp.resident.zygote import main; sys.exit(main())"
    )
    idle = os.environ.get(IDLE_ENV) or str(DEFAULT_IDLE)
    argv = [sys.executable, *interpreter_flags(), "-c", code]
    argv += ["--socket", path, "--key", key, "--ready-fd", "3", "--idle", idle]
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        if os.path.getsize(log_path(directory)) > MAX_LOG:
            flags |= os.O_TRUNC
    except OSError:
        pass
    log = os.open(log_path(directory), flags, 0o600)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child forks the zygote and ends at once
            try:
                os.setsid()
                if os.fork() == 0:
                    os.chdir("/")
                    null = os.open(os.devnull, os.O_RDWR)
                    os.dup2(null, 0)
                    os.dup2(log, 1)
                    os.dup2(log, 2)
                    os.dup2(null, 3)  # nobody waits for its word
                    os.execv(sys.executable, argv)
            finally:
                os._exit(0)
    finally:
        os.close(log)
    os.waitpid(pid, 0)


def _exit_code(status: int) -> int:
    """The forked server's wait status as ours; a server killed by a signal kills us alike."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


def _holds_a_socket(directory: str) -> bool:
    """Whether any zygote's socket is in the runtime dir (whatever its install key)."""
    return any(n.startswith("zygote-") and n.endswith(".sock") for n in os.listdir(directory))


def _start_later(directory: str, search: list[str], key: str | None) -> None:
    """Set `start_later`: it starts a zygote for this install (its key worked out then, if
    `key` is None), or says why it cannot."""

    def launch() -> None:
        try:
            known = key or install_key(search)
            path = socket_path(directory, known)
        except (RuntimeDirError, OSError) as exc:
            print(f"escape-lsp: resident server unavailable ({exc})", file=sys.stderr)
            return
        _launch_zygote(directory, path, known, search)

    global start_later
    start_later = launch


def _fork_server(argv: list[str]) -> tuple[socket.socket, int]:
    search = import_path()
    try:
        directory = runtime_dir()
        if not _holds_a_socket(directory):
            _start_later(directory, search, None)
            raise NotRunning
        key = install_key(search)
        path = socket_path(directory, key)
    except (RuntimeDirError, OSError) as exc:
        raise Unavailable(str(exc)) from None
    try:
        sock = _connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        _start_later(directory, search, key)
        raise NotRunning from None
    from escape_lsp.lsp.resident import wire

    try:
        request = {"key": key, "argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
        wire.send_request(sock, request, [0, 1, 2])
        reply = wire.receive(sock)
    except wire.WireError as exc:
        sock.close()
        raise Unavailable(str(exc)) from None
    except BaseException:
        sock.close()
        raise
    if reply is None or "pid" not in reply:
        sock.close()
        why = reply.get("error", "no answer") if reply else "it closed the connection"
        raise Unavailable(f"the resident server did not fork a server: {why}")
    return sock, int(reply["pid"])


def serve(argv: list[str]) -> int | None:
    """Serve through the zygote; the exit code, or None to serve in-process instead."""
    forwarder = _Forwarder()
    forwarder.install()
    try:
        sock, pid = _fork_server(argv)
    except NotRunning:
        forwarder.restore()
        return 0 if forwarder.pending else None
    except (Unavailable, OSError) as exc:
        forwarder.restore()
        print(
            f"escape-lsp: resident server unavailable ({exc}); serving in-process", file=sys.stderr
        )
        if forwarder.pending:  # told to stop before any server ran
            return 0
        return None
    forwarder.attach(pid)
    from escape_lsp.lsp.resident import wire

    with sock:
        sock.settimeout(None)
        try:
            end = wire.receive(sock)
        except (OSError, wire.WireError):
            end = None
    if end is None or "status" not in end:
        print(
            f"escape-lsp: the resident server ended without reporting how server {pid} ended;"
            " stopping it",
            file=sys.stderr,
        )
        try:  # noqa: SIM105
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        return 1
    return _exit_code(int(end["status"]))
