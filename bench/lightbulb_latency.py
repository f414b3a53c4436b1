"""Light-bulb latency: textDocument/codeAction request -> response, on a real package.

A copy of encoding/json plus one file with a fixable finding (a pointer to a local returned
from an unexported function). Each run edits that file (so no verdict is cached), waits for its
diagnostics, then asks for code actions at the finding:
  at once     the request right after the diagnostics arrive (the user is quick)
  after pause the request after a 2 s pause (the user reads the warning first)
Both are medians of --runs, next to the raw `go build -gcflags=PKG=-m=2` of the package.
`--repo DIR` runs the server of another checkout (e.g. a worktree of an older commit), so
before/after numbers come from the same script on the same machine:
  git worktree add /tmp/before <commit> && .venv/bin/python bench/lightbulb_latency.py --repo /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from common import median, raw_build, real_package, timed
from lsp_client import Client

FIXABLE = """package json

type benchPoint struct{ x, y int }

//go:noinline
func newBenchPoint(x, y int) *benchPoint {
\tp := benchPoint{x: x, y: y}
\treturn &p
}

var _ = newBenchPoint
"""
LINE = 6  # `p := benchPoint{…}`: where "moved to heap: p" is


def params(uri: str) -> dict[str, Any]:
    at = {"line": LINE, "character": 1}
    return {
        "textDocument": {"uri": uri},
        "range": {"start": at, "end": at},
        "context": {"diagnostics": []},
    }


async def run(runs: int, repo: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        root = Path(tmp)
        pkg_dir, pkg = real_package(root)
        target = pkg_dir / "zz_fixable.go"
        target.write_text(FIXABLE)
        uri = target.as_uri()
        raws = [timed(lambda: raw_build(root, pkg)) for _ in range(1)]
        client = await Client.start({"debounceMs": 50}, repo)
        await client.initialize(root.as_uri())
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": FIXABLE}},
        )
        await client.published(uri, 1)
        quick, paused, titles = [], [], set()
        version = 1
        for i in range(runs):
            target.write_text(FIXABLE + f"\n// raw {i} {os.urandom(4).hex()}\n")
            raws.append(timed(lambda: raw_build(root, pkg)))
            for bucket, pause in ((quick, 0.0), (paused, 2.0)):
                version += 1
                text = FIXABLE + f"\n// run {i} {pause} {os.urandom(4).hex()}\n"
                client.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [{"text": text}],
                    },
                )
                await client.published(uri, version)
                if pause:
                    await asyncio.sleep(pause)  # the user reads the warning
                start = time.perf_counter()
                actions = await client.request("textDocument/codeAction", params(uri))
                bucket.append(time.perf_counter() - start)
                titles.update(a["title"] for a in actions or [])
        await client.close()

    ms = lambda xs: median(xs) * 1000  # noqa: E731
    print(f"server: {repo or 'this checkout'}; fixes offered: {sorted(titles)}")
    print(f"raw go build -m=2 of {pkg}: {ms(raws):.0f} ms")
    print(f"codeAction at once:       {ms(quick):.0f} ms  ratio {median(quick) / median(raws):.2f}")
    print(
        f"codeAction after a pause: {ms(paused):.0f} ms  ratio {median(paused) / median(raws):.2f}"
    )
    print(f"(medians of {runs} runs)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--repo", default=None, help="run the server from this checkout")
    ns = ap.parse_args()
    asyncio.run(run(ns.runs, ns.repo))


if __name__ == "__main__":
    main()
