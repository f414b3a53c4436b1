"""The process's private temp dir: overlays and go's scratch space, never the user's files.

One `escape-lsp-<pid>-<random>` dir per process under the system temp dir. The pid in the name
lets a later process remove dirs whose owner died without cleaning up (kill -9, a crash).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import threading

PREFIX = "escape-lsp-"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")

_lock = threading.Lock()
_root: str | None = None


def private_root() -> str:
    """This process's private dir, created on first use and removed at exit."""
    global _root
    with _lock:
        if _root is None or not os.path.isdir(_root):
            _root = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
            atexit.register(remove_private_root)
        return _root


def existing_root() -> str | None:
    """This process's private dir if it was made (never creates it)."""
    return _root


def private_subdir(prefix: str) -> str:
    """A fresh dir inside the private dir (the caller removes it when done)."""
    return tempfile.mkdtemp(prefix=prefix, dir=private_root())


def remove_private_root() -> None:
    """Remove the private dir and everything in it (on exit; safe to call twice)."""
    global _root
    with _lock:
        root, _root = _root, None
    if root is not None:
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
    base = directory or tempfile.gettempdir()
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
