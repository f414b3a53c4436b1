"""Parsing and mapping a large output on two cores.

Once go has compiled a package both cores are free, and parsing plus mapping its output is
CPU work per file. With the compiled parse and map (`findings/native.py`) a second thread
takes files from the same queue: the compiled parse and point location release the GIL, so
one thread's compiled work runs beside the other's Python (the findings it makes), in one
process, with nothing to copy back (a copy of net/http's first mapping: 0.30 → ~0.17 s).

Without it the mapping is Python throughout and the GIL would serialise threads: a forked
child takes about half the files instead. The child inherits the parsed syntax trees, maps
its share and sends the findings back as plain tuples (`findings_codec`, read with
`marshal`). It forks only in a process without other threads (the CLI; the server has its
stdin reader and watchers), it ends with `os._exit` (no exit handlers: the parent's private
temp dir stays), and whatever goes wrong with it, the parent maps the child's share itself.
"""

from __future__ import annotations

import marshal
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from escape_lsp.analysis import findings_codec
from escape_lsp.findings import native
from escape_lsp.findings.model import Finding

T = TypeVar("T")

#: Characters of compiler output below which a second process costs more than it saves.
MIN_CHARS = 400_000
#: The same for a second thread (~0.1 ms to start; a small package's save maps ~30 kB).
MIN_THREAD_CHARS = 64_000


#: An item's findings, and their `findings_codec` rows when the child sent them.
Mapped = tuple[tuple[Finding, ...], tuple[findings_codec.Row, ...] | None]


def map_on_two_cores(
    items: Sequence[T],
    work: Callable[[T], tuple[Finding, ...]],
    size: Callable[[T], int],
) -> list[Mapped]:
    """`[work(item) for item in items]`, with a second thread (compiled mapping) or a forked
    child (Python mapping) doing about half the work (measured by `size`) when there is enough
    of it. The child's findings come with the rows they were sent as (the disk memo stores
    those)."""
    sizes = [size(item) for item in items]
    if native.compiled is not None and len(items) >= 2 and sum(sizes) >= MIN_THREAD_CHARS:
        return [(found, None) for found in _on_two_threads(items, work, sizes)]
    if len(items) < 2 or sum(sizes) < MIN_CHARS or not may_fork():
        return [(work(item), None) for item in items]
    mine, theirs = _halves(sizes)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return [(work(item), None) for item in items]
    if pid == 0:  # the child: its share, as plain data, then gone
        status = 1
        try:
            os.close(read_end)
            rows = [findings_codec.encode(work(items[i])) for i in theirs]
            with os.fdopen(write_end, "wb") as out:
                out.write(marshal.dumps(rows))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as received:
        try:
            results: dict[int, Mapped] = {i: (work(items[i]), None) for i in mine}
            data = received.read()
        except BaseException:  # the parent's own share failed: the child goes too
            os.kill(pid, signal.SIGKILL)
            _exit_status(pid)
            raise
    try:
        if _exit_status(pid) not in (0, None):
            raise ValueError("the mapping child failed")
        for i, rows in zip(theirs, marshal.loads(data), strict=True):
            results[i] = (findings_codec.decode(rows), rows)
    except (ValueError, TypeError, KeyError, EOFError):
        for i in theirs:
            results[i] = (work(items[i]), None)
    return [results[i] for i in range(len(items))]


def _on_two_threads(
    items: Sequence[T], work: Callable[[T], tuple[Finding, ...]], sizes: Sequence[int]
) -> list[tuple[Finding, ...]]:
    """`[work(item) for item in items]` by this thread and a helper, each taking the largest
    item left; `work` must be safe to run on two threads at once. The first error either
    raises stops both and is raised here, once the helper has ended."""
    queue = iter(sorted(range(len(items)), key=lambda i: -sizes[i]))
    taking = threading.Lock()
    results: dict[int, tuple[Finding, ...]] = {}
    errors: list[BaseException] = []

    def take() -> None:
        while not errors:
            with taking:
                i = next(queue, None)
            if i is None:
                return
            try:
                results[i] = work(items[i])
            except BaseException as exc:  # raised by the caller's thread, after the join
                errors.append(exc)

    helper = threading.Thread(target=take, name="escape-lsp-mapping", daemon=True)
    helper.start()
    try:
        take()
    finally:
        helper.join()
    if errors:
        raise errors[0]
    return [results[i] for i in range(len(items))]


def _exit_status(pid: int) -> int | None:
    """The child's exit status once it has ended; None if another waiter reaped it (then
    only its complete output vouches for it)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status)


def may_fork() -> bool:
    """Forking a process with other threads could copy a lock one of them holds."""
    return hasattr(os, "fork") and threading.active_count() == 1


def _halves(sizes: Sequence[int]) -> tuple[list[int], list[int]]:
    """Indexes split into two groups of about equal total size, largest first."""
    mine: list[int] = []
    theirs: list[int] = []
    have = [0, 0]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        side = 0 if have[0] <= have[1] else 1
        (mine if side == 0 else theirs).append(i)
        have[side] += sizes[i]
    return mine, theirs
