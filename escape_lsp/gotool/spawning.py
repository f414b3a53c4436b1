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


def spawn_options(env: Mapping[str, str] | None, gotmp: str, cwd: str | None) -> dict[str, Any]:
    """Options for one go command run in `cwd` (None: this process's directory): its own
    process group, its own GOTMPDIR, and PWD naming `cwd`. go takes PWD for its working
    directory whenever PWD is the same directory, so an inherited PWD that reaches `cwd`
    through a symlink (a shell started in a linked directory) would make go print paths
    under that link instead of under the directory escape-lsp named."""
    full = {**os.environ, **(env or {}), "GOTMPDIR": gotmp}
    if cwd is not None:
        full["PWD"] = cwd
    else:
        full.pop("PWD", None)
    return {
        "env": full,
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "start_new_session": True,
    }


def kill_group(pid: int) -> None:
    """Kill the process group `pid` leads (go, and the compilers and tools it runs)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
