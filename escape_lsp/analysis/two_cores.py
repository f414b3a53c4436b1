"""Parsing and mapping a large output on two cores: a forked child takes a share of the files.

Once go has compiled a package both cores are free, and parsing plus mapping its output is
pure CPU work per file (a package with nothing memoised: ~0.2 s for a copy of net/http). The
child inherits the parsed syntax trees, maps its share and sends the findings back as plain
tuples (`findings/codec.py` rows, read with `marshal`): the compiled mapping's own rows, so
the child makes no finding object at all. It forks only in a process without other
threads (the CLI; the server has its stdin reader and watchers), it ends with `os._exit`
(no exit handlers: the parent's private temp dir stays), and whatever goes wrong with it, the
parent maps the child's share itself.
"""

from __future__ import annotations

import marshal
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from escape_lsp.findings import codec
from escape_lsp.findings.model import Finding

T = TypeVar("T")

#: Characters of compiler output below which a second process costs more than it saves.
MIN_CHARS = 400_000


#: An item's findings, and their `codec` rows when the child sent them.
Mapped = tuple[tuple[Finding, ...], tuple[codec.Row, ...] | None]

#: The share of the work the child takes, by size: the parent also makes the findings of
#: the child's rows once they arrive (with the compiled mapping: rows ~115 ms, findings from
#: them ~50 ms for a copy of net/http; the shares end together at about 0.6).
CHILD_SHARE = 0.6


def map_on_two_cores(
    items: Sequence[T],
    work: Callable[[T], tuple[Finding, ...]],
    size: Callable[[T], int],
    as_rows: Callable[[T], tuple[codec.Row, ...]],
) -> list[Mapped]:
    """`[work(item) for item in items]`, with a forked child doing its share of the work
    (measured by `size`, `CHILD_SHARE`) when there is enough of it: `as_rows(item)`, the
    same findings as rows, which it sends back (the disk memo stores those)."""
    sizes = [size(item) for item in items]
    if len(items) < 2 or sum(sizes) < MIN_CHARS or not may_fork():
        return [(work(item), None) for item in items]
    mine, theirs = _shares(sizes, CHILD_SHARE)
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
            rows = [as_rows(items[i]) for i in theirs]
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
            results[i] = (codec.decode(rows), rows)
    except (ValueError, TypeError, KeyError, EOFError):
        for i in theirs:
            results[i] = (work(items[i]), None)
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


def _shares(sizes: Sequence[int], theirs_share: float) -> tuple[list[int], list[int]]:
    """Indexes split into two groups, about `theirs_share` of the total size in the second,
    largest first."""
    mine: list[int] = []
    theirs: list[int] = []
    have = [0.0, 0.0]
    weight = (1 - theirs_share, theirs_share)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        side = 0 if have[0] / weight[0] <= have[1] / weight[1] else 1
        (mine if side == 0 else theirs).append(i)
        have[side] += sizes[i]
    return mine, theirs
