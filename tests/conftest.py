"""Shared fixtures: temp Go modules on disk, built by the real go toolchain."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TypeGuard

import pytest

if shutil.which("go") is None:  # pragma: no cover - the machines have Go; say so clearly if not
    pytest.exit("these tests need the Go toolchain (go 1.24+) on PATH", returncode=2)

#: Tests start without the on-disk memo (a result from another test's fake go must not answer);
#: tests/test_memo_disk.py turns it on in a temp dir. Set here so servers the tests spawn inherit it.
os.environ.setdefault("ESCAPE_LSP_CACHE", "off")
#: Servers the tests spawn run in-process (signals, exit codes, stray processes are theirs),
#: and no test leaves a resident zygote behind; tests/test_resident.py starts its own, each in
#: a private runtime dir.
os.environ.setdefault("ESCAPE_LSP_RESIDENT", "off")
#: Servers the tests spawn answer everything through pygls: the tests of the server's features
#: go on from its first diagnostics to what needs the server itself (its log, its state).
#: tests/test_first_publish.py and tests/test_resident.py turn the first publish on.
os.environ.setdefault("ESCAPE_LSP_FIRST_PUBLISH", "off")

WriteModule = Callable[..., Path]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def gomod(tmp_path: Path) -> WriteModule:
    """`gomod({"p/p.go": src}, module="example.com/m")` -> the module's root directory."""

    def make(files: dict[str, str], module: str = "example.com/m", sub: str = "") -> Path:
        root = tmp_path / sub if sub else tmp_path
        root.mkdir(parents=True, exist_ok=True)
        write_tree(root, {"go.mod": f"module {module}\n\ngo 1.24\n", **files})
        return root.resolve()

    return make


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of `/proc/PID/stat` after the command name (state, parent, group, …); None
    once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def running(fields: list[str] | None) -> TypeGuard[list[str]]:
    """Whether `proc_stat` fields are of a running process: zombies are dead (this sandbox's
    PID 1 never reaps)."""
    return fields is not None and fields[0] not in ("Z", "X")


def live_processes_in_group(pgid: int) -> list[int]:
    """PIDs of the group that still run."""
    live: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = proc_stat(entry.name)
        if running(fields) and int(fields[2]) == pgid:
            live.append(int(entry.name))
    return live
