"""The conformance harness on every supported Go version, plus third-party modules.

For each toolchain (default: go1.24.11, go1.25.5, the machine's go, go1.27.3 — fetched from the
module proxy with `GOTOOLCHAIN=<version> go version` when missing) it compares, package by
package, the raw `go build -gcflags=<pkg>=-m=2` verdicts with `check --format json --kinds all`:
copies of encoding/json and text/template/parse, Go's errorcheck escape tests ($GOROOT/test),
and every package of third-party modules (default: go.uber.org/zap, golang.org/x/sync), copied
from the module cache into a throw-away module in a temp dir (their dependencies via
`go mod download`).

Run: .venv/bin/python bench/conformance.py [--versions go1.24.11,go1.25.5,machine,go1.27.3]
                                           [--modules go.uber.org/zap@v1.27.0,…] [--examples]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conformance.harness import (
    Row,
    Skipped,
    Target,
    conform,
    go_version,
    machine_go,
    report,
    run_target,
    toolchain_go,
)

VERSIONS = "go1.24.11,go1.25.5,machine,go1.27.3"
MODULES = "go.uber.org/zap@v1.27.0,golang.org/x/sync@v0.10.0"


def third_party(go: str, spec: str, work: Path) -> Target:
    """The module's source as the main module of a temp dir; its deps from the module proxy."""
    path, _, version = spec.partition("@")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    scratch = work / "download"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "go.mod").write_text("module scratch\n\ngo 1.24\n")
    out = subprocess.run(
        [go, "mod", "download", "-json", f"{path}@{version or 'latest'}"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    src = Path(next(ln.split('"')[3] for ln in out.splitlines() if '"Dir"' in ln))
    root = work / path.replace("/", "_")
    shutil.copytree(src, root)
    for d, _, files in os.walk(root):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    subprocess.run([go, "mod", "download"], cwd=root, env=env, check=True, capture_output=True)
    listed = subprocess.run(
        [
            go,
            "list",
            "-e",
            "-f",
            "{{if not .Error}}{{.ImportPath}}{{end}}",
            "./...",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return Target(root, tuple(p for p in listed if p), module=path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", default=VERSIONS)
    ap.add_argument("--modules", default=MODULES, help="comma-separated path@version; '' for none")
    ap.add_argument("--examples", action="store_true", help="print what each failure was")
    args = ap.parse_args()
    os.environ["GOTOOLCHAIN"] = "local"
    failed = 0
    for which in args.versions.split(","):
        go = machine_go() if which == "machine" else toolchain_go(which)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="escape-conformance-") as tmp:
            rows, skipped = conform(go, Path(tmp))
            extra: dict[str, Row] = {}
            more: list[Skipped] = []
            for spec in filter(None, args.modules.split(",")):
                target = third_party(go, spec, Path(tmp) / "mods")
                for pkg in target.packages:
                    run_target(go, Target(target.root, (pkg,), module=target.module), extra, more)
            rows += list(extra.values())
            skipped += more
        text = report(rows, skipped, go_version(go))
        if not args.examples:
            text = "\n".join(
                ln for ln in text.splitlines() if not ln.startswith("  ") or "skipped" in ln
            )
        print(text)
        print(f"({time.perf_counter() - started:.0f} s)\n")
        failed += sum(r.failures for r in rows)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
