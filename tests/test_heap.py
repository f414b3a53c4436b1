"""The server's malloc setting (`lsp/heap.py`): a large block freed goes back to the system,
also after an earlier one of that size was freed (which made glibc keep the next in its heap)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from escape_lsp.lsp import heap

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not heap._glibc(), reason="glibc's malloc only"
)

#: In a fresh interpreter: free a 16 MiB block, then make and free another of that size, and
#: print how much of the second stayed resident.
_CHILD = """
import os, sys
from escape_lsp.lsp import heap
if sys.argv[1] == "tuned":
    assert heap.give_back_large_blocks()
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
size = 16 << 20
first = b"\\x01" * size
del first  # glibc's own policy: the threshold rises to this size
before = rss()
second = b"\\x02" * size  # every page written
del second
print(rss() - before)
"""


def _kept_after_free(mode: str) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        timeout=60,
    )
    return int(out.stdout)


def test_a_freed_large_block_goes_back_to_the_system() -> None:
    # Without the setting, glibc kept the second block (the mechanism the setting is for);
    # with it, the block was unmapped when freed.
    assert _kept_after_free("default") >= 12 << 20
    assert _kept_after_free("tuned") < 2 << 20
