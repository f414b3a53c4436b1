"""Shared bench helpers: a real few-thousand-line package, timing, medians."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

MODULE = "bench.example"


def real_package(root: Path, std: str = "encoding/json") -> tuple[Path, str]:
    """Copy a std package's build files into a fresh module, so it is workspace code.

    encoding/json: ~6k lines, no internal imports, lots of interface boxing and escapes.
    """
    info = json.loads(subprocess.check_output(["go", "list", "-json", std], text=True))
    name = std.rsplit("/", 1)[-1]
    pkg_dir = root / name
    pkg_dir.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module {MODULE}\n\ngo 1.24\n")
    for f in info["GoFiles"]:
        shutil.copy(os.path.join(info["Dir"], f), pkg_dir / f)
    return pkg_dir, f"{MODULE}/{name}"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def raw_build(cwd: Path, pkg: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    flags = f"{pkg}=-m=2{' ' + extra if extra else ''}"
    return subprocess.run(
        ["go", "build", f"-gcflags={flags}", pkg],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )


def lines_of(pkg_dir: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in pkg_dir.glob("*.go"))
