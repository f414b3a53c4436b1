"""Where the zygote's socket lives (the private runtime dir), where processes keep for the next
what must not be shared (the private state dir), and the install key in the socket's name
(stdlib only at import, cheap).

The key hashes what decides which code a server runs: the interpreter, its flags, the import
path (what each entry holds: installing, upgrading or removing a package changes the names of
its dir) and escape_lsp's own files (paths, sizes, mtimes; an editable install changes without
touching site-packages). A changed install gets a new socket and so a new zygote; the old one
idles out.
"""

from __future__ import annotations

import os
import stat
import sys

#: Overrides the runtime dir (tests, or a user who wants the socket elsewhere).
RUNTIME_DIR_ENV = "ESCAPE_LSP_RUNTIME_DIR"
#: Overrides the state dir (tests and benchmarks: a first run in every way).
STATE_DIR_ENV = "ESCAPE_LSP_STATE_DIR"
#: The longest path an AF_UNIX socket may have (sun_path is 108 bytes on Linux, 104 on macOS).
MAX_SOCKET_PATH = 100


class RuntimeDirError(Exception):
    """A private dir (runtime or state) cannot be made (someone else's, or too open)."""


def import_path() -> list[str]:
    """`sys.path` without the entries that depend on where the process was started: `''` or
    `.`, and the working directory `python -m` puts first. The same directory later on the path
    stays: an editable install's path entry is the checkout, where a server may well be
    started (dropping it there left the zygote unable to import escape_lsp)."""
    path = sys.path[1:] if sys.path[:1] == [os.getcwd()] else sys.path
    return [p for p in path if p not in ("", ".")]


def interpreter_flags() -> list[str]:
    """The command-line flags that change which code an interpreter imports (others, such as
    `-X importtime`, do not make a different server)."""
    flags = sys.flags
    out = ["-I"] if flags.isolated else []
    if not flags.isolated:
        out += ["-E"] if flags.ignore_environment else []
        out += ["-s"] if flags.no_user_site else []
        out += ["-P"] if getattr(flags, "safe_path", False) else []
    out += ["-S"] if flags.no_site else []
    out += ["-" + "O" * flags.optimize] if flags.optimize else []
    return out


def _package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tree_signature(root: str, out: list[str]) -> None:
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                _tree_signature(entry.path, out)
            else:
                st = entry.stat()
                out.append(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}")


def _entry_signature(entry: str) -> str:
    """What is installed at an import path entry: a dir's names (a package's version is in
    its `.dist-info` name; its mtime is not used, as importing writes `__pycache__` there), a
    zip's size and mtime."""
    try:
        if os.path.isdir(entry):
            return "\0".join(sorted(n for n in os.listdir(entry) if n != "__pycache__"))
        st = os.stat(entry)
    except OSError:
        return "-"
    return f"{st.st_size}\0{st.st_mtime_ns}"


def install_key(path: list[str]) -> str:
    """A short hash of the interpreter, the import path and escape_lsp's installed files."""
    from escape_lsp.gotool.blake2 import blake2b  # (not hashlib: OpenSSL, ~4 ms)

    parts = [sys.executable, sys.version, *interpreter_flags()]
    for entry in path:
        parts.append(f"{entry}\0{_entry_signature(entry)}")
    _tree_signature(_package_dir(), parts)
    return blake2b("\n".join(parts).encode("utf-8", "surrogateescape"), digest_size=10).hexdigest()


def runtime_dir() -> str:
    """The private per-user dir for sockets and the zygote's log, made (0700) if missing.

    `$ESCAPE_LSP_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/escape-lsp`, else
    `$TMPDIR/escape-lsp-<uid>` (or /tmp). It must be a real dir of ours that only we can open.
    """
    if not hasattr(os, "getuid"):  # Windows
        raise RuntimeDirError("this platform has no user ids to make a dir private by")
    chosen = os.environ.get(RUNTIME_DIR_ENV)
    if not chosen:
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        if xdg and os.path.isabs(xdg):
            chosen = os.path.join(xdg, "escape-lsp")
        else:
            base = os.environ.get("TMPDIR") or "/tmp"
            chosen = os.path.join(base, f"escape-lsp-{os.getuid()}")
    return _private_dir(chosen)


def state_dir() -> str:
    """The private per-user dir whose contents outlive a reboot, made (0700) if missing:
    `$ESCAPE_LSP_STATE_DIR`, else `$XDG_STATE_HOME/escape-lsp`, else
    `~/.local/state/escape-lsp`. Not the cache dir, which may be shared (a CI cache)."""
    if not hasattr(os, "getuid"):  # Windows
        raise RuntimeDirError("this platform has no user ids to make a dir private by")
    chosen = os.environ.get(STATE_DIR_ENV)
    if chosen and not os.path.isabs(chosen):
        raise RuntimeDirError(f"{STATE_DIR_ENV}={chosen} is not an absolute path")
    if not chosen:
        xdg = os.environ.get("XDG_STATE_HOME")
        base = xdg if xdg and os.path.isabs(xdg) else os.path.expanduser("~/.local/state")
        chosen = os.path.join(base, "escape-lsp")
        try:
            os.makedirs(base, 0o700, exist_ok=True)  # (the XDG spec's mode for a new base)
        except OSError as exc:
            raise RuntimeDirError(f"cannot make {base}: {exc.strerror}") from None
    return _private_dir(chosen)


def _private_dir(chosen: str) -> str:
    """`chosen`, made (0700) if missing; it must be a real dir of ours only we can open."""
    try:
        os.mkdir(chosen, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise RuntimeDirError(f"cannot make {chosen}: {exc.strerror}") from None
    st = os.lstat(chosen)
    if not stat.S_ISDIR(st.st_mode):
        raise RuntimeDirError(f"{chosen} is not a directory")
    if st.st_uid != os.getuid():
        raise RuntimeDirError(f"{chosen} belongs to uid {st.st_uid}, not {os.getuid()}")
    if st.st_mode & 0o077:
        raise RuntimeDirError(f"{chosen} is open to others (mode {st.st_mode & 0o777:o})")
    return chosen


def kept_state_dir() -> str | None:
    """The private state dir as the place for what one process keeps for the next and must
    not share (the CLI's head start records, the server's kept generated code), or None:
    the on-disk caches are off (`ESCAPE_LSP_CACHE=off`), or there is no such dir. It
    outlives a reboot (the runtime dir does not), so the first spawn after one has both."""
    from escape_lsp.analysis.disk_memo import cache_dir

    if cache_dir() is None:
        return None
    try:
        return state_dir()
    except (RuntimeDirError, OSError) as exc:
        if os.environ.get(STATE_DIR_ENV) and not _warned:  # a setting that does not work
            _warned.append(str(exc))
            print(f"escape-lsp: nothing kept between runs: {exc}", file=sys.stderr)
        return None


#: The state dir's failure, once said (a process asks for the dir several times).
_warned: list[str] = []


def socket_path(directory: str, key: str) -> str:
    path = os.path.join(directory, f"zygote-{key}.sock")
    if len(path.encode()) > MAX_SOCKET_PATH:
        raise RuntimeDirError(f"{path} is too long for a Unix socket")
    return path


def log_path(directory: str) -> str:
    return os.path.join(directory, "zygote.log")
