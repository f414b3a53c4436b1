"""glibc's malloc told to give large freed blocks back: the server's memory bound.

glibc serves blocks of 128 KiB and more with their own `mmap`, unmapped when freed, but each
time it frees one it raises that threshold to the block's size (up to 32 MiB) and the heap's
trim threshold to twice that. A server reads go's -m=2 output of a package whole (~3 MB for
a copy of net/http) and splits and parses it; after the first build every later build's
output, its per-file parts and the parse's lists came from the heap, which kept what they
left as free but resident memory. Setting both thresholds (to their default value) turns the
adjustment off: large blocks stay mapped on their own and go back when freed. The
large-package session's peak RSS (bench/overhead.py's session, 3 saves) 137–143 → 127–133
MiB.

Set by a long-lived server before its first large block is freed: the first publish as it
imports the analysis (while go builds), the in-process server before it imports pygls (a
no-op if its first publish set them), the resident zygote before its warm imports (a forked
server inherits it). Set after a first publish instead, it saved little (135–139 MiB): the
heap had grown by then. `check` ends before its heap matters.
"""

from __future__ import annotations

import os
import sys

#: glibc's `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` (malloc.h), and their default value.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
DEFAULT_THRESHOLD = 128 * 1024


def give_back_large_blocks() -> bool:
    """Fix glibc's mmap and trim thresholds at their default, and trim what the heap holds
    free now, once per process; False where there is no glibc (another libc keeps its own
    policy) or a call failed. ctypes' import (~5 ms) is the cost."""
    global _set
    if _set is None:
        _set = _set_thresholds()
    return _set


#: Whether the thresholds were set in this process (None: not tried yet).
_set: bool | None = None


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        done = [libc.mallopt(p, DEFAULT_THRESHOLD) for p in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)]
        libc.malloc_trim(0)  # what the heap holds free by now
        return all(done)
    except (OSError, AttributeError):
        return False


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):
        return False
