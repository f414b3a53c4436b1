"""Per module context: debounce edits, supersede a build in flight, run one build at a time.

A newer state always wins: scheduling while a build runs cancels it (its go process group is
killed) and its packages join the next build. The quiet period is the debounce; saves and opens
use zero.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

Run = Callable[[frozenset[str]], Awaitable[None]]


class BuildScheduler:
    def __init__(self, run: Run) -> None:
        self._run = run
        self._pending: set[str] = set()
        self._running: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def schedule(self, packages: set[str], delay: float) -> None:
        """Build `packages` (plus whatever is pending) after `delay` seconds of quiet."""
        if not packages:
            return
        self._pending |= packages
        if self.busy:
            assert self._task is not None
            # A newer state supersedes the build in flight: kill it, redo its packages too.
            self._pending |= self._running
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._after(delay))

    async def _after(self, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)  # the debounce itself, not a synchronisation
        packages, self._pending = frozenset(self._pending), set()
        self._running = packages
        try:
            await self._run(packages)
        finally:
            if self._running is packages:  # a superseding build may have started already
                self._running = frozenset()

    async def wait_idle(self) -> None:
        """Until nothing is scheduled or running (tests, benchmarks, commands)."""
        while self._task is not None and not self._task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
