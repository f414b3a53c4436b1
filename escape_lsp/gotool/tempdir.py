"""The process's private temp dir: overlays and go's scratch space, never the user's files.

One `escape-lsp-<pid>-<random>` dir per process under the system temp dir. The pid in the name
lets a later process remove dirs whose owner died without cleaning up (kill -9, a crash).

Made without `tempfile` on POSIX: the head start makes go's scratch dir here before go starts,
and `tempfile` with the `shutil` and `random` it imports took ~8 ms of that.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading

PREFIX = "escape-lsp-"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")
#: Where `tempfile.gettempdir()` looks on POSIX after $TMPDIR, $TEMP and $TMP.
_POSIX_TEMP_DIRS = ("/tmp", "/var/tmp", "/usr/tmp")

_lock = threading.Lock()
_root: str | None = None


def system_temp_dir() -> str:
    """The system temp dir as `tempfile.gettempdir()` picks it: the first of $TMPDIR, $TEMP,
    $TMP and the usual dirs that is a dir we may write in (`tempfile` itself where it is
    already imported, set by hand, or not POSIX)."""
    imported = sys.modules.get("tempfile")
    if os.name == "posix" and (imported is None or imported.tempdir is None):
        named = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
        for candidate in [*(n for n in named if n), *_POSIX_TEMP_DIRS]:
            if os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
                return os.path.abspath(candidate)
    import tempfile

    return tempfile.gettempdir()


def make_private_dir(parent: str, prefix: str) -> str:
    """A new dir in `parent` only we can open, named `prefix` and random hex (as
    `tempfile.mkdtemp` makes it)."""
    for _ in range(100):
        path = os.path.join(parent, prefix + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return os.path.abspath(path)
    raise FileExistsError(f"no unused name for a dir in {parent}")


def private_root() -> str:
    """This process's private dir, created on first use and removed at exit."""
    global _root
    with _lock:
        if _root is None or not os.path.isdir(_root):
            _root = make_private_dir(system_temp_dir(), f"{PREFIX}{os.getpid()}-")
            atexit.register(remove_private_root)
        return _root


def existing_root() -> str | None:
    """This process's private dir if it was made (never creates it)."""
    return _root


def private_subdir(prefix: str) -> str:
    """A fresh dir inside the private dir (the caller removes it when done)."""
    return make_private_dir(private_root(), prefix)


def remove_private_root() -> None:
    """Remove the private dir and everything in it (on exit; safe to call twice)."""
    global _root
    with _lock:
        root, _root = _root, None
    if root is not None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and its dir is not ours anyway
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


def remove_stale(directory: str | None = None) -> list[str]:
    """Remove `escape-lsp-<pid>-*` dirs of this user whose process is gone; the removed paths."""
    import shutil

    base = directory or system_temp_dir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None or int(match[1]) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if not entry.is_dir(follow_symlinks=False):
                continue
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if _alive(int(match[1])):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed
