"""How every go command starts and dies: its own process group and GOTMPDIR, and a kill of
the whole group. Light on purpose (no asyncio): the CLI's head start uses it before anything
else is imported (`head_start.py`), and `process.py` for every other command."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any


def spawn_options(env: Mapping[str, str] | None, gotmp: str) -> dict[str, Any]:
    """Options for one go command: its own process group, and its own GOTMPDIR."""
    return {
        "env": {**os.environ, **(env or {}), "GOTMPDIR": gotmp},
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "start_new_session": True,
    }


def kill_group(pid: int) -> None:
    """Kill the process group `pid` leads (go, and the compilers and tools it runs)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
