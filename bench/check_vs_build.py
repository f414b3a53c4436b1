"""Wall time of `escape-lsp check PKG` vs the raw `go build -gcflags=PKG=-m=2 PKG`.

Two states, each the median of --runs: "cold" (a file of PKG changed, so PKG recompiles for
both) and "warm" (nothing changed: go replays its cached compiler output). The default kinds,
so both sides run the compiler with the same flags; the on-disk memo lives in a temp dir.
bench/overhead.py measures the same on a large package (a copy of net/http).
Run: .venv/bin/python bench/check_vs_build.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import lines_of, median, raw_build, real_package, timed

CLI = [sys.executable, "-m", "escape_lsp", "check"]


def touch(pkg_dir: Path, n: int) -> None:
    """A new comment: the package's content hash changes, so go must recompile it."""
    (pkg_dir / "zz_bench.go").write_text(
        f"package {pkg_dir.name}\n\n// run {n} {os.urandom(4).hex()}\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        os.environ["ESCAPE_LSP_CACHE"] = os.path.join(tmp, "memo")
        root = Path(tmp) / "module"
        root.mkdir()
        pkg_dir, pkg = real_package(root)
        raw_build(root, pkg)  # dependencies cached once for both sides
        subprocess.run([*CLI, pkg], cwd=root, check=True, capture_output=True)  # the memo too
        print(f"package {pkg}: {lines_of(pkg_dir)} lines (a copy of encoding/json)")
        results: dict[str, tuple[list[float], list[float]]] = {"cold": ([], []), "warm": ([], [])}
        for i in range(args.runs):
            touch(pkg_dir, 2 * i)
            results["cold"][0].append(timed(lambda: raw_build(root, pkg)))
            touch(pkg_dir, 2 * i + 1)
            results["cold"][1].append(
                timed(
                    lambda: subprocess.run([*CLI, pkg], cwd=root, check=True, capture_output=True)
                )
            )
            results["warm"][0].append(timed(lambda: raw_build(root, pkg)))
            results["warm"][1].append(
                timed(
                    lambda: subprocess.run([*CLI, pkg], cwd=root, check=True, capture_output=True)
                )
            )
        for state, (raw, ours) in results.items():
            r, o = median(raw), median(ours)
            print(
                f"{state}: go build {r * 1000:.0f} ms, escape-lsp check {o * 1000:.0f} ms, "
                f"ratio {o / r:.2f} (median of {args.runs})"
            )


if __name__ == "__main__":
    main()
