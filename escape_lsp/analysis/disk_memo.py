"""A bounded on-disk memo under the user's cache dir: results keyed by content hashes.

A new process (the CLI, a restarted server) answers packages and files whose inputs did not
change without re-running go or re-parsing its output. Keys are hashes of everything the
result depends on (see `Engine`), salted with `environment_salt`; values are plain data
(tuples, strings, numbers) in `marshal`'s format, which reads fast. The directory holds at
most `budget` bytes: the least recently used entries go first. Its size is kept in a ledger
file, counted afresh when the ledger is older than `RECOUNT_AFTER` (listing thousands of
entries took 25-30 ms, on every run that stores something), so processes writing at the same
time can only overshoot until the next count. It is never inside a workspace;
`ESCAPE_LSP_CACHE=off` turns it off.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import time
from types import ModuleType
from typing import Any

from escape_lsp import __version__
from escape_lsp.gotool.blake2 import blake2b

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # not POSIX: no background writer, nothing to wait for
    fcntl = None

#: Bumped whenever what is stored (findings, results) changes shape.
FORMAT = 2
#: Default bound of the whole directory.
DISK_BUDGET = 256 * 2**20
#: Seconds a ledger's size is trusted before the directory is counted again.
RECOUNT_AFTER = 600
#: The ledger: "<bytes> <unix time of the last count>", beside the entries' directories.
_LEDGER = "size"
#: Locked (flock) by a process writing in the background, shared by one about to read.
_WRITER_LOCK = "writing.lock"
#: Seconds a reader waits for a background writer at most.
WRITER_WAIT = 5.0
#: Variables that change what the compiler prints for the same sources.
_ENV_PREFIXES = ("GO", "CGO_")
_ENV_NAMES = ("CC", "CXX", "AR", "PKG_CONFIG")


def cache_dir() -> str | None:
    """`$ESCAPE_LSP_CACHE` (a directory, or `off`), else `$XDG_CACHE_HOME/escape-lsp/memo`,
    else `~/.cache/escape-lsp/memo`."""
    configured = os.environ.get("ESCAPE_LSP_CACHE", "")
    if configured.lower() in ("off", "0", "none"):
        return None
    if configured:
        return os.path.abspath(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    return os.path.join(base, "escape-lsp", "memo")


def environment_salt(*parts: object) -> str:
    """What every key includes besides content: this code (version, and its files' sizes and
    mtimes, so an edited parser never reads what an older one stored), the go binary (path,
    size, mtime), and the environment variables that steer go and the compiler."""
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES
    )
    code = (FORMAT, __version__, _code_identity())
    return blake2b(repr((code, env, parts)).encode(), digest_size=32).hexdigest()


_CODE: list[tuple[str, int, int]] = []


def _code_identity() -> list[tuple[str, int, int]]:
    """Size and mtime of every module of this package, the compiled one included (once per
    process); a checkout's build directory of it (`target`) is not walked."""
    if not _CODE:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for directory, subdirectories, names in os.walk(root):
            if "target" in subdirectories:
                subdirectories.remove("target")
            for name in sorted(names):
                if name.endswith((".py", ".so", ".pyd")):
                    st = os.stat(os.path.join(directory, name))
                    _CODE.append((os.path.relpath(os.path.join(directory, name), root),
                                  st.st_size, st.st_mtime_ns))  # fmt: skip
        _CODE.sort()
    return _CODE


def binary_identity(path: str) -> tuple[str, int, int]:
    """A go binary as the memo tells binaries apart: its path, size and mtime."""
    try:
        st = os.stat(path)
    except OSError:
        return path, -1, -1
    return path, st.st_size, st.st_mtime_ns


def replace_file(path: str, data: bytes) -> None:
    """Write `path` whole or not at all (a temp file beside it, mode 0600, then renamed over
    it): readers in other processes see the old bytes or the new ones."""
    import tempfile  # here: the state dir is read before go starts, written after (~8 ms)

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


class DiskMemo:
    """Plain values by hex key, one file each, least recently used removed past `budget`."""

    def __init__(self, directory: str, budget: int = DISK_BUDGET) -> None:
        self.dir = directory
        self.budget = budget
        self._bytes: int | None = None  # estimated size of the directory, once known
        self._counted = 0.0  # when the directory was last counted (unix time)
        self._recorded = 0.0  # when the ledger was last written
        self._unrecorded = False  # puts since then
        self._awaited = False  # whether a background writer was waited for

    @classmethod
    def for_workspace(cls, root: str) -> DiskMemo | None:
        """The memo for a workspace at `root`, or None when off or it would live inside it."""
        directory = cache_dir()
        if directory is None:
            return None
        inside = os.path.join(os.path.realpath(root), "")
        if os.path.join(os.path.realpath(directory), "").startswith(inside):
            return None  # never write into the user's tree
        return cls(directory)

    def _path(self, key: str) -> str:
        return os.path.join(self.dir, key[:2], key[2:])

    def lock_for_writing(self) -> int | None:
        """An exclusive lock on the directory's writer lock file, as its open descriptor
        (the lock lasts while any copy of it is open: a forked writer keeps it); None when
        another writer holds it, or it cannot be taken."""
        if fcntl is None:
            return None
        fd = -1
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            fd = os.open(os.path.join(self.dir, _WRITER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if fd >= 0:
                os.close(fd)
            return None

    def wait_for_writer(self) -> None:
        """Wait (at most `WRITER_WAIT` seconds) for a writer still storing what an earlier
        process deferred (`durable_store.finish_writes`): its entries are then all there."""
        self._awaited = True
        if fcntl is None:
            return
        try:
            fd = os.open(os.path.join(self.dir, _WRITER_LOCK), os.O_RDONLY)
        except OSError:
            return  # never written here, or not ours to read
        try:
            deadline = time.monotonic() + WRITER_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    return  # no writer: the lock goes with the descriptor
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return  # a stuck writer costs only memo misses
                    time.sleep(0.005)
                except OSError:
                    return
        finally:
            os.close(fd)

    def get(self, key: str) -> Any:
        """The value stored under `key`, or None (missing, unreadable or not ours)."""
        if not self._awaited:
            self.wait_for_writer()
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            value = marshal.loads(data)
        except FileNotFoundError:
            return None
        except Exception:  # a truncated or foreign file: drop it, recompute
            with contextlib.suppress(OSError):
                os.remove(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return value

    def put(self, key: str, value: Any) -> None:
        """Store `value`; errors (a full or read-only disk) only cost the memo."""
        path = self._path(key)
        try:
            data = marshal.dumps(value)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            replace_file(path, data)
        except (OSError, ValueError):  # ValueError: not plain data
            return
        if self._bytes is None:
            self._bytes, self._counted = self._ledger()
        self._bytes += len(data)
        self._unrecorded = True
        if self._bytes > self.budget:
            self.prune()
        elif time.time() - self._recorded > 1.0:
            self.write_ledger()

    def _ledger(self) -> tuple[int, float]:
        """(bytes, when counted) from the ledger while it is recent, else counted now."""
        try:
            with open(os.path.join(self.dir, _LEDGER)) as fh:
                size, counted = fh.read().split()
            if 0 <= time.time() - float(counted) < RECOUNT_AFTER:
                return int(size), float(counted)
        except (OSError, ValueError):
            pass
        return self.size(), time.time()

    def write_ledger(self) -> None:
        """Record the size after the puts since the last record (at most one write per
        second from `put`; callers storing a batch call this at its end)."""
        if not self._unrecorded:
            return
        self._unrecorded = False
        self._recorded = time.time()
        with contextlib.suppress(OSError):
            replace_file(os.path.join(self.dir, _LEDGER), f"{self._bytes} {self._counted}".encode())

    def _entries(self) -> list[tuple[float, int, str]]:
        out: list[tuple[float, int, str]] = []
        with contextlib.suppress(OSError):
            for sub in os.scandir(self.dir):
                if not sub.is_dir(follow_symlinks=False):
                    continue
                with contextlib.suppress(OSError):
                    for entry in os.scandir(sub.path):
                        with contextlib.suppress(OSError):
                            st = entry.stat(follow_symlinks=False)
                            out.append((st.st_mtime, st.st_size, entry.path))
        return out

    def size(self) -> int:
        """Bytes the directory holds now."""
        return sum(size for _, size, _ in self._entries())

    def prune(self) -> None:
        """Remove the least recently used entries until the directory holds 3/4 of `budget`."""
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.budget * 3 // 4:
                break
            with contextlib.suppress(OSError):
                os.remove(path)
                total -= size
        self._bytes, self._counted = total, time.time()
        self._unrecorded = True
        self.write_ledger()
