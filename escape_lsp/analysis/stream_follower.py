"""Following the compiler's output while go runs (`gotool/compile_stream.py`): a package's
verdicts are done when its copy stops growing, seconds before go shows them (the backend
compiles on), so a one-shot run maps them meanwhile (`package_results.premap`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from escape_lsp.gotool.compile_stream import Streams

#: How often the copies' sizes are looked at.
POLL = 0.05
#: How long a copy must stay the same size before its text is mapped: escape analysis
#: prints steadily (a copy of net/http: 3.6 MB in ~1.2 s), the backend hardly at all (a
#: bounds check it elides; go's own output is compared in the end, file by file).
QUIET = 0.2


async def follow(streams: Streams, on_quiet: Callable[[str, str], None]) -> None:
    """Call `on_quiet(package, text)` with each copy's text once it has stayed one size for
    `QUIET` seconds, again if it grows and rests again; until cancelled."""
    changed: dict[str, tuple[int, float]] = {}
    taken: dict[str, int] = {}
    while True:
        await asyncio.sleep(POLL)
        now = time.monotonic()
        for path, size in streams.sizes().items():
            seen = changed.get(path)
            if seen is None or seen[0] != size:
                changed[path] = (size, now)
            elif now - seen[1] >= QUIET and taken.get(path) != size:
                taken[path] = size
                got = Streams.read(path)
                if got is not None and got[1]:
                    on_quiet(*got)
