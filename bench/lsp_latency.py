"""Server latency on a real package (a copy of encoding/json), against the raw go build.

Measures, each as the median of --runs:
  save      didSave -> publishDiagnostics, vs `go build -gcflags=PKG=-m=2 PKG` of the same change
  keystroke didChange -> publishDiagnostics (includes the adaptive debounce)
  reverted  didChange back to an already analysed text -> publishDiagnostics (the memo)
and the server's peak RSS.
Run: .venv/bin/python bench/lsp_latency.py [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from common import lines_of, median, raw_build, real_package, timed
from lsp_client import Client


def variant(text: str, tag: str) -> str:
    """The file with one extra comment line: a real content change that go must recompile."""
    return text + f"\n// bench {tag}\n"


async def run(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="escape-bench-") as tmp:
        root = Path(tmp)
        pkg_dir, pkg = real_package(root)
        target = pkg_dir / "encode.go"
        original = target.read_text()
        uri = target.as_uri()
        raw_build(root, pkg)
        print(f"package {pkg}: {lines_of(pkg_dir)} lines; edited file {target.name}")

        client = await Client.start({})  # the default, adaptive debounce
        await client.initialize(root.as_uri())
        version = 1
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": original}},
        )
        await client.published(uri, 1)

        saves, raws, keys, reverts = [], [], [], []
        for i in range(runs):
            # raw reference: the same kind of change, compiled by go directly
            target.write_text(variant(original, f"raw {i} {os.urandom(4).hex()}"))
            raws.append(timed(lambda: raw_build(root, pkg)))

            # save: the editor writes the file and says so
            text = variant(original, f"save {i} {os.urandom(4).hex()}")
            target.write_text(text)
            version += 1
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": text}],
                },
            )
            start = time.perf_counter()
            client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            saves.append(await client.published(uri, version) - start)

            # keystroke: an unsaved edit, analysed after the debounce
            version += 1
            start = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [
                        {"text": variant(original, f"key {i} {os.urandom(4).hex()}")}
                    ],
                },
            )
            keys.append(await client.published(uri, version) - start)

            # reverted: back to the saved text, which was analysed already
            version += 1
            start = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": text}],
                },
            )
            client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            reverts.append(await client.published(uri, version) - start)

        rss = client.peak_rss_mib()
        await client.close()
        target.write_text(original)

    ms = lambda xs: median(xs) * 1000  # noqa: E731
    print(f"raw go build -m=2 (changed file): {ms(raws):.0f} ms")
    print(
        f"save -> publishDiagnostics:       {ms(saves):.0f} ms  ratio {median(saves) / median(raws):.2f}"
    )
    print(f"keystroke -> publishDiagnostics:  {ms(keys):.0f} ms (adaptive debounce included)")
    print(f"reverted -> publishDiagnostics:   {ms(reverts):.0f} ms")
    print(f"server peak RSS:                  {rss:.0f} MiB")
    print(f"(medians of {runs} runs)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    asyncio.run(run(ap.parse_args().runs))


if __name__ == "__main__":
    main()
