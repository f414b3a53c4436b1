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


#: A stand-in for std's internal/godebug (the only internal package net/http imports besides
#: its own), so a copy of net/http builds as workspace code.
_GODEBUG = """// Package godebug stands in for std's internal/godebug: settings read from GODEBUG.
package godebug

import (
\t"os"
\t"strings"
\t"sync/atomic"
)

type Setting struct {
\tname       string
\tnonDefault atomic.Uint64
}

func New(name string) *Setting { return &Setting{name: strings.TrimPrefix(name, "#")} }

func (s *Setting) Name() string { return s.name }

func (s *Setting) String() string { return s.name + "=" + s.Value() }

func (s *Setting) IncNonDefault() { s.nonDefault.Add(1) }

func (s *Setting) Value() string {
\tfor _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
\t\tif k, v, ok := strings.Cut(kv, "="); ok && k == s.name {
\t\t\treturn v
\t\t}
\t}
\treturn ""
}
"""


def large_package(root: Path) -> tuple[Path, str]:
    """A copy of net/http (~9k verdicts, ~4 MB of -m=2 output) as workspace code.

    Its internal imports become workspace packages (net/http/internal/...) or a stand-in
    (internal/godebug); GOROOT's vendor tree (golang.org/x/net, x/text) becomes the module's
    vendor/ with std's own go.mod requirements, so nothing is downloaded.
    """
    goroot = Path(subprocess.check_output(["go", "env", "GOROOT"], text=True).strip())
    rewrite = {
        '"net/http/internal': f'"{MODULE}/http/internal',
        '"internal/godebug"': f'"{MODULE}/internal/godebug"',
    }
    for std in ("net/http", "net/http/internal", "net/http/internal/ascii",
                "net/http/internal/httpcommon"):  # fmt: skip
        info = json.loads(subprocess.check_output(["go", "list", "-json", std], text=True))
        dest = root / ("http" + std[len("net/http") :])
        dest.mkdir(parents=True, exist_ok=True)
        for f in info["GoFiles"]:
            text = (Path(info["Dir"]) / f).read_text()
            for old, new in rewrite.items():
                text = text.replace(old, new)
            (dest / f).write_text(text)
    (root / "internal" / "godebug").mkdir(parents=True, exist_ok=True)
    (root / "internal" / "godebug" / "godebug.go").write_text(_GODEBUG)
    shutil.copytree(goroot / "src" / "vendor", root / "vendor")
    gomod = (goroot / "src" / "go.mod").read_text().replace("module std", f"module {MODULE}")
    (root / "go.mod").write_text(gomod)
    return root / "http", f"{MODULE}/http"


def machine() -> str:
    """nproc, CPU model and the load average now (benchmarks share the machine)."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {model}, load average {load}"


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
