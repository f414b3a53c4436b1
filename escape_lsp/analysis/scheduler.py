"""Per module context: debounce edits, supersede a build in flight, run one build at a time.

A newer state always wins: scheduling while a build runs cancels it (its go process group is
killed) and its packages join the next build. The quiet period is the debounce; saves and opens
use zero. The adaptive debounce (`AdaptiveDebounce`) keeps an edit after a pause waiting only a
small fraction of a build, and grows the wait while edits keep coming.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

Run = Callable[[frozenset[str]], Awaitable[None]]


class AdaptiveDebounce:
    """The quiet time before an edit's build, at most the configured debounce.

    After a pause, an edit waits a twentieth of a typical build (at least 10 ms): starting a
    short build at once costs little, and a keystroke that follows only kills it. Each edit
    that arrives within twice the previous wait (or within a quarter second: typing) belongs to
    a burst and doubles the wait, so a burst of any length starts one build, after its last
    edit.
    """

    SHORTEST = 0.01
    FRACTION = 0.05
    #: Edits closer than this are one burst, however short the wait (keystrokes while typing).
    BURST_GAP = 0.25
    #: Weight of the newest build in the running estimate of how long builds take.
    WEIGHT = 0.5

    def __init__(self) -> None:
        self.build_seconds: float | None = None
        self._last_edit = -1e9
        self._wait = 0.0

    def built(self, seconds: float) -> None:
        """A build (or memo answer) ran to its end in `seconds`."""
        old = self.build_seconds
        self.build_seconds = seconds if old is None else old + self.WEIGHT * (seconds - old)

    def delay(self, longest: float, now: float | None = None) -> float:
        """The wait for an edit arriving `now` (monotonic seconds)."""
        now = time.monotonic() if now is None else now
        in_burst = now - self._last_edit <= max(2 * self._wait, self.BURST_GAP)
        self._last_edit = now
        if in_burst:
            self._wait = min(longest, max(self._wait * 2, self.SHORTEST))
        elif self.build_seconds is None:  # nothing known about builds here yet
            self._wait = longest
        else:
            self._wait = min(longest, max(self.SHORTEST, self.build_seconds * self.FRACTION))
        return self._wait


class BuildScheduler:
    def __init__(self, run: Run) -> None:
        self._run = run
        self._pending: set[str] = set()
        self._running: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        self.debounce = AdaptiveDebounce()

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def schedule(self, packages: set[str], delay: float, adaptive: bool = False) -> None:
        """Build `packages` (plus whatever is pending) after `delay` seconds of quiet; with
        `adaptive`, `delay` is the longest wait and `AdaptiveDebounce` picks the wait."""
        if not packages:
            return
        if adaptive and delay > 0:
            delay = self.debounce.delay(delay)
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
        started = time.monotonic()
        try:
            await self._run(packages)
            self.debounce.built(time.monotonic() - started)
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
